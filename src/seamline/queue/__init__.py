"""The background shape: a durable job queue in the store, and workers that drain it.

``JobQueue`` enqueues (raw events sealed with the vault key), claims under leases
(BEGIN IMMEDIATE on SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL), renews, and
settles jobs; ``Worker`` runs them through the same Pipeline as every other shape.

Each name loads with its own module on first use (``seamline.lazy``): ``queue status``
counts jobs without importing the worker's pipeline.
"""

from typing import TYPE_CHECKING

from seamline.lazy import surface

_MODULES = {
    "_credentials": ("CredentialRenewal",),
    "_health": ("WorkerReport", "worker_reports"),
    "_jobs": ("DEAD", "DONE", "EVENT", "QUEUED", "REDRIVE", "RUNNING", "Enqueued", "Job",
              "JobQueue"),
    "_worker": ("Worker", "WorkerStats"),
}

if TYPE_CHECKING:
    from seamline.queue._credentials import CredentialRenewal
    from seamline.queue._health import WorkerReport, worker_reports
    from seamline.queue._jobs import (
        DEAD,
        DONE,
        EVENT,
        QUEUED,
        REDRIVE,
        RUNNING,
        Enqueued,
        Job,
        JobQueue,
    )
    from seamline.queue._worker import Worker, WorkerStats
else:
    __getattr__, __dir__ = surface(__name__, _MODULES)

__all__ = ["DEAD", "DONE", "EVENT", "QUEUED", "REDRIVE", "RUNNING", "CredentialRenewal", "Enqueued",
           "Job", "JobQueue", "Worker", "WorkerReport", "WorkerStats", "worker_reports"]
