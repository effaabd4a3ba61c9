"""``seamline connectors auth`` and ``connectors status`` against a local RFC 6749 server
(tests/connectors/oauth_server.py): the pasted-redirect and the loopback-listener flows,
the status of each credential, and the actions that waited running once after re-auth."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
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
from test_oauth import hubspot_api, hubspot_options

runner = CliRunner()
TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def client_env(monkeypatch):
    monkeypatch.setenv("TEST_OAUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TEST_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-never-called")  # the file's model is not asked


@pytest.fixture
def server():
    with OAuthServer() as s:
        yield s


def spec_file(tmp_path: Path, options: dict) -> str:
    """An integration file (Python) whose one action is HubSpot with ``auth: oauth``."""
    path = tmp_path / "crm_sync.py"
    path.write_text(textwrap.dedent(f"""
        from conftest import make_integration
        from seamline.integration import ActionSpec, ModelRoute

        integration = make_integration(model=ModelRoute(
            provider="openai", model="gpt-4o-mini", api_key_env="TEST_OPENAI_KEY",
            input_usd_per_mtok=1.0, output_usd_per_mtok=2.0, max_output_tokens=100,
            context_window=2000), actions=(ActionSpec(
            name="mark_customer", handler="connector:hubspot.update_record",
            params={{"id": "input.customer", "properties": "{{'lifecyclestage': 'customer'}}"}},
            connector={options!r}),))
    """))
    return f"{path}:integration"


def authorize(server: OAuthServer, spec: str, db: str) -> str:
    """Run the two-step flow: --no-listen prints the URL, --code takes the redirect."""
    started = runner.invoke(app, ["connectors", "auth", "hubspot", "--integration", spec,
                                  "--no-listen", "--db", db])
    assert started.exit_code == 0, started.output
    [url] = [line for line in started.output.splitlines() if line.startswith("http")]
    finished = runner.invoke(app, ["connectors", "auth", "hubspot", "--integration", spec,
                                   "--code", server.approve(url), "--db", db])
    assert finished.exit_code == 0, finished.output
    return started.output + finished.output


def test_a_pasted_redirect_authorizes_and_status_shows_the_expiry(server, tmp_path, store):
    db = str(tmp_path / "seamline.db")
    spec = spec_file(tmp_path, {"auth": "oauth", "oauth": server.settings()})
    said = authorize(server, spec, db)
    assert "code_challenge_method=S256" in said and "Authorized hubspot" in said
    status = runner.invoke(app, ["connectors", "status", "--json", "--db", db])
    assert status.exit_code == 0, status.output
    [row] = json.loads(status.output)
    assert row["name"] == "hubspot" and row["state"] == "ok" and row["has_refresh_token"]
    assert 3500 < row["expires_in_s"] <= 3600 and row["expires_at"].endswith("+00:00")
    for secret in (CLIENT_SECRET, *server.live_refresh_tokens()):
        assert secret not in said + status.output


def test_status_shows_a_failed_credential_with_its_reason(server, tmp_path, store):
    db = str(tmp_path / "seamline.db")
    spec = spec_file(tmp_path, {"auth": "oauth", "oauth": server.settings()})
    authorize(server, spec, db)
    server.revoke()
    with store.write() as conn:  # the token expired overnight
        conn.execute(update(oauth_credentials).values(expires_at=time.time() - 1))
    from seamline.connectors import CredentialsNeeded, OAuthCredential, OAuthSettings

    with pytest.raises(CredentialsNeeded):
        OAuthCredential(store, OAuthSettings.model_validate(server.settings()),
                        connector="hubspot").access_token()
    table = runner.invoke(app, ["connectors", "status", "--db", db])
    assert table.exit_code == 0, table.output
    flat = re.sub(r"[\s│┃]+", "", table.output)  # the table folds long cells across lines
    assert "failed" in table.output and "invalid_grant" in flat
    assert "seamline connectors auth NAME" in table.output
    [row] = json.loads(runner.invoke(app, ["connectors", "status", "--json", "--db", db]).output)
    assert row["state"] == "failed" and row["failed_at"] is not None


def test_an_unknown_credential_is_refused_with_a_sentence(server, tmp_path, store):
    spec = spec_file(tmp_path, {"auth": "oauth", "oauth": server.settings()})
    result = runner.invoke(app, ["connectors", "auth", "salesforce", "--integration", spec,
                                 "--no-listen", "--db", str(tmp_path / "seamline.db")])
    assert result.exit_code == 2
    assert "declares the OAuth credential 'salesforce'" in result.output


def test_reauthorizing_runs_the_actions_that_waited_exactly_once(server, tmp_path, store):
    db = str(tmp_path / "seamline.db")
    with hubspot_api(server) as api:
        options = hubspot_options(server, api.url)
        spec = spec_file(tmp_path, options)
        authorize(server, spec, db)
        integration = make_integration(actions=(ActionSpec(
            name="mark_customer", handler="connector:hubspot.update_record",
            params={"id": "input.customer", "properties": "{'lifecyclestage': 'customer'}"},
            connector=options),))
        pipeline = Pipeline(integration, store, provider=verdict())
        server.revoke()
        with store.write() as conn:
            conn.execute(update(oauth_credentials).values(expires_at=time.time() - 1))
        held = [pipeline.process({"ticket_id": f"T-{n}", "customer": f"60{n}",
                                  "body": "refund me"}) for n in (1, 2)]
        assert [r.state for r in held] == ["waiting_credentials"] * 2
        assert api.sent("PATCH") == []
        said = authorize(server, spec, db)
        patched = sorted(r.path for r in api.sent("PATCH"))
    assert patched == ["/crm/v3/objects/contacts/601", "/crm/v3/objects/contacts/602"]
    said = " ".join(said.split())  # Rich wraps long lines at the terminal's width
    assert all(f"Event {r.event_id} (refunds), which waited for hubspot: succeeded" in said
               for r in held)
    with store.read() as conn:
        assert set(conn.execute(select(outbox.c.status)).scalars()) == {"done"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_listener_takes_the_browser_redirect_on_loopback(server, tmp_path, store):
    redirect_uri = f"http://127.0.0.1:{_free_port()}/callback"
    spec = spec_file(tmp_path, {"auth": "oauth", "oauth": server.settings(redirect_uri)})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get(
        "PYTHONPATH", "")]), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "seamline", "connectors", "auth", "hubspot", "--integration",
         spec, "--timeout", "30", "--db", str(tmp_path / "seamline.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = ""
        while not url:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            url = line.strip() if line.startswith("http") else ""
        assert proc.stdout.readline().startswith("Waiting for the redirect")
        import httpx

        redirect = server.approve(url)  # the browser is sent to the loopback listener
        for _ in range(50):  # the listener binds right after printing
            try:
                landed = httpx.get(redirect, timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert landed.status_code == 200 and "close this window" in landed.text
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Authorized hubspot" in out
    assert len(server.requests("authorization_code")) == 1
