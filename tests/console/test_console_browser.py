"""The web console end to end, as a person uses it: headless Chromium (the system's, driven
by Playwright) against a real uvicorn server on a seeded store.

Screenshots go to .artifacts/console/ at the repository root, kept as CI artifacts.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from console_seed import PASSWORD, console_app, seed

from seamline.actions import outbox_row
from seamline.audit import story
from seamline.rollout import Flags

playwright_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / ".artifacts" / "console"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(store):
    """The seeded app on a real server in this process (so a test can fix the downstream)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make install` installs it (apt-get install chromium)")
        pytest.skip("no system Chromium here (apt-get install chromium)")
    model, ids = seed(store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(console_app(store, model), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the console's server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", model, ids
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox"])
        yield chromium
        chromium.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/console")
    assert "/login" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console")
    return page


def unlabelled_fields(page) -> int:
    """Form fields a screen reader could not name (no label, no aria-label)."""
    return page.evaluate("""() => [...document.querySelectorAll(
        'input:not([type=hidden]), textarea, select')].filter(
        el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).length""")


def test_a_reviewer_and_an_admin_work_through_the_console(served, browser, store):
    base, model, ids = served
    page = sign_in(browser, base, "rita")
    shot(page, "01-overview")
    assert page.locator(".tiles").inner_text().startswith("4")

    # The queue, then one action: evidence marked in the source, the exact action shown.
    page.get_by_role("link", name="Reviews").click()
    assert page.locator("tbody tr").count() == 4
    shot(page, "02-review-queue")
    page.get_by_role("link", name="#1").click()
    assert page.locator("mark").first.inner_text() == "charged $150 twice"
    assert "conftest.record_refund" in page.locator(".will-run").inner_text()
    assert unlabelled_fields(page) == 0
    shot(page, "03-review-detail")
    page.get_by_label("Comment (optional)").first.fill("invoice checked")
    page.get_by_role("button", name="Approve and run", exact=True).click()
    assert page.get_by_role("status").inner_text() == "Action 1 was approved and run."
    assert outbox_row(store, 1).status == "done"

    # Reject another with a comment.
    page.goto(f"{base}/console/reviews/2")
    page.get_by_label("Why (required)").fill("a duplicate of R1")
    page.get_by_role("button", name="Reject").click()
    assert "Action 2 was rejected" in page.get_by_role("status").inner_text()
    assert outbox_row(store, 2).comment == "a duplicate of R1"

    # Edit the amount of a third, then approve it.
    page.goto(f"{base}/console/reviews/3")
    params = page.get_by_label("Parameters (JSON object)")
    params.fill(re.sub(r'"amount": [0-9.]+', '"amount": 110.0', params.input_value()))
    shot(page, "04-edit-and-approve")
    page.get_by_role("button", name="Save, approve and run").click()
    assert "edited, approved and run" in page.get_by_role("status").inner_text()
    assert '"amount": 110.0' in outbox_row(store, 3).params

    # The first event's timeline tells the decision; the chain verifies on demand.
    page.goto(f"{base}/console/events/{ids['R1']}")
    assert "approved by rita: invoice checked" in page.locator(".timeline").inner_text()
    page.get_by_role("button", name="Verify the chain now").click()
    assert "Verified" in page.locator(".chain").inner_text()
    shot(page, "05-event-timeline")

    # A dead letter: inspect it, bring the downstream back, redrive.
    page.get_by_role("link", name="Dead letters").click()
    shot(page, "06-dead-letters")
    page.get_by_role("link", name=ids["D1"]).click()
    assert "notification service is down" in page.locator("main").inner_text()
    model.fixed = True
    page.get_by_role("button", name=f"Redrive {ids['D1']}").click()
    assert "was redriven" in page.get_by_role("status").inner_text()
    assert "succeeded" in page.locator(".facts").inner_text()
    shot(page, "07-redriven")
    assert [e["payload"]["actor"] for e in story(store, ids["D1"])
            if e["kind"] == "redrive"] == ["rita"]

    page.get_by_role("link", name="Costs").click()
    assert page.locator("svg.chart").count() == 3
    shot(page, "08-costs")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/login.*"))
    page.context.close()

    # An admin changes a flag, through the confirmation page.
    page = sign_in(browser, base, "adam")
    page.get_by_role("link", name="Flags").click()
    page.get_by_label("New state").fill("off")
    page.get_by_label("Reason").fill("pausing the AI path for the audit")
    page.get_by_role("button", name="Review change…").click()
    shot(page, "09-flag-confirm")
    assert Flags(store).get("refunds.ai").mode == "on"
    page.get_by_role("button", name="Yes, change the flag").click()
    assert page.get_by_role("status").inner_text() == "Flag refunds.ai was changed."
    shot(page, "10-flags")
    assert Flags(store).get("refunds.ai").mode == "off"
    page.context.close()


def test_a_viewer_sees_the_queue_but_cannot_approve(served, browser, store):
    base, _, _ = served
    page = sign_in(browser, base, "vera")
    page.goto(f"{base}/console/reviews/4")
    page.keyboard.press("Tab")  # keyboard users land on the skip link first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.get_by_role("button", name="Approve and run", exact=True).count() == 0
    assert "needs the reviewer role" in page.locator("main").inner_text()
    shot(page, "11-viewer-review")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(f"{base}/console/reviews/4/approve",
                               form={"csrf_token": token}, max_redirects=0)
    assert answer.status == 403
    assert outbox_row(store, 4).status == "awaiting_approval"
    page.context.close()
