"""An action in doubt in the console (its worker died between sending it and recording the
result): the reviewer gets the three choices `seamline approvals resolve` has — send it
again, mark it done, cancel it — each with the sentence saying what it does, from the
keyboard alone, at a phone's width and a desktop's, with zero serious axe-core violations.
Chromium (the system's) driven by Playwright against a real server, as the other browser
tests."""

from __future__ import annotations

import re

import pytest
from conftest import DOWNSTREAM
from console_seed import seed_in_doubt
from test_console_browser import SHOTS, browser, served, sign_in  # noqa: F401  (fixtures)
from test_console_pages import axe, overflow

from seamline.actions import outbox_row
from seamline.audit import story

CHOICES = {  # label -> the sentence that must stand beside it
    "Send it again": "It did not take effect at the receiver",
    "Mark it done": "It did take effect. Nothing is sent",
    "Cancel it": "It must not run, now or again",
}


def decisions(store, event_id: str) -> list[str]:
    return [e["payload"]["decision"] for e in story(store, event_id)
            if e["kind"] == "approval" and e["payload"].get("in_doubt")]


def focused(page) -> str:
    return page.evaluate("() => document.activeElement.id")


@pytest.mark.parametrize("width", (390, 1440))
def test_the_in_doubt_page_explains_three_choices_fits_and_passes_axe(
        served, browser, store, width):  # noqa: F811
    base, _, _ = served
    seed_in_doubt(store, (2,))
    page = sign_in(browser, base, "rita")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/console/reviews/2")
    main = " ".join(page.locator("main").inner_text().split())
    assert "this action may already have run" in main
    assert "worker 1151 died" in main
    # Not approve/reject acting as resend/cancel: the three choices, each explained.
    assert page.get_by_role("button", name="Approve and run", exact=True).count() == 0
    assert page.get_by_role("button", name="Reject").count() == 0
    for label, sentence in CHOICES.items():
        radio = page.get_by_role("radio", name=label)
        assert radio.count() == 1
        described = radio.get_attribute("aria-describedby")
        assert sentence in page.locator(f"#{described}").inner_text()
    size = overflow(page)
    assert size["scroll"] <= size["width"], size
    serious = [v for v in axe(page) if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    page.screenshot(path=str(SHOTS / f"page-15-review-in-doubt-{width}.png"), full_page=True)
    page.context.close()


def test_a_reviewer_resolves_actions_in_doubt_from_the_keyboard(served, browser, store):  # noqa: F811
    base, _, ids = served
    seed_in_doubt(store, (2, 3, 4))
    sent_before = len(DOWNSTREAM)
    page = sign_in(browser, base, "rita")

    # Mark done, keyboard alone: d to the choices, an arrow to the second, Tab to the
    # comment, Ctrl+Enter. Nothing is sent.
    page.goto(f"{base}/console/reviews/2")
    page.keyboard.press("d")
    assert focused(page) == "resolve-resend"
    page.keyboard.press("ArrowDown")
    assert focused(page) == "resolve-done" and page.locator("#resolve-done").is_checked()
    page.keyboard.press("Tab")
    assert focused(page) == "doubt-comment"
    page.keyboard.type("the refund is in the ledger: refunded at 10:42")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r".*/console/reviews\?notice=marked_done.*"))
    assert page.get_by_role("status").inner_text() == "Action 2 was marked done; nothing was sent."
    row = outbox_row(store, 2)
    assert row.status == "done" and row.decided_by == "rita"
    assert row.comment == "the refund is in the ledger: refunded at 10:42"
    assert len(DOWNSTREAM) == sent_before
    assert decisions(store, ids["R2"]) == ["marked_done"]

    # Resend: sent once more, with the same idempotency key, and done.
    page.goto(f"{base}/console/reviews/3")
    page.keyboard.press("d")
    page.keyboard.press("Space")  # the focused choice, "Send it again"
    assert page.locator("#resolve-resend").is_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("nothing in the ledger for R3")
    page.keyboard.press("Tab")
    assert focused(page) == "resolve"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console/reviews\?notice=resent.*"))
    assert "Action 3 is sent again" in page.get_by_role("status").inner_text()
    assert outbox_row(store, 3).status == "done"
    assert [key for key, _ in DOWNSTREAM[sent_before:]] == [outbox_row(store, 3).idempotency_key]
    assert decisions(store, ids["R3"]) == ["resend"]

    # Cancel: the form refuses to send without a choice or without what was checked.
    page.goto(f"{base}/console/reviews/4")
    page.get_by_label("What you checked at the receiver (required)").fill("a duplicate of R3")
    page.get_by_role("button", name="Record the decision").click()
    assert page.url.endswith("/console/reviews/4")  # no choice made: not sent
    page.get_by_role("radio", name="Cancel it").check()
    page.get_by_label("What you checked at the receiver (required)").fill("")
    page.get_by_role("button", name="Record the decision").click()
    assert page.url.endswith("/console/reviews/4")  # nothing checked: not sent
    assert outbox_row(store, 4).status == "awaiting_approval"
    # A post without them (no browser validation) gets a sentence and a 422.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(f"{base}/console/reviews/4/resolve",
                                form={"csrf_token": token, "resolution": "cancel"})
    assert refused.status == 422 and "Say what you checked" in refused.text()
    odd = page.request.post(f"{base}/console/reviews/4/resolve",
                            form={"csrf_token": token, "resolution": "approve", "comment": "x"})
    assert odd.status == 422 and "Choose what became of the action" in odd.text()
    page.get_by_label("What you checked at the receiver (required)").fill("a duplicate of R3")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(re.compile(r".*/console/reviews\?notice=cancelled.*"))
    assert "Action 4 was cancelled" in page.get_by_role("status").inner_text()
    assert outbox_row(store, 4).status == "rejected"
    assert len(DOWNSTREAM) == sent_before + 1  # only the resend reached the receiver
    assert decisions(store, ids["R4"]) == ["cancelled"]

    # An action that is not in doubt keeps approve / edit / reject.
    page.goto(f"{base}/console/reviews/1")
    assert page.get_by_role("button", name="Approve and run", exact=True).count() == 1
    assert page.get_by_role("radio", name="Send it again").count() == 0
    page.context.close()
