"""``seamline enqueue``, ``seamline worker`` and ``seamline queue``: the background shape."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seamline.cli._common import (
    DbOption,
    JsonOption,
    console,
    existing_file,
    fail,
    iso,
    print_json,
    stop_on_signals,
    store_for,
)
from seamline.queue import JobQueue

# `enqueue` and `worker` import the integration loader, the checks and the worker's
# pipeline themselves: `queue status` and `queue purge` answer without them.

queue_app = typer.Typer(help="The durable job queue: what waits, runs, finished or died.",
                        no_args_is_help=True)

IntegrationsArg = Annotated[list[str], typer.Argument(
    help="integration.yaml/.toml, or module:attr; one or more")]


def enqueue_cmd(
    integration: Annotated[str, typer.Argument(help="integration.yaml/.toml, or module:attr")],
    input: Annotated[Path, typer.Argument(help="JSONL file, one event per line")],
    db: DbOption = None,
    chunk: Annotated[int, typer.Option(help="Events per transaction")] = 500,
):
    """Put events on the durable queue for workers; every line is kept, bad ones included
    (a worker dead-letters them with the reason)."""
    from seamline.cli._run import _progress
    from seamline.integration import load_integration
    from seamline.runtime import count_lines, jsonl_bytes

    spec = load_integration(integration)
    existing_file(input, "input file")
    store = store_for(db)
    q = JobQueue(store)
    total, batch = 0, []
    # Bytes as written: a line that is not UTF-8 is queued as it is and dead-lettered by
    # the worker with the decoder's reason, never repaired into other text.
    with _progress() as progress:
        task = progress.add_task("Enqueueing", total=count_lines(input))
        for _n, line in jsonl_bytes(input):
            batch.append(line.rstrip(b"\r\n"))
            if len(batch) >= chunk:
                total += len(q.enqueue_many(spec.name, batch))
                progress.advance(task, len(batch))
                batch = []
        if batch:
            total += len(q.enqueue_many(spec.name, batch))
            progress.advance(task, len(batch))
    console.print(f"Queued {total} event(s) for {spec.name}; run 'seamline worker' to process them.")


def worker_cmd(
    integration: IntegrationsArg,
    db: DbOption = None,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once (threads)")] = 4,
    exit_when_idle: Annotated[bool, typer.Option(
        help="Stop once the queue is drained: nothing queued, backing off or running")] = False,
    max_jobs: Annotated[int | None, typer.Option(help="Stop after this many jobs")] = None,
    name: Annotated[str | None, typer.Option(help="Worker name (default host:pid)")] = None,
    quiet: Annotated[bool, typer.Option(help="Only the final summary")] = False,
    max_outage: Annotated[float, typer.Option(
        min=0, help="Seconds the store may stay unwritable (a full disk, a lost database) "
                    "before the worker gives up and exits non-zero")] = 300.0,
):
    """Claim queued events under leases and run them; SIGTERM or Ctrl-C finishes what is in hand.

    OAuth credentials the integrations use are refreshed in the background when due or
    after the token endpoint was down, and the actions that waited for them run then.

    A store that cannot be written is retried with a backoff while `seamline queue status`
    says why; the worker exits 1 (never with its summary) if it gives up or is stopped then."""
    from seamline.cli._run import show_problems
    from seamline.integration import load_integration
    from seamline.preflight import check
    from seamline.queue import Worker

    specs = [load_integration(t) for t in integration]
    for spec in specs:
        if any(p.level == "error" for p in check(spec)):
            show_problems(spec)
            fail(f"{spec.name} cannot go live until the problems above are fixed.", 2)
    if concurrency < 1:
        fail("--concurrency must be at least 1.", 2)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    store = store_for(db)
    worker = Worker(store, specs, concurrency=concurrency, name=name, max_outage_s=max_outage)

    stop_on_signals(worker.stop, "finishing the jobs in hand")
    if not quiet:
        console.print(f"Worker {worker.name}: {', '.join(s.name for s in specs)}, "
                      f"{concurrency} at a time, on {store.dialect}.")
    started = time.monotonic()
    done = threading.Event()

    def report():
        while not done.wait(10):
            s = worker.stats
            released = f", {s.released} released after waiting for a credential" \
                if s.released else ""
            console.print(f"  {s.finished} finished, {s.retried} retried, {s.dead} "
                          f"dead-lettered{released}")

    if not quiet:
        threading.Thread(target=report, daemon=True).start()
    try:
        stats = worker.run(exit_when_idle=exit_when_idle, max_jobs=max_jobs)
    finally:
        done.set()
        store.close()
    elapsed = time.monotonic() - started
    if stats.failure:
        # No summary: a worker that lost its footing must not look like one that finished.
        fail(f"The worker stopped without finishing its work: {stats.failure} "
             f"({stats.store_failures} failed store write(s), {stats.unsettled} job(s) left to "
             "their leases, which another worker continues).", 1)
    table = Table(title=f"Worker {worker.name}: {stats.finished} job(s) in {elapsed:.1f} s")
    table.add_column("state")
    table.add_column("events", justify="right")
    for state, n in sorted(stats.by_state.items()):
        table.add_row(state, str(n))
    table.add_row("retried later", str(stats.retried))
    if stats.released or stats.credentials_refreshed:  # the OAuth renewal's work (no job)
        table.add_row("OAuth credentials refreshed", str(stats.credentials_refreshed))
        table.add_row("released after waiting for a credential", str(stats.released))
    # Time in the queue's own statements: claims (empty polls included) and settling.
    table.add_row("queue ms per job",
                  f"{stats.claim_seconds * 1000 / max(1, stats.claimed):.2f}")
    console.print(table)


@queue_app.command("status")
def queue_status(db: DbOption = None,
                 name: Annotated[str | None, typer.Option(help="Only this integration")] = None,
                 json_: JsonOption = False):
    """Jobs by status: queued, running (leased), done, dead; and every worker's health.

    Exits 1 when a worker reports a problem (a store it cannot write) or went silent while
    its process lives; a worker whose process is gone is listed, its jobs go to others."""
    from seamline.queue import worker_reports

    store = store_for(db, read_only=True)
    counts = JobQueue(store).counts(name)
    if json_:  # a report: the same exit code as the table's
        reports = worker_reports(store)
        print_json({"jobs": {s: counts.get(s, 0) for s in ("queued", "running", "done", "dead")},
                    "dead_lettered_events": _dead_events(store, name),
                    "workers": [{"name": r.name, "pid": r.pid, "state": r.state,
                                 "healthy": r.healthy, "sentence": r.sentence,
                                 "heartbeat_at": iso(r.beat_at)} for r in reports]})
        if any(r.state in ("unhealthy", "silent") for r in reports):
            raise typer.Exit(1)
        return
    table = Table(title="Jobs" + (f" of {name}" if name else ""))
    table.add_column("status")
    table.add_column("jobs", justify="right")
    for status in ("queued", "running", "done", "dead"):
        table.add_row(status, str(counts.get(status, 0)))
    console.print(table)
    _say_dead_letters(store, name, counts.get("dead", 0))
    reports = worker_reports(store)
    for r in reports:
        console.print(f"[green]ok[/] worker {r.name}: working" if r.healthy
                      else f"[bold red]{r.state}[/] {r.sentence}")
    if any(r.state in ("unhealthy", "silent") for r in reports):
        raise typer.Exit(1)


def _say_dead_letters(store, name: str | None, dead_jobs: int) -> None:
    """Jobs count only what went through the queue; the store's dead letters are all of
    them (`seamline run`, the server, streams too): say so rather than show "dead 0" alone."""
    dead_events = _dead_events(store, name)
    if dead_events != dead_jobs:
        console.print(f"{dead_events} event(s) are dead-lettered in all (by every way in, not "
                      "only the queue): [bold]seamline dlq list[/].")


def _dead_events(store, name: str | None) -> int:
    from sqlalchemy import func, select

    from seamline.store.tables import events

    q = select(func.count()).select_from(events).where(events.c.state == "dead_lettered")
    if name:
        q = q.where(events.c.integration == name)
    with store.read() as conn:
        return int(conn.execute(q).scalar() or 0)


@queue_app.command("purge")
def queue_purge(db: DbOption = None,
                older_than_days: Annotated[float, typer.Option(
                    min=0, help="Age of finished jobs")] = 7.0,
                receipts_older_than_days: Annotated[float, typer.Option(
                    min=1, help="Age of webhook receipts (keep more than your vendors' "
                                "retry window: Stripe retries for 3 days)")] = 30.0):
    """Delete finished jobs and old webhook receipts; events and their audit trail stay."""
    from seamline.edges import purge_receipts

    store = store_for(db)
    n = JobQueue(store).purge(older_than_days * 86400)
    r = purge_receipts(store, receipts_older_than_days * 86400)
    console.print(f"Purged {n} finished job(s) and {r} webhook receipt(s).")
