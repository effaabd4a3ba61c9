"""``seamline stream``: consume a broker for an integration, one decision per closed window."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.table import Table

from seamline.cli._common import DbOption, console, fail, store_for
from seamline.integration import load_integration


def stream_cmd(
    integration: Annotated[str, typer.Argument(help="integration.yaml/.toml, or module:attr")],
    source: Annotated[str | None, typer.Option(
        "--source", help="redis://HOST:PORT/DB?stream=S&group=G or "
                         "nats://HOST:PORT?stream=S&subject=X&durable=D (default: the "
                         "integration's stream.source)")] = None,
    consumer: Annotated[str | None, typer.Option(
        help="Consumer name in a Redis group, and on the window decisions this process claims "
             "(default: this host's name; keep it stable so a restart reads its own pending "
             "entries and takes back its own unfinished claims first)")] = None,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Messages per transaction")] = 200,
    max_events: Annotated[int | None, typer.Option(
        "--max-events", min=1, help="Stop after this many messages")] = None,
    idle_exit: Annotated[float | None, typer.Option(
        "--idle-exit", min=0, help="Stop after this many seconds without a message")] = None,
    db: DbOption = None,
):
    """Consume a stream until interrupted: windows kept in the store, one decision per window."""
    from seamline.streaming import StreamRunner, open_source

    declared = load_integration(integration)
    if declared.stream is None:
        fail(f"Integration {declared.name!r} declares no stream: add a 'stream:' section "
             "(key_field, time_field, window, late_policy, source).", 2)
    url = source or declared.stream.source
    if not url:
        fail(f"Name the source of {declared.name!r}: --source redis://…?stream=&group= or "
             "nats://…?stream=&subject=, or stream.source in the integration.", 2)
    store = store_for(db)
    src = open_source(url, consumer=consumer)
    runner = StreamRunner(declared, store, src, batch=batch, consumer=consumer)
    stop = threading.Event()

    def ask_to_stop(signum, _frame):
        if stop.is_set():  # a second Ctrl-C: stop now, mid-batch (it rolls back, redelivered later)
            raise KeyboardInterrupt
        stop.set()
        console.print("[dim]stopping after this batch…[/]")

    previous = {s: signal.signal(s, ask_to_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    console.print(f"Consuming {src.name} for [bold]{declared.name}[/] "
                  f"({runner.state.stream}); Ctrl-C stops after the current batch.")
    try:
        stats = runner.run(max_events=max_events, idle_exit_s=idle_exit, stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runner.close()
    if runner.problem:  # stopped on request while the store was failing: no summary
        store.close()
        fail(f"The consumer stopped with its work unfinished: {runner.problem} (the batches "
             "it could not record were not acked; the broker delivers them again).", 1)
    progress = runner.state.progress()
    store.close()

    table = Table(title=f"Stream {runner.state.stream}")
    table.add_column("")
    table.add_column("this run", justify="right")
    table.add_column("stream total", justify="right")
    o = stats.outcomes
    table.add_row("messages delivered", str(stats.delivered), "")
    table.add_row("applied to windows", str(o["applied"]), str(progress.applied))
    table.add_row("redelivered, already applied", str(o["redelivered"]), "")
    table.add_row("invalid, dead-lettered", str(o["invalid"]), str(progress.invalid))
    table.add_row("late, dead-lettered", str(o["late_dead_lettered"]),
                  str(progress.late_dead_lettered))
    table.add_row("late, window recomputed", str(o["late_recomputed"]),
                  str(progress.late_recomputed))
    for state, n in sorted(stats.decisions.items()):
        table.add_row(f"window decisions: {state}", str(n), "")
    console.print(table)
    rate = stats.delivered / stats.seconds if stats.seconds else 0.0
    console.print(f"{stats.delivered} messages in {stats.seconds:.1f} s ({rate:,.0f}/s); "
                  f"watermark {progress.watermark:g}.")
