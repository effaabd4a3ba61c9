"""Fixtures and helpers of the connector contract tests: a local vendor server, credentials,
drift alerts. (Not a conftest.py: tests import ``conftest`` for the root one.)

Test modules star-import it: that registers the fixtures (``credentials``, autouse, sets
every test token) without a name each module would shadow.
"""

from __future__ import annotations

import pytest

from seamline.connectors.testing import VendorServer
from seamline.contracts import Drift, drift_report, on_drift

__all__ = ["alerts", "credentials", "vendor", "waits"]

ALERTS: list[Drift] = []
on_drift(ALERTS.append)


@pytest.fixture
def vendor():
    with VendorServer() as server:
        yield server


@pytest.fixture
def alerts():
    ALERTS.clear()
    yield ALERTS
    ALERTS.clear()


@pytest.fixture
def waits():
    """The waits a connector asked for (it sleeps through this list instead of the clock)."""
    return []


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for name, value in {"SLACK_BOT_TOKEN": "xoxb-test", "HUBSPOT_ACCESS_TOKEN": "pat-test",
                        "ZENDESK_EMAIL": "agent@example.com", "ZENDESK_API_TOKEN": "zd-test",
                        "STRIPE_SECRET_KEY": "sk_test_123", "PARTNER_TOKEN": "partner-secret"
                        }.items():
        monkeypatch.setenv(name, value)


def drifted(store, contract: str) -> list[tuple[str, str]]:
    """(change, path) of the drift recorded for one contract."""
    return [(r.change, r.path) for r in drift_report(store, contract=contract)]
