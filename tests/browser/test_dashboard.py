"""The dashboard in a real headless Chromium: requests made with the `openai` SDK appear
live, a request opens with its bodies and masked headers, stubs are deleted and the state
reset through the page, filters narrow the journal, and the page logs no errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from mockserver.testing.server import MockServer
from tests.replay.helpers import CASSETTE, UPSTREAM_SEED, error_code, post, recorder, replayer
from tests.support.chat import DEPLOYMENT, user
from tests.support.clients import azure_client

TOKEN = "dashboard-admin-token"
SECRET_KEY = "sk-dashboard-secret-key"
WAIT_MS = 10_000
ALPHA: dict[str, Any] = {"messages": user("The alpha question."), "reasoning_effort": "low"}


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer(admin_token=TOKEN) as running:
        yield running


@pytest.fixture
def sdk(mock: MockServer) -> Iterator[openai.AzureOpenAI]:
    with azure_client(mock, api_key=SECRET_KEY) as azure:
        yield azure


@pytest.fixture
def errors() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, mock: MockServer, errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    watch_errors(opened, errors)
    opened.goto(f"{mock.url}/__admin/ui#token={TOKEN}")
    yield opened
    context.close()
    assert errors == []


def watch_errors(page: Page, errors: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))


def ask(sdk: openai.AzureOpenAI, text: str, **extra: Any) -> None:
    sdk.chat.completions.create(
        model=DEPLOYMENT, messages=[{"role": "user", "content": text}], **extra
    )


def rows(page: Page) -> Any:
    return page.locator("#journal tbody tr")


def test_requests_appear_live_newest_first(
    page: Page, mock: MockServer, sdk: openai.AzureOpenAI
) -> None:
    expect(page.locator("#status")).to_contain_text("live", timeout=WAIT_MS)
    expect(page.get_by_label("Admin token")).to_be_hidden()  # the fragment's token was taken
    ask(sdk, "first question")
    expect(rows(page)).to_have_count(1, timeout=WAIT_MS)
    ask(sdk, "second question")
    expect(rows(page)).to_have_count(2, timeout=WAIT_MS)
    newest = rows(page).first
    expect(newest).to_contain_text("#2")
    expect(newest).to_contain_text("POST chat/completions")
    expect(newest).to_contain_text(DEPLOYMENT)
    expect(newest).to_contain_text("200")
    expect(newest).to_contain_text("generator")
    usage = mock.requests[-1].usage  # the journal API's new field, shown as the row's tokens
    assert usage is not None and usage["completion_tokens"] > 0
    shown = f"{usage['prompt_tokens']} / {usage['completion_tokens']} / {usage['reasoning_tokens']}"
    expect(newest).to_contain_text(shown)


def test_the_admin_api_lists_only_entries_after_the_cursor(
    mock: MockServer, sdk: openai.AzureOpenAI
) -> None:
    ask(sdk, "one")
    ask(sdk, "two")
    headers = {"x-mock-admin-token": TOKEN}
    listed = httpx.get(f"{mock.url}/__admin/requests?since=1", headers=headers).json()
    assert [entry["id"] for entry in listed["requests"]] == [2]
    assert listed["requests"][0]["usage"]["prompt_tokens"] > 0


def test_a_request_opens_with_its_bodies_and_masked_headers(
    page: Page, mock: MockServer, sdk: openai.AzureOpenAI
) -> None:
    ask(sdk, "what is in the detail view")
    page.get_by_role("button", name="open request 1").click(timeout=WAIT_MS)
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-body")).to_contain_text("what is in the detail view")
    answer = mock.requests[-1].response_body
    assert isinstance(answer, dict)
    expect(page.locator("#detail-response")).to_contain_text(answer["id"])
    expect(page.locator("#detail-headers")).to_contain_text("api-key")
    expect(page.locator("#detail-headers")).not_to_contain_text(SECRET_KEY)
    expect(page.locator("#close-detail")).to_be_focused()


def test_a_stub_is_deleted_after_confirming(
    page: Page, mock: MockServer, sdk: openai.AzureOpenAI
) -> None:
    stub = mock.stub(
        match={"last_user_message": {"contains": "weather"}}, answer={"content": "sunny"}
    )
    ask(sdk, "the weather?")
    expect(rows(page).first).to_contain_text(f"stub {stub.id[:8]}", timeout=WAIT_MS)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"delete stub {stub.id}").click()
    expect(page.locator("#stubs")).to_contain_text("none", timeout=WAIT_MS)
    assert mock.stubs() == []


def test_reset_clears_the_journal_only_after_confirming(
    page: Page, mock: MockServer, sdk: openai.AzureOpenAI
) -> None:
    ask(sdk, "before the reset")
    expect(rows(page)).to_have_count(1, timeout=WAIT_MS)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Reset everything").click()
    expect(page.locator("#status")).to_contain_text("live", timeout=WAIT_MS)
    assert len(mock.requests) == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset everything").click()
    expect(rows(page)).to_have_count(0, timeout=WAIT_MS)
    assert mock.requests == []


def test_filters_by_status_deployment_session_and_prompt_text(
    page: Page, mock: MockServer, sdk: openai.AzureOpenAI
) -> None:
    ask(sdk, "apples please")
    ask(sdk, "pears please")
    ask(sdk, "plums please", extra_headers={"x-mock-session": "beta"})
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(
            model="no-such-deployment", messages=[{"role": "user", "content": "x"}]
        )
    expect(rows(page)).to_have_count(3, timeout=WAIT_MS)  # the default session's
    page.get_by_label("Status").fill("404")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("404")
    page.get_by_label("Status").fill("")
    page.get_by_label("Deployment").fill(DEPLOYMENT)
    expect(rows(page)).to_have_count(2)
    page.get_by_label("Search prompts").fill("APPLES")
    expect(rows(page)).to_have_count(1)
    page.get_by_label("Search prompts").fill("")
    page.get_by_label("Session").fill("beta")  # another session's journal, from the server
    expect(rows(page)).to_have_count(1, timeout=WAIT_MS)
    expect(rows(page).first).to_contain_text("beta")


def test_quota_shows_each_deployments_use(page: Page, sdk: openai.AzureOpenAI) -> None:
    ask(sdk, "count me")
    quota_row = page.locator("#quota tbody tr", has_text=DEPLOYMENT)
    expect(quota_row).to_contain_text("1 /", timeout=WAIT_MS)


def test_a_phone_sized_viewport_does_not_scroll_sideways(
    browser: Browser, mock: MockServer, sdk: openai.AzureOpenAI, errors: list[str]
) -> None:
    ask(sdk, "a long prompt " * 40)
    context = browser.new_context(viewport={"width": 375, "height": 740})
    phone = context.new_page()
    watch_errors(phone, errors)
    phone.goto(f"{mock.url}/__admin/ui#token={TOKEN}")
    expect(phone.locator("#journal tbody tr")).to_have_count(1, timeout=WAIT_MS)
    phone.get_by_role("button", name="open request 1").click()
    widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    context.close()
    assert widths[0] <= widths[1]
    assert errors == []


def test_without_the_token_the_page_asks_for_it(
    browser: Browser, mock: MockServer, errors: list[str]
) -> None:
    context = browser.new_context()
    opened = context.new_page()
    opened.goto(f"{mock.url}/__admin/ui")
    expect(opened.get_by_label("Admin token")).to_be_visible(timeout=WAIT_MS)
    opened.get_by_label("Admin token").fill(TOKEN)
    opened.get_by_role("button", name="Use token").click()
    expect(opened.locator("#status")).to_contain_text("live", timeout=WAIT_MS)
    expect(opened.get_by_label("Admin token")).to_be_hidden()
    assert "token" not in opened.url
    context.close()


def test_the_page_is_served_with_a_strict_policy(mock: MockServer) -> None:
    page = httpx.get(f"{mock.url}/__admin/ui")
    script = httpx.get(f"{mock.url}/__admin/ui/app.js")
    assert page.headers["content-type"].startswith("text/html")
    assert script.headers["content-type"].startswith("text/javascript")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert httpx.get(f"{mock.url}/__admin/requests").status_code == 401


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    """One recording of ALPHA, made by a mock recording another mock."""
    with (
        MockServer(seed=UPSTREAM_SEED, deterministic_ids=True) as upstream,
        recorder(upstream, tmp_path) as recording,
    ):
        assert post(recording, ALPHA).status == 200
    return tmp_path


def test_a_replay_miss_shows_the_nearest_recording_and_the_fields_that_differ(
    browser: Browser, recordings: Path, errors: list[str]
) -> None:
    with replayer(recordings, admin_token=TOKEN) as replaying:
        missed = post(replaying, {**ALPHA, "reasoning_effort": "high"})
        assert error_code(missed) == "FixtureNotFound"
        context = browser.new_context()
        opened = context.new_page()
        watch_errors(opened, errors)
        opened.goto(f"{replaying.url}/__admin/ui#token={TOKEN}")
        expect(opened.locator("#journal tbody tr").first).to_contain_text(
            "fixture-miss", timeout=WAIT_MS
        )
        opened.get_by_role("button", name="open request 1").click()
        expect(opened.locator("#miss-nearest")).to_contain_text(CASSETTE)
        expect(opened.locator("#miss-fields")).to_have_text("body.reasoning_effort")
        context.close()
    assert errors == []
