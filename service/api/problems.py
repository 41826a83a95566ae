"""RFC 9457 problem documents: the one place where errors become HTTP responses.

Every error answers `application/problem+json` with a stable `type` per kind of error
(service.api.problem_types), the kind's `title`, the `status`, a `detail` in words an
officer understands, and for invalid input `errors` naming each offending field.
"""

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from federation.core import httpsig
from federation.core.identity import NODE_ID_PATTERN
from service import errors
from service.api.problem_types import BLANK, BY_STATUS, KINDS, Kind, kind
from service.notices import control
from service.notices.queries import CURSOR_PATTERN

log = logging.getLogger("denex.api")

PROBLEM_TYPE = "application/problem+json"

# the kind of each error of the service's exception tree; a subclass takes its parent's
# unless it has its own row (the most specific row wins)
KIND_OF: dict[type[errors.ServiceError], str] = {
    errors.BadRequest: "bad-request",
    errors.AuthenticationError: "unauthenticated",
    errors.PeerAuthenticationError: "peer-signature-refused",
    errors.PermissionDenied: "forbidden",
    errors.NotFound: "not-found",
    errors.Conflict: "conflict",
    errors.DuplicateReference: "reference-taken",
    errors.IdempotencyKeyInFlight: "idempotency-key-in-flight",
    errors.IdempotencyKeyReused: "idempotency-key-reused",
    errors.InvalidInput: "invalid-input",
    errors.NotInitialisedError: "unavailable",
    errors.SchemaError: "unavailable",
    errors.ConfigError: "unavailable",
    errors.Unavailable: "unavailable",
    errors.PayloadTooLarge: "payload-too-large",
    errors.UnsupportedMediaType: "unsupported-media-type",
    errors.TooManyRequests: "too-many-requests",
}


class FieldError(BaseModel):
    field: str = Field(description="the offending field, e.g. `items.0.control_entry`")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document. Branch on `type`: one per kind of error, listed at
    `/problems/{kind}` and in docs/problems.md; `detail` is for people."""

    type: str = Field(
        description="the kind of problem: a path on this node that describes it",
        json_schema_extra={"enum": [*(k.type for k in KINDS), BLANK]},
    )
    title: str = Field(description="the kind's title, the same for every occurrence")
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None
    notice_id: str | None = Field(
        default=None,
        description="reference-taken: the notice of this node that holds the reference",
    )


# what a federation 401 asks for: an RFC 9421 signature (§5.1 Accept-Signature) over the
# components every federation request signs, with its creation time and key id
_COVERED = " ".join('"' + component + '"' for component in httpsig.COMPONENTS)
PEER_CHALLENGE = {
    "WWW-Authenticate": 'Signature realm="denex-federation"',
    "Accept-Signature": f'{httpsig.LABEL}=({_COVERED});created;keyid;alg="ed25519"',
}
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def problem(
    of: str | Kind,
    detail: str | None,
    field_errors: list[dict[str, str]] | None = None,
    *,
    headers: dict[str, str] | None = None,
    extension: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem document of the kind `of` (a slug of service.api.problem_types), with
    `extension` members (RFC 9457 §3.2); a 401 carries the challenge of its kind."""
    found = kind(of) if isinstance(of, str) else of
    body: dict[str, Any] = {"type": found.type, "title": found.title, "status": found.status}
    if detail:
        body["detail"] = detail
    if field_errors:
        body["errors"] = field_errors
    body.update(extension or {})
    challenge = {"unauthenticated": BEARER_CHALLENGE, "peer-signature-refused": PEER_CHALLENGE}
    headers = {**challenge.get(found.slug, {}), **(headers or {})}
    return JSONResponse(
        body, status_code=found.status, media_type=PROBLEM_TYPE, headers=headers or None
    )


def kind_of(exc: errors.ServiceError) -> Kind:
    for cls in type(exc).__mro__:
        if cls in KIND_OF:
            return kind(KIND_OF[cls])
    return kind("internal-error")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


