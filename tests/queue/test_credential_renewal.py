"""The worker renews OAuth credentials with no traffic and runs what waited for them, once.

Real HTTP throughout: the token endpoint is the local RFC 6749 server
(tests/connectors/oauth_server.py) and the vendor HubSpot's CRM v3 contacts endpoint
(tests/connectors/test_oauth.py: hubspot_api, which honours only live access tokens).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import make_integration, verdict
from sqlalchemy import select, update

from seamline.alerts import list_alerts
from seamline.connectors import credential_report
from seamline.integration import ActionSpec, QueueSpec
from seamline.queue import CredentialRenewal, JobQueue, Worker
from seamline.runtime import Pipeline
from seamline.store.tables import events, oauth_credentials, outbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from oauth_server import CLIENT_ID, CLIENT_SECRET, OAuthServer
from test_oauth import bootstrap, expire, hubspot_api

FAST = QueueSpec(backoff_s=0.01, backoff_max_s=0.02, lease_s=2)


@pytest.fixture(autouse=True)
def client_env(monkeypatch):
    monkeypatch.setenv("TEST_OAUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TEST_OAUTH_CLIENT_SECRET", CLIENT_SECRET)


@pytest.fixture
def server():
    with OAuthServer() as s:
        yield s


def crm(server: OAuthServer, api_url: str, name: str = "refunds"):
    """An integration whose one action marks the customer in HubSpot with ``auth: oauth``;
    a token endpoint down for 0.2 s fails the credential (the refresh budget)."""
    oauth = {**server.settings(), "refresh_budget_s": 0.2, "retry_failed_after_s": 3600.0}
    return make_integration(name=name, queue=FAST, actions=(ActionSpec(
        name="mark_customer", handler="connector:hubspot.update_record",
        params={"id": "input.customer", "properties": "{'lifecyclestage': 'customer'}"},
        connector={"base_url": api_url, "auth": "oauth", "oauth": oauth}),))


def worker(store, *integrations, **kw) -> Worker:
    pipelines = {i.name: Pipeline(i, store, provider=verdict()) for i in integrations}
    return Worker(store, list(integrations), pipelines=pipelines, poll_s=0.05, **kw)


def hold_while_down(store, server, *integrations, customers: dict[str, list[str]]) -> None:
    """The token endpoint is down past the budget: every queued action waits."""
    expire(store)
    server.down = True
    q = JobQueue(store)
    for integration in integrations:
        for n, customer in enumerate(customers[integration.name]):
            q.enqueue(integration.name, {"ticket_id": f"{integration.name}-{n}",
                                         "customer": customer, "body": "refund me"})
    stats = worker(store, *integrations).run(exit_when_idle=True)
    total = sum(len(c) for c in customers.values())
    assert stats.by_state == {"waiting_credentials": total}, stats
    with store.read() as conn:
        assert set(conn.execute(select(outbox.c.status)).scalars()) == {"waiting_credentials"}
    [report] = credential_report(store)
    assert report["state"] == "failed" and "HTTP 503" in report["reason"]


def run_until(workers: list[Worker], done, timeout_s: float = 20.0) -> None:
    """Run the workers (no new events) until ``done()`` holds, then a little longer, so a
    second run of anything would show, and stop them."""
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # more renewal rounds: nothing may run again
    finally:
        for w in workers:
            w.stop()
        for t in threads:
            t.join(30)
    assert not any(t.is_alive() for t in threads)


def states(store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(events.c.state)).scalars())


def test_endpoint_back_the_worker_refreshes_without_traffic_and_runs_each_waiting_action_once(
        store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        integration = crm(server, api.url)
        hold_while_down(store, server, integration, customers={"refunds": ["701", "702", "703"]})
        assert api.sent("PATCH") == []
        server.down = False  # the endpoint is back; no event arrives
        tried = len(server.requests("refresh_token"))
        w = worker(store, integration, credentials_every_s=0.05)
        run_until([w], lambda: states(store) == {"succeeded"})
        patched = sorted(r.path for r in api.sent("PATCH"))
    assert patched == [f"/crm/v3/objects/contacts/70{n}" for n in (1, 2, 3)]  # each once
    assert states(store) == {"succeeded"}
    with store.read() as conn:
        rows = conn.execute(select(outbox)).all()
    assert {r.status for r in rows} == {"done"} and {r.attempts for r in rows} == {1}
    assert w.stats.released == 3 and w.stats.credentials_refreshed == 1
    assert w.stats.claimed == 0  # nothing came through the queue: the renewal did it
    assert len(server.requests("refresh_token")) == tried + 1  # one refresh once it was back
    assert [r["state"] for r in credential_report(store)] == ["ok"]
    assert len(list_alerts(store, kind="oauth_credential_failed")) == 1  # the outage, once


def test_a_credential_shared_by_two_integrations_releases_both_whoever_refreshes(store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        us, eu = crm(server, api.url, "refunds"), crm(server, api.url, "refunds_eu")
        hold_while_down(store, server, us, eu,
                        customers={"refunds": ["801", "802"], "refunds_eu": ["901"]})
        server.down = False
        tried = len(server.requests("refresh_token"))
        # Two workers, one per integration: only one of them wins the refresh's lease,
        # and each releases its own integration's actions once the credential works.
        workers = [worker(store, us, credentials_every_s=0.05),
                   worker(store, eu, credentials_every_s=0.05)]
        run_until(workers, lambda: states(store) == {"succeeded"})
        patched = sorted(r.path for r in api.sent("PATCH"))
    assert patched == ["/crm/v3/objects/contacts/801", "/crm/v3/objects/contacts/802",
                       "/crm/v3/objects/contacts/901"]
    assert [w.stats.released for w in workers] == [2, 1]
    assert sum(w.stats.credentials_refreshed for w in workers) == 1  # one refresh, not two
    assert len(server.requests("refresh_token")) == tried + 1
    with store.read() as conn:
        assert set(conn.execute(select(outbox.c.status)).scalars()) == {"done"}


def test_one_worker_serving_both_integrations_releases_both(store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        us, eu = crm(server, api.url, "refunds"), crm(server, api.url, "refunds_eu")
        hold_while_down(store, server, us, eu,
                        customers={"refunds": ["811"], "refunds_eu": ["911", "912"]})
        server.down = False
        w = worker(store, us, eu, credentials_every_s=0.05)
        run_until([w], lambda: states(store) == {"succeeded"})
        patched = sorted(r.path for r in api.sent("PATCH"))
    assert patched == ["/crm/v3/objects/contacts/811", "/crm/v3/objects/contacts/911",
                       "/crm/v3/objects/contacts/912"]
    assert w.stats.released == 3


def test_a_new_event_of_one_integration_refreshing_releases_the_other_integrations_too(
        store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        us, eu = crm(server, api.url, "refunds"), crm(server, api.url, "refunds_eu")
        hold_while_down(store, server, us, eu,
                        customers={"refunds": ["821"], "refunds_eu": ["921"]})
        server.down = False
        with store.write() as conn:  # long enough ago that an action tries the refresh again
            conn.execute(update(oauth_credentials).values(failed_at=0.0))
        # A new event of refunds refreshes inside its action (the pipeline, not a worker)…
        later = Pipeline(us, store, provider=verdict()).process(
            {"ticket_id": "new", "customer": "822", "body": "refund me"})
        assert later.state == "succeeded", later
        # …and refunds_eu's worker, which saw no event, runs what waited for the credential.
        w = worker(store, eu, credentials_every_s=0.05)
        run_until([w], lambda: states(store) == {"succeeded"})
        patched = sorted(r.path for r in api.sent("PATCH"))
    assert patched == [f"/crm/v3/objects/contacts/{c}" for c in ("821", "822", "921")]
    assert w.stats.released == 1 and w.stats.credentials_refreshed == 0


def test_a_failing_endpoint_is_retried_with_a_growing_bounded_backoff(store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        integration = crm(server, api.url)
        expire(store)
        server.down = True
        renewal = CredentialRenewal(store, {"refunds": integration}, {}, stop=threading.Event(),
                                    trouble=lambda what, exc: None, every_s=10.0,
                                    max_backoff_s=40.0)
        [cred] = renewal.credentials.values()
        t, tried, waits = 1000.0, [], []
        for _ in range(6):
            before = len(server.requests("refresh_token"))
            renewal.round(now=t)
            tried.append(len(server.requests("refresh_token")) > before)
            waits.append(cred.next_at - t)
            renewal.round(now=t + waits[-1] / 2 - 0.01)  # before the wait is over: no try
            assert cred.next_at - t == waits[-1]
            t = cred.next_at
    assert all(tried)
    # Equal jitter: each wait is between half and all of 10 s · 2ⁿ, capped at 40 s.
    for n, wait in enumerate(waits):
        step = min(40.0, 10.0 * 2 ** n)
        assert step / 2 <= wait <= step, (n, wait)
    assert max(waits) <= 40.0 and waits[-1] >= 20.0
    server.down = False
    assert renewal.round(now=t) == 0 and cred.failures == 0 and cred.next_at == 0.0
    assert [r["state"] for r in credential_report(store)] == ["ok"]


def test_a_refused_refresh_is_not_retried_by_the_worker(store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        integration = crm(server, api.url)
        expire(store)
        server.revoke()  # invalid_grant: a person must authorize again
        renewal = CredentialRenewal(store, {"refunds": integration}, {}, stop=threading.Event(),
                                    trouble=lambda what, exc: None, every_s=10.0)
        renewal.round(now=1000.0)
        assert len(server.requests("refresh_token")) == 1
        for t in (1010.0, 2000.0, 5000.0):
            renewal.round(now=t)
        assert len(server.requests("refresh_token")) == 1  # never again on its own
    [report] = credential_report(store)
    assert report["state"] == "failed" and "invalid_grant" in report["reason"]
    [alert] = list_alerts(store, kind="oauth_credential_failed")
    assert "connectors auth hubspot" in alert.sentence


def test_a_worker_without_oauth_integrations_starts_no_renewal(store):
    integration = make_integration(queue=FAST)
    w = Worker(store, [integration], pipelines={integration.name: Pipeline(
        integration, store, provider=verdict())})
    assert w._renewal() is None
