"""A real crash between sending and recording: a child process dies right after the vendor replied.

Used by the our-side idempotency tests (Slack, HubSpot, Zendesk, SMTP): the child opens
the same store, runs one operation, and calls ``os._exit`` as soon as the request has
been answered, so the ledger keeps ``sending`` exactly as after a power cut.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import json, os, sys
    from seamline.connectors import installed
    from seamline.store import open_store
    import seamline.connectors._transport as transport
    import smtplib

    connector, operation, options, params, key, url = json.loads(sys.argv[1])
    original = transport.VendorHTTP.request
    def request_then_die(self, *args, **kwargs):
        original(self, *args, **kwargs)
        os._exit(17)
    transport.VendorHTTP.request = request_then_die
    original_send = smtplib.SMTP.send_message
    def send_then_die(self, *args, **kwargs):
        original_send(self, *args, **kwargs)
        os._exit(17)
    smtplib.SMTP.send_message = send_then_die
    c = installed()[connector](options, store=open_store(url))
    c.call(operation, params, idempotency_key=key)
    os._exit(0)
""")


def send_then_crash(store, connector: str, operation: str, options: dict, params: dict,
                    key: str) -> None:
    """Run one operation in a child process that dies between the vendor's reply and the ledger."""
    done = subprocess.run([sys.executable, "-c", CHILD,
                           json.dumps([connector, operation, options, params, key, store.url])],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 17, f"the child did not crash where planned: {done.stderr[-2000:]}"
