"""The exception tree of the keys package: every failure it can report, and nothing else."""


class KeysError(Exception):
    """Base of every error raised by the keys package."""


class CanonicalError(KeysError):
    """Bytes that must be RFC 8785 canonical JSON are not (or a value cannot be canonicalised)."""


class EnvelopeError(KeysError):
    """A DSSE envelope is malformed, or its signature does not verify."""


class KeyFileError(KeysError):
    """A key file is missing, unreadable, of the wrong kind, or has unsafe permissions."""


class PassphraseError(KeyFileError):
    """No passphrase was given for an encrypted key, or the passphrase is wrong."""


class InsecureKeyError(KeyFileError):
    """An unencrypted private key was found outside development mode."""
