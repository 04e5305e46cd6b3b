"""Automatic pipelining: script calls made in the same event-loop turn share one round trip.

A worker runs many conversations at once and a web instance accepts many submissions at once;
each makes small Redis calls. Sending each alone costs a round trip and a parser pass apiece;
coalescing the calls that are ready together into one pipeline (as ioredis' auto-pipelining
does) keeps the latency of a lone call and multiplies throughput under load. One pipeline is in
flight at a time, so calls reach Redis in the order they were made.

Scripts are called by SHA; after a Redis restart (``NOSCRIPT``) they are loaded again and the
refused calls retried: a refused call had no effect.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

_INSTANCES: weakref.WeakKeyDictionary[aioredis.Redis, AutoPipeline] = weakref.WeakKeyDictionary()


def autopipe(redis: aioredis.Redis) -> AutoPipeline:
    """The one auto-pipeline of a client (shared by everything using that client)."""
    pipe = _INSTANCES.get(redis)
    if pipe is None:
        pipe = _INSTANCES[redis] = AutoPipeline(redis)
    return pipe


class Script:
    def __init__(self, pipe: AutoPipeline, source: str) -> None:
        self.pipe = pipe
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        return await self.pipe.call(self, keys, args)


class AutoPipeline:
    def __init__(self, redis: aioredis.Redis, max_batch: int = 512) -> None:
        self.redis = redis
        self.scripts: dict[str, Script] = {}
        self._batch = Coalescer(self._send, max_batch=max_batch)

    def script(self, source: str) -> Script:
        script = Script(self, source)
        return self.scripts.setdefault(script.sha, script)

    async def call(self, script: Script, keys: list[Any], args: list[Any]) -> Any:
        result = await self._batch((script, keys, args))
        if isinstance(result, Exception):
            raise result  # this call's own error (e.g. LEASE_LOST); the others are unaffected
        return result

    async def _send(self, batch: list[tuple[Script, list[Any], list[Any]]]) -> list[Any]:
        """One pipeline for the batch: each call's reply or error, in order."""
        results: list[Any] = [None] * len(batch)
        todo = list(range(len(batch)))
        for _ in range(2):
            async with self.redis.pipeline(transaction=False) as pipe:
                for i in todo:
                    script, keys, args = batch[i]
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                replies = await pipe.execute(raise_on_error=False)
            retry = []
            for i, reply in zip(todo, replies, strict=True):
                if isinstance(reply, NoScriptError):
                    retry.append(i)
                else:
                    results[i] = reply
            if not retry:
                return results
            for script in {batch[i][0].sha: batch[i][0] for i in retry}.values():
                await self.redis.script_load(script.source)
            todo = retry
        raise NoScriptError("scripts could not be loaded")


class Coalescer:
    """Calls made in one event-loop turn become one call of ``many(items) -> results``.

    It batches the auto-pipeline's script calls into one pipeline, and the items of scripts
    that take many at once (SUBMIT, BEGIN) into one EVALSHA: a hundred submissions cost
    little more than one. One ``many`` runs at a time, so calls keep their order. ``many`` must return one result per item, in
    order; an exception fails every call of the batch.
    """

    def __init__(self, many: Any, max_batch: int = 256) -> None:
        self.many = many
        self.max_batch = max_batch
        self._pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, item: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                results = await self.many([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every caller learns the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
