"""OpsBatcher: many tasks each await their own op; few signed requests carry them all.

Ops wait in a queue until ``max_ops`` are pending or ``max_delay`` seconds have
passed since the oldest arrived; then they leave as one package, with at most
``max_in_flight`` packages on the way at once. Every caller gets exactly its
own result or its own exception. Task creates always carry a ``ref`` (one is
generated when the caller gives none), which is what makes resending a dropped
package safe (see ``Corezoid._execute``). Cancelling a caller whose op has not
left yet takes the op out of the queue. Leaving the ``async with`` block sends
everything still pending and waits for it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import CRMError
from ._ops import Op, OpResult

if TYPE_CHECKING:
    from ._client import Corezoid

__all__ = ["OpsBatcher"]

_Pending = tuple[Op, "asyncio.Future[OpResult]"]


class OpsBatcher:
    """Packs concurrent callers' ops into requests of up to ``max_ops`` ops (an async context)."""

    def __init__(
        self, client: Corezoid, *, max_ops: int, max_delay: float, max_in_flight: int
    ) -> None:
        if max_ops < 1 or max_in_flight < 1 or max_delay < 0:
            raise ValueError("max_ops and max_in_flight must be >= 1, max_delay >= 0")
        self._client = client
        self.max_ops = max_ops
        self.max_delay = max_delay
        self._slots = asyncio.Semaphore(max_in_flight)
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._oldest = 0.0
        self._flusher: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._closing = False
        self.requests = 0

    async def __aenter__(self) -> OpsBatcher:
        self._flusher = asyncio.create_task(self._flush_forever())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        self._wake.set()
        if self._flusher is not None:
            await self._flusher
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def submit(self, op: Op) -> OpResult:
        """Send ``op`` in the next package and return its result (failed ops too: see ``.ok``)."""
        if self._flusher is None or self._closing:
            raise RuntimeError("use the batcher inside `async with corezoid.batch() as batch:`")
        future: asyncio.Future[OpResult] = asyncio.get_running_loop().create_future()
        entry = (self._client.prepare(op), future)
        if not self._queue:
            self._oldest = asyncio.get_running_loop().time()
        self._queue.append(entry)
        if len(self._queue) >= self.max_ops or len(self._queue) == 1:
            self._wake.set()
        try:
            return await future
        except asyncio.CancelledError:
            try:
                self._queue.remove(entry)  # not sent yet: it never will be
            except ValueError:
                pass
            raise

    async def create_task(
        self,
        conv_id: int | str | None = None,
        data: Mapping[str, Any] | None = None,
        ref: str | None = None,
        *,
        obj_alias: str | None = None,
        company_id: str | None = None,
        project_id: int | str | None = None,
        stage_id: int | str | None = None,
    ) -> OpResult:
        """Create a task (the arguments of :meth:`Op.create_task`); its result, or ``OpError``."""
        op = Op.create_task(
            conv_id,
            data,
            ref=ref,
            obj_alias=obj_alias,
            company_id=company_id,
            project_id=project_id,
            stage_id=stage_id,
        )
        return (await self.submit(op)).unwrap()

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._queue) < self.max_ops and not self._closing:
                remaining = self._oldest + self.max_delay - loop.time()
                if remaining > 0:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), remaining)
                    except asyncio.TimeoutError:
                        pass
                    continue
            await self._slots.acquire()
            package = [self._queue.popleft() for _ in range(min(self.max_ops, len(self._queue)))]
            package = [(op, future) for op, future in package if not future.done()]
            if self._queue:
                self._oldest = loop.time()
            if not package:
                self._slots.release()
                continue
            task = asyncio.create_task(self._send(package))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send(self, package: list[_Pending]) -> None:
        try:
            self.requests += 1
            results = await self._client._execute([op for op, _ in package])
        except CRMError as exc:
            for _, future in package:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException as exc:  # a bug or a cancellation: no caller may hang
            for _, future in package:
                if not future.done():
                    future.set_exception(exc)
            raise
        finally:
            self._slots.release()
        for (_, future), result in zip(package, results, strict=True):
            if future.done():
                continue
            if isinstance(result, CRMError):
                future.set_exception(result)
            else:
                future.set_result(result)
