"""Logging in once at a time: the ``httpx.Auth`` flow behind every crmkit session login.

amoCRM's v2 cookie login, its v4 OAuth refresh and vtiger's challenge + login
are the same flow with different steps:

- before a call, if there is no usable credential, log in, one login at a time
  per client (the others wait, then use what it got);
- if the call is refused for its credential (a 401, vtiger's session errors),
  log in again once and repeat it, unless another task has already replaced
  that credential: then repeat it with the new one, with no login of its own;
  if that repeat is refused too (a busy account, whose sessions another
  process keeps replacing), log in itself once more and repeat. A call makes
  at most one login of its own after a refusal, and at most three sends.

A subclass gives the steps (:meth:`SingleFlightLogin.login_step`), reads their
answer (:meth:`SingleFlightLogin.logged_in`), says what the current credential
is and how a call carries it. Requests a login makes are marked
(:func:`is_login_step`) so that the Session can retry them on a 429 or 5xx
without ever repeating a caller's request behind its back. No I/O of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

__all__ = ["SingleFlightLogin", "is_login_step"]

_LOGIN_STEP = "crmkit.login_step"


def is_login_step(request: httpx.Request) -> bool:
    """Whether ``request`` was made by a login (not by the caller)."""
    return bool(request.extensions.get(_LOGIN_STEP))


class SingleFlightLogin(httpx.Auth):
    """The shared flow; subclasses fill in the platform's steps."""

    # httpx reads answers for auth flows only in its default async_auth_flow,
    # which this class replaces: the flow reads each answer itself.
    requires_response_body = True

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    # -- what a platform gives -------------------------------------------------

    async def current(self) -> str | None:
        """The credential to use now, or None when a login is due."""
        raise NotImplementedError

    def login_step(self, answer: httpx.Response | None) -> httpx.Request | None:
        """The next login request, given the answer to the previous one; None when done."""
        raise NotImplementedError

    async def logged_in(self, answer: httpx.Response) -> None:
        """Read the last step's answer: keep the new credential, or raise what went wrong."""
        raise NotImplementedError

    def authorize(self, request: httpx.Request, credential: str) -> httpx.Request:
        """The caller's request carrying ``credential``."""
        raise NotImplementedError

    def refused(self, response: httpx.Response) -> bool:
        """Whether the answer refuses the call's credential (expired, replaced ...)."""
        return response.status_code == 401

    def login_guard(self) -> AbstractAsyncContextManager[Any]:
        """Held around a login, inside the client's own lock (a lock other processes share,
        say); :meth:`current` is asked again once it is held."""
        return contextlib.nullcontext()

    async def before_login_step(self, step: httpx.Request) -> None:
        """Awaited before each login request is sent (a platform may pause first)."""

    # -- the flow ----------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Any:
        raise RuntimeError("crmkit's clients are asynchronous")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        refused: str | None = None
        relogged = False  # a call logs in again at most once after a refusal
        for attempt in (1, 2, 3):
            credential = await self.current()
            if credential is None or credential == refused:
                async with self._lock:
                    credential = await self.current()
                    if credential is None or credential == refused:
                        async with self.login_guard():
                            credential = await self.current()
                            if credential is None or credential == refused:
                                relogged = relogged or refused is not None
                                answer: httpx.Response | None = None
                                while (step := self.login_step(answer)) is not None:
                                    step.extensions = {**step.extensions, _LOGIN_STEP: True}
                                    await self.before_login_step(step)
                                    answer = yield step
                                    await answer.aread()
                                assert answer is not None, "a login has at least one step"
                                await self.logged_in(answer)
                                credential = await self.current()
            assert credential is not None, "a login that succeeds leaves a credential"
            response = yield self.authorize(request, credential)
            if attempt == 3:
                return
            await response.aread()
            if relogged or not self.refused(response):
                return
            refused = credential
