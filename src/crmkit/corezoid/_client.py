"""The Corezoid client: signed op packages over one Session, and the one retry path for ops.

:meth:`Corezoid._execute` is where a package's ops are sent, and resent when
that is safe: after "Too many requests" op answers (the throttle pauses first),
and after a dropped connection, for task creates (they always carry a ``ref``:
a create the server had already done answers "duplicate ref" and is resolved
by a show, never created twice), shows and modifies. Other ops in a dropped
package fail with :class:`crmkit.TransportError`: only the caller can know
whether repeating them is safe. ``ops()`` and the batcher both use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import httpx

from .._client_base import ClientBase
from .._log import redact_url
from .._session import Session
from ..errors import CRMError, ProtocolError, TransportError
from . import _wire
from ._wire import Op, OpError, OpResult

__all__ = ["Corezoid", "Signer"]

_RESENDABLE = frozenset({("create", "task"), ("show", "task"), ("modify", "task")})


class Signer(httpx.Auth):
    """Appends ``/{TIMESTAMP}/{SIGNATURE}`` to each request's path, signed at send time."""

    requires_request_body = True

    def __init__(self, secret: str, now: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._now = now

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = int(self._now())
        signature = _wire.sign(timestamp, self._secret, request.content)
        path = request.url.raw_path.split(b"?")[0].rstrip(b"/")
        request.url = request.url.copy_with(raw_path=path + f"/{timestamp}/{signature}".encode())
        yield request

    def __repr__(self) -> str:
        return "Signer(secret=***)"


class Corezoid(ClientBase):
    """A Corezoid API key (login + secret) on one host.

    ``max_ops`` caps the ops in one request (Corezoid's cap is license-dependent);
    larger ``ops()`` calls are split. ``sync_url`` is the Sync API's host.
    Other keywords go to :class:`crmkit.Session` (``rate_limit``, ``transport``, ...).
    """

    def __init__(
        self,
        api_login: str | int,
        secret: str,
        *,
        base_url: str = "https://api.corezoid.com",
        sync_url: str = "https://sync-api.corezoid.com",
        max_ops: int = 100,
        **session_options: Any,
    ) -> None:
        if not secret:
            raise ValueError("Corezoid needs the API key's secret")
        if max_ops < 1:
            raise ValueError("max_ops must be at least 1")
        self.api_login = str(api_login)
        self.max_ops = max_ops
        self.sync_url = sync_url.rstrip("/")
        self._signer = Signer(secret)
        session_options.setdefault("error_mapper", _wire.error_mapper)
        self.session = Session(base_url, auth=self._signer, **session_options)
        self.session.url_for(self.sync_url)  # https unless allowed, checked now rather than later

    def __repr__(self) -> str:
        return f"<Corezoid login={self.api_login!r} {redact_url(str(self.session.base_url))}>"

    # -- ops -----------------------------------------------------------------

    async def ops(self, ops: Sequence[Op]) -> list[OpResult]:
        """Send ``ops`` (split into requests of ``max_ops``); results in the order given.

        A failing op is reported in its :class:`OpResult` (``.ok``, ``.unwrap()``);
        a failed package raises :class:`~crmkit.corezoid.RequestError`.
        """
        prepared = [op.with_ref() for op in ops]
        results: list[OpResult] = []
        for start in range(0, len(prepared), self.max_ops):
            for result in await self._execute(prepared[start : start + self.max_ops]):
                if isinstance(result, CRMError):
                    raise result
                results.append(result)
        return results

    def batch(
        self, *, max_ops: int | None = None, max_delay: float = 0.05, max_in_flight: int = 4
    ) -> OpsBatcher:
        """An :class:`OpsBatcher` packing concurrent callers' ops into few requests."""
        return OpsBatcher(
            self,
            max_ops=self.max_ops if max_ops is None else max_ops,
            max_delay=max_delay,
            max_in_flight=max_in_flight,
        )

    async def sync_call(
        self,
        conv_id: int | str,
        data: Mapping[str, Any],
        *,
        timeout: float = 30,
        ref: str | None = None,
    ) -> Any:
        """Run a process through the Sync API and return its answer (``ops[0].data``).

        Raises :class:`~crmkit.corezoid.SyncTimeoutError` when the process does
        not answer within ``timeout`` seconds.
        """
        op = Op.create_task(conv_id, data, ref=ref).with_ref()
        body, ids = _wire.build_body([op])
        import orjson

        payload = orjson.loads(body)
        payload["timeout"] = timeout
        response = await self.session.request(
            "POST",
            f"{self.sync_url}/api/1/json/{self.api_login}",
            content=orjson.dumps(payload),
            headers={"Content-Type": _wire.CONTENT_TYPE},
            idempotent=True,  # the ref makes a repeat a duplicate, not a second task
        )
        result = _wire.read_answer(response, ids)[0]
        if not result.ok and "timeout" in (result.proc + (result.description or "")).lower():
            raise SyncTimeoutError(
                result.description or "the process did not answer in time",
                code=result.proc,
                status=response.status_code,
            )
        return result.unwrap().data

    async def direct(self, conv_id: int | str, hash: str, data: Mapping[str, Any]) -> OpResult:
        """Create a task through a process's direct URL (no signature; ``hash`` is its secret)."""
        response = await self.session.request(
            "POST",
            f"api/2/json/public/{conv_id}/{hash}",
            json=dict(data),
            auth=_NO_AUTH,
        )
        body = response.json()
        if not isinstance(body, Mapping) or body.get("request_proc") != "ok":
            proc = body.get("request_proc") if isinstance(body, Mapping) else None
            raise _wire.RequestError(f"direct URL refused the task: {proc!r}", code=str(proc))
        answers = body.get("ops") or []
        if not answers:
            raise ProtocolError("the direct URL answered no op result")
        return OpResult.from_wire(answers[0])

    # -- the one place ops are sent -------------------------------------------

    async def _send(self, ops: Sequence[Op]) -> list[OpResult]:
        body, ids = _wire.build_body(ops)
        response = await self.session.request(
            "POST",
            f"api/2/json/{self.api_login}",
            content=body,
            headers={"Content-Type": _wire.CONTENT_TYPE},
            idempotent=False,
        )
        return _wire.read_answer(response, ids)

    async def _execute(self, ops: Sequence[Op]) -> list[OpResult | CRMError]:
        """Send one package, resending what is safe (see the module docstring)."""
        results: list[OpResult | CRMError | None] = [None] * len(ops)
        todo = list(range(len(ops)))
        maybe_done: set[int] = set()  # creates whose earlier package may have reached the server
        retry = 0
        policy = self.session.retry
        while todo:
            try:
                answers = await self._send([ops[i] for i in todo])
            except TransportError as exc:
                if retry >= policy.max_retries:
                    raise
                unsafe = [i for i in todo if (ops[i].type, ops[i].obj) not in _RESENDABLE]
                for i in unsafe:
                    results[i] = exc
                todo = [i for i in todo if i not in unsafe]
                maybe_done.update(i for i in todo if ops[i].type == "create")
                await self.session.clock.sleep(policy.backoff(retry))
                retry += 1
                continue
            again: list[int] = []
            duplicates: list[int] = []
            for i, result in zip(todo, answers, strict=True):
                if result.rate_limited and retry < policy.max_retries:
                    again.append(i)
                elif result.duplicate_ref and i in maybe_done:
                    duplicates.append(i)
                else:
                    results[i] = result
            if duplicates:
                await self._resolve_duplicates(ops, duplicates, results)
            if again:
                self.session.stats.rate_limited += 1
                self.session.throttle.pause(policy.backoff(retry) + 1.0)
                retry += 1
            todo = again
        return [r for r in results if r is not None]

    async def _resolve_duplicates(
        self, ops: Sequence[Op], indices: list[int], results: list[OpResult | CRMError | None]
    ) -> None:
        # The dropped package had created these tasks: read them back by ref.
        shows = [Op.show_task(ops[i].fields["conv_id"], ref=ops[i].ref) for i in indices]
        answers = await self._send(shows)
        for i, shown in zip(indices, answers, strict=True):
            raw = dict(shown.raw)
            raw.setdefault("ref", ops[i].ref)
            results[i] = OpResult.from_wire({**raw, "obj": "task"}) if shown.ok else shown


class SyncTimeoutError(OpError):
    """The Sync API's process did not answer within the timeout."""


class _NoAuth(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield request


_NO_AUTH = _NoAuth()

from ._batch import OpsBatcher  # noqa: E402  (the batcher builds on the client)
