"""AmoCRMSandbox: an emulator of amoCRM (Kommo), both API dialects, from api-notes.md and the brief.

- v2: cookie login at ``/private/api/auth.php?type=json`` (``USER_LOGIN``,
  ``USER_HASH``; error 110 with 401 when wrong), sessions that expire after 15
  minutes on the sandbox clock (then 401); ``/api/v2/{entity}`` lists with
  ``limit_rows`` capped at 500 and ``limit_offset``, writes with ``add``/``update``
  and per-item errors;
- v4: ``Authorization: Bearer`` (a long-lived token, or OAuth tokens from
  ``/oauth2/access_token`` with single-use refresh tokens); lists with
  ``page``/``limit`` capped at 250 and ``_links.next``; POST/PATCH writes with
  ``problem+json`` validation errors;
- both: ``If-Modified-Since`` (and v4 ``filter[updated_at][from]``), 204 when
  nothing matches, a ``Date`` header from the sandbox clock;
- a strict sliding window (7/s by default) answering 429 with an empty body,
  and after ``block_after`` violations a 403 HTML page for every request, for
  good; ``subscription_ended = True`` answers 402; faults from the foundation.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import attrs
import orjson

from ..sandbox import FakeData, Sandbox, SlidingWindowLimiter, Verdict
from ..sandbox._faults import ASGIApp
from ._sandbox_data import ENTITIES, NOTE_PARENTS, from_v2, render_v2, seed_entity, validate_v4

__all__ = ["AmoCRMSandbox", "SandboxCredentials"]

_ACCOUNT = {"id": 1, "name": "Sandbox", "subdomain": "sandbox", "currency": "RUB"}
_PIPELINE = {"id": 1, "name": "Main", "sort": 1, "is_main": True}

SESSION_LIFE = 15 * 60
_BLOCK_PAGE = (
    b"<html><head><title>403 Forbidden</title></head><body>"
    b"<center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>"
)


@attrs.frozen
class SandboxCredentials:
    login: str = "manager@example.test"
    api_key: str = "sandbox-amocrm-user-hash"
    access_token: str = "sandbox-amocrm-long-lived-token"
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    redirect_uri: str = "https://integration.example.test/oauth"
    refresh_token: str = "sandbox-refresh-token-0"


class AmoCRMSandbox(Sandbox):
    """One amoCRM account in memory, answering both API dialects."""

    def __init__(
        self,
        *,
        leads: int = 0,
        contacts: int = 0,
        companies: int = 0,
        tasks: int = 0,
        notes: int = 0,
        rate_limit: int | None = 7,
        block_after: int | None = 20,
        credentials: SandboxCredentials | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credentials = credentials or SandboxCredentials()
        self.limiter = (
            SlidingWindowLimiter(rate_limit, block_after=block_after) if rate_limit else None
        )
        self.limited = 0
        self.subscription_ended = False
        self.sessions: dict[str, float] = {}
        self.tokens: dict[str, float] = {self.credentials.access_token: float("inf")}
        # Single use, no grace: amoCRM documents no period in which a rotated refresh token
        # still works, so a pair whose answer never reached its client is lost.
        self.refresh_tokens = {self.credentials.refresh_token}
        self.refreshes = 0
        self.refresh_attempts = 0  # every call of the token endpoint, refused ones too
        self.logins = 0
        self.entities: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self.next_id = 1
        fake = FakeData(seed)
        for name, count in (
            ("leads", leads),
            ("contacts", contacts),
            ("companies", companies),
            ("tasks", tasks),
            ("notes", notes),
        ):
            for _ in range(count):
                self._store(name, seed_entity(name, fake, self.clock.now_int()))

    # -- set-up and inspection -------------------------------------------------

    def _store(self, name: str, entity: dict[str, Any]) -> dict[str, Any]:
        entity["id"] = self.next_id
        self.next_id += 1
        now = self.clock.now_int()
        entity.setdefault("created_at", now)
        entity["updated_at"] = now
        entity["account_id"] = 1
        self.entities[name][entity["id"]] = entity
        return entity

    def touch(self, entity: str, ids: list[int], **changes: Any) -> None:
        """Change entities of one kind (``"leads"`` ...) now, by the sandbox clock."""
        for entity_id in ids:
            self.entities[entity][entity_id].update(changes, updated_at=self.clock.now_int())

    def expire_sessions(self) -> None:
        """End every v2 session (their next call answers 401)."""
        self.sessions.clear()

    def expire_access_tokens(self) -> None:
        """End every OAuth access token (the long-lived one stays)."""
        for token in list(self.tokens):
            if token != self.credentials.access_token:
                self.tokens[token] = 0.0

    @property
    def blocked(self) -> bool:
        return self.limiter is not None and self.limiter.is_blocked()

    # -- HTTP ----------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        def answer(status: int, body: Any = None, kind: str = "application/hal+json") -> Response:
            content = b"" if body is None else orjson.dumps(body)
            return Response(content, status, media_type=kind if content else None)

        def problem(status: int, title: str, **more: Any) -> Response:
            return answer(
                status, {"title": title, "status": status, **more}, "application/problem+json"
            )

        async def dispatch(request: Request) -> Any:
            if self.limiter is not None:
                verdict = self.limiter.hit()
                if verdict is Verdict.BLOCKED:
                    return Response(_BLOCK_PAGE, 403, media_type="text/html")
                if verdict is Verdict.LIMITED:
                    self.limited += 1
                    return Response(b"", 429)
            if self.subscription_ended:
                return problem(
                    402, "Payment Required", detail="The account's subscription has ended"
                )
            path = request.url.path.rstrip("/")
            body = await request.body()
            if path == "/private/api/auth.php":
                return self._login(body, answer)
            if path == "/oauth2/access_token":
                return self._refresh(body, answer, problem)
            if path.startswith("/api/v2/"):
                if self.sessions.get(request.cookies.get("session_id", ""), 0) < self.clock.now():
                    return answer(
                        401,
                        {"response": {"error": "Unauthorized", "error_code": "101"}},
                        "application/json",
                    )
                return self._v2(request.method, path[len("/api/v2/") :], request, body, answer)
            if path.startswith("/api/v4/"):
                token = request.headers.get("authorization", "").removeprefix("Bearer ")
                if self.tokens.get(token, 0) < self.clock.now():
                    return problem(401, "Unauthorized", detail="Token is invalid or expired")
                return self._v4(
                    request.method, path[len("/api/v4/") :], request, body, answer, problem
                )
            return problem(404, "Not Found")

        return Starlette(routes=[Route("/{path:path}", dispatch, methods=["GET", "POST", "PATCH"])])

    # -- auth -----------------------------------------------------------------

    def _login(self, body: bytes, answer: Any) -> Any:
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        ok = form.get("USER_LOGIN") == self.credentials.login and secrets.compare_digest(
            form.get("USER_HASH", ""), self.credentials.api_key
        )
        if not ok:
            error = {
                "error": "Incorrect login or password",
                "error_code": "110",
                "server_time": self.clock.now_int(),
            }
            return answer(401, {"response": error}, "application/json")
        session = secrets.token_hex(16)
        self.sessions[session] = self.clock.now() + SESSION_LIFE
        self.logins += 1
        response = answer(
            200,
            {"response": {"auth": True, "server_time": self.clock.now_int()}},
            "application/json",
        )
        response.set_cookie("session_id", session, path="/", httponly=True)
        return response

    def _refresh(self, body: bytes, answer: Any, problem: Any) -> Any:
        self.refresh_attempts += 1
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = {}
        c = self.credentials
        if (
            not isinstance(data, dict)
            or data.get("client_id") != c.client_id
            or data.get("client_secret") != c.client_secret
            or data.get("grant_type") != "refresh_token"
            or data.get("refresh_token") not in self.refresh_tokens
        ):
            return problem(401, "Unauthorized", hint="Token has been revoked")
        self.refresh_tokens.discard(data["refresh_token"])  # single use
        access, refresh = secrets.token_hex(20), secrets.token_hex(20)
        self.refresh_tokens.add(refresh)
        self.tokens[access] = self.clock.now() + 86_400
        self.refreshes += 1
        return answer(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 86_400,
                "access_token": access,
                "refresh_token": refresh,
            },
            "application/json",
        )

    # -- lists and writes --------------------------------------------------------

    def _since(self, request: Any, params: Mapping[str, str]) -> float | None:
        header = request.headers.get("if-modified-since")
        bound = None
        if header:
            text = header.replace(" UTC", " GMT")
            try:
                bound = parsedate_to_datetime(text).timestamp()
            except (TypeError, ValueError):
                bound = None
        if "filter[updated_at][from]" in params:
            bound = max(bound or 0, float(params["filter[updated_at][from]"]))
        return bound

    def _select(
        self,
        name: str,
        request: Any,
        params: Mapping[str, Any],
        ids: list[str],
        parent: str | None = None,
    ) -> list[dict[str, Any]]:
        rows = list(self.entities[name].values())
        if parent is not None:
            rows = [r for r in rows if r.get("entity_type") == parent]
        since = self._since(request, params)
        if since is not None:
            rows = [r for r in rows if r["updated_at"] > since]
        if ids:
            wanted = {int(i) for i in ids if str(i).isdigit()}
            rows = [r for r in rows if r["id"] in wanted]
        if "query" in params:
            rows = [
                r for r in rows if str(params["query"]).lower() in str(r.get("name", "")).lower()
            ]
        return rows

    def _v2(self, method: str, route: str, request: Any, body: bytes, answer: Any) -> Any:
        pairs = parse_qsl(request.url.query)
        params = dict(pairs)
        name = route if route in self.entities else None
        if route == "account":
            return answer(200, _ACCOUNT)
        if route == "pipelines":
            return answer(200, {"_embedded": {"items": [_PIPELINE]}})
        if name is None:
            return answer(404, {"response": {"error": "Not found"}}, "application/json")
        parent = None
        if name == "notes":
            parents = {v2: v4 for v4, v2 in NOTE_PARENTS.items()}
            parent = parents.get(params.get("type", ""))
            if parent is None:
                return answer(
                    400, {"response": {"error": "type is required for notes"}}, "application/json"
                )
        if method == "GET":
            limit = min(int(params.get("limit_rows", 500) or 500), 500)
            offset = int(params.get("limit_offset", 0) or 0)
            ids = [v for k, v in pairs if k in ("id", "id[]")]
            rows = self._select(name, request, params, ids, parent)[offset : offset + limit]
            if not rows:
                return answer(204)
            links = {"self": {"href": f"/api/v2/{route}", "method": "get"}}
            return answer(
                200, {"_links": links, "_embedded": {"items": [render_v2(r) for r in rows]}}
            )
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return answer(400, {"response": {"error": "Bad request"}}, "application/json")
        items: list[dict[str, Any]] = []
        errors: dict[str, dict[str, str]] = {}
        for action in ("add", "update"):
            for index, entity in enumerate(data.get(action) or []):
                problem_text = validate_v4(entity, update=action == "update", v2=True)
                if (
                    problem_text is None
                    and action == "update"
                    and int(entity["id"]) not in self.entities[name]
                ):
                    problem_text = "Entity not found"
                if problem_text:
                    errors.setdefault(action, {})[str(index)] = problem_text
                    continue
                fields = from_v2(entity)
                if parent is not None:
                    fields["entity_type"] = parent
                if action == "add":
                    stored = self._store(name, fields)
                else:
                    stored = self.entities[name][int(entity["id"])]
                    stored.update({k: v for k, v in fields.items() if k != "id"})
                    stored["updated_at"] = self.clock.now_int()
                items.append(
                    {"id": stored["id"], "request_id": entity.get("request_id", str(index))}
                )
        embedded: dict[str, Any] = {"items": items}
        if errors:
            embedded["errors"] = errors
        return answer(200, {"_embedded": embedded})

    def _v4(
        self, method: str, route: str, request: Any, body: bytes, answer: Any, problem: Any
    ) -> Any:
        pairs = parse_qsl(request.url.query)
        params = dict(pairs)
        parts = route.split("/")
        if route == "account":
            return answer(200, _ACCOUNT)
        if route == "leads/pipelines":
            return answer(200, {"_embedded": {"pipelines": [_PIPELINE]}})
        name, parent = parts[0], None
        if len(parts) >= 2 and parts[1] == "notes" and name in NOTE_PARENTS:
            name, parent, parts = "notes", name, ["notes", *parts[2:]]
        if name not in self.entities or (name == "notes" and parent is None):
            return problem(404, "Not Found")
        if method == "GET" and len(parts) == 2:
            entity = self.entities[name].get(int(parts[1])) if parts[1].isdigit() else None
            if entity and parent is not None and entity.get("entity_type") != parent:
                entity = None
            return answer(200, entity) if entity else answer(204)
        if method == "GET":
            limit = min(int(params.get("limit", 50) or 50), 250)
            page = max(1, int(params.get("page", 1) or 1))
            ids = [v for k, v in pairs if k in ("filter[id]", "filter[id][]")]
            rows = self._select(name, request, params, ids, parent)
            chunk = rows[(page - 1) * limit : page * limit]
            if not chunk:
                return answer(204)
            here = f"/api/v4/{parent}/notes" if parent else f"/api/v4/{name}"
            links: dict[str, Any] = {"self": {"href": f"{here}?page={page}&limit={limit}"}}
            if page * limit < len(rows):
                links["next"] = {"href": f"{here}?page={page + 1}&limit={limit}"}
            return answer(200, {"_page": page, "_links": links, "_embedded": {name: chunk}})
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, list) or len(data) > 250:
            return problem(
                400, "Bad Request", detail="A JSON array of at most 250 entities is required"
            )
        update = method == "PATCH"
        failures = []
        for index, entity in enumerate(data):
            text = validate_v4(entity, update=update)
            if text is None and update and int(entity["id"]) not in self.entities[name]:
                text = "Entity not found"
            if text:
                rid = (
                    str(entity.get("request_id", index)) if isinstance(entity, dict) else str(index)
                )
                failures.append(
                    {
                        "request_id": rid,
                        "errors": [{"code": "InvalidValue", "path": "", "detail": text}],
                    }
                )
        if failures:
            return problem(
                400,
                "Bad Request",
                detail="Request validation failed",
                **{"validation-errors": failures},
            )
        out = []
        for index, entity in enumerate(data):
            fields = {k: v for k, v in entity.items() if k != "request_id"}
            if parent is not None:
                fields["entity_type"] = parent
            if update:
                stored = self.entities[name][int(entity["id"])]
                stored.update(fields, updated_at=self.clock.now_int())
            else:
                stored = self._store(name, fields)
            out.append({"id": stored["id"], "request_id": str(entity.get("request_id", index))})
        return answer(200, {"_embedded": {name: out}})
