"""The exception tree of the federation package."""


class FederationError(Exception):
    """Base of every error raised by the federation package."""


class EntryError(FederationError):
    """An entry (header, content or envelope) is malformed or fails verification."""


class LogError(FederationError):
    """A log cannot be appended to or read as asked."""


class StaleSeal(LogError):
    """Entries sealed ahead of time no longer fit: the log grew meanwhile."""


class PeerAuthError(FederationError):
    """An HTTP request's RFC 9421 signature is missing, malformed, stale, by an unknown key,
    or does not verify (or its Content-Digest does not match its body)."""


class AppendsStopped(LogError):
    """This node may not append to its own log now: a peer holds a longer or different copy
    of it (a restored backup); `denex recover` fetches it back first (DESIGN §5)."""
