"""Many accounts across many processes and machines, on arq (extra ``jobs``).

One arq job per account and entity (:func:`job_id`: never two at once), run by
any number of ``crmkit worker`` processes sharing one Redis: each account's
rate limit (:class:`~crmkit.redis_throttle.RedisThrottle`), tokens
(:class:`~crmkit.redis_stores.RedisTokenStore`) and checkpoints
(:class:`~crmkit.redis_stores.RedisCheckpointStore`) live in Redis, so a job
retried on another machine resumes from its last page. ``crmkit enqueue``
queues the jobs (``--every 10m`` keeps doing it); ``crmkit jobs status`` shows
them. To run the worker with arq's own command instead, pass
:func:`worker_settings`'s keywords to ``arq.Worker``.
"""

from __future__ import annotations

from ._config import Account, load_accounts
from ._status import JobRow, StatusBoard, job_id
from ._worker import (
    AccountRun,
    AccountStopped,
    JobsContext,
    Sink,
    enqueue_accounts,
    export_entity,
    register_sink,
    worker_settings,
)

__all__ = [
    "Account",
    "AccountRun",
    "AccountStopped",
    "JobRow",
    "JobsContext",
    "Sink",
    "StatusBoard",
    "enqueue_accounts",
    "export_entity",
    "job_id",
    "load_accounts",
    "register_sink",
    "worker_settings",
]
