"""`/archops` as a command map: each command through the real bolt app, signed as Slack signs
it; every answer ephemeral, nothing said in public but what a command starts."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import pytest

from bot import messages
from bot.commands import COMMANDS
from cli.slack_hooks import slack_hooks
from tests.aws_server import aws_account
from tests.bot.designs import small_module
from tests.bot.slack_requests import post_signed, queued, run_command, running, submission, until
from tests.bot.test_egress import card_text, emit, start_request

REGIONS = ("us-east-1",)
TAG_KEY, TAG_VALUE = "Project", "acme"

FORM = "application/x-www-form-urlencoded"


def private(answer: dict) -> str:
    assert answer["response_type"] == "ephemeral", answer
    return str(answer["text"])


async def test_help_lists_every_command_of_the_map(bot, slack) -> None:
    _bot, url = bot
    text = private(await run_command(url, "help", "h.1"))
    for name in ("new", "change", "status", "project", "scan", "tags", "metrics", "help"):
        assert f"`/archops {COMMANDS[name].usage}`" in text
    assert private(await run_command(url, "", "h.2")) == text  # a bare /archops is help


async def test_an_unknown_command_is_answered_privately_and_does_nothing(bot, redis, keys,
                                                                        slack) -> None:
    _bot, url = bot
    text = private(await run_command(url, "scna eu-west-1", "u.1"))
    assert text == messages.UNKNOWN_COMMAND.format(
        name="scna", suggestion=messages.DID_YOU_MEAN.format(name="scan"))
    text = private(await run_command(url, "a web app with Postgres", "u.2"))
    assert "I do not know `/archops a`" in text
    assert await queued(redis, keys) == []
    assert slack.of("chat.postMessage") == []


async def test_new_starts_a_design_and_status_shows_where_it_is(bot, redis, keys, events,
                                                               slack) -> None:
    the_bot, url = bot
    assert private(await run_command(url, "new", "n.0")).startswith("Say what you need")
    assert private(await run_command(url, "status", "s.0")) == messages.NOTHING_YET
    assert private(await run_command(url, "new a queue and a worker", "n.1")) == messages.COMMAND_ACCEPTED
    [env] = await queued(redis, keys)
    await emit(events, env, "status", "Planned 4 blueprints", node="resource_planner")
    async with running(the_bot.egress):
        await until(lambda: "Step 3 of 6" in str(slack.cards("C0INFRA")))
        text = private(await run_command(url, "status", "s.1"))
    assert "_a queue and a worker_ in <#C0INFRA>: working (step 3 of 6: Planning)" in text
    assert "live stream" in text


async def test_change_goes_to_your_latest_design_in_the_channel(bot, redis, keys, events,
                                                                slack) -> None:
    the_bot, url = bot
    assert private(await run_command(url, "change add a cache", "c.0")) == messages.NO_DESIGN_HERE
    async with running(the_bot.egress):
        env = await start_request(url, redis, keys)
        await emit(events, env, "artifact", "Terraform module", **small_module())
        await emit(events, env, "done", "Designed it")
        await until(lambda: "Designed it" in card_text(slack))
        assert private(await run_command(url, "change add a cache", "c.1")) == messages.CHANGE_ACCEPTED
        await until(lambda: "<@U0ALICE>: add a cache" in card_text(slack))
    [_first, change] = await queued(redis, keys)
    assert change.conversation_id == env.conversation_id and change.text == "add a cache"
    assert change.reply_to["thread_ts"] == "1700000001.000100"
    # in another channel there is no design of hers to change
    assert private(await run_command(url, "change add a cache", "c.2",
                                     channel="C0ELSE")) == messages.NO_DESIGN_HERE


async def test_metrics_says_the_monitor_is_not_configured(bot, slack) -> None:
    _bot, url = bot
    assert private(await run_command(url, "metrics", "m.1")) == messages.METRICS_NOT_CONFIGURED


async def test_project_is_shown_bound_with_a_modal_and_checked_field_by_field(bot, slack) -> None:
    _bot, url = bot
    answer = await run_command(url, "project", "p.0")
    assert private(answer) == messages.NO_PROJECT
    assert answer["blocks"][-1]["elements"][0]["text"]["text"] == "Bind a project"
    private(await run_command(url, "project bind", "p.1"))
    [opened] = await slack.wait_for("views.open")
    assert opened["trigger_id"] == "p.1"
    view = list(slack.views.values())[-1]
    fields = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert fields == ["project:name", "project:aws_account_id", "project:aws_role_arn",
                      "project:aws_regions", "project:repository", "project:path",
                      "project:tag_key", "project:tag_value", "project:approvers"]
    bad = {"project:name": "Acme Shop", "project:aws_account_id": "12345",
           "project:aws_role_arn": "not-an-arn", "project:aws_regions": "eu-west-1, mars-1",
           "project:repository": "acme"}
    status, text = await post_signed(url, submission(view, bad), content_type=FORM)
    errors = json.loads(text)
    assert status == 200 and errors["response_action"] == "errors"
    assert set(errors["errors"]) == {"project:aws_account_id", "project:aws_role_arn",
                                     "project:aws_regions", "project:repository"}
    assert "12 digits" in errors["errors"]["project:aws_account_id"]
    assert "mars-1" in errors["errors"]["project:aws_regions"]
    # a role in another account than the one given: said under the role
    crossed = {**bad, "project:aws_account_id": "123456789012", "project:aws_regions": "eu-west-1",
               "project:repository": "", "project:tag_key": "Project", "project:tag_value": "shop",
               "project:approvers": "U0CAROL",
               "project:aws_role_arn": "arn:aws:iam::999999999999:role/archops"}
    errors = json.loads((await post_signed(url, submission(view, crossed), content_type=FORM))[1])
    assert list(errors["errors"]) == ["project:aws_role_arn"]
    # a repository archops cannot push to is refused (here: no GitHub credentials at all)
    elsewhere = {**crossed, "project:aws_role_arn": "arn:aws:iam::123456789012:role/archops",
                 "project:repository": "acme/infra"}
    errors = json.loads((await post_signed(url, submission(view, elsewhere), content_type=FORM))[1])
    assert list(errors["errors"]) == ["project:repository"]
    good = {**elsewhere, "project:repository": ""}  # the project's own git repository
    status, text = await post_signed(url, submission(view, good), content_type=FORM)
    assert status == 200 and not text
    [saved] = await slack.wait_for("chat.postEphemeral")
    assert saved["text"] == messages.PROJECT_SAVED.format(name="Acme Shop", id="acme-shop")
    shown = private(await run_command(url, "project", "p.2"))
    assert "*Acme Shop* (`acme-shop`), bound to <#C0INFRA>" in shown
    assert "AWS regions: `eu-west-1`" in shown and "Tag key: `Project`" in shown
    assert "Approvers: `U0CAROL`" in shown and "GitHub repository: _not set_" in shown
    # the same project name from another channel does not move the project silently
    private(await run_command(url, "project bind", "p.3", channel="C0OTHER"))
    await slack.wait_for("views.open", 2)
    other = list(slack.views.values())[-1]
    errors = json.loads((await post_signed(url, submission(other, good), content_type=FORM))[1])
    assert errors["errors"]["project:name"] == messages.PROJECT_ELSEWHERE.format(
        id="acme-shop", channel="C0INFRA")


async def test_only_approvers_bind_a_channel_that_has_them(settings, make_bot, slack) -> None:
    settings.slack_approvers = frozenset({"U0CAROL"})
    _bot, url = await make_bot()
    text = private(await run_command(url, "project bind", "a.1", user="U0BOB"))
    assert text == messages.ONLY_APPROVERS.format(who="<@U0CAROL>", what="bind this channel's project")
    assert slack.of("views.open") == []


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's server (AWS on the wire) with a small account: a VPC with a subnet, two buckets,
    one of them lacking the project's tag."""
    with aws_account() as url:
        _seed_small_account(url)
        yield url


