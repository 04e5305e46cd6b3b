"""The diagram at scale and without WebAssembly: repeated resources folded into groups that open
on request, the architects' nesting for generated and scanned designs, and the server's SVG."""

from __future__ import annotations

import json
import re
import shutil
from urllib.parse import quote

import pytest
from aiohttp import ClientSession

from core.bus import EventLog
from core.events import Event
from tests.web.designs import large_design, module
from tests.web.test_pages import MODULE
from web.diagram import diagram_view
from web.dot import MAX_NODES, draw
from web.pages import RENDERER

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is missing (scripts/setup installs it)")
NODE = re.compile(r'id="node:([^"]+)"')
SVG_NODE = re.compile(r'<g id="node:([^"]+)" class="node')


def drawn(dot: str) -> list[str]:
    return NODE.findall(dot)


async def put_design(redis, keys, own, conversation, *modules):
    await own(conversation)
    log = EventLog(redis, keys)
    for data in modules:
        await log.append(Event(type="artifact", conversation_id=conversation,
                               text="Terraform module", data=data))
    return conversation


async def get(server, path, headers):
    async with ClientSession(headers=headers) as session, session.get(
            str(server.make_url(path))) as response:
        body = await response.read()
        return response.status, response.headers, body


def test_a_thousand_resources_are_drawn_as_at_most_300_nodes_and_none_is_lost():
    design = large_design(1000)
    view = diagram_view(module(design), [1])
    names = drawn(view["dot"])
    assert len(names) == view["node_count"] <= MAX_NODES
    collapsed = {gid: g for gid, g in view["groups"].items() if not g["open"]}
    assert collapsed, "a design this size needs groups"
    folded = {m for g in collapsed.values() for m in g["members"]}
    for node in design["nodes"]:  # every resource is drawn, or inside a folded group
        assert node["id"] in names or node["id"] in folded, node["id"]
    # what comes by the dozen is a group, named by its kind and count
    alarms = view["groups"]["group:region:cloudwatch_metric_alarm"]
    assert not alarms["open"] and alarms["count"] == len(
        [n for n in design["nodes"] if n["kind"] == "cloudwatch_metric_alarm"])
    assert re.search(r'"group:region:cloudwatch_metric_alarm" \[[^\]]*label="cloudwatch metric '
                     r'alarm × \d+"[^\]]*class="group-node', view["dot"])
    # a group of a subnet tier shows in every AZ, as the resources it stands for run there
    assert {"group:tier-private:ec2", "group:tier-private:ec2@az2",
            "group:tier-private:ec2@az3"} <= set(names)
    # an edge of a folded resource is drawn from its group
    assert '"group:vpc:security_group_rule" -> "aws_security_group.r0"' in view["dot"]


def test_opening_a_group_draws_its_members_and_folds_others_to_stay_legible():
    design = large_design(1000)
    first = diagram_view(module(design), [1])
    group = first["groups"]["group:tier-private:ec2"]
    opened = diagram_view(module(design), [1], expand=frozenset({group["id"]}))
    names = set(drawn(opened["dot"]))
    assert set(group["members"]) <= names  # every member, in AZ 1 ...
    assert f"{group['members'][0]}@az3" in names  # ... and its copies in the other AZs
    assert "group:tier-private:ec2" not in names
    assert opened["expanded"] == ["group:tier-private:ec2"]
    assert opened["node_count"] <= MAX_NODES
    # asking for more than fits shows the first members and the rest as one node
    huge = diagram_view(module(design), [1],
                        expand=frozenset({"group:region:cloudwatch_metric_alarm",
                                          "group:vpc:security_group_rule"}))
    assert huge["node_count"] <= MAX_NODES
    assert "group:vpc:security_group_rule:more" in drawn(huge["dot"]) or \
        "group:region:cloudwatch_metric_alarm:more" in drawn(huge["dot"])


def test_a_small_design_is_drawn_whole_but_repeated_rules_are_grouped():
    view = diagram_view(MODULE, [1])
    assert view["node_count"] < 50 and not [g for g in view["groups"].values() if not g["open"]]
    rules = {"nodes": [*MODULE["diagram"]["nodes"], *(
        {"id": f"aws_vpc_security_group_ingress_rule.r{i}", "label": f"rule {i}",
         "kind": "security_group_rule", "group": "vpc"} for i in range(6))],
        "edges": [], "groups": MODULE["diagram"]["groups"]}
    view = diagram_view({**MODULE, "diagram": rules}, [1])
    assert "group:vpc:security_group_rule" in drawn(view["dot"])
    assert "aws_vpc_security_group_ingress_rule.r0" not in drawn(view["dot"])


