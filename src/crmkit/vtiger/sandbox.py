"""VtigerSandbox: an emulator of the vtiger webservice (as ABMS serves it), from api-notes.md.

- ``webservice.php`` with the strict method per operation (GET: query,
  retrieve, describe, listtypes, sync, getchallenge; POST: login, create,
  update, revise, delete, logout); errors as HTTP 200 ``success: false``;
- challenges that expire after 300 s and are invalidated by a newer challenge
  for the same user; ``accessKey = md5(token + access key)``;
- sessions with an idle life (1,800 s) and a maximum life (86,400 s) on the
  sandbox clock; the login answers ``sessionName`` (or ``sessionId`` with
  ``session_field="sessionId"``, as ABMS documents it);
- a VTQL subset with the required ``;``, the 100-row clamp and
  ``QUERY_SYNTAX_ERROR``; CRUD, revise, describe, listtypes; ``sync`` in windows
  of 100 with ``more``; an IP allow-list (HTTP 403 for other addresses);
- seeded Leads, Contacts and Accounts; faults from the foundation machinery.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import attrs
import orjson

from ..sandbox import FakeData, Sandbox
from ..sandbox._faults import ASGIApp
from ._sandbox_vtql import QuerySyntaxError, parse
from ._wire import access_key_digest

__all__ = ["DEFAULT_ACCESS_KEY", "DEFAULT_USER", "VtigerSandbox"]

DEFAULT_USER = "admin@example.test"
DEFAULT_ACCESS_KEY = "sandboxAccessKey123"
CHALLENGE_LIFE = 300
IDLE_LIFE = 1_800
MAX_LIFE = 86_400
ROW_CLAMP = 100
SYNC_WINDOW = 100
GET_ONLY = {"query", "retrieve", "describe", "listtypes", "sync", "getchallenge"}
POST_ONLY = {"login", "create", "update", "revise", "delete", "logout"}
MODULES = {"Leads": (10, "lastname"), "Accounts": (11, "accountname"), "Contacts": (12, "lastname")}


class _Fail(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@attrs.define
class _Session:
    user: str
    created: float
    last_used: float


class VtigerSandbox(Sandbox):
    """Users, sessions and records of a vtiger CRM in memory."""

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        leads: int = 0,
        contacts: int = 0,
        accounts: int = 0,
        allowed_ips: set[str] | None = None,
        session_field: str = "sessionName",
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.users = dict(users or {DEFAULT_USER: DEFAULT_ACCESS_KEY})
        self.allowed_ips = allowed_ips
        self.session_field = session_field
        self.challenges: dict[str, tuple[str, float]] = {}
        self.sessions: dict[str, _Session] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.deleted: list[tuple[float, str]] = []
        self.next_number = {module: 1 for module in MODULES}
        self.operations: dict[str, int] = {}
        fake = FakeData(seed)
        for module, count in (("Leads", leads), ("Contacts", contacts), ("Accounts", accounts)):
            for _ in range(count):
                if module == "Accounts":
                    fields: dict[str, Any] = {
                        "accountname": fake.company(),
                        "bill_city": fake.city(),
                    }
                else:
                    first, last = fake.first_name(), fake.last_name()
                    fields = {
                        "firstname": first,
                        "lastname": last,
                        "email": fake.email(f"{first} {last}"),
                        "phone": fake.phone(),
                    }
                self.add(module, fields)

    # -- records -------------------------------------------------------------

    def add(self, module: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record as the CRM would (id, created and modified times)."""
        module_id, _ = MODULES[module]
        number = self.next_number[module]
        self.next_number[module] += 1
        now = int(self.clock.now())
        record = {
            **fields,
            "id": f"{module_id}x{number}",
            "createdtime": now,
            "modifiedtime": now,
            "_module": module,
        }
        self.records[record["id"]] = record
        return record

    def touch(self, record_id: str, **changes: Any) -> None:
        """Change a record now (by the sandbox clock)."""
        record = self.records[record_id]
        record.update(changes)
        record["modifiedtime"] = int(self.clock.now())

    def remove(self, record_id: str) -> None:
        self.records.pop(record_id)
        self.deleted.append((self.clock.now(), record_id))

    def expire_sessions(self) -> None:
        """Forget every session (as a server restart or an admin would)."""
        self.sessions.clear()

    @staticmethod
    def public(record: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in record.items() if not k.startswith("_")}
        out["createdtime"] = str(out["createdtime"])
        out["modifiedtime"] = str(out["modifiedtime"])
        return out

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
            params = dict(request.query_params)
            if request.method == "POST":
                body = (await request.body()).decode("utf-8", "replace")
                params.update(dict(parse_qsl(body, keep_blank_values=True)))
            operation = params.get("operation", "")
            self.operations[operation] = self.operations.get(operation, 0) + 1
            try:
                if operation in GET_ONLY and request.method != "GET":
                    raise _Fail("UNKNOWN_OPERATION", f"{operation} must be called with GET")
                if operation in POST_ONLY and request.method != "POST":
                    raise _Fail("UNKNOWN_OPERATION", f"{operation} must be called with POST")
                result = self._operate(operation, params)
            except _Fail as fail:
                body_out = {"success": False, "error": {"code": fail.code, "message": fail.message}}
                return Response(orjson.dumps(body_out), 200, media_type="application/json")
            return Response(
                orjson.dumps({"success": True, "result": result}),
                200,
                media_type="application/json",
            )

        return Starlette(routes=[Route("/webservice.php", webservice, methods=["GET", "POST"])])

    def _operate(self, operation: str, params: dict[str, str]) -> Any:
        if operation == "getchallenge":
            return self._challenge(params)
        if operation == "login":
            return self._login(params)
        if operation not in GET_ONLY | POST_ONLY:
            raise _Fail("UNKNOWN_OPERATION", f"Unknown operation requested: {operation!r}")
        self._session(params.get("sessionName"))
        if operation == "logout":
            self.sessions.pop(params["sessionName"], None)
            return {"message": "successfull"}
        handler = getattr(self, f"_op_{operation}")
        return handler(params)

    def _challenge(self, params: dict[str, str]) -> dict[str, Any]:
        user = params.get("username", "")
        if user not in self.users:
            raise _Fail("INVALID_USER_CREDENTIALS", "Invalid username or password")
        token = secrets.token_hex(7)
        now = self.clock.now()
        self.challenges[user] = (token, now + CHALLENGE_LIFE)  # replaces any earlier token
        return {"token": token, "serverTime": int(now), "expireTime": int(now + CHALLENGE_LIFE)}

    def _login(self, params: dict[str, str]) -> dict[str, Any]:
        user = params.get("username", "")
        token, expires = self.challenges.pop(user, ("", 0.0))
        if not token or self.clock.now() > expires:
            raise _Fail("INVALID_AUTH_TOKEN", "Specified token is invalid or expired")
        if user not in self.users or params.get("accessKey") != access_key_digest(
            token, self.users[user]
        ):
            raise _Fail("INVALID_USER_CREDENTIALS", "Invalid username or password")
        name = secrets.token_hex(12)
        now = self.clock.now()
        self.sessions[name] = _Session(user, now, now)
        return {
            self.session_field: name,
            "userId": "19x1",
            "version": "0.22",
            "vtigerVersion": "7.5",
        }

    def _session(self, name: str | None) -> _Session:
        if not name:
            raise _Fail("AUTHENTICATION_REQUIRED", "Authentication required")
        session = self.sessions.get(name)
        if session is None:
            raise _Fail("INVALID_SESSIONID", "Session Identifier provided is Invalid")
        now = self.clock.now()
        if now - session.created > MAX_LIFE:
            del self.sessions[name]
            raise _Fail("SESSION_EXPIRED", "Session has expired")
        if now - session.last_used > IDLE_LIFE:
            del self.sessions[name]
            raise _Fail("SESSION_LEFT_IDLE", "Session has been left idle for too long")
        session.last_used = now
        return session

    # -- operations ------------------------------------------------------------

    def _record(self, record_id: str | None) -> dict[str, Any]:
        if not record_id or "x" not in record_id:
            raise _Fail("INVALID_ID_ATTRIBUTE", "Id specified is incorrect")
        record = self.records.get(record_id)
        if record is None:
            raise _Fail("RECORD_NOT_FOUND", "Record you are trying to access is not found")
        return record

    def _element(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            element = orjson.loads(params.get("element", ""))
        except orjson.JSONDecodeError:
            raise _Fail("INVALID_PARAMETER", "element must be JSON") from None
        if not isinstance(element, dict):
            raise _Fail("INVALID_PARAMETER", "element must be a JSON object")
        return element

    def _op_query(self, params: dict[str, str]) -> list[dict[str, Any]]:
        try:
            query = parse(params.get("query", ""))
        except QuerySyntaxError as exc:
            raise _Fail("QUERY_SYNTAX_ERROR", f"Syntax Error on line 1: {exc}") from None
        if query.module not in MODULES:
            raise _Fail("ACCESS_DENIED", f"Permission to read {query.module} is denied")
        rows = [r for r in self.records.values() if r["_module"] == query.module]
        if query.condition is not None:
            rows = [r for r in rows if query.condition(r)]
        if query.count:
            return [{"count": str(len(rows))}]
        if query.order_by:
            rows.sort(key=lambda r: str(r.get(query.order_by or "", "")), reverse=query.descending)
        limit = min(query.limit if query.limit is not None else ROW_CLAMP, ROW_CLAMP)
        rows = rows[query.offset : query.offset + limit]
        out = [self.public(r) for r in rows]
        if query.fields:
            keep = {*query.fields, "id"}
            out = [{k: v for k, v in r.items() if k in keep} for r in out]
        return out

    def _op_retrieve(self, params: dict[str, str]) -> dict[str, Any]:
        return self.public(self._record(params.get("id")))

    def _op_create(self, params: dict[str, str]) -> dict[str, Any]:
        module = params.get("elementType", "")
        if module not in MODULES:
            raise _Fail("ACCESS_DENIED", f"Permission to create {module or 'records'} is denied")
        element = self._element(params)
        mandatory = MODULES[module][1]
        if not element.get(mandatory):
            raise _Fail("MANDATORY_FIELDS_MISSING", f"{mandatory} does not have a value")
        element.pop("id", None)
        return self.public(self.add(module, element))

    def _op_update(self, params: dict[str, str]) -> dict[str, Any]:
        element = self._element(params)
        record = self._record(element.get("id"))
        mandatory = MODULES[record["_module"]][1]
        if not element.get(mandatory):
            raise _Fail("MANDATORY_FIELDS_MISSING", f"{mandatory} does not have a value")
        kept = {k: record[k] for k in ("id", "createdtime", "_module")}
        record.clear()
        record.update({**element, **kept, "modifiedtime": int(self.clock.now())})
        return self.public(record)

    def _op_revise(self, params: dict[str, str]) -> dict[str, Any]:
        element = self._element(params)
        record = self._record(element.get("id"))
        changes = {k: v for k, v in element.items() if k not in ("id", "createdtime", "_module")}
        self.touch(record["id"], **changes)
        return self.public(record)

    def _op_delete(self, params: dict[str, str]) -> dict[str, Any]:
        record = self._record(params.get("id"))
        self.remove(record["id"])
        return {"status": "successful"}

    def _op_describe(self, params: dict[str, str]) -> dict[str, Any]:
        module = params.get("elementType", "")
        if module not in MODULES:
            raise _Fail("ACCESS_DENIED", f"Permission to read {module} is denied")
        mandatory = MODULES[module][1]
        names = sorted({k for r in self.records.values() if r["_module"] == module for k in r})
        names = [n for n in names if not n.startswith("_")] or [mandatory, "id"]
        fields = [
            {"name": n, "label": n.title(), "mandatory": n == mandatory, "type": {"name": "string"}}
            for n in names
        ]
        return {"label": module, "name": module, "createable": True, "fields": fields}

    def _op_listtypes(self, params: dict[str, str]) -> dict[str, Any]:
        return {"types": sorted(MODULES), "information": {m: {"isEntity": True} for m in MODULES}}

    def _op_sync(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            since = int(params.get("modifiedTime", "0"))
        except ValueError:
            raise _Fail("INVALID_PARAMETER", "modifiedTime must be unix seconds") from None
        module = params.get("elementType")
        changes: list[tuple[float, str, dict[str, Any] | None]] = [
            (r["modifiedtime"], r["id"], r)
            for r in self.records.values()
            if r["modifiedtime"] > since and (not module or r["_module"] == module)
        ]
        module_id = str(MODULES[module][0]) if module in MODULES else None
        changes += [
            (when, rid, None)
            for when, rid in self.deleted
            if when > since and (module_id is None or rid.split("x")[0] == module_id)
        ]
        changes.sort(key=lambda c: (c[0], c[1]))
        window = changes[:SYNC_WINDOW]
        # A window never splits one second: the next starts after its lastModifiedTime.
        if len(changes) > SYNC_WINDOW:
            last = int(window[-1][0])
            window = [c for c in changes if int(c[0]) <= last] if last > since else window
        last_time = int(window[-1][0]) if window else since
        return {
            "updated": [self.public(r) for _, _, r in window if r is not None],
            "deleted": [rid for _, rid, r in window if r is None],
            "lastModifiedTime": last_time,
            "more": len(changes) > len(window),
        }
