"""Server-side layout: the diagram's DOT as SVG, for browsers without WebAssembly.

The page lays the diagram out in the browser (Graphviz compiled to WebAssembly). Where a browser
cannot run WebAssembly (disabled by policy, an old engine), it asks ``/c/{id}/diagram.svg``
instead, which lays out the very same DOT with Graphviz's own ``dot`` (Debian's ``graphviz``
package, which ``scripts/setup`` installs) in a subprocess: the SVG has the same ids and
classes, so the page works the same on it. Layouts are bounded (``timeout_s``, at most
``concurrency`` at once) and the last few are kept, by the digest of their DOT.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
from collections import OrderedDict

from core.errors import ServiceUnavailable


class Renderer:
    def __init__(self, binary: str | None = None, *, timeout_s: float = 20.0,
                 concurrency: int = 2, cache: int = 32) -> None:
        self.binary = binary or shutil.which("dot")
        self.timeout_s = timeout_s
        self._gate = asyncio.Semaphore(concurrency)
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._size = cache

    @property
    def available(self) -> bool:
        return self.binary is not None

    async def svg(self, dot: str) -> bytes:
        """The SVG of ``dot``; ServiceUnavailable when it cannot be laid out here."""
        if self.binary is None:
            raise ServiceUnavailable(
                "this server cannot lay diagrams out: Graphviz (dot) is not installed",
                hint="scripts/setup installs Debian's graphviz package; the page lists the "
                     "components meanwhile")
        key = hashlib.sha256(dot.encode()).hexdigest()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        async with self._gate:
            process = await asyncio.create_subprocess_exec(
                self.binary, "-Tsvg", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                out, err = await asyncio.wait_for(process.communicate(dot.encode()),
                                                  self.timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                raise ServiceUnavailable(
                    f"laying the diagram out took over {self.timeout_s:.0f} s",
                    hint="collapse groups of resources to draw less") from None
        if process.returncode != 0 or not out.lstrip().startswith(b"<?xml"):
            raise ServiceUnavailable("Graphviz could not lay the diagram out: "
                                     + err.decode("utf-8", "replace").strip()[:300])
        self._cache[key] = out
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return out
