"""Workers that fail loudly and keep going: a store that cannot be written (really full:
SQLite's own "database or disk is full") never kills a worker thread quietly."""

from __future__ import annotations

import threading
import time

from conftest import DOWNSTREAM, make_integration, verdict
from sqlalchemy import event, select
from typer.testing import CliRunner

from seamline.cli import app
from seamline.integration import QueueSpec
from seamline.queue import DONE, JobQueue, Worker, worker_reports
from seamline.runtime import SUCCEEDED, Pipeline
from seamline.store.tables import jobs

FAST = QueueSpec(backoff_s=0.01, backoff_max_s=0.02, lease_s=1)


class Full:
    """Makes the SQLite store really full: every transaction's connection gets a page limit
    at the database's current size, so any write that needs a page fails with SQLITE_FULL."""

    def __init__(self, store) -> None:
        self.store, self.on = store, False
        event.listen(store.engine, "begin", self._limit)

    def _limit(self, conn) -> None:
        raw = conn.connection.dbapi_connection
        if self.on:
            pages = raw.execute("PRAGMA page_count").fetchone()[0]
            raw.execute(f"PRAGMA max_page_count = {pages}")
        else:
            raw.execute("PRAGMA max_page_count = 1073741823")

    def __enter__(self):
        self.on = True
        return self

    def __exit__(self, *exc) -> None:
        self.on = False


def _fill_events(store, n: int) -> None:
    JobQueue(store).enqueue_many("refunds", [{"ticket_id": f"H{i}", "body": "refund please"}
                                             for i in range(n)])


def _worker(store, **kw):
    integration = make_integration(queue=FAST)
    pipeline = Pipeline(integration, store, provider=verdict())
    return Worker(store, [integration], pipelines={integration.name: pipeline}, poll_s=0.05,
                  retry_max_s=0.1, **kw)


def test_a_full_store_makes_the_worker_unhealthy_then_it_drains_once_there_is_room(
        store, caplog):
    _fill_events(store, 30)
    full = Full(store)
    worker = _worker(store, concurrency=3)
    crashed: list[BaseException] = []
    old_hook = threading.excepthook
    threading.excepthook = lambda args: crashed.append(args.exc_value)  # a dying thread
    try:
        with full:
            runner = threading.Thread(target=worker.run, kwargs={"exit_when_idle": True})
            runner.start()
            deadline = time.time() + 90  # the first redaction may load a NER model
            while worker.health.healthy and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(0.3)  # several failed writes, backoffs, heartbeats
            sentence = worker.problem
            assert sentence.startswith(f"worker {worker.name} cannot write the store since ")
            assert "database or disk is full" in sentence
            # Another process's view: the status file beside the database says why.
            deadline = time.time() + 5
            while (reports := worker_reports(store)) and reports[0].state != "unhealthy" \
                    and time.time() < deadline:
                time.sleep(0.05)
            (report,) = reports
            assert report.state == "unhealthy" and "database or disk is full" in report.sentence
            cli = CliRunner().invoke(app, ["queue", "status", "--db", store.url[len("sqlite:///"):]],
                                     env={"COLUMNS": "400"})
            assert cli.exit_code == 1 and "database or disk is full" in cli.output
        runner.join(30)
        assert not runner.is_alive()
    finally:
        threading.excepthook = old_hook
    assert not crashed, crashed
    stats = worker.stats
    assert stats.failure == "" and stats.store_failures >= 1
    with store.read() as conn:
        statuses = list(conn.execute(select(jobs.c.status)).scalars())
    assert statuses == [DONE] * 30
    assert stats.by_state.get(SUCCEEDED, 0) + stats.unsettled >= 1
    assert len({k for k, _ in DOWNSTREAM}) == 30  # every action, each once
    assert len(DOWNSTREAM) == 30
    assert worker.health.healthy and worker_reports(store) == []  # stopped cleanly
    assert any("retrying with a backoff" in r.getMessage() for r in caplog.records)


def test_a_store_that_stays_full_past_the_bound_stops_the_worker_with_a_sentence(store):
    _fill_events(store, 5)
    worker = _worker(store, concurrency=2, max_outage_s=0.5)
    with Full(store):
        t = time.monotonic()
        stats = worker.run()  # not exit_when_idle: only the bound can end it
    assert time.monotonic() - t < 15
    assert "database or disk is full" in stats.failure and "gave up after 0.5 s" in stats.failure


def test_seamline_worker_exits_non_zero_without_its_summary_when_it_gives_up(
        store, monkeypatch, tmp_path):
    """The CLI: exit 1 and a sentence, never the normal 'Worker …: N job(s)' table."""
    import seamline.integration
    import seamline.preflight
    import seamline.queue

    _fill_events(store, 3)
    real = seamline.queue.Worker

    def full_worker(st, specs, **kw):
        Full(st).on = True  # this process's store is full from the start
        pipelines = {s.name: Pipeline(s, st, provider=verdict()) for s in specs}
        return real(st, specs, retry_max_s=0.1, pipelines=pipelines, **kw)

    # `seamline worker` imports these when it runs (not at its module's import): patched
    # where it looks them up.
    monkeypatch.setattr(seamline.queue, "Worker", full_worker)
    spec = make_integration(queue=FAST)
    monkeypatch.setattr(seamline.integration, "load_integration", lambda _t: spec)
    monkeypatch.setattr(seamline.preflight, "check", lambda _s: [])
    db = store.url[len("sqlite:///"):]
    result = CliRunner().invoke(app, ["worker", "x.yaml", "--db", db, "--max-outage", "0.5",
                                      "--concurrency", "2", "--quiet"], env={"COLUMNS": "400"})
    assert result.exit_code == 1, result.output
    assert "database or disk is full" in result.output and "gave up" in result.output
    assert "job(s) in" not in result.output  # no summary table


def test_healthz_of_a_server_whose_in_process_workers_cannot_write_the_store_is_503(store):
    from fastapi.testclient import TestClient

    from seamline.server import create_app

    _fill_events(store, 3)
    spec = make_integration(queue=FAST)
    app = create_app([spec], store, providers={"refunds": verdict()}, allow_anonymous=True,
                     background_workers=1)
    full = Full(store)
    with full, TestClient(app) as client:  # the queued jobs cannot be recorded: it is full
        deadline = time.time() + 90
        r = client.get("/healthz")
        while r.status_code == 200 and time.time() < deadline:
            time.sleep(0.1)
            r = client.get("/healthz")
        assert r.status_code == 503
        assert "cannot write the store since" in r.json()["error"]
        assert "database or disk is full" in r.json()["error"]
