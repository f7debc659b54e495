"""amoCRM credentials as ``httpx.Auth`` flows: v2 cookie login, v4 OAuth refresh.

Both are :class:`crmkit._login.SingleFlightLogin` flows (one login at a time,
a refused call repeated once); this module gives their steps. (A v4
long-lived token is a plain ``Authorization`` header.)

- :class:`CookieLogin` (API v2): ``POST /private/api/auth.php?type=json`` with
  ``USER_LOGIN`` and ``USER_HASH``; the ``session_id`` cookie goes with every
  call. A 401 after that means the session expired: log in again once and
  repeat. One login at a time per client; a 401 for a cookie another task has
  already replaced is repeated with the new cookie, with no login of its own.
- :class:`OAuth` (API v4): refresh before expiry or on a 401, single-flight
  (refresh tokens are single-use: two concurrent refreshes would lose the
  pair), the new pair saved to the :class:`TokenStore` before it is used.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import attrs
import httpx

from .._files import write_json_atomic
from .._json import response_json
from .._login import SingleFlightLogin
from ..errors import AuthenticationError, PermissionDeniedError, ProtocolError

__all__ = [
    "CookieLogin",
    "JSONFileTokenStore",
    "MemoryTokenStore",
    "OAuth",
    "OAuthCredentials",
    "TokenStore",
]


class CookieLogin(SingleFlightLogin):
    """API v2 session: log in with login + API key (``USER_HASH``), carry the cookie."""

    def __init__(self, base_url: str, login: str, api_key: str) -> None:
        super().__init__()
        self._url = base_url.rstrip("/") + "/private/api/auth.php?type=json"
        self.login = login
        self._api_key = api_key
        self.cookie: str | None = None
        self.logins = 0

    def __repr__(self) -> str:
        return f"CookieLogin(login={self.login!r}, api_key=***)"

    async def current(self) -> str | None:
        return self.cookie

    def login_step(self, answer: httpx.Response | None) -> httpx.Request | None:
        if answer is not None:
            return None
        body = urlencode({"USER_LOGIN": self.login, "USER_HASH": self._api_key}).encode()
        return httpx.Request(
            "POST",
            self._url,
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def logged_in(self, answer: httpx.Response) -> None:
        body: Any = None
        try:
            body = response_json(answer, what="amoCRM's login answer")
        except ProtocolError:
            if answer.status_code < 400:
                raise
        inner = body.get("response") if isinstance(body, dict) else None
        code = str(inner.get("error_code")) if isinstance(inner, dict) else None
        if answer.status_code == 403 or code == "113":
            raise PermissionDeniedError(
                "amoCRM refused this machine's IP address (code 113)",
                status=answer.status_code,
                code=code,
            )
        if answer.status_code >= 400 or not (isinstance(inner, dict) and inner.get("auth")):
            message = inner.get("error") if isinstance(inner, dict) else None
            reason = message or "wrong login or API key"
            raise AuthenticationError(
                f"amoCRM refused the v2 login of {self.login!r}: {reason}",
                status=answer.status_code,
                code=code,
            )
        cookie = answer.cookies.get("session_id")
        if not cookie:
            raise ProtocolError("amoCRM's login answer set no session_id cookie")
        self.cookie = cookie
        self.logins += 1

    def authorize(self, request: httpx.Request, credential: str) -> httpx.Request:
        request.headers["Cookie"] = f"session_id={credential}"
        return request


@attrs.frozen
class OAuthCredentials:
    """An OAuth2 integration's credentials and its current token pair."""

    client_id: str
    client_secret: str = attrs.field(repr=False)
    redirect_uri: str
    #: Empty until :meth:`crmkit.AmoCRM.exchange_code` gets the first pair.
    refresh_token: str = attrs.field(default="", repr=False)
    access_token: str | None = attrs.field(default=None, repr=False)
    #: Unix seconds when ``access_token`` stops working.
    expires_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@runtime_checkable
class TokenStore(Protocol):
    """Where OAuth credentials live between runs (a database row, a file, a secret manager)."""

    async def load(self) -> OAuthCredentials | None: ...

    async def save(self, credentials: OAuthCredentials) -> None: ...


class MemoryTokenStore:
    """Keeps the credentials in this process only."""

    def __init__(self, credentials: OAuthCredentials | None = None) -> None:
        self.credentials = credentials

    async def load(self) -> OAuthCredentials | None:
        return self.credentials

    async def save(self, credentials: OAuthCredentials) -> None:
        self.credentials = credentials