def test_a_scanned_account_nests_region_vpc_az_and_subnet_with_iam_outside_the_vpc():
    diagram = {
        "nodes": [
            {"id": "app-role", "label": "app-role", "kind": "iam_role", "group": "global"},
            {"id": "bucket-1", "label": "logs", "kind": "s3_bucket", "group": "region:eu-west-1"},
            {"id": "i-1", "label": "web", "kind": "instance", "group": "subnet:subnet-a"},
            {"id": "db-1", "label": "db", "kind": "db_instance", "group": "subnet:subnet-b"},
        ],
        "edges": [{"from": "i-1", "to": "app-role", "label": "runs as"}],
        "groups": [
            {"id": "account", "label": "Account", "parent": None, "kind": "account"},
            {"id": "global", "label": "Global (IAM)", "parent": "account", "kind": "global"},
            {"id": "region:eu-west-1", "label": "eu-west-1", "parent": "account", "kind": "region"},
            {"id": "vpc:vpc-1", "label": "main (10.0.0.0/16)", "parent": "region:eu-west-1",
             "kind": "vpc"},
            {"id": "az:vpc-1:eu-west-1a", "label": "eu-west-1a", "parent": "vpc:vpc-1",
             "kind": "az"},
            {"id": "subnet:subnet-a", "label": "public-a", "parent": "az:vpc-1:eu-west-1a",
             "kind": "subnet"},
            {"id": "subnet:subnet-b", "label": "data-a", "parent": "az:vpc-1:eu-west-1a",
             "kind": "subnet"},
            {"id": "subnet:subnet-c", "label": "empty-a", "parent": "az:vpc-1:eu-west-1a",
             "kind": "subnet"},
        ],
    }
    drawing = draw(diagram)
    dot = drawing.dot
    order = ["cluster:account", "cluster:region:eu-west-1", "cluster:vpc:vpc-1",
             "cluster:az:vpc-1:eu-west-1a", "cluster:subnet:subnet-a"]
    assert [dot.index(f'id="{c}"') for c in order] == sorted(dot.index(f'id="{c}"') for c in order)
    assert dot.index('"app-role" [') < dot.index('id="cluster:region:eu-west-1"')  # IAM: global
    assert dot.index('"bucket-1" [') < dot.index('id="cluster:vpc:vpc-1"')  # S3: regional
    assert 'shape="cylinder"' in dot and 'shape="folder"' in dot  # the scanner's kinds' shapes
    assert 'label="Region eu-west-1"' in dot
    assert "empty:subnet:subnet-c" in drawn(dot)  # an empty subnet still shows
    assert drawing.clusters == ["account", "global", "region:eu-west-1", "vpc:vpc-1",
                                "az:vpc-1:eu-west-1a", "subnet:subnet-a", "subnet:subnet-b",
                                "subnet:subnet-c"]


async def test_the_api_opens_groups_on_request_and_refuses_a_bad_request(
        redis, keys, make_server, cli_headers, own):
    server = await make_server("web-a")
    conversation = await put_design(redis, keys, own, "c-large", module(large_design(1000)))
    status, headers, body = await get(server, f"/api/conversations/{conversation}/diagram",
                                      {**cli_headers, "Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    status, _, body = await get(
        server, f"/api/conversations/{conversation}/diagram?expand=group:tier-data:rds",
        cli_headers)
    view = json.loads(body)
    assert status == 200 and "aws_rds.r0@az2" in drawn(view["dot"])
    assert view["expanded"] == ["group:tier-data:rds"] and view["groups"]["group:tier-data:rds"]["open"]
    for bad in ("nope", "group:" + "x" * 400, ",".join(f"group:{i}" for i in range(101))):
        status, _, body = await get(
            server, f"/api/conversations/{conversation}/diagram?expand={quote(bad)}", cli_headers)
        assert status == 400 and b"expand must be" in body, bad


@needs_dot
async def test_the_server_lays_out_the_same_diagram_as_svg(redis, keys, make_server, cli_headers,
                                                           own, signer):
    server = await make_server("web-a")
    conversation = await put_design(redis, keys, own, "c-svg", MODULE)
    status, headers, body = await get(server, f"/c/{conversation}/diagram.svg", cli_headers)
    assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    svg = body.decode()
    view = diagram_view(MODULE, [1])
    assert set(SVG_NODE.findall(svg)) == set(drawn(view["dot"]))
    assert {c.removeprefix("cluster:") for c in re.findall(r'<g id="(cluster:[^"]+)"', svg)} == \
        set(view["clusters"])
    assert "Load &quot;balancer&quot;" in svg  # labels escaped by Graphviz
    # a read link to this conversation lays it out; one to another conversation does not
    cap = signer.issue("conversation", conversation, actions={"read"}, ttl_s=600)
    other = signer.issue("conversation", "c-other", actions={"read"}, ttl_s=600)
    assert (await get(server, f"/c/{conversation}/diagram.svg?cap={quote(cap)}", {}))[0] == 200
    assert (await get(server, f"/c/{conversation}/diagram.svg?cap={quote(other)}", {}))[0] == 403
    assert (await get(server, f"/c/{conversation}/diagram.svg", {}))[0] == 401


@needs_dot
async def test_the_servers_svg_of_a_thousand_resources_has_at_most_300_nodes(
        redis, keys, make_server, cli_headers, own):
    server = await make_server("web-a")
    conversation = await put_design(redis, keys, own, "c-svg-large", module(large_design(1000)))
    status, _, body = await get(server, f"/c/{conversation}/diagram.svg", cli_headers)
    assert status == 200
    nodes = SVG_NODE.findall(body.decode())
    assert 0 < len(nodes) <= MAX_NODES
    status, _, body = await get(
        server, f"/c/{conversation}/diagram.svg?expand=group:tier-private:ec2", cli_headers)
    assert "aws_ec2.r5" in SVG_NODE.findall(body.decode())


async def test_without_graphviz_the_svg_is_a_503_that_says_how_to_fix_it(
        redis, keys, make_server, cli_headers, own):
    server = await make_server("web-a")
    server.app[RENDERER].binary = None
    conversation = await put_design(redis, keys, own, "c-nodot", MODULE)
    status, headers, body = await get(server, f"/c/{conversation}/diagram.svg", cli_headers)
    assert status == 503 and b"Graphviz (dot) is not installed" in body
    assert b"scripts/setup" in body and headers["Retry-After"] == "2"
