"""The Corezoid client: signed op packages over one Session, and the one retry path for ops.

:meth:`Corezoid._execute` is where a package's ops are sent, and resent when
that is safe:

- after "Too many requests" op answers (the throttle pauses first);
- after an answer whose outcome is unknown (a dropped connection, a truncated
  or unreadable answer, a gateway's 502/504) or a 503 (Corezoid's overload
  answer, waited out after its ``Retry-After``, the whole Session pausing):
  only reads and task creates are resent. Creates always carry a ``ref``: a
  create the server had already done answers "duplicate ref" and is resolved
  by a show (itself retried), never created twice. Other ops in such a package
  fail with the error: only the caller can know whether repeating them is safe.

``ops()``, the batcher and ``sync_call()`` all use it. A 429 is retried by the
Session for every request (the server did not act on it), after ``Retry-After``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import httpx

from .._client_base import ClientBase
from .._log import redact_url
from .._session import Session
from ..errors import CRMError, ProtocolError, ServerError, TransportError
from . import _wire
from ._direct import create_via, parse_direct_url
from ._errors import ServiceUnavailableError, SyncTimeoutError
from ._listing import Listings
from ._ops import Op, OpResult

__all__ = ["SYNC_TIMEOUT_MARGIN", "Corezoid", "Signer"]

#: Seconds the HTTP read timeout of a Sync API call exceeds the Sync API's own timeout.
SYNC_TIMEOUT_MARGIN = 5.0

_UNKNOWN_OUTCOME = (TransportError, ProtocolError, ServerError)


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


class Corezoid(Listings, ClientBase):
    """A Corezoid API key (login + secret) on one host.

    ``max_ops`` caps the ops in one request (Corezoid's cap is license-dependent);
    larger ``ops()`` calls are split. ``sync_url`` is the Sync API's host.
    ``company_id`` is the workspace every op is sent to unless it names its own
    (None: the key's personal workspace). Other keywords go to
    :class:`crmkit.Session` (``rate_limit``, ``transport``, ...).
    """

    def __init__(
        self,
        api_login: str | int,
        secret: str,
        *,
        base_url: str = "https://api.corezoid.com",
        sync_url: str = "https://sync-api.corezoid.com",
        company_id: str | None = None,
        max_ops: int = 100,
        **session_options: Any,
    ) -> None:
        if not secret:
            raise ValueError("Corezoid needs the API key's secret")
        if max_ops < 1:
            raise ValueError("max_ops must be at least 1")
        if company_id is not None and not str(company_id).strip():
            raise ValueError("company_id must not be empty (leave it out for a personal workspace)")
        self.api_login = str(api_login)
        self.company_id = company_id
        self.max_ops = max_ops
        self.sync_url = sync_url.rstrip("/")
        self._signer = Signer(secret)
        session_options.setdefault("error_mapper", _wire.error_mapper)
        self.session = Session(base_url, auth=self._signer, **session_options)
        self.session.url_for(self.sync_url)  # https unless allowed, checked now rather than later

    def __repr__(self) -> str:
        return f"<Corezoid login={self.api_login!r} {redact_url(str(self.session.base_url))}>"

    # -- ops -----------------------------------------------------------------

    def prepare(self, op: Op) -> Op:
        """``op`` as it is sent: in the client's workspace, a task create with a ``ref``."""
        return op.with_ref().with_company(self.company_id)

    async def ops(self, ops: Sequence[Op]) -> list[OpResult]:
        """Send ``ops`` (split into requests of ``max_ops``); results in the order given.

        A failing op is reported in its :class:`OpResult` (``.ok``, ``.unwrap()``);
        a failed package raises :class:`~crmkit.corezoid.RequestError`.
        """
        if not ops:
            raise ValueError("ops must not be empty: pass at least one Op")
        prepared = [self.prepare(op) for op in ops]
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
        conv_id: int | str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        timeout: float = 30,
        ref: str | None = None,
        obj_alias: str | None = None,
        company_id: str | None = None,
    ) -> Any:
        """Run a process through the Sync API and return its answer (``ops[0].data``).

        The HTTP read timeout of this request is ``timeout`` plus
        :data:`SYNC_TIMEOUT_MARGIN`, whatever the Session's. Raises
        :class:`~crmkit.corezoid.SyncTimeoutError` when the process does not
        answer within ``timeout`` seconds. When the connection drops and the
        resend finds the task already made (its own ``ref``), the process's
        reply is lost with the connection: the task, shown by ref, is returned
        instead (its ``data``), never a second task.
        """
        if not timeout > 0:
            raise ValueError(f"timeout must be positive seconds, not {timeout!r}")
        op = Op.create_task(conv_id, data, ref=ref, obj_alias=obj_alias, company_id=company_id)
        (result,) = await self._execute([self.prepare(op)], sync_timeout=timeout)
        if isinstance(result, CRMError):
            raise result
        if result.timed_out:
            raise SyncTimeoutError(
                result.description or "the process did not answer in time",
                code=result.proc,
                status=200,
            )
        return result.unwrap().data

    async def direct(
        self, conv_id: int | str, hash: str, data: Mapping[str, Any], *, ref: str | None = None
    ) -> OpResult:
        """Create a task through a process's direct URL on this client's host (no signature;
        ``hash`` is its secret). :func:`crmkit.corezoid.direct` takes a URL as copied."""
        parts = parse_direct_url(f"https://host/api/2/json/public/{conv_id}/{hash}")
        return await create_via(self.session, parts, data, ref)

    # -- the one place ops are sent -------------------------------------------

    async def _send(self, ops: Sequence[Op], sync_timeout: float | None = None) -> list[OpResult]:
        body, ids = _wire.build_body(ops, timeout=sync_timeout)
        if sync_timeout is None:
            url, timeout = f"api/2/json/{self.api_login}", None
        else:
            url = f"{self.sync_url}/api/1/json/{self.api_login}"
            timeout = httpx.Timeout(sync_timeout + SYNC_TIMEOUT_MARGIN, connect=10.0)
        try:
            response = await self.session.request(
                "POST",
                url,
                content=body,
                headers={"Content-Type": _wire.CONTENT_TYPE},
                idempotent=False,
                timeout=timeout,
            )
        except (TransportError, ServerError) as exc:
            if sync_timeout is not None and _is_timeout(exc):
                raise SyncTimeoutError(
                    f"the process did not answer within {sync_timeout:g} s",
                    code="timeout",
                    method=exc.method,
                    url=exc.url,
                ) from exc
            raise
        return _wire.read_answer(response, ids, by_position=sync_timeout is not None)

    async def _execute(
        self, ops: Sequence[Op], *, sync_timeout: float | None = None
    ) -> list[OpResult | CRMError]:
        """Send one package, resending what is safe (see the module docstring)."""
        results: list[OpResult | CRMError | None] = [None] * len(ops)
        todo = list(range(len(ops)))
        maybe_done: set[int] = set()  # creates whose earlier package may have reached the server
        retry = 0
        policy = self.session.retry
        while todo:
            try:
                answers = await self._send([ops[i] for i in todo], sync_timeout)
            except _UNKNOWN_OUTCOME as exc:
                if retry >= policy.max_retries or (
                    isinstance(exc, ServerError) and exc.status not in policy.retry_statuses
                ):
                    raise
                unsafe = [i for i in todo if not ops[i].safe_to_resend]
                for i in unsafe:
                    results[i] = exc
                todo = [i for i in todo if i not in unsafe]
                maybe_done.update(i for i in todo if ops[i].is_task_create)
                delay = getattr(exc, "retry_after", None)
                if delay is None:
                    delay = policy.backoff(retry)
                if delay > policy.retry_after_cap:
                    raise
                if isinstance(exc, ServiceUnavailableError):
                    self.session.stats.rate_limited += 1
                    self.session.throttle.pause(delay)  # overload: the whole Session waits
                elif todo:
                    await self.session.clock.sleep(delay)
                self.session.stats.retries += 1
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
        # An earlier send of the package had created these tasks: read them back by ref
        # (through the API, also for the Sync API's creates), with the shows' own resends.
        shows = [_show_created(ops[i]) for i in indices]
        answers = await self._execute(shows)
        for i, shown in zip(indices, answers, strict=True):
            if isinstance(shown, CRMError) or not shown.ok:
                results[i] = shown
                continue
            raw = {**shown.raw, "obj": "task"}
            raw.setdefault("ref", ops[i].ref)
            results[i] = OpResult.from_wire(raw)


def _show_created(create: Op) -> Op:
    where = {
        k: create.fields[k] for k in ("conv_id", "obj_alias", "company_id") if k in create.fields
    }
    return Op("show", "task", ref=create.ref, **where)


def _is_timeout(exc: CRMError) -> bool:
    if isinstance(exc, ServerError):
        return exc.status == 504  # the Sync API's gateway answer when nothing came (sync-api.md)
    return isinstance(exc.__cause__, httpx.TimeoutException)


from ._batch import OpsBatcher  # noqa: E402  (the batcher builds on the client)
