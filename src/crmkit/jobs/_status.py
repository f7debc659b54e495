"""What the workers did, kept in Redis for ``crmkit jobs status``, and one log line per event.

Each account+entity has a hash ``crmkit:jobs:{account}:{entity}``: its state
(``queued``/``running``/``retrying``/``done``/``failed``/``blocked``), the
worker and attempt, the last error, the last successful run's end and its
watermark (where the next incremental run starts). arq's own keys say which
jobs wait in the queue and which are in progress. Every event is also a JSON
log line on the ``crmkit.jobs`` logger (one object a line: ship them as they are).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import attrs

__all__ = ["JobRow", "StatusBoard", "job_id", "log_event"]

logger = logging.getLogger("crmkit.jobs")

#: The queue arq's workers read (arq's default name).
QUEUE = "arq:queue"
_IN_PROGRESS = "arq:in-progress:"
_INDEX = "crmkit:jobs:index"


def job_id(account: str, entity: str) -> str:
    """The job id of one account+entity: at most one such job is queued or running."""
    return f"crmkit:{account}:{entity}"


def log_event(event: str, **fields: Any) -> None:
    """One structured line: ``{"event": ..., "ts": ..., **fields}``."""
    logger.info(json.dumps({"event": event, "ts": round(time.time(), 3), **fields}, default=str))


@attrs.frozen
class JobRow:
    """One account+entity as ``crmkit jobs status`` shows it."""

    account: str
    entity: str
    #: queued / deferred / running / retrying / done / failed / blocked / never run
    state: str
    attempt: int | None = None
    worker: str | None = None
    records: int | None = None
    last_success: float | None = None
    watermark: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


class StatusBoard:
    """The status hashes, over a ``redis.asyncio.Redis`` client (arq's pool is one)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def _key(self, account: str, entity: str) -> str:
        return f"crmkit:jobs:{account}:{entity}"

    async def update(self, account: str, entity: str, **fields: Any) -> None:
        """Set fields of one account+entity (None deletes the field)."""
        key = self._key(account, entity)
        keep = {k: json.dumps(v) for k, v in fields.items() if v is not None}
        drop = [k for k, v in fields.items() if v is None]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(_INDEX, f"{account}\t{entity}")
            if keep:
                pipe.hset(key, mapping=keep)
            if drop:
                pipe.hdel(key, *drop)
            await pipe.execute()

    async def read(self, account: str, entity: str) -> dict[str, Any]:
        raw = await self.redis.hgetall(self._key(account, entity))
        return {_text(k): json.loads(v) for k, v in raw.items()}

    async def next_epoch(self, account: str, entity: str) -> int:
        """A number that grows with every attempt at this account+entity, forever."""
        return int(await self.redis.incr(self._key(account, entity) + ":epoch"))

    async def next_ticket(self, account: str, entity: str) -> int:
        """A number that grows with every enqueue of this account+entity, forever."""
        return int(await self.redis.incr(self._key(account, entity) + ":ticket"))

    async def rows(self, known: list[tuple[str, str]] | None = None) -> list[JobRow]:
        """Every account+entity seen (and ``known`` ones never run), with arq's view of it."""
        pairs = {tuple(_text(m).split("\t", 1)) for m in await self.redis.smembers(_INDEX)}
        pairs.update(known or [])
        queued = dict(await self.redis.zrange(QUEUE, 0, -1, withscores=True))
        queued = {_text(k): score for k, score in queued.items()}
        now_ms = time.time() * 1000
        rows = []
        for account, entity in sorted(pairs):
            saved = await self.read(account, entity)
            jid = job_id(account, entity)
            state = saved.get("state", "never run")
            if await self.redis.exists(_IN_PROGRESS + jid):
                state = "running"
            elif jid in queued:
                state = "queued" if queued[jid] <= now_ms else "deferred"
                if saved.get("state") == "retrying":
                    state = "retrying"
            elif state in ("running", "retrying", "queued", "interrupted"):
                state = "lost"  # neither queued nor in progress: enqueue again
            rows.append(
                JobRow(
                    account=account,
                    entity=entity,
                    state=state,
                    attempt=saved.get("attempt"),
                    worker=saved.get("worker"),
                    records=saved.get("records"),
                    last_success=saved.get("last_success"),
                    watermark=saved.get("watermark"),
                    error=saved.get("error"),
                )
            )
        return rows


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