# how a pattern the OpenAPI document states is said in words
PATTERN_WORDS = {
    NODE_ID_PATTERN: "must be a node id: 3 to 32 lower-case letters, digits and hyphens",
    control.PATTERN: control.EXPECTED,
    CURSOR_PATTERN: "must be the next_cursor of a page of this list, unchanged",
}
UUID_WORDS = "must be a UUID in lower-case hex, e.g. 0193e3a2-7c1d-7b3e-9f00-5a1c2b3d4e5f"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "string_pattern_mismatch":
            message = _pattern_words(str((err.get("ctx") or {}).get("pattern", "")))
        out.append({"field": _field(tuple(err.get("loc", ()))), "message": message})
    return out


def _pattern_words(pattern: str) -> str:
    if pattern.startswith("^[0-9a-f]{8}-"):
        return UUID_WORDS
    return PATTERN_WORDS.get(pattern, f"is not in the form this API expects ({pattern})")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(errors.ServiceError)
    async def _service(_request: Request, exc: errors.ServiceError) -> JSONResponse:
        field_errors = exc.errors if isinstance(exc, errors.InvalidInput) else None
        extension = None
        if isinstance(exc, errors.DuplicateReference):
            field_errors = [{"field": "reference", "message": f"held by notice {exc.notice_id}"}]
            extension = {"notice_id": exc.notice_id}
        return problem(kind_of(exc), str(exc), field_errors, extension=extension)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem("invalid-input", "the request is invalid", validation_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            allow = allowed_methods(request) or (exc.headers or {}).get("Allow", "")
            return problem(
                "method-not-allowed",
                f"{request.method} is not answered here; try {allow}",
                headers={"Allow": allow},
            )
        if exc.status_code == 404:
            return problem("not-found", f"nothing at {request.url.path}")
        return _blank(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return problem("internal-error", "the server failed; see its log")


def _blank(status: int, detail: str, headers: Mapping[str, str] | None) -> JSONResponse:
    """RFC 9457 §4.2.1: a status of no kind of ours is `about:blank` titled by its phrase."""
    from http import HTTPStatus

    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = BY_STATUS[500].title if status >= 500 else "Error"
    body = {"type": BLANK, "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


# --- the Allow header of a 405 ---------------------------------------------------------------


def allowed_methods(request: Request) -> str:
    """The methods the OpenAPI document gives for this path, with its path parameters in
    their documented form; "" if no documented path matches. Computed per
    405, which is rare: no cache to keep in step with the document."""
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        if _matches(template, item, path):
            methods.update(m.upper() for m in item if m in _METHODS)
    return ", ".join(sorted(methods))


_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _matches(template: str, item: dict[str, Any], path: str) -> bool:
    """Does `path` fill the OpenAPI path `template` with parameters its schema accepts?"""
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    found = re.fullmatch(regex, path)
    if found is None:
        return False
    schemas = {
        p["name"]: p.get("schema", {})
        for operation in item.values()
        if isinstance(operation, dict)
        for p in operation.get("parameters", [])
        if p.get("in") == "path"
    }
    for name, value in found.groupdict().items():
        schema = schemas.get(name, {})
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            return False
        if "enum" in schema and value not in schema["enum"]:
            return False
    return True


# --- errors in the OpenAPI document ----------------------------------------------------------


def response_description(status: int) -> str:
    """What a status means here: each kind of that status with its `type`."""
    return "; ".join(f"`{k.type}`: {k.title}" for k in KINDS if k.status == status)


def openapi_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for routes; content is set to problem+json by `fix_openapi`."""
    return {code: {"description": response_description(code), "model": Problem} for code in codes}


def fix_openapi(
    schema: dict[str, Any], body_models: Sequence[type[BaseModel]] = ()
) -> dict[str, Any]:
    """Make every error response a problem+json Problem (405 with `Allow`), and add the
    request body models that routes validate themselves (see service.api.body)."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:  # refused by service.api.limits before reading
                for code in (413, 415):
                    responses.setdefault(str(code), {"description": response_description(code)})
            responses.setdefault("500", {"description": response_description(500)})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {PROBLEM_TYPE: {"schema": ref}}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in body_models:
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.pop("x-denex-body-model", None)
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["Problem"].pop("$defs", None)
    components["FieldError"] = FieldError.model_json_schema()
    return schema
