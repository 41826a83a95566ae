"""The node's OpenAPI document: FastAPI's, with every error a problem document
(service.api.problems), the bodies that routes validate themselves (service.api.body), and
this node's own vocabulary (the regimes a notice may name)."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from service.api import problems
from service.api.routes import federation
from service.consultations.schema import (
    AnswerInput,
    ApprovalInput,
    ConsultationInput,
    ExtensionInput,
    FollowUpInput,
)
from service.notices.schema import NoticeInput, ReviewInput, RevokeInput
from service.screening.schema import ApplicationInput, CloseInput, DeterminationInput

BODY_MODELS: list[type[BaseModel]] = [
    NoticeInput,
    RevokeInput,
    ReviewInput,
    federation.Hint,
    ApplicationInput,
    CloseInput,
    DeterminationInput,
    ConsultationInput,
    AnswerInput,
    ExtensionInput,
    FollowUpInput,
    ApprovalInput,
]


def install(app: FastAPI) -> None:
    """Serve the document at /openapi.json, built once, when first asked for (the node's
    state is there by then)."""

    def _openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema = problems.fix_openapi(schema, BODY_MODELS)
            state = getattr(app.state, "denex", None)
            if state is not None:
                this_node(schema, regimes=state.node.identity.regimes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = _openapi  # type: ignore[method-assign]


def this_node(schema: dict[str, Any], *, regimes: tuple[str, ...]) -> None:
    """State what this node accepts beyond the models: a notice names this node's regimes
    (fixed by `denex init`), no others."""
    components = schema["components"]["schemas"]
    regime = components["NoticeInput"]["properties"]["regimes"]["items"]
    regime.pop("pattern", None)
    regime["enum"] = sorted(regimes)
    regime["description"] = "a regime this node belongs to"
