"""``seamline poll``: run an integration's poll sources (vendors with no webhooks)."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import typer

from seamline.cli._common import DbOption, console, stop_on_signals, store_for
from seamline.edges import Poller, PollOutcome
from seamline.integration import load_integration


def _show(outcome: PollOutcome) -> None:
    when = time.strftime("%H:%M:%S", time.localtime(outcome.next_poll_at))
    if outcome.error:
        console.print(f"{outcome.source}: [red]{outcome.error}[/] (next poll {when})")
    else:
        console.print(f"{outcome.source}: {outcome.fetched} fetched, {outcome.queued} queued, "
                      f"{outcome.duplicates} already seen; next poll {when}")


def poll_cmd(
    integration: Annotated[str, typer.Argument(help="integration.yaml/.toml, or module:attr")],
    db: DbOption = None,
    once: Annotated[bool, typer.Option(
        help="One round of the sources that are due, then exit")] = False,
):
    """Poll the integration's poll sources on their intervals and queue what is new; the
    cursor is stored, so a restart neither repeats nor skips. Run 'seamline worker' too."""
    spec = load_integration(integration)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    store = store_for(db)
    poller = Poller(spec, store)

    stop_on_signals(poller.stop, "stopping after this poll")
    try:
        outcomes = poller.run(once=once, on_poll=_show)
    finally:
        store.close()
    if once and not outcomes:
        console.print("No source was due; the next polls are scheduled in the store.")
