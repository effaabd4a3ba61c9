"""An event whose action waits for an OAuth credential, as the console shows it: the list
filters on the state, the timeline says in sentences that nothing was sent and why, and
after a re-authorization that the credential works again.

The waiting is real: a HubSpot action with ``auth: oauth`` against the local RFC 6749 server
(tests/connectors/oauth_server.py), the app revoked, then authorized again.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import pytest
from conftest import make_integration, verdict
from console_seed import console_app, seed
from test_console_routes import signed_in

from seamline.actions import resume_waiting
from seamline.integration import ActionSpec
from seamline.runtime import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from oauth_server import CLIENT_ID, CLIENT_SECRET, OAuthServer
from test_oauth import bootstrap, expire, hubspot_api, hubspot_options


@pytest.fixture(autouse=True)
def client_env(monkeypatch):
    monkeypatch.setenv("TEST_OAUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TEST_OAUTH_CLIENT_SECRET", CLIENT_SECRET)


def test_a_waiting_event_is_listed_under_its_state_and_its_timeline_says_why(store):
    model, _ = seed(store)
    app = console_app(store, model)
    with OAuthServer() as server, hubspot_api(server) as api:
        bootstrap(store, server)
        crm = make_integration(name="crm_sync", actions=(ActionSpec(
            name="mark_customer", handler="connector:hubspot.update_record",
            params={"id": "input.customer", "properties": "{'lifecyclestage': 'customer'}"},
            connector=hubspot_options(server, api.url)),))
        pipeline = Pipeline(crm, store, provider=verdict())
        expire(store)
        server.revoke()
        held = pipeline.process({"ticket_id": "W-1", "customer": "501", "body": "refund me"})
        assert held.state == "waiting_credentials", held

        client, _ = signed_in(app, "vera")
        listed = client.get("/console/events", params={"state": "waiting_credentials"})
        assert listed.status_code == 200
        assert held.event_id in listed.text and "waiting credentials" in listed.text
        assert '<option value="waiting_credentials" selected>' in listed.text
        others = client.get("/console/events", params={"state": "succeeded"}).text
        assert held.event_id not in others

        page = html.unescape(client.get(f"/console/events/{held.event_id}").text)
        assert "Action mark_customer was not sent: it waits for the credential hubspot" in page
        assert "invalid_grant" in page
        assert ("The event waits for a connector's credential: nothing was sent, and its "
                "actions run once the credential works again.") in page
        assert "A action entry" not in page and "is now waiting_credentials" not in page

        bootstrap(store, server)  # a person authorizes again; what waited runs
        [(_, event_id, path)] = resume_waiting(store, "hubspot")
        assert pipeline.finish_actions(event_id, path)[0] == "succeeded"
        page = html.unescape(client.get(f"/console/events/{held.event_id}").text)
    assert ("Resumed: the credential hubspot works again, so the actions that waited for it "
            "run now.") in page
    assert "Action mark_customer ran on attempt 1." in page
