"""The app factory: one FastAPI app per node, with its state passed in."""

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import access, openapi, problems
from service.api.limits import BodyLimit
from service.api.routes import (
    audit,
    consultations,
    evidence,
    federation,
    health,
    notices,
    peers,
    reference,
    reports,
    rules,
    screenings,
)
from service.api.state import AppState

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class Measure:
    """Request count and latency per method, route and status, and the access-log line
    (service.api.access), as a plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a
    task group and a stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            path = access.route_template(scope) or "unmatched"
            state = scope["app"].state.denex
            state.metrics.latency.labels(scope["method"], path).observe(seconds)
            state.metrics.requests.labels(scope["method"], path, str(status)).inc()
            if state.settings.access_log:
                access.record(scope, status=status, seconds=seconds)


def create_app(state: AppState | None, *, lifespan: Lifespan | None = None) -> FastAPI:
    """The node's app. Tests pass a ready `state`; `denex serve` passes a lifespan that opens it."""
    app = FastAPI(
        title="denex node API",
        version="1",
        summary="Denial notices, screening and audit for one node of a denex federation",
        lifespan=lifespan,
        docs_url=None,  # served by routes.reference, with assets from this node
        redoc_url=None,
    )
    if state is not None:
        app.state.denex = state
    problems.install(app)
    for router in (
        notices.router,
        screenings.router,
        consultations.router,
        evidence.router,
        audit.router,
        federation.router,
        peers.router,
        rules.router,
        reports.router,
        health.router,
        reference.router,
    ):
        app.include_router(router)

    app.add_middleware(BodyLimit)  # inside Measure: its refusals are measured too
    app.add_middleware(rules.ProfileHeader)  # every answer, refusals included
    app.add_middleware(Measure)

    openapi.install(app)
    return app
