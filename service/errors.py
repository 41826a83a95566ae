"""The exception tree of the service package. service.api.problems maps it to HTTP, once."""


class ServiceError(Exception):
    """Base of every error the service reports to a user."""


class ConfigError(ServiceError):
    """Settings, key files or the data directory are unusable."""


class SchemaError(ServiceError):
    """The database schema is not one this version of denex can use."""


class NotInitialisedError(ServiceError):
    """The data directory holds no initialised node."""


class AlreadyInitialisedError(ServiceError):
    """`denex init` on a data directory that already holds a node."""


class AuthenticationError(ServiceError):
    """No token, or a token that is unknown, revoked or expired."""


class PermissionDenied(ServiceError):
    """The caller's role (or origin) may not do this."""


class NotFound(ServiceError):
    """The thing asked for does not exist."""


class Conflict(ServiceError):
    """The request contradicts the current state (e.g. amending a revoked notice)."""


class InvalidInput(ServiceError):
    """Input that fails validation; `errors` names every offending field."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class BadRequest(ServiceError):
    """A request that cannot be answered as asked (e.g. a proof outside the tree)."""


class PeerAuthenticationError(AuthenticationError):
    """A federation request without a valid RFC 9421 signature by an active peer's key."""


class Unavailable(ServiceError):
    """The node cannot do this now (appends stopped until `denex recover`)."""


class PayloadTooLarge(ServiceError):
    """A request body larger than its endpoint accepts (refused before or while reading)."""


class UnsupportedMediaType(ServiceError):
    """A request body that is not JSON on an endpoint that speaks JSON."""


class TooManyRequests(ServiceError):
    """The caller asks more often than allowed (a peer's hints: one a second)."""


class DuplicateReference(Conflict):
    """A new notice (or an amendment) names a reference that another of this node's own
    notices already holds (decision 0025): the answer names that notice."""

    def __init__(self, reference: str, notice_id: str, *, revoked: bool = False) -> None:
        if revoked:
            advice = (
                "it is revoked, and a revoked notice cannot be amended: publish the new "
                "decision under another reference"
            )
        else:
            advice = f"amend it instead (POST /api/v1/notices/{notice_id}/amend)"
        super().__init__(
            f"reference {reference!r} is already held by notice {notice_id} of this node; {advice}"
        )
        self.reference = reference
        self.notice_id = notice_id
        self.revoked = revoked


class IdempotencyKeyReused(InvalidInput):
    """An Idempotency-Key already used by the same token for another request (decision 0025)."""


class IdempotencyKeyInFlight(Conflict):
    """An Idempotency-Key whose first request is still being answered (decision 0025)."""
