"""What the node says about its own API, without the internet: the page each problem `type`
names (/problems/{kind}), and the Swagger UI (/docs) and ReDoc (/redoc) pages with their
assets served from the fastapi-offline package (docs/decisions/0024). Open to anyone, like
/openapi.json."""

import html
import re
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from service.api.problem_types import KINDS, Kind
from service.api.problem_types import kind as kind_named
from service.api.problems import openapi_errors
from service.errors import NotFound

router = APIRouter(tags=["reference"])

ASSETS_PATH = "/docs/assets/"
ASSETS = {  # the files of fastapi-offline's static folder, and their media types
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
_STATIC = files("fastapi_offline") / "static"
TITLE = "denex node API"
HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}
}


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return html.escape(root.rstrip("/"))


@router.get("/docs", include_in_schema=False)
async def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{TITLE} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_PATH}swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}favicon.png",
    )


@router.get("/redoc", include_in_schema=False)
async def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_redoc_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{TITLE} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_PATH}redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_PATH}favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSETS_PATH + "{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    """One file of the docs pages (a fixed list: no other file is ever read)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no docs asset {name}")
    return Response(
        (_STATIC / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/problems", response_class=HTMLResponse, responses=HTML)
async def problem_types(request: Request) -> HTMLResponse:
    """Every kind of problem this API reports: its `type`, status and title."""
    root = _root(request)
    rows = "".join(
        f'<tr><td><a href="{root}{k.type}"><code>{k.type}</code></a></td>'
        f"<td>{k.status}</td><td>{html.escape(k.title)}</td></tr>"
        for k in KINDS
    )
    body = (
        "<p>Every error of this API is an RFC 9457 problem document "
        "(<code>application/problem+json</code>). Branch on its <code>type</code>:</p>"
        f"<table><tr><th>type</th><th>status</th><th>title</th></tr>{rows}</table>"
    )
    return _page("Problem types", body, root)


@router.get(
    "/problems/{kind}",
    response_class=HTMLResponse,
    responses={**HTML, **openapi_errors(404)},
)
async def problem_type(
    request: Request,
    kind: Annotated[str, Path(json_schema_extra={"enum": [k.slug for k in KINDS]})],
) -> HTMLResponse:
    """What a problem `type` means and what to do about it."""
    found = _kind(kind)
    root = _root(request)
    body = (
        f"<p>HTTP status {found.status}; <code>type</code> "
        f"<code>{found.type}</code>.</p><p>{_markup(found.about)}</p>"
    )
    return _page(found.title, body, root)


def _kind(slug: str) -> Kind:
    try:
        return kind_named(slug)
    except KeyError:
        raise NotFound(f"no problem type {slug}") from None


def _markup(text: str) -> str:
    """`code` spans of the kinds' descriptions as HTML, the rest escaped."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _page(title: str, body: str, root: str) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - {TITLE}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}"
        f'<p><a href="{root}/problems">All problem types</a> · '
        f'<a href="{root}/docs">API documentation</a></p></body></html>'
    )