class JSONFileTokenStore:
    """Keeps the credentials in a JSON file, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    async def load(self) -> OAuthCredentials | None:
        return await asyncio.to_thread(self._read)

    async def save(self, credentials: OAuthCredentials) -> None:
        await asyncio.to_thread(self._write, credentials)

    def _read(self) -> OAuthCredentials | None:
        if not self.path.exists():
            return None
        return OAuthCredentials(**json.loads(self.path.read_text()))

    def _write(self, credentials: OAuthCredentials) -> None:
        write_json_atomic(self.path, credentials.to_dict(), mode=0o600)


class OAuth(SingleFlightLogin):
    """API v4 OAuth2: Bearer tokens refreshed once at a time, saved before use."""

    #: Refresh this long before the access token expires.
    MARGIN = 60.0

    def __init__(
        self,
        base_url: str,
        store: TokenStore,
        credentials: OAuthCredentials | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.token_url = base_url.rstrip("/") + "/oauth2/access_token"
        self.store = store
        self._credentials = credentials
        self._now = now
        self.refreshes = 0

    def __repr__(self) -> str:
        return "OAuth(credentials=***)"

    async def current(self) -> str | None:
        credentials = await self._credentials_now()
        return None if self._expiring(credentials) else credentials.access_token

    def token_form(self, grant_type: str, **fields: str) -> tuple[bytes, dict[str, str]]:
        """A token request's body, form-encoded as league/oauth2-client (the PHP SDK) sends it."""
        credentials = self._credentials
        assert credentials is not None, "credentials are loaded before a token request"
        body = {
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "grant_type": grant_type,
            **fields,
            "redirect_uri": credentials.redirect_uri,
        }
        return urlencode(body).encode(), {"Content-Type": "application/x-www-form-urlencoded"}

    @asynccontextmanager
    async def login_guard(self) -> AsyncIterator[None]:
        # A store shared by processes (crmkit.redis_stores.RedisTokenStore) has a
        # lease: hold it around the refresh and start from the pair saved last.
        refreshing = getattr(self.store, "refreshing", None)
        if refreshing is None:
            yield
            return
        async with refreshing():
            loaded = await self.store.load()
            if loaded is not None:
                self._credentials = loaded
            yield

    def login_step(self, answer: httpx.Response | None) -> httpx.Request | None:
        if answer is not None:
            return None
        credentials = self._credentials
        assert credentials is not None, "current() has loaded them"
        if not credentials.refresh_token:
            raise AuthenticationError(
                "no amoCRM refresh token yet: call exchange_code(code) with the code from "
                "the integration's redirect first"
            )
        content, headers = self.token_form("refresh_token", refresh_token=credentials.refresh_token)
        return httpx.Request("POST", self.token_url, content=content, headers=headers)

    async def credentials(self) -> OAuthCredentials:
        """The current credentials (loaded from the store if need be)."""
        return await self._credentials_now()

    async def _credentials_now(self) -> OAuthCredentials:
        if self._credentials is None:
            loaded = await self.store.load()
            # Another task may have loaded and refreshed meanwhile: never go back.
            if self._credentials is None:
                self._credentials = loaded
        if self._credentials is None:
            raise AuthenticationError(
                "no amoCRM OAuth credentials: pass them or save them in the store"
            )
        return self._credentials

    def _expiring(self, credentials: OAuthCredentials) -> bool:
        if not credentials.access_token:
            return True
        return (
            credentials.expires_at is not None
            and credentials.expires_at - self.MARGIN <= self._now()
        )

    async def logged_in(self, answer: httpx.Response) -> None:
        old = await self._credentials_now()
        if answer.status_code >= 400:
            raise AuthenticationError(
                "amoCRM refused the OAuth code or refresh token (it may have been used "
                "already): authorize the integration again",
                status=answer.status_code,
            )
        body = response_json(answer, what="amoCRM's token answer")
        try:
            fresh = attrs.evolve(
                old,
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_at=self._now() + float(body.get("expires_in", 86400)),
            )
        except (KeyError, TypeError, ValueError):
            raise ProtocolError("amoCRM's token answer lacks access_token/refresh_token") from None
        await self.store.save(fresh)  # persisted before it is ever used
        self._credentials = fresh
        self.refreshes += 1

    def authorize(self, request: httpx.Request, credential: str) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {credential}"
        return request
