"""RFC 9457 problem documents: the one place where errors become HTTP responses."""

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from federation import httpsig
from service import errors

log = logging.getLogger("denex.api")

PROBLEM_TYPE = "application/problem+json"

STATUS: dict[type[errors.ServiceError], tuple[int, str]] = {
    errors.BadRequest: (400, "Bad Request"),
    errors.AuthenticationError: (401, "Unauthorized"),
    errors.PeerAuthenticationError: (401, "Unauthorized"),
    errors.PermissionDenied: (403, "Forbidden"),
    errors.NotFound: (404, "Not Found"),
    errors.Conflict: (409, "Conflict"),
    errors.InvalidInput: (422, "Unprocessable Content"),
    errors.NotInitialisedError: (503, "Service Unavailable"),
    errors.SchemaError: (503, "Service Unavailable"),
    errors.ConfigError: (503, "Service Unavailable"),
    errors.Unavailable: (503, "Service Unavailable"),
    errors.PayloadTooLarge: (413, "Content Too Large"),
    errors.UnsupportedMediaType: (415, "Unsupported Media Type"),
    errors.TooManyRequests: (429, "Too Many Requests"),
}


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


# what a federation 401 asks for: an RFC 9421 signature (§5.1 Accept-Signature) over the
# components every federation request signs, with its creation time and key id
_COVERED = " ".join('"' + component + '"' for component in httpsig.COMPONENTS)
PEER_CHALLENGE = {
    "WWW-Authenticate": 'Signature realm="denex-federation"',
    "Accept-Signature": f'{httpsig.LABEL}=({_COVERED});created;keyid;alg="ed25519"',
}


def problem(
    status: int,
    title: str,
    detail: str | None,
    field_errors: list[dict[str, str]] | None = None,
    *,
    challenge: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem document; a 401 carries `challenge` (default: a bearer token is wanted)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if field_errors:
        body["errors"] = field_errors
    headers = (challenge or {"WWW-Authenticate": "Bearer"}) if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        out.append({"field": _field(tuple(err.get("loc", ()))), "message": message})
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(errors.ServiceError)
    async def _service(_request: Request, exc: errors.ServiceError) -> JSONResponse:
        for cls in type(exc).__mro__:
            if cls in STATUS:
                status, title = STATUS[cls]
                break
        else:
            status, title = 500, "Internal Server Error"
        field_errors = exc.errors if isinstance(exc, errors.InvalidInput) else None
        peer = isinstance(exc, errors.PeerAuthenticationError)
        return problem(
            status, title, str(exc), field_errors, challenge=PEER_CHALLENGE if peer else None
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, "Unprocessable Content", "request is invalid", validation_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return problem(500, "Internal Server Error", "the server failed; see its log")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


ERROR_DESCRIPTIONS = {
    400: "Cannot be answered as asked (e.g. a proof outside the tree)",
    401: "Missing, unknown, revoked or expired token",
    403: "The caller's role may not do this",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The request body is larger than this endpoint accepts",
    415: "The request body is not JSON (Content-Type must be application/json)",
    422: "Invalid input; `errors` names each offending field",
    429: "Asked too often",
    503: "Not possible now (e.g. appends stopped until `denex recover`)",
}


def openapi_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for routes; content is set to problem+json by `fix_openapi`."""
    return {code: {"description": ERROR_DESCRIPTIONS[code], "model": Problem} for code in codes}


def fix_openapi(
    schema: dict[str, Any], body_models: Sequence[type[BaseModel]] = ()
) -> dict[str, Any]:
    """Make every error response a problem+json Problem, and add the request body models
    that routes validate themselves (see service.api.body)."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if "requestBody" in operation:  # refused by service.api.limits before reading
                for code in (413, 415):
                    operation.setdefault("responses", {}).setdefault(
                        str(code), {"description": ERROR_DESCRIPTIONS[code]}
                    )
            for code, response in operation.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {PROBLEM_TYPE: {"schema": ref}}
            operation.setdefault("responses", {}).setdefault(
                "500",
                {"description": "Server error", "content": {PROBLEM_TYPE: {"schema": ref}}},
            )
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
