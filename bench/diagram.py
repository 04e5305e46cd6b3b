"""In-browser layout time of the diagram page's engine for designs of 50, 300 and 1,000 resources.

    .venv/bin/python bench/diagram.py [--sizes 50,300,1000] [--unfolded 50,300] [--runs 3]

The designs are shaped like large real ones (``tests/web/designs.py``: alarms, security group
rules, route table associations, roles... over global, account, region, VPC and three AZs of
subnet tiers, with their references). The DOT is what the page gets
(``web.diagram.diagram_view``: clusters, per-AZ copies, repeated resources folded into groups
so that at most 300 nodes are drawn). Debian's headless chromium (``/usr/bin/chromium``,
driven by Playwright for Python) loads @viz-js/viz from ``web/node_modules`` over HTTP, as the
page does, and times ``renderSVGElement`` per size (Graphviz layout plus building the SVG
element). Prints, per size: nodes and edges drawn, the DOT size, the time to build the view in
Python, the min / median / max layout time in the browser, and the median of the server's
layout (Graphviz's ``dot``, the fallback for browsers without WebAssembly). The baseline, in
the same run: the same designs drawn unfolded (every resource a node) for ``--unfolded`` sizes
(a 1,000-resource design unfolded takes Graphviz minutes). The first line is the module's load
and WebAssembly compile time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.web.designs import large_design, module  # noqa: E402
from web.diagram import diagram_view  # noqa: E402
from web.pages import VENDOR  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking"]

PAGE = """<!doctype html><meta charset=utf-8><title>diagram bench</title>
<script type=module src="/bench.js"></script>"""
SCRIPT = """
import { instance } from "/viz.js";
const t0 = performance.now();
const viz = await instance();
const load = performance.now() - t0;
const dots = await (await fetch("/dots.json")).json();
const out = { load, sizes: {} };
viz.renderSVGElement(Object.values(dots)[0].dot); // warm up: the first layout compiles more
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


def view(size: int, folded: bool) -> tuple[dict, float]:  # type: ignore[type-arg]
    started = time.perf_counter()
    data = diagram_view(module(large_design(size)), [1], **({} if folded else {"max_nodes": None}))
    return data, (time.perf_counter() - started) * 1000


def server_layout_ms(dot: str, runs: int) -> float | None:
    binary = shutil.which("dot")
    if binary is None:
        return None
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([binary, "-Tsvg"], input=dot.encode(), capture_output=True, check=True,
                       timeout=600)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,300,1000")
    parser.add_argument("--unfolded", default="50,300",
                        help="sizes also drawn unfolded, the baseline")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not VENDOR["viz.js"].exists():
        sys.exit("web/node_modules is missing: run scripts/setup")
    from playwright.async_api import async_playwright

    sizes = [int(s) for s in args.sizes.split(",")]
    unfolded = [int(s) for s in args.unfolded.split(",") if s]
    dots, shapes = {}, {}
    for size in sizes:
        for label, folded in [("folded", True)] + (
                [("unfolded", False)] if size in unfolded else []):
            data, build_ms = view(size, folded)
            key = f"{size} {label}"
            dots[key] = {"dot": data["dot"], "runs": args.runs}
            shapes[key] = (data["dot"].count('id="edge:'), len(data["dot"]), build_ms,
                           server_layout_ms(data["dot"], args.runs))

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
    print(f"{'resources':>9} {'view':>9} {'nodes':>6} {'edges':>6} {'DOT KiB':>8} "
          f"{'build ms':>8} {'min ms':>8} {'median':>8} {'max ms':>8} {'server ms':>9}")
    medians = {}
    for key, entry in result["sizes"].items():
        times = entry["times"]
        edges, dot_len, build_ms, server_ms = shapes[key]
        size, label = key.split()
        medians[key] = statistics.median(times)
        server = f"{server_ms:>9.0f}" if server_ms is not None else f"{'no dot':>9}"
        print(f"{size:>9} {label:>9} {entry['nodes']:>6} {edges:>6} {dot_len / 1024:>8.1f} "
              f"{build_ms:>8.0f} {min(times):>8.0f} {medians[key]:>8.0f} {max(times):>8.0f} "
              f"{server}")
    for size in unfolded:
        if f"{size} unfolded" in medians:
            ratio = medians[f"{size} unfolded"] / max(medians[f"{size} folded"], 0.1)
            print(f"  {size} resources: folded layout {ratio:.1f}x faster than unfolded "
                  "(same run)")


if __name__ == "__main__":
    asyncio.run(main())
