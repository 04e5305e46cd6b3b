"""The projects page in Chromium: a wrong field is shown beside its input, a right one saves."""

from __future__ import annotations

import pytest

from core.codehost.hosts import Hosts
from core.projects import Projects
from core.settings import Settings
from core.store import Store
from tests.web_browser.conftest import until_count

pytestmark = pytest.mark.browser


@pytest.fixture
async def projects(tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data")
    store = await Store.open(f"sqlite:///{tmp_path / 'data' / 'archops.sqlite3'}")
    yield Projects(store, Hosts(settings, store))
    await store.close()


async def test_a_project_is_created_from_the_page_after_its_wrong_fields_are_shown(
        make_server, access_store, projects, page, artifacts):
    server = await make_server("web-pp", projects=projects)
    token = await access_store.issue_login("web:alice")
    await page.goto(str(server.make_url(f"/login?token={token}")))
    await page.goto(str(server.make_url("/projects")))
    await page.fill("input[name=id]", "shop")
    await page.fill("input[name=name]", "Shop")
    await page.fill("input[name=aws_account_id]", "12345")
    await page.fill("input[name=aws_regions]", "eu-west-1, mars-east-1")
    await page.click("#save")
    assert await until_count(page, ".field-error", 2) == 2
    account = page.locator(".field-error[data-field=aws_account_id]")
    assert "12 digits" in await account.inner_text()
    assert "mars-east-1" in await page.locator(".field-error[data-field=aws_regions]").inner_text()
    assert await page.get_attribute("input[name=aws_account_id]", "aria-invalid") == "true"
    assert await projects.list() == []

    await page.fill("input[name=aws_account_id]", "123456789012")
    await page.fill("input[name=aws_regions]", "eu-west-1")
    await page.click("#save")
    await page.wait_for_url("**/projects/shop")
    assert await until_count(page, "#project-list tr[data-project=shop]", 1) == 1
    assert await until_count(page, "input[name=id][readonly]", 1) == 1
    assert await page.input_value("input[name=aws_account_id]") == "123456789012"
    await page.screenshot(path=str(artifacts / "projects-page.png"), full_page=True)
    saved = await projects.get("shop")
    assert (saved.aws_account_id, saved.aws_regions, saved.created_by) == (
        "123456789012", ["eu-west-1"], "web:alice")
