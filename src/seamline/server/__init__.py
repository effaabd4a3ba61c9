"""The synchronous HTTP shape of the runtime: ``seamline serve`` (FastAPI).

A thin layer over ``Pipeline``: every route is a call anyone could make from Python.
"""

from seamline.server._app import DEFAULT_LATENCY_BUDGET_S, DEFAULT_MAX_BODY_BYTES, create_app

__all__ = ["DEFAULT_LATENCY_BUDGET_S", "DEFAULT_MAX_BODY_BYTES", "create_app"]
