"""Request bodies validated against this node, not only the schema.

Notices are validated with a context (the node's regimes and their members) so that schema
errors and node-level errors are reported together, one per field. Routes declare the body
schema for OpenAPI with `request_body(Model)`. How large a body may be is enforced while it
streams in, by service.api.limits.
"""

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from service.api.limits import is_json, not_json
from service.errors import InvalidInput, UnsupportedMediaType
from service.notices.schema import field_errors


async def json_body(request: Request) -> Any:
    """The request's JSON body (its size capped by service.api.limits as it is read)."""
    declared = request.headers.get("content-type")
    if declared is not None and not is_json(declared):
        raise UnsupportedMediaType(not_json(declared))
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(
            "request body is not JSON", [{"field": "body", "message": "is not valid JSON"}]
        ) from exc


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], raw: Any, what: str) -> M:
    """Validate `raw` against `model`; every offending field is named in one InvalidInput
    that calls the body `what` ("the application"), as an officer would."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"{what} is invalid", field_errors(exc)) from exc


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring a required JSON body of `model` (see problems.fix_openapi)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        },
        "x-denex-body-model": model.__name__,
    }