def _seed_small_account(url: str) -> None:
    import boto3

    ec2 = boto3.client("ec2", region_name=REGIONS[0], endpoint_url=url)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[{
        "ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "shop"},
                                        {"Key": TAG_KEY, "Value": TAG_VALUE}]}])["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")
    s3 = boto3.client("s3", region_name=REGIONS[0], endpoint_url=url)
    for bucket in ("acme-assets", "acme-untagged"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket="acme-assets", Tagging={"TagSet": [{"Key": TAG_KEY,
                                                                     "Value": TAG_VALUE}]})


@pytest.fixture
async def scanning_bot(settings, make_bot, moto_url):
    settings.aws_endpoint_url = moto_url
    return await make_bot(hooks=slack_hooks(settings, review=False))


async def test_scan_reads_the_account_and_posts_the_module_in_a_thread(scanning_bot, slack) -> None:
    _bot, url = scanning_bot
    assert private(await run_command(url, "scan", "s.0")) == messages.SCAN_NEEDS_REGIONS
    text = private(await run_command(url, f"scan {REGIONS[0]}", "s.1"))
    assert text.startswith(f"Scanning {REGIONS[0]}")
    await slack.wait_for("files.completeUploadExternal", timeout=60)
    root, summary, upload = slack.messages["C0INFRA"]
    assert root["text"] == f"Scan of {REGIONS[0]} for <@U0ALICE>" and "thread_ts" not in root
    assert summary["thread_ts"] == root["ts"] == upload["thread_ts"]
    assert f"archops scan of {REGIONS[0]}" in summary["blocks"][0]["text"]["text"]
    [file] = [f for f in slack.files.values() if f.get("permalink")]
    names = zipfile.ZipFile(io.BytesIO(file["content"])).namelist()
    assert "archops-scan/imports.tf" in names and "archops-scan/inventory.json" in names
    assert slack.refused_blocks == []


