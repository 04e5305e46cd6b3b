"""The web app's pages: the chat, a conversation's live stream, a design's diagram.

The pages are HTML with no inline script (the CSP allows only the app's own scripts) that
load small ES modules from ``/static/<version>/``; ``<version>`` is a digest of the files, so
they are cached for a year and a release changes the URL. Every page is one layout
(``templates/page.html``: the head, its stylesheet and its module) around its own body
(``templates/<page>.html``). The layout engine of the diagram
page, @viz-js/viz (Graphviz in WebAssembly, pinned by ``web/package.json`` and its lock file),
is served from ``web/node_modules`` where ``scripts/setup`` installs it.

Pages and their data go through the access model (:mod:`web.auth`) like the API: ``/c/{id}``
and its diagram need the right to read that conversation (its owner's session, or a ``?cap=``
link, which the page passes on to the API calls it makes). ``/c/{id}/diagram.svg`` is the
same diagram laid out on the server (:mod:`web.render`), for browsers without WebAssembly.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from core.errors import NotFound, ValidationError
from web.auth import PRINCIPAL
from web.context import CTX
from web.diagram import (
    diagram_view,
    latest_module,
    module_by_version,
    module_versions,
    parse_expand,
)
from web.render import Renderer

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
VENDOR = {  # what /static/<v>/vendor/<name> serves, from web/node_modules (scripts/setup)
    "viz.js": HERE / "node_modules" / "@viz-js" / "viz" / "dist" / "viz.js",
}
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml"}
LONG_CACHE = "public, max-age=31536000, immutable"
PAGE_CACHE = "no-cache"
MAX_EVENTS = 10_000
FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}")
PAGES = ("chat", "stream", "diagram", "projects")


def static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC).as_posix().encode())
            digest.update(path.read_bytes())
    for name, path in sorted(VENDOR.items()):
        digest.update(name.encode())
        digest.update(str(path.stat().st_size if path.exists() else -1).encode())
    return digest.hexdigest()[:12]


class Assets:
    """The static files and the pages, with the versioned prefix filled in."""

    def __init__(self) -> None:
        self.version = static_version()
        self.prefix = f"/static/{self.version}"
        layout = (TEMPLATES / "page.html").read_text()
        self.pages = {
            name: layout.replace("{{body}}", (TEMPLATES / f"{name}.html").read_text())
            .replace("{{page}}", name).replace("{{static}}", self.prefix)
            for name in PAGES
        }

    def page(self, name: str) -> web.Response:
        return web.Response(body=self.pages[name].encode(), content_type="text/html",
                            charset="utf-8", headers={"Cache-Control": PAGE_CACHE})

    async def serve(self, request: web.Request) -> web.StreamResponse:
        version, name = request.match_info["version"], request.match_info["path"]
        if name.startswith("vendor/"):
            path = VENDOR.get(name.removeprefix("vendor/"))
            if path is None or not path.is_file():
                raise web.HTTPNotFound(reason="not installed (run scripts/setup)")
        else:
            path = (STATIC / name).resolve()
            if STATIC not in path.parents or not path.is_file() or path.suffix not in TYPES:
                raise web.HTTPNotFound()
        # an older page asking for older files gets today's, uncached
        cache = LONG_CACHE if version == self.version else PAGE_CACHE
        return web.FileResponse(path, headers={"Cache-Control": cache,
                                               "Content-Type": TYPES[path.suffix]})


ASSETS = web.AppKey("assets", Assets)
RENDERER = web.AppKey("renderer", Renderer)


def wants_html(request: web.Request) -> bool:
    """A browser navigating (Accept names text/html before any JSON), not an API client."""
    accept = request.headers.get("Accept", "")
    if "text/html" not in accept:
        return False
    return "application/json" not in accept or accept.index("text/html") < accept.index(
        "application/json")


async def chat_page(request: web.Request) -> web.StreamResponse:
    principal = request.get(PRINCIPAL)
    conversation = request.query.get("conversation")
    if principal is not None and principal.capability is not None and conversation:
        # the link the Slack edge posts (/?conversation=ID&cap=...): that conversation's page
        raise web.HTTPSeeOther(f"/c/{quote(conversation, safe='')}?cap="
                               f"{quote(request.query['cap'], safe='.-_')}")
    return request.app[ASSETS].page("chat")


async def stream_page(request: web.Request) -> web.StreamResponse:
    return request.app[ASSETS].page("stream")


async def diagram_page(request: web.Request) -> web.StreamResponse:
    """The diagram page, with the components listed server-side: what a browser without
    WebAssembly (or scripts) shows instead of the drawing."""
    try:
        module, _ = await _module(request)
    except NotFound as exc:
        module, missing = None, exc.message
    response = request.app[ASSETS].page("diagram")
    text = request.app[ASSETS].pages["diagram"]
    response.body = text.replace("{{fallback}}", fallback_html(module, missing if module is None
                                                              else None)).encode()
    return response


GROUP_TITLES = {"global": "Global (edge)", "account": "Account", "region": "Region",
                "vpc": "VPC", "public": "Public subnets", "private": "Private subnets",
                "data": "Data subnets"}


def fallback_html(module: dict | None, missing: str | None = None) -> str:  # type: ignore[type-arg]
    if module is None:
        return f"<p>{html.escape(missing or 'no design')}</p>"
    diagram = module.get("diagram") or {}
    by_group: dict[str, list[str]] = {}
    for node in diagram.get("nodes") or []:
        by_group.setdefault(str(node.get("group") or "region"), []).append(
            f"<li>{html.escape(str(node.get('label')))} <code>{html.escape(str(node.get('id')))}"
            "</code></li>")
    parts = [f"<h2>Components (version {int(module.get('version') or 1)})</h2>"]
    for group in [*GROUP_TITLES, *sorted(set(by_group) - set(GROUP_TITLES))]:
        if group in by_group:
            parts.append(f"<h3>{html.escape(GROUP_TITLES.get(group, group))}</h3><ul>"
                         + "".join(by_group[group]) + "</ul>")
    return "\n".join(parts)


async def _module(request: web.Request, with_previous: bool = False):  # type: ignore[no-untyped-def]
    conversation_id = request.match_info["conversation_id"]
    version = None
    if "version" in request.query:
        if not request.query["version"].isdigit() or len(request.query["version"]) > 6:
            raise ValidationError("version must be a design version number")
        version = int(request.query["version"])
    events = await request.app[CTX].events.read(conversation_id, count=MAX_EVENTS)
    module = latest_module(events, version)
    if module is None:
        raise NotFound("this conversation has no design yet" if version is None
                       else f"this conversation has no design version {version}")
    if with_previous:
        earlier = [v for v in module_by_version(events) if v < (module.get("version") or 0)]
        previous = module_by_version(events)[max(earlier)] if earlier else None
        return module, module_versions(events), previous
    return module, module_versions(events)


async def _view(request: web.Request) -> dict:  # type: ignore[type-arg]
    expand = parse_expand(request.query.get("expand"))
    module, versions, previous = await _module(request, with_previous=True)
    return diagram_view(module, versions, previous, expand=expand)


async def diagram_data(request: web.Request) -> web.Response:
    """GET /api/conversations/{id}/diagram[?version=N][&expand=group:...]: DOT, node and group
    details, cluster ids, what changed."""
    response = web.json_response(await _view(request))
    response.enable_compression()  # a 1,000-resource design's details are ~450 KB of JSON
    return response


async def diagram_svg(request: web.Request) -> web.Response:
    """GET /c/{id}/diagram.svg[?version=N][&expand=...]: the same view laid out here."""
    view = await _view(request)
    svg = await request.app[RENDERER].svg(view["dot"])
    return web.Response(body=svg, content_type="image/svg+xml",
                        headers={"Cache-Control": "private, no-cache"})


async def module_zip(request: web.Request) -> web.Response:
    """GET /api/conversations/{id}/module.zip[?version=N]: the module's files as a zip."""
    module, _ = await _module(request)
    files = module.get("files") or {}
    conversation_id = request.match_info["conversation_id"].replace(":", "_")
    version = module.get("version") or 1
    folder = f"{conversation_id}-v{version}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            # a file name from the worker, never a path: nothing lands outside the folder
            if not isinstance(text, str) or not FILE_NAME.fullmatch(name):
                continue
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return web.Response(
        body=buffer.getvalue(), content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="archops-{folder}.zip"'},
    )


def add_routes(app: web.Application, renderer: Renderer | None = None) -> None:
    app[ASSETS] = Assets()
    app[RENDERER] = renderer or Renderer()
    app.router.add_get("/static/{version}/{path:.+}", app[ASSETS].serve)
    app.router.add_get("/c/{conversation_id}", stream_page)
    app.router.add_get("/c/{conversation_id}/diagram", diagram_page)
    app.router.add_get("/c/{conversation_id}/diagram.svg", diagram_svg)
    app.router.add_get("/api/conversations/{conversation_id}/diagram", diagram_data)
    app.router.add_get("/api/conversations/{conversation_id}/module.zip", module_zip)
