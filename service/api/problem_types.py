"""The kinds of problem this API reports, each with a stable `type` URI (RFC 9457 §3.1.1).

A client branches on `type`, never on `detail`. The URI is a relative reference with the full
path, `/problems/<slug>`, which this node serves as a short page describing the kind (see
service.api.routes.reference); docs/problems.md and the OpenAPI document list the same
table (docs/decisions/0024). service.api.problems maps errors to these kinds, once.
"""

from dataclasses import dataclass

PREFIX = "/problems/"
BLANK = "about:blank"  # RFC 9457 §4.2.1: a status with no meaning beyond its HTTP status code


@dataclass(frozen=True)
class Kind:
    slug: str
    status: int
    title: str  # the same for every occurrence (RFC 9457 §3.1.3)
    about: str  # what it means and what to do: the page at `type`, docs/problems.md, OpenAPI

    @property
    def type(self) -> str:
        return PREFIX + self.slug


KINDS = (
    Kind(
        "bad-request",
        400,
        "Cannot be answered as asked",
        "Every parameter is well-formed, but together they ask for something that cannot "
        "exist: an inclusion proof for an index outside the tree, a consistency proof from 0 "
        "or from a larger size to a smaller one, a size beyond the log. `detail` says which.",
    ),
    Kind(
        "unauthenticated",
        401,
        "Authentication required",
        "The request carries no bearer token, or one that is unknown, revoked or expired. "
        "Send `Authorization: Bearer <token>` with a token from `denex token create`.",
    ),
    Kind(
        "peer-signature-refused",
        401,
        "Peer signature refused",
        "A federation request without a valid RFC 9421 signature by the signing key of an "
        "active roster peer, addressed to this node, fresh and not seen before. The "
        "`Accept-Signature` header names the components to sign; `detail` says what failed.",
    ),
    Kind(
        "forbidden",
        403,
        "Not allowed for this role",
        "The token is valid, but its role (officer, auditor, admin) may not do this, or the "
        "notice belongs to another origin. `detail` names the role needed.",
    ),
    Kind(
        "not-found",
        404,
        "Not found",
        "No such notice, screening, consultation or log on this node, or no such path.",
    ),
    Kind(
        "method-not-allowed",
        405,
        "Method not allowed",
        "The path exists but does not answer this method; the `Allow` header lists the "
        "methods it answers.",
    ),
    Kind(
        "conflict",
        409,
        "Conflicts with the node's state",
        "The request is well-formed but contradicts what the node holds: amending a revoked "
        "or another origin's notice, closing a closed screening, an audience outside the "
        "members of the notice's regimes in the roster. `detail` says what; `errors` names "
        "the fields where one is to blame.",
    ),
    Kind(
        "reference-taken",
        409,
        "Reference already held",
        "Another of this node's notices holds this `reference` (the authority's file "
        "number): the request would publish the same denial twice. `notice_id` names the "
        "notice that holds it: amend that notice instead, or, if it is revoked, publish the "
        "new decision under another reference.",
    ),
    Kind(
        "idempotency-key-in-flight",
        409,
        "Request with this key still in flight",
        "The first request sent with this `Idempotency-Key` is still being answered. Send "
        "the request again, with the same key, once that one is done: it then gets the "
        "first answer.",
    ),
    Kind(
        "payload-too-large",
        413,
        "Request body too large",
        "The body is larger than the endpoint accepts (1 MiB for the API, 64 KiB for the "
        "federation protocol); it was refused before or while it was read.",
    ),
    Kind(
        "unsupported-media-type",
        415,
        "Request body is not JSON",
        "Request bodies are JSON: send `Content-Type: application/json`.",
    ),
    Kind(
        "invalid-input",
        422,
        "Invalid input",
        "A parameter or the body breaks the constraints that the OpenAPI document states "
        "(types, formats, patterns, lengths, enumerations). `errors` names every offending "
        "field with a message, e.g. `items.0.control_entry`.",
    ),
    Kind(
        "idempotency-key-reused",
        422,
        "Idempotency key used for another request",
        "This `Idempotency-Key` came, within the last 24 hours and from the same token, "
        "with another method, path or body. Nothing was done: send a new key with a new "
        "request.",
    ),
    Kind(
        "too-many-requests",
        429,
        "Too many requests",
        "The caller asks more often than allowed (a peer's sync hints: one a second).",
    ),
    Kind(
        "internal-error",
        500,
        "Internal error",
        "The node failed; nothing was changed. Its log has the details: tell its operator.",
    ),
    Kind(
        "unavailable",
        503,
        "Not possible now",
        "The node cannot do this now: its database is unreachable or its schema not at the "
        "version this denex needs, or appends to its log are stopped (the start-up check of "
        "its peers' copies still running, a restored backup awaiting `denex recover`, a "
        "different copy signed by its key). `detail` says which; `/readyz` says the same.",
    ),
)

BY_SLUG = {kind.slug: kind for kind in KINDS}
# the kind a bare HTTP status stands for (Starlette's 404 and 405, a status code alone)
BY_STATUS = {kind.status: kind for kind in reversed(KINDS)}  # the first of a status wins


def kind(slug: str) -> Kind:
    return BY_SLUG[slug]
