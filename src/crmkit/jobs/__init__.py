"""Many accounts across many processes and machines, on arq (extra ``jobs``).

One arq job per account and entity (:func:`job_id`: never two at once), run by
any number of ``crmkit worker`` processes sharing one Redis: each account's
rate limit (:class:`~crmkit.redis_throttle.RedisThrottle`), tokens
(:class:`~crmkit.redis_stores.RedisTokenStore`) and checkpoints
(:class:`~crmkit.redis_stores.RedisCheckpointStore`) and vtiger logins (one
session per user: :class:`~crmkit.vtiger.RedisSessionStore`) live in Redis, so a job
retried on another machine resumes from its last page. ``crmkit enqueue``
queues the jobs (``--every 10m`` keeps doing it); ``crmkit jobs status`` shows
them. Records go to JSON Lines files by default, or into a dlt destination
(Postgres, DuckDB ...) with :func:`dlt_sink`, whose checkpoint is the
pipeline's state kept in the destination itself. To run the worker with
arq's own command instead, pass :func:`worker_settings`'s keywords to
``arq.Worker``.
"""

from __future__ import annotations

from ._config import Account, load_accounts
from ._dlt import dlt_resources, dlt_sink
from ._status import JobRow, StatusBoard, job_id
from ._worker import (
    AccountRun,
    AccountStopped,
    JobsContext,
    Sink,
    SinkUnavailable,
    enqueue_accounts,
    export_entity,
    register_sink,
    shared_client_options,
    worker_settings,
)

__all__ = [
    "Account",
    "AccountRun",
    "AccountStopped",
    "JobRow",
    "JobsContext",
    "Sink",
    "SinkUnavailable",
    "StatusBoard",
    "dlt_resources",
    "dlt_sink",
    "enqueue_accounts",
    "export_entity",
    "job_id",
    "load_accounts",
    "register_sink",
    "shared_client_options",
    "worker_settings",
]
