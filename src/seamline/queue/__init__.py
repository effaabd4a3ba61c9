"""The background shape: a durable job queue in the store, and workers that drain it.

``JobQueue`` enqueues (raw events sealed with the vault key), claims under leases
(BEGIN IMMEDIATE on SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL), renews, and
settles jobs; ``Worker`` runs them through the same Pipeline as every other shape.
"""

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

__all__ = ["DEAD", "DONE", "EVENT", "QUEUED", "REDRIVE", "RUNNING", "Enqueued", "Job", "JobQueue",
           "Worker", "WorkerReport", "WorkerStats", "worker_reports"]
