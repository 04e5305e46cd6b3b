"""In-browser layout time of the diagram page's engine for designs of 50, 300 and 1,000 resources.

    .venv/bin/python bench/diagram.py [--sizes 50,300,1000] [--runs 3]

The DOT comes from the page's own builder (``web.diagram.build_dot``: region > VPC > AZ >
subnet tier clusters, per-AZ copies, a shape per kind) for synthetic designs whose nodes spread
over the groups the way generated designs do, with references between them. Debian's headless
chromium (``/usr/bin/chromium``, driven by Playwright for Python) loads @viz-js/viz from
``web/node_modules`` over HTTP, as the page does, and times ``renderSVGElement`` per size
(Graphviz layout plus building the SVG element). Prints, per size: the nodes drawn (with the
per-AZ copies), the edges, the DOT size, and the min / median / max layout time in ms; the
first line is the module's load and WebAssembly compile time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web.diagram import KINDS, build_dot  # noqa: E402
from web.pages import VENDOR  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking"]
# where generated designs put their resources (roughly: most regional, a third in subnets)
GROUPS = [("region", 0.35), ("private", 0.2), ("data", 0.12), ("public", 0.08),
          ("account", 0.1), ("global", 0.05), ("vpc", 0.1)]

PAGE = """<!doctype html><meta charset=utf-8><title>diagram bench</title>
<script type=module src="/bench.js"></script>"""
SCRIPT = """
import { instance } from "/viz.js";
const t0 = performance.now();
const viz = await instance();
const load = performance.now() - t0;
const dots = await (await fetch("/dots.json")).json();
const out = { load, sizes: {} };
for (const [size, { dot, runs }] of Object.entries(dots)) {
  const times = [];
  let nodes = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const svg = viz.renderSVGElement(dot);
    times.push(performance.now() - start);
    nodes = svg.querySelectorAll("g.node").length;
  }
  out.sizes[size] = { times, nodes };
}
document.body.dataset.result = JSON.stringify(out);
"""


def design(size: int, seed: int = 7) -> dict:  # type: ignore[type-arg]
    rng = random.Random(seed)
    kinds = sorted(KINDS)
    names, weights = zip(*GROUPS, strict=True)
    nodes = []
    for index in range(size):
        kind = rng.choice(kinds)
        group = rng.choices(names, weights)[0]
        nodes.append({"id": f"aws_{kind}.r{index}", "label": f"{kind} {index}", "kind": kind,
                      "group": group, "blueprint": f"b{index % 40}"})
    edges = []
    for index in range(1, size):
        for target in {rng.randrange(index) for _ in range(rng.choice((1, 1, 2)))}:
            edges.append({"from": nodes[index]["id"], "to": nodes[target]["id"]})
    groups = [{"id": "global"}, {"id": "account"}, {"id": "region", "label": "us-east-1"},
              {"id": "vpc"}, {"id": "public"}, {"id": "private"}, {"id": "data"}]
    return {"nodes": nodes, "edges": edges, "groups": groups}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,300,1000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not VENDOR["viz.js"].exists():
        sys.exit("web/node_modules is missing: run scripts/setup")
    from playwright.async_api import async_playwright

    sizes = [int(s) for s in args.sizes.split(",")]
    dots, shapes = {}, {}
    for size in sizes:
        diagram = design(size)
        dot = build_dot(diagram, azs=2)
        dots[str(size)] = {"dot": dot, "runs": args.runs}
        shapes[size] = (len(diagram["edges"]), len(dot))

    async def page_(_r: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def script(_r: web.Request) -> web.Response:
        return web.Response(text=SCRIPT, content_type="text/javascript")

    async def viz(_r: web.Request) -> web.FileResponse:
        return web.FileResponse(VENDOR["viz.js"], headers={"Content-Type": "text/javascript"})

    async def dots_json(_r: web.Request) -> web.Response:
        return web.json_response(dots)

    app = web.Application()
    app.router.add_get("/", page_)
    app.router.add_get("/bench.js", script)
    app.router.add_get("/viz.js", viz)
    app.router.add_get("/dots.json", dots_json)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"http://127.0.0.1:{port}/")
            deadline = asyncio.get_running_loop().time() + 60 * len(sizes) * args.runs
            while not await page.locator("body[data-result]").count():
                if errors or asyncio.get_running_loop().time() > deadline:
                    sys.exit(f"the bench page failed: {errors or 'timed out'}")
                await asyncio.sleep(0.2)
            result = json.loads(await page.locator("body").get_attribute("data-result"))
            await browser.close()
    finally:
        await runner.cleanup()
    print(f"viz.js load + WebAssembly compile: {result['load']:.0f} ms")
    print(f"{'resources':>9} {'nodes':>6} {'edges':>6} {'DOT KiB':>8} "
          f"{'min ms':>8} {'median':>8} {'max ms':>8}")
    for size in sizes:
        entry = result["sizes"][str(size)]
        times = entry["times"]
        edges, dot_len = shapes[size]
        print(f"{size:>9} {entry['nodes']:>6} {edges:>6} {dot_len / 1024:>8.1f} "
              f"{min(times):>8.0f} {statistics.median(times):>8.0f} {max(times):>8.0f}")


if __name__ == "__main__":
    asyncio.run(main())
