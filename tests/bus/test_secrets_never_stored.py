"""Pasted credentials are redacted at the door: absent from Redis, its AOF and the database.

Each credential kind goes in through the Submitter (the door every edge uses) and is handled by
a worker with the real agent workflow, store and checkpointer on SQLite; then every key of Redis,
every file of the redis-server's data folder (the AOF) and every file of the data folder (the
database, its WAL) is searched for the secret. The user is told what was removed.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from agents.process import agent_handler
from core.bus import Worker, bus_from_settings
from core.envelope import Action, Envelope
from core.redaction import redact_text
from core.settings import Settings

AWS_KEY_ID = "AKIAZ7QWERTYUIOPASDF"
AWS_SECRET = "Zk3v9QpL2mXw8RtY5uJc1NbH6gFd0sAe4TzKqWxP"
SECRETS: dict[str, tuple[str, str]] = {
    # kind: (message, the secret part that must never be stored)
    "aws key id": (f"a static website; deploy it with {AWS_KEY_ID}", AWS_KEY_ID),
    "aws secret": (f"use {AWS_KEY_ID} / {AWS_SECRET} for the site", AWS_SECRET),
    "sts key id": ("an API on Lambda, key ASIAQWERTYUIOPZXCVBN", "ASIAQWERTYUIOPZXCVBN"),
    "slack": ("post to xoxb-2468013579-1357924680-AbCdEfGhIjKlMnOpQrStUvWx",
              "AbCdEfGhIjKlMnOpQrStUvWx"),
    "github classic": ("push with ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ0123456",
                       "R4nd0mT0k3nV4lu3F0rT3st1ngXyZ0123456"),
    "github fine-grained": ("token github_pat_11ABCDEFG0aBcDeFgHiJkLmN_oPqRsTuVwXyZ0123456789",
                            "aBcDeFgHiJkLmN_oPqRsTuVwXyZ0123456789"),
    "github oauth": ("gho_Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8", "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"),
    "private key": ("here is the key\n-----BEGIN RSA PRIVATE KEY-----\n"
                    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
                    "-----END RSA PRIVATE KEY-----\nuse it", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePz"),
    "password colon": ("a SaaS web app with Postgres, password: Hunter2Horse!", "Hunter2Horse!"),
    "password equals": ("a static website, admin password=Tr0ub4dor&3x", "Tr0ub4dor&3x"),
    "connection string": ("migrate from postgres://app:Sup3rS3cretPw@db.internal:5432/app",
                          "Sup3rS3cretPw"),
}


async def redis_contents(redis) -> str:
    """Every key and value of the server, as text."""
    out: list[str] = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        out.append(key)
        if kind == "string":
            out.append(str(await redis.get(key)))
        elif kind == "hash":
            out.append(repr(await redis.hgetall(key)))
        elif kind == "stream":
            out.append(repr(await redis.xrange(key)))
        elif kind == "zset":
            out.append(repr(await redis.zrange(key, 0, -1)))
        elif kind == "list":
            out.append(repr(await redis.lrange(key, 0, -1)))
        elif kind == "set":
            out.append(repr(await redis.smembers(key)))
    return "\n".join(out)


def folder_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_every_credential_kind_is_found_and_plain_requests_are_left_alone():
    for kind, (message, secret) in SECRETS.items():
        found = redact_text(message)
        assert secret not in found.text, kind
        assert found.kinds, kind
    plain = "a SaaS web app with Postgres for app.acme.io, 3 AZs, passwords in Secrets Manager"
    assert redact_text(plain).text == plain
    assert redact_text("password = ${var.x}").text == "password = ${var.x}"
    for sentence in ("the master password is generated and kept in Secrets Manager",
                     "no secret is ever in code", "password: rotation every 30 days"):
        assert redact_text(sentence).text == sentence


@pytest.mark.slow
async def test_a_pasted_secret_is_stored_nowhere_and_the_user_is_told(
    redis, prefix, redis_server, tmp_path
):
    settings = Settings(data_dir=tmp_path / "data", redis_prefix=prefix, partitions=2,
                        cpu_pool="thread", review_checks="parse")
    settings.data_dir.mkdir(parents=True)
    bus = bus_from_settings(redis, settings)
    await bus.submitter.ensure_groups()
    conversations: dict[str, str] = {}
    for i, (kind, (message, _secret)) in enumerate(SECRETS.items()):
        conversation = f"secret-{prefix}-{i}"
        conversations[kind] = conversation
        result = await bus.submitter.submit(
            Envelope(conversation_id=conversation, source="web", user="u1", text=message))
        assert result.accepted
    # an answer (free text) with a secret in it goes through the same door
    answer = Envelope(conversation_id=f"secret-{prefix}-answer", source="slack", user="u1",
                      action=Action(question_id="domain", value="password: Hunter2Horse!"))
    await bus.submitter.submit(answer)
    conversations["answer"] = answer.conversation_id

    async with agent_handler(settings) as (store, handler):
        worker = Worker(redis, bus.keys, handler, bus.events, lease_ttl_ms=2000)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            async with asyncio.timeout(60):
                while True:
                    ended = [any(e.type in ("done", "error") for e in await bus.events.read(c))
                             for c in conversations.values()]
                    if all(ended):
                        break
                    await asyncio.sleep(0.1)
        finally:
            stop.set()
            await task
        await store.ensure_conversation(f"secret-{prefix}-title", "web", "u1",
                                        title=SECRETS["password colon"][0])

    for kind, conversation in conversations.items():
        events = await bus.events.read(conversation)
        told = [e for e in events if e.data.get("redacted")]
        assert told and "removed what looked like a credential" in told[0].text, kind
        refused = [e for e in events if e.type == "error"]
        assert refused, kind  # the guard still refuses a message that carried a credential

    stored = {
        "redis": (await redis_contents(redis)).encode(),
        "aof": folder_bytes(redis_server.data_dir),
        "database": folder_bytes(settings.data_dir),
    }
    with sqlite3.connect(settings.sqlite_path) as db:
        stored["sql dump"] = "\n".join(db.iterdump()).encode()
    for where, data in stored.items():
        assert conversations["aws key id"].encode() in data, where  # we look in the right place
        for kind, (_message, secret) in SECRETS.items():
            assert secret.encode() not in data, f"{kind} found in {where}"
