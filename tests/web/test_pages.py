"""The web app's pages, static files, module zip and diagram data, over HTTP (no browser)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from aiohttp import ClientSession

from bot.blocks import conversation_links
from core.bus import EventLog
from core.events import Event
from web.diagram import az_count, build_dot
from web.pages import VENDOR

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

MODULE = {
    "kind": "module",
    "version": 1,
    "files": {
        "versions.tf": 'terraform {\n  required_version = ">= 1.10"\n}\n',
        "network.tf": "locals {\n  azs = slice(data.aws_availability_zones.available.names, 0, 3)\n}\n",
        "../evil.tf": "escape",
        "README.md": "# app\n",
    },
    "diagram": {
        "nodes": [
            {"id": "aws_cloudfront_distribution.main", "label": "CloudFront", "kind": "cloudfront",
             "group": "global", "blueprint": "cloudfront"},
            {"id": "aws_cloudtrail.main", "label": "CloudTrail", "kind": "cloudtrail",
             "group": "account", "blueprint": "cloudtrail"},
            {"id": "aws_kms_key.main", "label": "KMS key", "kind": "kms", "group": "region",
             "blueprint": "kms"},
            {"id": "aws_vpc.main", "label": "VPC", "kind": "vpc", "group": "vpc", "blueprint": "vpc"},
            {"id": "aws_lb.main", "label": 'Load "balancer"', "kind": "alb", "group": "public",
             "blueprint": "alb"},
            {"id": "aws_ecs_service.app", "label": "ECS Fargate service", "kind": "ecs",
             "group": "private", "blueprint": "ecs"},
        ],
        "edges": [{"from": "aws_cloudfront_distribution.main", "to": "aws_lb.main"},
                  {"from": "aws_ecs_service.app", "to": "aws_lb.main"},
                  {"from": "aws_ecs_service.app", "to": "nowhere"}],
        "groups": [
            {"id": "global", "label": "Global (edge)", "parent": None},
            {"id": "account", "label": "Account", "parent": None},
            {"id": "region", "label": "eu-west-1", "parent": "account"},
            {"id": "vpc", "label": "VPC", "parent": "region"},
            {"id": "public", "label": "public subnets", "parent": "vpc", "azs": "one per AZ"},
            {"id": "private", "label": "private subnets", "parent": "vpc", "azs": "one per AZ"},
            {"id": "data", "label": "data subnets", "parent": "vpc", "azs": "one per AZ"},
        ],
    },
    "plan": {"items": [{"id": "ecs", "title": "ECS Fargate service", "why": "no servers",
                        "file": "compute.tf"}], "levels": [["ecs"]]},
    "findings": [
        {"check_id": "X1", "severity": "high", "pillar": "reliability",
         "address": "aws_cloudwatch_log_group.app", "file": "compute.tf", "message": "m1",
         "skip_reason": None},
        {"check_id": "X2", "severity": "low", "pillar": "security", "address": "aws_lb.main",
         "file": "edge.tf", "message": "m2", "skip_reason": "documented"},
    ],
    "cost": {"region": "eu-west-1", "monthly_total": 42.0, "items": [
        {"address": "aws_ecs_service.app", "monthly_usd": 14.42, "detail": "2 tasks"}]},
}


async def fetch(server, path, headers=None, **kwargs):
    async with ClientSession() as session, session.get(
        str(server.make_url(path)), headers=headers or {}, **kwargs
    ) as response:
        return response.status, dict(response.headers), await response.read()


async def design(redis, keys, own, conversation="c-design"):
    await own(conversation)
    log = EventLog(redis, keys)
    await log.append(Event(type="status", conversation_id=conversation, text="working"))
    await log.append(Event(type="artifact", conversation_id=conversation, text="Terraform module",
                           data=MODULE))
    await log.append(Event(type="done", conversation_id=conversation, text="Designed."))
    return conversation


async def test_a_browser_gets_the_chat_page_and_an_api_client_json(make_server, cli_headers):
    server = await make_server("web-a")
    status, headers, body = await fetch(server, "/", {**cli_headers, **HTML})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert headers["Cache-Control"] == "no-cache"
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert scripts and all(re.fullmatch(r"/static/[0-9a-f]{12}/[a-z]+\.js", s) for s in scripts)
    assert not re.search(r"<script(?![^>]*src=)", page), "no inline script (CSP)"
    assert "style=" not in page
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval';" in csp and "unsafe-inline" not in csp

    status, headers, body = await fetch(server, "/", {**cli_headers, "Accept": "application/json"})
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert b"POST /api/messages" in body

    status, headers, body = await fetch(server, "/", HTML)  # a browser not signed in
    assert status == 401 and b"archops chat --sign-in" in body


async def test_static_files_are_cached_long_and_stay_inside_their_folder(make_server, cli_headers):
    server = await make_server("web-a")
    _, _, body = await fetch(server, "/", {**cli_headers, **HTML})
    script = re.search(r'src="(/static/[0-9a-f]{12}/)chat\.js"', body.decode()).group(1)
    status, headers, js = await fetch(server, script + "common.js")  # public: code, no data
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b"EventSource" in js
    status, headers, _ = await fetch(server, "/static/000000000000/common.js")
    assert status == 200 and headers["Cache-Control"] == "no-cache"  # an older page: uncached
    for bad in ("/static/x/..%2f..%2fpages.py", "/static/x/../pages.py", "/static/x/nope.js",
                "/static/x/vendor/other.js"):
        assert (await fetch(server, bad))[0] == 404, bad
    if VENDOR["viz.js"].exists():
        status, headers, viz = await fetch(server, script + "vendor/viz.js")
        assert status == 200 and headers["Content-Type"].startswith("text/javascript")
        assert b"Graphviz" in viz[:400]


async def test_the_link_slack_posts_opens_that_conversations_stream_page(
    make_server, signer, own
):
    server = await make_server("web-a")
    await own("c-slack")
    link = conversation_links("http://archops.example", signer)("c-slack")
    path = link.removeprefix("http://archops.example")
    status, headers, _ = await fetch(server, path, HTML, allow_redirects=False)
    assert status == 303
    location = headers["Location"]
    assert location.startswith("/c/c-slack?cap=")
    status, headers, body = await fetch(server, location, HTML)
    assert status == 200 and b"stream.js" in body
    # the same link is no key to another conversation, its page or its diagram
    cap = location.split("cap=", 1)[1]
    assert (await fetch(server, f"/c/c-other?cap={cap}", HTML))[0] == 403
    assert (await fetch(server, f"/?conversation=c-other&cap={cap}", HTML))[0] == 403
    assert (await fetch(server, f"/c/c-other/diagram?cap={cap}", HTML))[0] == 403
    # and a page nobody may read: not without a principal
    assert (await fetch(server, "/c/c-slack"))[0] == 401


async def test_module_zip_holds_the_modules_files_in_one_folder(redis, keys, make_server,
                                                                 cli_headers, own):
    server = await make_server("web-a")
    conversation = await design(redis, keys, own)
    status, headers, body = await fetch(
        server, f"/api/conversations/{conversation}/module.zip", cli_headers)
    assert status == 200 and headers["Content-Type"] == "application/zip"
    assert headers["Content-Disposition"] == 'attachment; filename="archops-c-design-v1.zip"'
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(archive.namelist()) == ["c-design-v1/README.md", "c-design-v1/network.tf",
                                          "c-design-v1/versions.tf"]
    assert archive.read("c-design-v1/versions.tf").decode() == MODULE["files"]["versions.tf"]
    assert (await fetch(server, f"/api/conversations/{conversation}/module.zip?version=7",
                        cli_headers))[0] == 404
    await own("c-empty")
    status, _, body = await fetch(server, "/api/conversations/c-empty/module.zip", cli_headers)
    assert status == 404 and b"no design yet" in body
    await own("c-theirs", "web:bob")
    assert (await fetch(server, "/api/conversations/c-theirs/module.zip", cli_headers))[0] == 403


async def test_diagram_data_and_page(redis, keys, make_server, cli_headers, own):
    server = await make_server("web-a")
    conversation = await design(redis, keys, own)
    async with ClientSession(headers=cli_headers) as session, session.get(
        str(server.make_url(f"/api/conversations/{conversation}/diagram"))
    ) as response:
        assert response.status == 200
        view = await response.json()
    assert view["version"] == 1 and view["versions"] == [1] and view["azs"] == 3
    assert view["clusters"][:4] == ["global", "account", "region", "vpc"]
    assert "az3:data" in view["clusters"]
    ecs = view["nodes"]["aws_ecs_service.app"]
    assert ecs["why"] == "no servers" and ecs["cost"][0]["monthly_usd"] == 14.42
    assert [f["check_id"] for f in ecs["findings"]] == ["X1"]  # its blueprint's file
    assert [f["check_id"] for f in view["nodes"]["aws_lb.main"]["findings"]] == ["X2"]
    status, _, body = await fetch(server, f"/c/{conversation}/diagram", {**cli_headers, **HTML})
    page = body.decode()
    assert status == 200 and "diagram.js" in page
    # the server-rendered list for browsers without WebAssembly, escaped
    assert "Load &quot;balancer&quot;" in page and "{{fallback}}" not in page


@pytest.mark.parametrize("azs", [1, 2, 3])
def test_dot_nests_region_vpc_az_and_tier_clusters(azs):
    dot = build_dot(MODULE["diagram"], azs=azs)
    for cluster in ("cluster_global", "cluster_account", "cluster_region", "cluster_vpc"):
        assert f'subgraph "{cluster}"' in dot
    for az in range(1, azs + 1):
        for tier in ("public", "private", "data"):
            assert f'subgraph "cluster_az{az}_{tier}"' in dot
    assert dot.count('id="node:aws_lb.main') == azs  # AZ 1, then one copy per other AZ
    assert 'label="Load \\"balancer\\""' in dot
    assert '"aws_ecs_service.app" -> "aws_lb.main"' in dot and "nowhere" not in dot
    assert 'shape="cylinder"' not in dot and 'shape="box3d"' in dot  # a shape per kind
    # global services sit outside the account's region; regional ones outside the VPC
    assert dot.index('"aws_cloudfront_distribution.main" [') < dot.index("cluster_account")
    assert dot.index('"aws_kms_key.main" [') < dot.index("cluster_vpc")


def test_a_design_without_a_vpc_has_no_vpc_cluster():
    diagram = {"nodes": [{"id": "aws_s3_bucket.site", "label": "Site", "kind": "s3",
                          "group": "region"}],
               "edges": [], "groups": [{"id": "region", "label": "us-east-1"}]}
    dot = build_dot(diagram, azs=2)
    assert "cluster_vpc" not in dot and "cluster_az" not in dot
    assert 'shape="folder"' in dot
    assert az_count({"main.tf": "x"}) == 2


async def test_a_later_version_marks_what_it_added_changed_and_removed(redis, keys, make_server,
                                                                      cli_headers, own):
    import copy

    server = await make_server("web-a")
    conversation = await design(redis, keys, own, "c-versions")
    second = copy.deepcopy(MODULE)
    second["version"] = 2
    second["diagram"]["nodes"] = [n for n in second["diagram"]["nodes"]
                                  if n["id"] != "aws_cloudtrail.main"]
    second["diagram"]["nodes"].append({"id": "aws_elasticache_replication_group.main",
                                       "label": "ElastiCache Redis", "kind": "redis",
                                       "group": "data", "blueprint": "redis"})
    second["files"]["compute.tf"] = "# the service now reads the cache's address\n"
    await EventLog(redis, keys).append(Event(type="artifact", conversation_id=conversation,
                                             text="Terraform module", data=second))
    async with ClientSession(headers=cli_headers) as session:
        async with session.get(str(server.make_url(
                f"/api/conversations/{conversation}/diagram"))) as response:
            latest = await response.json()
        async with session.get(str(server.make_url(
                f"/api/conversations/{conversation}/diagram?version=1"))) as response:
            first = await response.json()
    assert latest["version"] == 2 and latest["versions"] == [1, 2]
    assert latest["changes"] == {"against": 1, "added": ["aws_elasticache_replication_group.main"],
                                 "changed": ["aws_ecs_service.app"],
                                 "removed": ["aws_cloudtrail.main"]}
    dot = latest["dot"]
    assert re.search(r'"aws_elasticache_replication_group.main" \[[^\]]*class="[^"]* added"', dot)
    assert re.search(r'"aws_cloudtrail.main" \[[^\]]*label="CloudTrail \(removed\)"', dot)
    assert latest["nodes"]["aws_cloudtrail.main"]["removed"] is True
    assert first["version"] == 1 and first["changes"]["against"] is None
    assert " added" not in first["dot"]


async def test_every_page_runs_only_the_apps_own_scripts(redis, keys, make_server, cli_headers,
                                                         own):
    """The CSP allows scripts from this origin and WebAssembly compilation, nothing inline; the
    pages (one layout: the same head on each) need nothing more."""
    server = await make_server("web-a")
    conversation = await design(redis, keys, own, "c-csp")
    heads = set()
    pages = {"/": "chat", f"/c/{conversation}": "stream", f"/c/{conversation}/diagram": "diagram"}
    for path, name in pages.items():
        status, headers, body = await fetch(server, path, {**cli_headers, **HTML})
        page = body.decode()
        assert status == 200, path
        directives = dict(d.strip().split(" ", 1) for d in
                          headers["Content-Security-Policy"].split(";"))
        assert directives["script-src"] == "'self' 'wasm-unsafe-eval'", path
        assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path  # no inline script
        assert not re.search(r"\son[a-z]+=", page) and "style=" not in page, path
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
        assert len(scripts) == 1 and re.fullmatch(rf"/static/[0-9a-f]{{12}}/{name}\.js",
                                                  scripts[0]), scripts
        heads.add(re.sub(r'<script[^>]*></script>', "", page.split("</head>")[0]))
    assert len(heads) == 1  # the same head on every page


async def test_the_links_in_a_pull_request_open_its_pages_for_anyone_with_them_and_no_more(
        redis, keys, make_server, signer, own, tmp_path):
    """The pull request's body links the live stream and the diagram (agents.delivery): each
    opens its page, page data and SVG for whoever holds the link; the same link is no key to
    another conversation, and a page without it needs a sign-in."""
    from agents.delivery import Deliverer
    from core.codehost.hosts import Hosts
    from core.envelope import Envelope
    from core.settings import Settings

    server = await make_server("web-a")
    conversation = await design(redis, keys, own, "c-pr-links")
    settings = Settings(data_dir=tmp_path, public_url="http://archops.example")
    links, _ = Deliverer(None, Hosts(settings, None), signer).links(
        Envelope(conversation_id=conversation, source="web", user="local", text="a web app"))
    stream = links["stream"].removeprefix("http://archops.example")
    diagram = links["diagram"].removeprefix("http://archops.example")
    cap = stream.split("cap=", 1)[1]
    status, _, body = await fetch(server, stream, HTML)
    assert status == 200 and b"/stream.js" in body
    status, _, body = await fetch(server, diagram, HTML)
    assert status == 200 and b"/diagram.js" in body and b"Load &quot;balancer&quot;" in body
    for api in (f"/api/conversations/{conversation}/diagram?cap={cap}",
                f"/api/conversations/{conversation}/history?cap={cap}"):
        assert (await fetch(server, api))[0] == 200, api
    for other in (f"/c/c-else?cap={cap}", f"/c/c-else/diagram?cap={cap}",
                  f"/api/conversations/c-else/diagram?cap={cap}", f"/?cap={cap}"):
        assert (await fetch(server, other, HTML))[0] == 403, other
    assert (await fetch(server, f"/c/{conversation}/diagram", HTML))[0] == 401
