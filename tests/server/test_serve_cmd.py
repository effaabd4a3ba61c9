"""`seamline serve` builds the app from integration files and hands it to uvicorn."""

from __future__ import annotations

import typer
import uvicorn
from conftest import EXAMPLE
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seamline.cli._serve import serve_cmd


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(serve_cmd)
    app.command("noop")(lambda: None)  # two commands, so "serve" is a subcommand as in seamline
    return app


def test_serve_runs_uvicorn_with_the_app(tmp_path, monkeypatch):
    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    monkeypatch.setenv("SEAMLINE_API_KEYS", "k1")
    spec = EXAMPLE / "integration.yaml"  # the on-device model: trained before serving
    result = CliRunner().invoke(_cli(), ["serve", str(spec), "--port", "9123",
                                         "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 0, result.output
    assert served["port"] == 9123 and served["host"] == "127.0.0.1"
    with TestClient(served["app"]) as client:
        assert client.get("/healthz").json()["integrations"] == ["support_triage"]


def test_serve_without_keys_refuses_to_start(tmp_path, monkeypatch):
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.delenv("SEAMLINE_API_KEYS", raising=False)
    spec = tmp_path / "refunds.py"
    spec.write_text("from conftest import make_integration\nintegration = make_integration()\n")
    result = CliRunner().invoke(_cli(), ["serve", str(spec), "--db", str(tmp_path / "s.db")])
    assert result.exit_code != 0
    assert "SEAMLINE_API_KEYS" in str(result.exception)
