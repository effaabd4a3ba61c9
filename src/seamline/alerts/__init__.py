"""Alerts: something a person should look at (drift at an edge, a reply of unexpected shape).

``raise_alert`` records the alert in the store (``seamline alerts``), logs it, counts it in
Prometheus, and delivers it to the webhook in ``SEAMLINE_ALERT_WEBHOOK_URL`` if one is set
(a Slack incoming-webhook URL works: the body carries ``text``). Delivery failures are
logged, never raised: an alert must not fail the event that raised it.
"""

from seamline.alerts._alerts import Alert, list_alerts, raise_alert

__all__ = ["Alert", "list_alerts", "raise_alert"]
