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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from .._json import response_json
from .._login import SingleFlightLogin
from ..errors import AuthenticationError, PermissionDeniedError, ProtocolError
from ._wire import SESSION_ERRORS, WIDEST_SYNC_TYPE, access_key_digest, envelope_error

__all__ = ["VtigerAuth"]

#: vtiger's maximum session life, and how long before it a session is renewed.
SESSION_LIFE = 86_400.0
RENEW_MARGIN = 600.0


class VtigerAuth(SingleFlightLogin):
    """A vtiger session: challenge + login steps of the shared single-flight flow."""

    def __init__(
        self,
        endpoint: str,
        username: str,
        access_key: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.username = username
        self._access_key = access_key
        self._monotonic = monotonic
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
        """The session, or None when there is none or it is near the end of its life."""
        if self.session is None:
            return None
        if self._monotonic() - self._logged_in_at > SESSION_LIFE - RENEW_MARGIN:
            return None
        return self.session

    def login_step(self, answer: httpx.Response | None) -> httpx.Request | None:
        if answer is None:
            return self._challenge()
        if answer.request.method == "GET":  # the challenge's answer: log in with it
            return self._login(answer)
        return None

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
            if error.code in ("INVALID_USER_CREDENTIALS", "INVALID_AUTH_TOKEN"):
                raise AuthenticationError(
                    f"vtiger refused the login of {self.username!r}: wrong username or "
                    f"access key ({error.code})",
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
        return error is not None and error.code in SESSION_ERRORS
