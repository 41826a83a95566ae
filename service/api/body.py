"""Request bodies validated against this node, not only the schema.

Notices are validated with a context (the node's regimes and their members) so that schema
errors and node-level errors are reported together, one per field. Routes declare the body
schema for OpenAPI with `request_body(Model)`.
"""

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from service.errors import InvalidInput
from service.notices.schema import field_errors

MAX_BODY_BYTES = 1024 * 1024


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(
            "request body too large",
            [{"field": "body", "message": f"exceeds {MAX_BODY_BYTES} bytes"}],
        )
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(
            "request body is not JSON", [{"field": "body", "message": "is not valid JSON"}]
        ) from exc


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], raw: Any) -> M:
    """Validate `raw` against `model`; every offending field is named in one InvalidInput."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"{model.__name__} is invalid", field_errors(exc)) from exc


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
