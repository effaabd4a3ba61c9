"""Every console page in Chromium at a phone's width (390 px) and a desktop's (1440 px):
no horizontal scroll, zero serious or critical axe-core violations, a screenshot of each
in .artifacts/console/; and the review queue worked from the keyboard alone.

The store holds what production holds: ids as long as the column allows, reasons longer
than a phone is wide, unbroken URLs, a multi-line e-mail, and hostile text (a script in
the body, HTML in a quote) that must arrive escaped.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
from console_seed import PASSWORD, console_app, seed, seed_hostile
from test_console_browser import CHROMIUM, SHOTS, _free_port, browser  # noqa: F401  (fixture)

from seamline.actions import outbox_row

uvicorn = pytest.importorskip("uvicorn")

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDTHS = (390, 1440)
RESULTS = SHOTS / "pages.json"


@pytest.fixture
def served(store):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make install` installs it (apt-get install chromium)")
        pytest.skip("no system Chromium here (apt-get install chromium)")
    model, ids = seed(store)
    extra = seed_hostile(store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(console_app(store, model), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the console's server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", model, {**ids, **extra}
    server.should_exit = True
    thread.join(10)


def signed_in(browser, base: str, username: str, width: int):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console")
    return page


def overflow(page) -> dict:
    """The page's scroll width against the window's, and what sticks out, if anything."""
    return page.evaluate("""() => {
        const w = window.innerWidth;
        const out = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > w + 0.5)
            .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                              + (e.className ? '.' + String(e.className).split(' ')[0] : ''));
        return {scroll: document.scrollingElement.scrollWidth, width: w, out};
    }""")


def axe(page) -> list[dict]:
    """axe-core's violations on the page (WCAG 2.x A and AA rules and best practices)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")


def pages(base: str, ids: dict) -> list[tuple[str, str]]:
    return [
        ("01-overview", "/console"),
        ("02-reviews", "/console/reviews"),
        ("03-review-grounded", "/console/reviews/1"),
        ("04-review-hostile", f"/console/reviews/{ids['outbox_id']}"),
        ("05-events", "/console/events"),
        ("06-event-timeline", f"/console/events/{ids['R1']}"),
        ("07-event-hostile", f"/console/events/{ids['event']}"),
        ("08-replay", f"/console/events/{ids['R1']}/replay"),
        ("09-dead-letters", "/console/dead-letters"),
        ("10-dead-letter", f"/console/dead-letters/{ids['dead']}"),
        ("11-costs", "/console/costs"),
        ("12-flags", "/console/flags"),
        ("13-reviews-filtered", "/console/reviews?integration=refunds&order=desc&age=1d"),
    ]


def check(page, name: str, width: int, found: dict) -> None:
    page.wait_for_load_state("load")
    size = overflow(page)
    violations = axe(page)
    page.screenshot(path=str(SHOTS / f"page-{name}-{width}.png"), full_page=True)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    found[f"{name}@{width}"] = {"scroll_width": size["scroll"], "width": size["width"],
                                "sticking_out": size["out"],
                                "axe": {v["id"]: v["impact"] for v in violations}}
    assert size["scroll"] <= size["width"], (name, width, size)
    assert not serious, (name, width, serious)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_width_and_passes_axe(served, browser, width):  # noqa: F811
    base, _, ids = served
    found: dict = {}
    context = browser.new_context(viewport={"width": width, "height": 900})
    login = context.new_page()
    login.goto(f"{base}/login")
    check(login, "00-login", width, found)
    context.close()

    page = signed_in(browser, base, "adam", width)
    # A replay first, so the replay page has a diff to show.
    page.goto(f"{base}/console/events/{ids['R1']}/replay")
    page.get_by_role("button", name="Replay (acts on nothing)").click()
    page.wait_for_url(re.compile(r".*/replay\?notice=replayed.*"))
    for name, path in pages(base, ids):
        page.goto(base + path)
        assert "<script>alert" not in page.content()
        check(page, name, width, found)
    # The flag change's confirmation page is reached by a form.
    page.goto(f"{base}/console/flags")
    page.get_by_label("New state").fill("25")
    page.get_by_label("Reason").fill("a quarter of the traffic while the new prompt settles in")
    page.get_by_role("button", name="Review change…").click()
    check(page, "14-flag-confirm", width, found)
    page.context.close()
    # Kept for the report (and CI artifacts): every page's widths and axe findings.
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**old, **found}, indent=2, sort_keys=True))


def focused(page) -> str:
    return page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()")


def test_a_reviewer_works_the_queue_with_the_keyboard_alone(served, browser, store):  # noqa: F811
    base, _, _ = served
    page = signed_in(browser, base, "rita", 1440)
    page.goto(f"{base}/console/reviews")
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to content"  # keyboard users land on the skip link first
    page.keyboard.press("j")
    assert focused(page) == "#1"
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert focused(page) == "#2"
    page.keyboard.press("k")
    page.keyboard.press("Enter")  # open the focused row
    page.wait_for_url(f"{base}/console/reviews/1")

    # a: to "Approve and run"; Enter approves.
    page.keyboard.press("a")
    assert focused(page) == "approve"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console/reviews\?notice=approved.*"))
    assert page.get_by_role("status").inner_text() == "Action 1 was approved and run."
    assert outbox_row(store, 1).status == "done"

    # n: the next waiting action; r: the rejection comment; Ctrl+Enter sends it. Letters
    # typed into the comment are text, not shortcuts.
    page.keyboard.press("n")
    page.wait_for_url(f"{base}/console/reviews/2")
    page.keyboard.press("r")
    assert focused(page) == "reject-comment"
    page.keyboard.type("a duplicate of R1, not a new charge")
    assert page.url.endswith("/console/reviews/2")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r".*/console/reviews\?notice=rejected.*"))
    assert outbox_row(store, 2).status == "rejected"
    assert outbox_row(store, 2).comment == "a duplicate of R1, not a new charge"

    # n on the queue opens its first item; n on an item opens the one after it.
    page.keyboard.press("n")
    page.wait_for_url(f"{base}/console/reviews/3")
    page.keyboard.press("n")
    page.wait_for_url(f"{base}/console/reviews/4")

    # Tab order through the decision: comment, then its button; nothing skipped.
    page.get_by_label("Comment (optional)").first.focus()
    page.keyboard.press("Tab")
    assert focused(page) == "approve"

    # A rejection without a comment is refused by the form itself (required), not sent.
    page.keyboard.press("r")
    page.keyboard.press("Control+Enter")
    assert page.url.endswith("/console/reviews/4")
    assert outbox_row(store, 4).status == "awaiting_approval"
    page.context.close()
