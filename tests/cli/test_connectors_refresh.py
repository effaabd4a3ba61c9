"""``seamline connectors refresh [NAME]`` and ``connectors auth`` for a vendor chosen under
``vendors:``, against the local RFC 6749 server (tests/connectors/oauth_server.py) and
HubSpot's contacts endpoint (tests/connectors/test_oauth.py: hubspot_api)."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import make_integration, verdict
from sqlalchemy import select, update
from typer.testing import CliRunner

from seamline.cli import app
from seamline.integration import ActionSpec
from seamline.runtime import Pipeline
from seamline.store.tables import oauth_credentials, outbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from oauth_server import CLIENT_ID, CLIENT_SECRET, OAuthServer
from test_connectors_auth import authorize, spec_file
from test_oauth import hubspot_api, hubspot_options

runner = CliRunner()


@pytest.fixture(autouse=True)
def client_env(monkeypatch):
    monkeypatch.setenv("TEST_OAUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TEST_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-never-called")


@pytest.fixture
def server():
    with OAuthServer() as s:
        yield s


def flat(output: str) -> str:
    return " ".join(output.split())  # Rich wraps long lines at the terminal's width


def test_refresh_by_hand_fails_while_the_endpoint_is_down_then_runs_what_waited_once(
        server, tmp_path, store):
    db = str(tmp_path / "seamline.db")
    with hubspot_api(server) as api:
        options = hubspot_options(server, api.url)
        options["oauth"] = {**options["oauth"], "refresh_budget_s": 0.2}
        spec = spec_file(tmp_path, options)
        authorize(server, spec, db)
        pipeline = Pipeline(make_integration(actions=(ActionSpec(
            name="mark_customer", handler="connector:hubspot.update_record",
            params={"id": "input.customer", "properties": "{'lifecyclestage': 'customer'}"},
            connector=options),)), store, provider=verdict())
        with store.write() as conn:
            conn.execute(update(oauth_credentials).values(expires_at=time.time() - 1))
        server.down = True
        held = [pipeline.process({"ticket_id": f"T-{n}", "customer": f"65{n}",
                                  "body": "refund me"}) for n in (1, 2)]
        assert [r.state for r in held] == ["waiting_credentials"] * 2

        down = runner.invoke(app, ["connectors", "refresh", "hubspot", "--integration", spec,
                                   "--db", db])
        assert down.exit_code == 1, down.output
        assert "hubspot: failed (the token endpoint answered HTTP 503)" in flat(down.output)
        assert api.sent("PATCH") == []

        server.down = False
        back = runner.invoke(app, ["connectors", "refresh", "hubspot", "--integration", spec,
                                   "--db", db])
        assert back.exit_code == 0, back.output
        again = runner.invoke(app, ["connectors", "refresh", "--integration", spec, "--db", db])
        assert again.exit_code == 0, again.output
        patched = sorted(r.path for r in api.sent("PATCH"))
    said = flat(back.output)
    assert "hubspot: refreshed." in said
    assert all(f"Event {r.event_id} (refunds), which waited for hubspot: succeeded" in said
               for r in held)
    assert "hubspot: refreshed." in flat(again.output) and "Event" not in again.output
    assert patched == ["/crm/v3/objects/contacts/651", "/crm/v3/objects/contacts/652"]
    with store.read() as conn:
        assert set(conn.execute(select(outbox.c.status)).scalars()) == {"done"}
    for secret in (CLIENT_SECRET, *server.live_refresh_tokens()):
        assert secret not in down.output + back.output + again.output


def test_refresh_names_an_unknown_credential_in_a_sentence(server, tmp_path, store):
    spec = spec_file(tmp_path, {"auth": "oauth", "oauth": server.settings()})
    result = runner.invoke(app, ["connectors", "refresh", "hubspot_eu", "--integration", spec,
                                 "--db", str(tmp_path / "seamline.db")])
    assert result.exit_code == 2
    assert "declares the OAuth credential 'hubspot_eu'" in flat(result.output)


def test_refresh_of_a_never_authorized_credential_says_to_authorize(server, tmp_path, store):
    spec = spec_file(tmp_path, {"auth": "oauth", "oauth": server.settings()})
    result = runner.invoke(app, ["connectors", "refresh", "--integration", spec,
                                 "--db", str(tmp_path / "seamline.db")])
    assert result.exit_code == 1
    assert "hubspot: never authorized; run `seamline connectors auth hubspot`" in flat(
        result.output)
    assert server.requests("refresh_token") == []


def kind_spec_file(tmp_path: Path, vendor_block: dict) -> str:
    """An integration whose one action is vendor-neutral (kind:crm.upsert_contact), its
    vendor (HubSpot, OAuth) chosen under vendors:."""
    path = tmp_path / "crm_kind.py"
    path.write_text(textwrap.dedent(f"""
        from conftest import make_integration
        from seamline.integration import ActionSpec, ModelRoute

        integration = make_integration(model=ModelRoute(
            provider="openai", model="gpt-4o-mini", api_key_env="TEST_OPENAI_KEY",
            input_usd_per_mtok=1.0, output_usd_per_mtok=2.0, max_output_tokens=100,
            context_window=2000), actions=(ActionSpec(
            name="sync", handler="kind:crm.upsert_contact",
            params={{"email": "'jane@example.com'"}}),),
            vendors={{"crm": {{"use": "hubspot", "hubspot": {vendor_block!r}}}}})
    """))
    return f"{path}:integration"


def test_auth_offers_an_oauth_vendor_chosen_under_vendors(server, tmp_path, store):
    db = str(tmp_path / "seamline.db")
    block = {"auth": "oauth", "oauth": {**server.settings(), "credential": "crm_main"}}
    spec = kind_spec_file(tmp_path, block)
    started = runner.invoke(app, ["connectors", "auth", "crm_main", "--integration", spec,
                                  "--no-listen", "--db", db])
    assert started.exit_code == 0, started.output
    [url] = [line for line in started.output.splitlines() if line.startswith("http")]
    finished = runner.invoke(app, ["connectors", "auth", "crm_main", "--integration", spec,
                                   "--code", server.approve(url), "--db", db])
    assert finished.exit_code == 0, finished.output
    assert "Authorized crm_main" in flat(finished.output)
    with store.read() as conn:
        row = conn.execute(select(oauth_credentials)).one()
    assert (row.name, row.connector, row.state) == ("crm_main", "hubspot", "ok")
    refreshed = runner.invoke(app, ["connectors", "refresh", "--integration", spec, "--db", db])
    assert refreshed.exit_code == 0 and "crm_main: refreshed." in flat(refreshed.output)
    assert len(server.requests("refresh_token")) == 1
