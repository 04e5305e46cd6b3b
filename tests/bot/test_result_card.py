"""The result card people act on: every section and button, a change with its diff, the zip, the
pull request button once the pull request exists, and Request a change / Regenerate."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from bot import blocks as bk
from bot import messages
from bot.result import summarise
from bot.uploads import zip_name
from tests.bot.designs import CHANGE, done_of, module_of, real_designs, small_module  # noqa: F401
from tests.bot.slack_requests import click, post_signed, queued, running, submission, until
from tests.bot.test_egress import card, card_text, emit, start_request

FORM = "application/x-www-form-urlencoded"


def section(shown: dict, title: str) -> str:
    found = [b["text"]["text"] for b in shown["blocks"]
             if b["type"] == "section" and b["text"]["text"].startswith(title)]
    assert found, f"no section {title!r}: {json.dumps(shown['blocks'])[:3000]}"
    return found[0]


async def test_a_design_then_its_change_with_the_diff(bot, redis, keys, events, slack,
                                                      real_designs) -> None:  # noqa: F811
    the_bot, url = bot
    first, second = module_of(real_designs["first"]), module_of(real_designs["second"])
    one, two = summarise(first), summarise(second)
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **first)
        await emit(events, env, "done", done_of(real_designs["first"]), passed=True)
        await until(lambda: zip_name(one) in card_text(slack))
        v1 = card(slack)
        [header] = [b["text"]["text"] for b in v1["blocks"] if b["type"] == "header"]
        assert header == (f"{one['project']} · production · eu-west-1 · "
                          f"≈ ${first['cost']['monthly_total']:,.0f}/month · v1")
        table = section(v1, "*Resources (")
        assert "ElastiCache Redis" in table and "aws_elasticache_replication_group.main" in table
        assert "$51" in table  # each resource's monthly cost
        section(v1, "*Findings by Well-Architected pillar*")
        assert "Change since" not in card_text(slack)  # nothing to compare the first version with
        # the person asks for a change in the thread; the same card shows it, then the diff
        await post_signed(url, click(v1, "c.1", text="Request a change"), content_type=FORM)
        [_opened] = await slack.wait_for("views.open")
        view = list(slack.views.values())[-1]
        assert view["callback_id"] == "archops:change"
        status, text = await post_signed(url, submission(view, {"change": ""}), content_type=FORM)
        assert json.loads(text)["errors"]["change"] == messages.EMPTY_CHANGE
        status, text = await post_signed(url, submission(view, {"change": CHANGE}), content_type=FORM)
        assert status == 200 and not text
        [_first, change_env] = await queued(redis, keys)
        assert change_env.text == CHANGE and change_env.conversation_id == env.conversation_id
        await until(lambda: f"<@U0ALICE>: {CHANGE}" in card_text(slack))
        await emit(events, change_env, "status", "Reading the request", node="route")
        await until(lambda: "Step 1 of 6" in card_text(slack))
        assert f"Current design: {one['project']} · production" in card_text(slack)  # v1 in sight
        await emit(events, change_env, "artifact", "Terraform module", **second)
        await emit(events, change_env, "done", done_of(real_designs["second"]), passed=True)
        await until(lambda: "Change since version 1" in card_text(slack)
                    and zip_name(two) in card_text(slack))
    v2 = card(slack)
    diff = section(v2, "*Change since version 1*")
    assert ":heavy_plus_sign: App bucket `aws_s3_bucket.app`" in diff
    assert ":heavy_minus_sign: ElastiCache Redis `aws_elasticache_replication_group.main`" in diff
    before, after = first["cost"]["monthly_total"], second["cost"]["monthly_total"]
    assert f"Monthly cost: ${before:,.0f} → ${after:,.0f} (−${before - after:,.0f}/month)" in diff
    assert len(slack.of("chat.postMessage")) == 1  # still the one card
    # one zip per version, in the thread
    zips = [f for f in slack.files.values() if f.get("permalink")]
    assert [f["name"] for f in zips] == [zip_name(one), zip_name(two)]
    names = zipfile.ZipFile(io.BytesIO(zips[1]["content"])).namelist()
    assert f"{zip_name(two).removesuffix('.zip')}/storage.tf" in names
    assert slack.refused_blocks == []


async def test_every_section_and_button_of_the_result(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **small_module())
        await emit(events, env, "done", "Designed a web app (staging, eu-west-1)", passed=False)
        await until(lambda: ".zip" in card_text(slack) and "permalink" not in card_text(slack)
                    and "example.slack.com/files" in card_text(slack))
    shown = card(slack)
    kinds = [b["type"] for b in shown["blocks"]]
    assert kinds[0] == "section" and "header" in kinds and kinds[-1] == "actions"
    [header] = [b["text"]["text"] for b in shown["blocks"] if b["type"] == "header"]
    assert header == "staging · eu-west-1 · ≈ $161/month · v1"
    findings = section(shown, "*Findings by Well-Architected pillar*")
    assert "*Reliability*: 1 open (1 high)" in findings
    assert "[high] `aws_db_instance.main` The database runs in one AZ only" in findings
    assert "*Security*: 0 open, 1 waived" in findings
    assert "• a Kafka cluster: no blueprint for Amazon MSK yet" in section(shown, "*Not built*")
    labels = [e["text"]["text"] for e in shown["blocks"][-1]["elements"]]
    assert labels == ["Open pull request", "Request a change", "Regenerate", "Live stream", "Diagram"]


async def test_the_pull_request_button_appears_with_the_pull_request(bot, redis, keys, events,
                                                                     slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **small_module())
        await emit(events, env, "done", "Designed it")
        await until(lambda: "Open pull request" in card_text(slack))
        # no code host configured: the button says what to configure, privately
        await post_signed(url, click(card(slack), "p.1", text="Open pull request"), content_type=FORM)
        [note] = await slack.wait_for("chat.postEphemeral")
        assert note["text"] == messages.NEEDS_GITHUB and note["user"] == "U0ALICE"
        await emit(events, env, "artifact", "Pull request", kind="pull_request",
                   url="https://github.com/acme/infra/pull/7", number=7, title="archops: a web app")
        await until(lambda: "View pull request #7" in card_text(slack))
    [view] = [e for e in card(slack)["blocks"][-1]["elements"] if "pull request" in e["text"]["text"]]
    assert view["url"] == "https://github.com/acme/infra/pull/7"
    assert "Open pull request" not in card_text(slack)


async def test_regenerate_is_a_new_version_of_the_same_conversation(bot, redis, keys, events,
                                                                    slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **small_module())
        await emit(events, env, "done", "Designed it")
        await until(lambda: "Regenerate" in card_text(slack))
        status, _ = await post_signed(url, click(card(slack), "g.1", text="Regenerate"),
                                      content_type=FORM)
        assert status == 200
        await until(lambda: "Queued" in card_text(slack))
    [_env, again] = await queued(redis, keys)
    assert again.conversation_id == env.conversation_id and again.text == "regenerate the design"
    assert again.idempotency_key == "slack:action:g.1"


@pytest.mark.parametrize("public_url", [None])
async def test_without_the_web_app_the_link_buttons_say_what_to_set(settings, make_bot, redis,
                                                                    keys, events, slack,
                                                                    public_url) -> None:
    settings.public_url = public_url
    the_bot, url = await make_bot()
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **small_module())
        await emit(events, env, "done", "Designed it")
        await until(lambda: "Diagram" in card_text(slack))
        button = next(e for e in card(slack)["blocks"][-1]["elements"] if e["text"]["text"] == "Diagram")
        assert "url" not in button and button["action_id"].startswith(bk.NEEDS_SETUP)
        await post_signed(url, click(card(slack), "d.1", text="Diagram"), content_type=FORM)
        [note] = await slack.wait_for("chat.postEphemeral")
    assert note["text"] == messages.NEEDS_PUBLIC_URL


async def test_a_refused_upload_is_said_on_the_card_and_stops_nothing_else(bot, redis, keys, events,
                                                                          slack) -> None:
    the_bot, url = bot
    slack.fail_next["files.getUploadURLExternal"] = "missing_scope"
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **small_module())
        await emit(events, env, "done", "Designed it")
        await until(lambda: "could not be uploaded (missing_scope)" in card_text(slack))
        await emit(events, env, "artifact", "Pull request", kind="pull_request",
                   url="https://github.com/acme/infra/pull/8", number=8)
        await until(lambda: "View pull request #8" in card_text(slack))  # the card goes on
    assert slack.dm("U0ALICE") == []  # nothing was refused that the requester must hear of


async def test_a_pull_request_that_could_not_be_opened_says_why(bot, redis, keys, events, slack) -> None:
    the_bot, url = bot
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **small_module())
        await emit(events, env, "artifact", "Pull request", kind="pull_request", action="failed",
                   code="forbidden", error="archops-bot may not push to acme/infra",
                   hint="give it write access", url=None, number=None)
        await emit(events, env, "done", "Designed it")
        await until(lambda: "could not be opened: archops-bot may not push" in card_text(slack))
        await post_signed(url, click(card(slack), "f.1", text="Open pull request"), content_type=FORM)
        [note] = await slack.wait_for("chat.postEphemeral")
    assert note["text"] == messages.PR_FAILED.format(error="archops-bot may not push to acme/infra",
                                                     hint="give it write access")