async def test_tags_posts_a_plan_of_what_lacks_the_tag(scanning_bot, slack) -> None:
    _bot, url = scanning_bot
    assert private(await run_command(url, "tags", "t.0")) == messages.TAGS_NEEDS_TAG
    text = private(await run_command(url, f"tags {TAG_KEY}={TAG_VALUE} {REGIONS[0]}", "t.1"))
    assert text.startswith(f"Checking which resources lack `{TAG_KEY}={TAG_VALUE}`")
    await slack.wait_for("files.completeUploadExternal", timeout=60)
    _root, summary, _upload = slack.messages["C0INFRA"]
    assert "resource(s) to tag Project=acme" in summary["blocks"][0]["text"]["text"]
    [plan] = [f for f in slack.files.values() if f.get("permalink")]
    assert json.loads(plan["content"])["key"] == TAG_KEY


async def test_metrics_are_the_monitor_s_summary_of_the_channel_s_project(settings, make_bot,
                                                                         redis_url, slack) -> None:
    from core.store import Store
    from monitor.service import watch

    _bot, url = await make_bot(hooks=slack_hooks(settings, redis_url=redis_url))
    text = private(await run_command(url, "metrics", "m.2"))
    assert text.startswith("No metrics yet: this channel is not bound to a project")
    store = await Store.open(settings.effective_database_url)
    try:
        await store.upsert_project("shop", name="Shop", slack_channel="C0INFRA",
                                   aws_regions=["eu-west-1"])
    finally:
        await store.close()
    text = private(await run_command(url, "metrics", "m.3"))
    assert "not watched" in text and "archops monitor watch shop" in text
    await watch(settings, "shop")
    text = private(await run_command(url, "metrics", "m.4"))
    assert text.startswith("```") and "shop" in text.lower()
