"""The exception tree of the federation package."""


class FederationError(Exception):
    """Base of every error raised by the federation package."""


class EntryError(FederationError):
    """An entry (header, content or envelope) is malformed or fails verification."""


class LogError(FederationError):
    """A log cannot be appended to or read as asked."""


class StaleSeal(LogError):
    """Entries sealed ahead of time no longer fit: the log grew meanwhile."""
