"""The vtiger sandbox's HTTP side: ``webservice.php``, its operation table, challenges and sessions.

As vtiger's ``webservice.php`` and ``include/Webservices/OperationManager.php``
do it (``vtiger-crm/vtigercrm``; the vtiger 7 fork ``thinkingreed-inc/F-RevoCRM``):

- ``operation`` and ``sessionName`` are read from ``$_REQUEST`` (query string
  and form body together); an unknown operation is ``UNKNOWN_OPERATION``;
- an operation's inputs are read by its registered type, whatever the HTTP
  method: a GET-type operation from the query string, a POST-type one from the
  form body; inputs the operation does not declare are ignored
  (``vtiger_ws_operation`` / ``vtiger_ws_operation_parameters``); only
  ``logout`` checks the method itself (``Logout.php``: ``OPERATION_NOT_SUPPORTED``);
- ``getchallenge`` (``AuthToken.php``) deletes the user's previous token and
  stores a new one for 300 s; ``login`` (``Login.php``) checks
  ``md5(token + access key)`` against the user's live token, which it leaves
  in place; an unknown user is ``ACCESS_DENIED``;
- sessions have an idle life (1,800 s) and a maximum life (86,400 s)
  (``SessionManager.php``); the login answers ``sessionName`` and the user's
  details (or, with ``session_field="sessionId"``, ABMS's documented shape);
- an IP allow-list answers HTTP 403 to other addresses (ABMS).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import attrs
import orjson

from ...sandbox import Sandbox
from ...sandbox._faults import ASGIApp
from .._wire import access_key_digest
from ._ops import Fail, VtigerOperations
from ._state import SandboxUser

__all__ = ["OPERATIONS", "VtigerSandbox"]

CHALLENGE_LIFE = 300
IDLE_LIFE = 1_800
MAX_LIFE = 86_400
ROW_CLAMP = 100

#: name -> (input type, pre-login, declared inputs), as vtiger registers them.
OPERATIONS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    "login": ("POST", True, ("username", "accessKey")),
    "getchallenge": ("GET", True, ("username",)),
    "retrieve": ("GET", False, ("id",)),
    "create": ("POST", False, ("elementType", "element")),
    "update": ("POST", False, ("element",)),
    "delete": ("POST", False, ("id",)),
    "sync": ("GET", False, ("modifiedTime", "elementType", "syncType")),
    "query": ("GET", False, ("query",)),
    "logout": ("POST", False, ("sessionName",)),
    "listtypes": ("GET", False, ("fieldTypeList",)),
    "describe": ("GET", False, ("elementType",)),
    "revise": ("POST", False, ("element",)),
    "relatedtypes": ("GET", False, ("elementType",)),
    "retrieve_related": ("GET", False, ("id", "relatedType", "relatedLabel")),
    "query_related": ("GET", False, ("query", "id", "relatedLabel")),
}


@attrs.define
class _Session:
    user: str
    created: float
    last_used: float


class VtigerSandbox(VtigerOperations, Sandbox):
    """Users, groups, sessions and records of a vtiger CRM in memory.

    ``users`` maps user names to access keys; ``admins`` names the admins (by
    default the default user); ``groups`` maps group names to their members (by
    default one group, "Team Selling", of every user); seeded records are owned
    in turn by ``owners`` (user or group names; by default the first user).
    ``row_clamp`` is how many rows a query answers at most (100, some forks 1000).
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        admins: Iterable[str] | None = None,
        groups: Mapping[str, Iterable[str]] | None = None,
        owners: Sequence[str] | None = None,
        leads: int = 0,
        contacts: int = 0,
        accounts: int = 0,
        allowed_ips: set[str] | None = None,
        session_field: str = "sessionName",
        row_clamp: int = ROW_CLAMP,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.allowed_ips = allowed_ips
        self.session_field = session_field
        self.row_clamp = row_clamp
        self.challenges: dict[str, tuple[str, float]] = {}
        self.sessions: dict[str, _Session] = {}
        self.operations: dict[str, int] = {}
        counts = {"Leads": leads, "Contacts": contacts, "Accounts": accounts}
        self._init_data(
            users=users, admins=admins, groups=groups, owners=owners, counts=counts, seed=seed
        )

    def expire_sessions(self) -> None:
        """Forget every session (as a server restart or an admin would)."""
        self.sessions.clear()

    # -- HTTP ----------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def webservice(request: Request) -> Response:
            client = request.client.host if request.client else ""
            if self.allowed_ips is not None and client not in self.allowed_ips:
                return Response(
                    b"<html><body>403 Forbidden</body></html>", 403, media_type="text/html"
                )
            query = dict(request.query_params)
            form: dict[str, str] = {}
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if request.method == "POST" and kind == "application/x-www-form-urlencoded":
                body = (await request.body()).decode("utf-8", "replace")
                form = dict(parse_qsl(body, keep_blank_values=True))
            everything = {**query, **form}  # $_REQUEST: the body wins
            operation = everything.get("operation", "").lower()
            self.operations[operation] = self.operations.get(operation, 0) + 1
            try:
                result = self._operate(
                    operation, query, form, everything.get("sessionName"), request.method
                )
            except Fail as fail:
                out = {"success": False, "error": {"code": fail.code, "message": fail.message}}
                return Response(orjson.dumps(out), 200, media_type="application/json")
            return Response(
                orjson.dumps({"success": True, "result": result}),
                200,
                media_type="application/json",
            )

        return Starlette(routes=[Route("/webservice.php", webservice, methods=["GET", "POST"])])

    def _operate(
        self,
        operation: str,
        query: dict[str, str],
        form: dict[str, str],
        session: str | None,
        method: str = "POST",
    ) -> Any:
        if operation not in OPERATIONS:
            raise Fail("UNKNOWN_OPERATION", "Unknown operation requested")
        kind, pre_login, declared = OPERATIONS[operation]
        source = query if kind == "GET" else form
        params = {name: source[name] for name in declared if name in source}
        if session in ("", "null"):
            session = None
        user: SandboxUser | None = self._session(session) if session else None
        if pre_login:
            return self._challenge(params) if operation == "getchallenge" else self._login(params)
        if user is None:
            raise Fail("AUTHENTICATION_REQUIRED", "Authencation required")
        if operation == "logout":
            # Logout.php alone checks the HTTP method against its type.
            if method != kind:
                raise Fail(
                    "OPERATION_NOT_SUPPORTED", "Permission to perform the operation is denied"
                )
            self.sessions.pop(params.get("sessionName") or session or "", None)
            return {"message": "successfull"}
        handler = getattr(self, f"_op_{operation}")
        return handler(params, user)

    def _challenge(self, params: dict[str, str]) -> dict[str, Any]:
        name = params.get("username", "")
        if not name:
            raise Fail("ACCESS_DENIED", "No username given")
        if name not in self.users:
            raise Fail("ACCESS_DENIED", "username does not exists")
        token = secrets.token_hex(7)
        now = self.clock.now()
        self.challenges[name] = (token, now + CHALLENGE_LIFE)  # deletes the previous token
        return {"token": token, "serverTime": int(now), "expireTime": int(now + CHALLENGE_LIFE)}

    def _login(self, params: dict[str, str]) -> dict[str, Any]:
        name = params.get("username", "")
        token, expires = self.challenges.get(name, ("", 0.0))
        if not token or self.clock.now() > expires:
            raise Fail("INVALID_AUTH_TOKEN", "Specified token is invalid or expired")
        user = self.users[name]
        if params.get("accessKey") != access_key_digest(token, user.access_key):
            raise Fail("INVALID_USER_CREDENTIALS", "Invalid username or password")
        session = secrets.token_hex(12)
        now = self.clock.now()
        self.sessions[session] = _Session(name, now, now)
        answer = {
            self.session_field: session,
            "userId": user.id,
            "version": "0.22",
            "vtigerVersion": "7.5",
        }
        if self.session_field == "sessionName":  # vtiger 7 adds the user's details
            answer.update(username=name, is_admin="on" if user.admin else "off")
        return answer

    def _session(self, name: str) -> SandboxUser:
        session = self.sessions.get(name)
        if session is None:
            raise Fail("INVALID_SESSIONID", "Session Identifier provided is Invalid")
        now = self.clock.now()
        if now - session.created > MAX_LIFE:
            del self.sessions[name]
            raise Fail("SESSION_EXPIRED", "Session has life span over please login again")
        if now - session.last_used > IDLE_LIFE:
            del self.sessions[name]
            raise Fail("SESSION_LEFT_IDLE", "Session has been invalidated to due lack activity")
        session.last_used = now
        return self.users[session.user]
