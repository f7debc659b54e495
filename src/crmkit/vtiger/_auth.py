"""vtiger sessions as one ``httpx.Auth`` flow: challenge, login, re-login, renewal.

Before a call, the flow makes sure a session exists: ``getchallenge`` then
``login`` with ``md5(token + access key)``, reading ``sessionName`` and falling
back to ``sessionId`` (ABMS). Only one login runs at a time per client: a new
challenge invalidates the previous token, so two concurrent logins would break
each other. Every call carries the session as ``sessionName``.

When a call answers a session error (``INVALID_SESSIONID``, ``SESSION_EXPIRED``
...), the flow logs in again once and repeats the call; if another task has
already replaced the session the call used, it is repeated with the new one
and no login is made. A session is renewed before its 86,400 s life ends.

Another worker of the same user can delete the token between this worker's
challenge and its login (``AuthToken.php``: a new challenge deletes the
previous token); vtiger then answers ``INVALID_USER_CREDENTIALS``, as for a
wrong key. So a login refused that way right after a fresh challenge is tried
again with a new challenge, after a short random pause, up to
:data:`LOGIN_ATTEMPTS` times, before it is reported as wrong credentials.
The session lives in a :class:`~crmkit.vtiger.SessionStore`; workers that
share one store share the session, and log in one at a time (its lock).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlencode

import httpx

from .._json import response_json
from .._log import logger
from .._login import SingleFlightLogin
from ..errors import AuthenticationError, PermissionDeniedError, ProtocolError
from ._errors import SESSION_ERRORS, envelope_error
from ._sessions import MemorySessionStore, SessionStore
from ._wire import WIDEST_SYNC_TYPE, access_key_digest

__all__ = ["LOGIN_ATTEMPTS", "VtigerAuth"]

#: vtiger's maximum session life, and how long before it a session is renewed.
SESSION_LIFE = 86_400.0
RENEW_MARGIN = 600.0
#: Logins (each with a fresh challenge) before INVALID_USER_CREDENTIALS is believed.
LOGIN_ATTEMPTS = 4
#: The random pause before a new challenge: up to this many seconds times the attempt.
LOGIN_JITTER = 0.25
#: Answers to a login that a concurrent challenge of the same user explains.
_TOKEN_TAKEN = ("INVALID_USER_CREDENTIALS", "INVALID_AUTH_TOKEN")


class VtigerAuth(SingleFlightLogin):
    """A vtiger session: challenge + login steps of the shared single-flight flow."""

    def __init__(
        self,
        endpoint: str,
        username: str,
        access_key: str,
        monotonic: Callable[[], float] = time.monotonic,
        store: SessionStore | None = None,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.username = username
        self._access_key = access_key
        self._monotonic = monotonic
        #: Whether the session is shared with other clients (a store was given).
        self.shared = store is not None
        self.store: SessionStore = store if store is not None else MemorySessionStore()
        self._key = f"{endpoint}|{username}"
        self._dead: str | None = None  # the last session vtiger refused
        self._attempt = 0
        self._pause = 0.0
        self.session: str | None = None
        self._logged_in_at = 0.0
        self.user_id: str | None = None
        #: What the last login said of the user (vtiger 7's ``is_admin``); None: not said.
        self.is_admin: bool | None = None
        #: Set when vtiger refused this user an application-wide sync.
        self.application_sync_refused = False
        self.logins = 0

    def __repr__(self) -> str:
        return f"VtigerAuth(username={self.username!r}, access_key=***)"

    # -- steps ---------------------------------------------------------------

    async def current(self) -> str | None:
        """The session, or None when there is none or it is near the end of its life.

        Without one of its own, the client takes the one in its store (another
        worker's), unless it is the one vtiger last refused.
        """
        if self.session is not None:
            if self._monotonic() - self._logged_in_at <= SESSION_LIFE - RENEW_MARGIN:
                return self.session
            self._dead, self.session = self.session, None  # too old to take back from the store
        stored = await self.store.load(self._key)
        if stored is None:
            return None
        try:
            saved = json.loads(stored)
            session, at = str(saved["session"]), float(saved["at"])
        except (ValueError, KeyError, TypeError):
            return None  # not ours: log in and overwrite it
        if session == self._dead:
            return None
        self.session = session
        self._logged_in_at = self._monotonic() - max(0.0, time.time() - at)
        self.user_id = saved.get("user_id")
        self.is_admin = saved.get("is_admin")
        return session

    def login_guard(self) -> AbstractAsyncContextManager[Any]:
        return self.store.lock(self._key)

    def login_step(self, answer: httpx.Response | None) -> httpx.Request | None:
        if answer is None:
            self._attempt = 1
            return self._challenge()
        if answer.request.method == "GET":  # the challenge's answer: log in with it
            return self._login(answer)
        if self._attempt < LOGIN_ATTEMPTS and self._token_taken(answer):
            # Another worker's challenge may have deleted ours: ask for a new one.
            self._attempt += 1
            self._pause = random.uniform(0.2, 1.0) * LOGIN_JITTER * self._attempt
            logger.info(
                "vtiger refused the login of %s right after its challenge (another login of "
                "the same user?): new challenge in %.2fs (attempt %d of %d)",
                self.username,
                self._pause,
                self._attempt,
                LOGIN_ATTEMPTS,
            )
            return self._challenge()
        return None

    async def before_login_step(self, step: httpx.Request) -> None:
        if self._pause > 0:
            pause, self._pause = self._pause, 0.0
            await asyncio.sleep(pause)

    @staticmethod
    def _token_taken(answer: httpx.Response) -> bool:
        try:
            error = envelope_error(answer, response_json(answer))
        except ProtocolError:
            return False
        return error is not None and error.code in _TOKEN_TAKEN

    def _challenge(self) -> httpx.Request:
        return httpx.Request(
            "GET",
            httpx.URL(
                self.endpoint, params={"operation": "getchallenge", "username": self.username}
            ),
            headers={"Accept": "application/json"},
        )

    def _login(self, challenge: httpx.Response) -> httpx.Request:
        token = self._result(challenge, "getchallenge").get("token")
        if not isinstance(token, str) or not token:
            raise ProtocolError("vtiger's challenge carried no token")
        body = urlencode(
            {
                "operation": "login",
                "username": self.username,
                "accessKey": access_key_digest(token, self._access_key),
            }
        ).encode()
        return httpx.Request(
            "POST",
            self.endpoint,
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )

    async def logged_in(self, answer: httpx.Response) -> None:
        result = self._result(answer, "login")
        session = result.get("sessionName") or result.get("sessionId")
        if not isinstance(session, str) or not session:
            raise ProtocolError("vtiger's login answer has neither sessionName nor sessionId")
        self.session = session
        self.user_id = result.get("userId")
        admin = result.get("is_admin")
        self.is_admin = admin in ("on", "1", 1, True) if admin is not None else None
        saved = {"session": session, "at": time.time(), "user_id": self.user_id}
        saved["is_admin"] = self.is_admin
        await self.store.save(self._key, json.dumps(saved), SESSION_LIFE - RENEW_MARGIN)
        self._logged_in_at = self._monotonic()
        self.logins += 1

    def _result(self, response: httpx.Response, step: str) -> dict[str, Any]:
        if response.status_code == 403:
            raise PermissionDeniedError(
                "the CRM refused this machine's IP address (ABMS allows only whitelisted IPs: "
                "ask the CRM's administrator to add it)",
                status=403,
                method=response.request.method,
                url=str(response.request.url.copy_with(query=None)),
            )
        body = response_json(response, what=f"a vtiger {step} answer")
        error = envelope_error(response, body)
        if error is not None:
            if error.code in _TOKEN_TAKEN:
                tries = f", {self._attempt} logins with fresh challenges" if step == "login" else ""
                raise AuthenticationError(
                    f"vtiger refused the login of {self.username!r}: wrong username or "
                    f"access key ({error.code}{tries})",
                    status=response.status_code,
                    code=error.code,
                )
            raise error
        if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
            raise ProtocolError(f"vtiger's {step} answer has no result")
        result: dict[str, Any] = body["result"]
        return result

    def widest_sync_type(self) -> str:
        """``application`` unless the login said the user is no admin or vtiger refused it."""
        if self.application_sync_refused or self.is_admin is False:
            return "userandgroup"
        return "application"

    def authorize(self, request: httpx.Request, credential: str) -> httpx.Request:
        if request.method == "GET":
            query = request.url.query
            if b"syncType=" not in query and not request.url.fragment:
                # Most calls: the current session is kept where it is, or appended to
                # the URL's text: one parse (copy_set_param: three).
                extra = str(httpx.QueryParams({"sessionName": credential}))
                named = query.count(b"sessionName=")
                if named == 1 and extra.encode() in query.split(b"&"):
                    return request
                if named == 0:
                    request.url = httpx.URL(f"{request.url}{'&' if query else '?'}{extra}")
                    return request
            url = request.url.copy_set_param("sessionName", credential)
            if url.params.get("syncType") == WIDEST_SYNC_TYPE:
                # Filled in only now: the login that may just have run says who the user is.
                url = url.copy_set_param("syncType", self.widest_sync_type())
            request.url = url
            return request
        fields = [
            (k, v)
            for k, v in httpx.QueryParams(request.content.decode()).multi_items()
            if k != "sessionName"
        ]
        body = urlencode([*fields, ("sessionName", credential)]).encode()
        return httpx.Request(
            request.method,
            request.url,
            content=body,
            headers={
                **{k: v for k, v in request.headers.items() if k.lower() != "content-length"},
                "Content-Type": "application/x-www-form-urlencoded",
            },
            extensions=request.extensions,
        )

    def refused(self, response: httpx.Response) -> bool:
        if b'"success":false' not in response.content[:64]:
            return False
        try:
            body = response_json(response)
        except ProtocolError:
            return False
        error = envelope_error(response, body)
        if error is None or error.code not in SESSION_ERRORS:
            return False
        if self.session is not None and self.session == _session_of(response.request):
            self._dead, self.session = self.session, None
        return True


def _session_of(request: httpx.Request) -> str | None:
    params = (
        request.url.params
        if request.method == "GET"
        else httpx.QueryParams(request.content.decode())
    )
    value = params.get("sessionName")
    return str(value) if value is not None else None
