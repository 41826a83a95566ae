"""The app factory: one FastAPI app per node, with its state passed in."""

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request, Response

from service.api import problems
from service.api.routes import audit, evidence, federation, health, notices
from service.api.state import AppState
from service.notices.schema import NoticeInput, RevokeInput

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(state: AppState | None, *, lifespan: Lifespan | None = None) -> FastAPI:
    """The node's app. Tests pass a ready `state`; `denex serve` passes a lifespan that opens it."""
    app = FastAPI(
        title="denex node API",
        version="1",
        summary="Denial notices, screening and audit for one node of a denex federation",
        lifespan=lifespan,
    )
    if state is not None:
        app.state.denex = state
    problems.install(app)
    for router in (
        notices.router,
        evidence.router,
        audit.router,
        federation.router,
        health.router,
    ):
        app.include_router(router)

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics = request.app.state.denex.metrics
        metrics.latency.labels(request.method, path).observe(time.perf_counter() - started)
        metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        return response

    def _openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            app.openapi_schema = problems.fix_openapi(schema, [NoticeInput, RevokeInput])
        return app.openapi_schema

    app.openapi = _openapi  # type: ignore[method-assign]
    return app
