"""The sandbox's logins: v2's ``/private/api/auth.php`` and OAuth's ``/oauth2/access_token``.

Both take a form or a JSON body (the official PHP SDK sends the token request
form-encoded through league/oauth2-client; widely copied examples send both as
JSON). Tokens are JWT-shaped with ``exp``; codes and refresh tokens are single-use.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ._data import make_jwt
from ._reply import PROBLEM, Call, Reply, problem

if TYPE_CHECKING:
    from ._app import AmoCRMSandbox

__all__ = ["SESSION_LIFE", "form_or_json", "login", "token"]

SESSION_LIFE = 15 * 60


def form_or_json(call: Call) -> dict[str, Any]:
    kind = call.headers.get("content-type", "")
    if "json" in kind or call.body.lstrip()[:1] == b"{":
        data = call.json()
        return data if isinstance(data, dict) else {}
    return dict(parse_qsl(call.body.decode("utf-8", "replace")))


def login(sb: AmoCRMSandbox, call: Call) -> Reply:
    """``/private/api/auth.php``: v2's cookie login, form or JSON body."""
    form = form_or_json(call)
    ok = form.get("USER_LOGIN") == sb.credentials.login and secrets.compare_digest(
        str(form.get("USER_HASH", "")), sb.credentials.api_key
    )
    if not ok:
        error = {
            "error": "Incorrect login or password",
            "error_code": "110",
            "server_time": sb.clock.now_int(),
        }
        return Reply(401, {"response": error}, "application/json")
    session = secrets.token_hex(16)
    sb.sessions[session] = sb.clock.now() + SESSION_LIFE
    sb.logins += 1
    body = {"response": {"auth": True, "server_time": sb.clock.now_int()}}
    return Reply(200, body, "application/json", {"session_id": session})


def token(sb: AmoCRMSandbox, call: Call) -> Reply:
    """``/oauth2/access_token``: ``authorization_code`` or ``refresh_token``, form or JSON."""
    sb.refresh_attempts += 1
    data = form_or_json(call)
    c = sb.credentials
    grant = data.get("grant_type")
    if data.get("client_id") != c.client_id or data.get("client_secret") != c.client_secret:
        return Reply(
            400,
            {"hint": "Client authentication failed", "title": "Bad request", "status": 400},
            PROBLEM,
        )
    if grant == "authorization_code" and data.get("code") in sb.authorization_codes:
        sb.authorization_codes.discard(data["code"])
    elif grant == "refresh_token" and data.get("refresh_token") in sb.refresh_tokens:
        sb.refresh_tokens.discard(data["refresh_token"])  # single use
    else:
        return problem(400, "Bad Request", hint="Token has been revoked")
    now = sb.clock.now_int()
    access = make_jwt(
        {
            "aud": c.client_id,
            "jti": secrets.token_hex(20),
            "iat": now,
            "nbf": now,
            "exp": now + 86_400,
            "sub": "1",
            "account_id": 1,
            "api_domain": "api-b.amocrm.ru",
            "scopes": ["crm", "notifications"],
        }
    )
    refresh = secrets.token_hex(32)
    sb.refresh_tokens.add(refresh)
    sb.grant(access, sb.clock.now() + 86_400, user_id=1)
    sb.refreshes += 1
    body = {
        "token_type": "Bearer",
        "expires_in": 86_400,
        "access_token": access,
        "refresh_token": refresh,
    }
    return Reply(200, body, "application/json")
