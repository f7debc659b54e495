"""AmoCRMSandbox: one amoCRM (Kommo) account in memory, both API dialects, and its routing.

Written from amoCRM's v2 and v4 documentation, the official PHP SDK
(``amocrm/amocrm-api-php``: ``AmoCRMApiRequest.php``, ``EntitiesServices/*``,
``OAuth/AmoCRMOAuth.php``) and api-notes.md:

- v2: cookie login at ``/private/api/auth.php?type=json`` (``USER_LOGIN``,
  ``USER_HASH`` as a form or a JSON body; error 110 with 401 when wrong),
  sessions that expire after 15 minutes on the sandbox clock (then 401);
  ``/api/v2/{entity}`` (:mod:`._v2`);
- v4: ``Authorization: Bearer`` with JWT-shaped tokens carrying ``exp`` (a
  long-lived admin token, a non-admin user's token, OAuth pairs from
  ``/oauth2/access_token``, form or JSON, ``authorization_code`` or
  single-use ``refresh_token``); rights per token (``/api/v4/users`` refuses a
  non-admin with a JSON 403); entities (:mod:`._v4`) and the other groups
  (:mod:`._groups`); absolute ``_links`` on the account's host;
- both: ``If-Modified-Since``, 204 when nothing matches, a ``Date`` header
  from the sandbox clock; a path it does not have answers 404 as amoCRM does;
- a strict sliding window (7/s by default) answering 429 with an empty body,
  and after ``block_after`` violations a 403 HTML page for every request, for
  good; ``subscription_ended = True`` answers 402; faults from the foundation;
- an event (``/api/v4/events``) for every change it makes, deletions included.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs
import orjson

from ...sandbox import FakeData, Sandbox, SlidingWindowLimiter, Verdict
from ...sandbox._faults import ASGIApp
from . import _auth, _groups, _v2, _v4
from ._data import (
    CUSTOM_FIELD_GROUPS,
    CUSTOM_FIELDS,
    ENTITIES,
    PIPELINES,
    SIMPLE_COLLECTIONS,
    SINGULAR,
    USERS,
    make_jwt,
    seed_entity,
)
from ._reply import Call, Reply, not_found, problem

__all__ = ["AmoCRMSandbox", "SandboxCredentials"]

_BLOCK_PAGE = (
    b"<html><head><title>403 Forbidden</title></head><body>"
    b"<center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>"
)
#: Long-lived tokens of the seeded users: issued 2023-11-14, valid to 2033-05-18.
_LONG_LIVED = {"iat": 1_700_000_000, "nbf": 1_700_000_000, "exp": 2_000_000_000}


def _long_lived(user_id: int) -> str:
    return make_jwt(
        {
            "aud": "sandbox-client-id",
            "jti": f"long-lived-{user_id}",
            **_LONG_LIVED,
            "sub": str(user_id),
            "account_id": 1,
            "api_domain": "api-b.amocrm.ru",
            "scopes": ["crm", "notifications"],
        }
    )


@attrs.frozen
class SandboxCredentials:
    login: str = "manager@example.test"
    api_key: str = "sandbox-amocrm-user-hash"
    #: The admin's long-lived token (a JWT).
    access_token: str = _long_lived(1)
    #: A long-lived token of a user who is not an admin (``/api/v4/users`` refuses it).
    user_access_token: str = _long_lived(2)
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    redirect_uri: str = "https://integration.example.test/oauth"
    refresh_token: str = "sandbox-refresh-token-0"
    #: An authorization code, as the redirect after "Allow" carries (single use, 20 minutes).
    authorization_code: str = "sandbox-authorization-code"


@attrs.define
class _Token:
    expires: float
    user_id: int


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
        customers: int = 0,
        rate_limit: int | None = 7,
        block_after: int | None = 20,
        credentials: SandboxCredentials | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credentials = c = credentials or SandboxCredentials()
        self.limiter = (
            SlidingWindowLimiter(rate_limit, block_after=block_after) if rate_limit else None
        )
        self.limited = 0
        self.subscription_ended = False
        self.sessions: dict[str, float] = {}
        self.tokens: dict[str, _Token] = {
            c.access_token: _Token(float("inf"), 1),
            c.user_access_token: _Token(float("inf"), 2),
        }
        # Single use, no grace: amoCRM documents no period in which a rotated refresh token
        # still works, so a pair whose answer never reached its client is lost.
        self.refresh_tokens = {c.refresh_token}
        self.authorization_codes = {c.authorization_code}
        self.refreshes = 0
        self.refresh_attempts = 0  # every call of the token endpoint, refused ones too
        self.logins = 0
        self.account = {
            "id": 1,
            "name": "Sandbox",
            "subdomain": "sandbox",
            "currency": "RUB",
            "country": "RU",
            "timezone": "Europe/Moscow",
            "current_user_id": 1,
        }
        self.users = copy.deepcopy(USERS)
        self.pipelines = copy.deepcopy(PIPELINES)
        self.custom_fields = copy.deepcopy(CUSTOM_FIELDS)
        self.custom_field_groups = copy.deepcopy(CUSTOM_FIELD_GROUPS)
        #: loss reasons, customer statuses, roles: path -> (``_embedded`` key, rows)
        self.collections = copy.deepcopy(SIMPLE_COLLECTIONS)
        self.tags: dict[str, list[dict[str, Any]]] = {
            name: [] for name in ("leads", "contacts", "companies", "customers")
        }
        self.entities: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self.deleted: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self.events: list[dict[str, Any]] = []
        #: (from entity, from id, to entity, to id) -> the link's metadata
        self.links: dict[tuple[str, int, str, int], dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.catalogs: dict[int, dict[str, Any]] = {}
        self.catalog_elements: dict[int, dict[str, Any]] = {}
        self.unsorted: dict[str, dict[str, Any]] = {}
        self.next_id = 1
        self._event_serial = 0
        fake = FakeData(seed)
        for name, count in (
            ("leads", leads),
            ("contacts", contacts),
            ("companies", companies),
            ("customers", customers),
            ("tasks", tasks),
            ("notes", notes),
        ):
            for _ in range(count):
                self._store(name, seed_entity(name, fake, self.clock.now_int()), event=False)
        for name, label in (("leads", "VIP"), ("leads", "Repeat"), ("contacts", "Partner")):
            self._new_tag(name, label)
        # every account has its "Товары" (products) list
        catalog_id = self._new_id()
        products: dict[str, Any] = {
            "id": catalog_id,
            "name": "Товары",
            "type": "products",
            "sort": 10,
            "can_add_elements": True,
            "can_link_multiple": True,
            "account_id": 1,
        }
        self.catalogs[catalog_id] = products
        for title in ("Консультация", "Установка"):
            element_id = self._new_id()
            element: dict[str, Any] = {
                "id": element_id,
                "catalog_id": catalog_id,
                "name": title,
                "custom_fields_values": None,
                "is_deleted": False,
            }
            self.catalog_elements[element_id] = element

    # -- set-up and inspection -------------------------------------------------

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _new_tag(self, entity: str, name: str) -> dict[str, Any]:
        tag = {"id": self._new_id(), "name": name, "color": None}
        self.tags[entity].append(tag)
        return tag

    def _store(
        self, name: str, entity: dict[str, Any], *, event: bool = True, user_id: int = 1
    ) -> dict[str, Any]:
        entity["id"] = self._new_id()
        now = self.clock.now_int()
        entity.setdefault("created_at", now)
        entity.setdefault("created_by", user_id)
        entity["updated_at"] = now
        entity["account_id"] = 1
        self.entities[name][entity["id"]] = entity
        if event:
            kind = "common_note" if name == "notes" else SINGULAR.get(name, name)
            note = [{"note": {"id": entity["id"]}}] if name == "notes" else []
            target, target_id = (
                (str(entity.get("entity_type", "leads")), int(entity.get("entity_id") or 0))
                if name == "notes"
                else (name, entity["id"])
            )
            self.record(f"{kind}_added", target, target_id, after=note, user_id=user_id)
        return entity

    def record(
        self,
        type: str,
        entity: str,
        entity_id: int,
        *,
        before: list[Any] | None = None,
        after: list[Any] | None = None,
        user_id: int = 1,
    ) -> None:
        """Add an event to ``/api/v4/events`` (``entity`` by its path: ``"leads"``)."""
        self._event_serial += 1
        self.events.append(
            {
                "id": f"01sandbox{self._event_serial:016d}",
                "type": type,
                "entity_id": entity_id,
                "entity_type": SINGULAR.get(entity, entity),
                "created_by": user_id,
                "created_at": self.clock.now_int(),
                "value_after": after or [],
                "value_before": before or [],
                "account_id": 1,
            }
        )

    def change(
        self, name: str, stored: dict[str, Any], fields: dict[str, Any], user_id: int = 1
    ) -> None:
        """Apply a change to a stored entity, with the events amoCRM records for it."""
        singular = SINGULAR.get(name, name)
        if (
            name == "leads"
            and "status_id" in fields
            and fields["status_id"] != stored.get("status_id")
        ):
            status = {
                "lead_status": {
                    "id": stored.get("status_id"),
                    "pipeline_id": stored.get("pipeline_id"),
                }
            }
            new = {
                "lead_status": {
                    "id": fields["status_id"],
                    "pipeline_id": fields.get("pipeline_id", stored.get("pipeline_id")),
                }
            }
            self.record(
                "lead_status_changed",
                name,
                stored["id"],
                before=[status],
                after=[new],
                user_id=user_id,
            )
        if "name" in fields and fields["name"] != stored.get("name"):
            self.record("name_field_changed", name, stored["id"], user_id=user_id)
        if "price" in fields and fields["price"] != stored.get("price"):
            self.record("sale_field_changed", name, stored["id"], user_id=user_id)
        for field in fields.get("custom_fields_values") or []:
            if isinstance(field, dict) and field.get("field_id"):
                kind = f"custom_field_{field['field_id']}_value_changed"
                self.record(kind, name, stored["id"], user_id=user_id)
        if fields.get("responsible_user_id") not in (None, stored.get("responsible_user_id")):
            self.record("entity_responsible_changed", name, stored["id"], user_id=user_id)
        if name == "tasks" and fields.get("is_completed") and not stored.get("is_completed"):
            self.record("task_completed", name, stored["id"], user_id=user_id)
        if singular and "custom_fields_values" in fields:
            fields = {**fields, "custom_fields_values": _merge_fields(stored, fields)}
        stored.update(fields, updated_at=self.clock.now_int())

    def touch(self, entity: str, ids: list[int], **changes: Any) -> None:
        """Change entities of one kind (``"leads"`` ...) now, by the sandbox clock."""
        for entity_id in ids:
            self.change(entity, self.entities[entity][entity_id], changes)

    def delete(self, entity: str, ids: list[int], *, user_id: int = 1) -> None:
        """Delete entities as a user does in amoCRM's interface (v4 has no API for it).

        They leave the lists (``with=only_deleted`` on leads and contacts still
        shows them) and each leaves a ``{entity}_deleted`` event (``task_deleted``
        for a task); a note leaves ``common_note_deleted`` on the record it was
        under, naming the note as ``common_note_added`` does (``{"note": {"id"}}``).
        The event types are those of amoCRM's events list
        (amocrm.ru/developers/content/crm_platform/events-and-notes, "Типы
        событий": ``task_deleted`` "Задача удалена", ``common_note_deleted``
        "Примечание удалено"). Which of ``value_before``/``value_after`` holds a
        deleted note is not shown there: it is put in ``value_before``, the note
        as it was before the change.
        """
        for entity_id in ids:
            gone = self.entities[entity].pop(entity_id)
            gone["updated_at"] = self.clock.now_int()
            self.deleted[entity][entity_id] = gone
            if entity == "notes":
                self.record(
                    "common_note_deleted",
                    str(gone.get("entity_type", "leads")),
                    int(gone.get("entity_id") or 0),
                    before=[{"note": {"id": entity_id}}],
                    user_id=user_id,
                )
                continue
            self.record(
                f"{SINGULAR.get(entity, entity)}_deleted", entity, entity_id, user_id=user_id
            )

    def grant(self, token: str, expires: float, *, user_id: int) -> None:
        """Accept ``token`` as ``user_id``'s until ``expires`` (sandbox clock)."""
        self.tokens[token] = _Token(expires, user_id)

    def expire_sessions(self) -> None:
        """End every v2 session (their next call answers 401)."""
        self.sessions.clear()

    def expire_access_tokens(self) -> None:
        """End every OAuth access token (the long-lived ones stay)."""
        for info in self.tokens.values():
            if info.expires != float("inf"):
                info.expires = 0.0

    @property
    def blocked(self) -> bool:
        return self.limiter is not None and self.limiter.is_blocked()

    # -- HTTP ----------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        def respond(reply: Reply) -> Response:
            content = b"" if reply.body is None else orjson.dumps(reply.body)
            response = Response(content, reply.status, media_type=reply.kind if content else None)
            for name, value in reply.cookies.items():
                response.set_cookie(name, value, path="/", httponly=True)
            return response

        async def dispatch(request: Request) -> Any:
            if self.limiter is not None:
                verdict = self.limiter.hit()
                if verdict is Verdict.BLOCKED:
                    return Response(_BLOCK_PAGE, 403, media_type="text/html")
                if verdict is Verdict.LIMITED:
                    self.limited += 1
                    return Response(b"", 429)
            if self.subscription_ended:
                return respond(
                    problem(402, "Payment Required", detail="The account's subscription has ended")
                )
            path = request.url.path.rstrip("/")
            origin = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
            call = Call(
                request.method,
                [],
                request.url.query,
                await request.body(),
                request.headers,
                origin,
            )
            return respond(self.handle(path, call, request.cookies.get("session_id", "")))

        methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]
        return Starlette(routes=[Route("/{path:path}", dispatch, methods=methods)])

    def handle(self, path: str, call: Call, cookie: str) -> Reply:
        """Route one request (after the rate limit) to its handler."""
        if path == "/private/api/auth.php":
            return _auth.login(self, call)
        if path == "/oauth2/access_token":
            return _auth.token(self, call)
        if path.startswith("/api/v2/"):
            if self.sessions.get(cookie, 0) < self.clock.now():
                error = {"error": "Unauthorized", "error_code": "101"}
                return Reply(401, {"response": error}, "application/json")
            return _v2.handle(self, attrs.evolve(call, parts=path[8:].split("/")))
        if path.startswith("/api/v4/"):
            bearer = call.headers.get("authorization", "").removeprefix("Bearer ")
            token = self.tokens.get(bearer)
            if token is None or token.expires < self.clock.now():
                return problem(401, "Unauthorized", detail="Token is invalid or expired")
            call = attrs.evolve(call, parts=path[8:].split("/"), user_id=token.user_id)
            return _groups.handle(self, call) or _v4.handle(self, call)
        return not_found()

    def is_admin(self, user_id: int | None) -> bool:
        return any(u["id"] == user_id and u["rights"]["is_admin"] for u in self.users)


def _merge_fields(stored: dict[str, Any], fields: dict[str, Any]) -> list[dict[str, Any]]:
    """amoCRM's PATCH replaces the values of the custom fields it names, and keeps the rest."""
    merged = {
        f.get("field_id") or f.get("field_code"): f
        for f in stored.get("custom_fields_values") or []
    }
    for field in fields.get("custom_fields_values") or []:
        key = field.get("field_id") or field.get("field_code")
        merged[key] = {**merged.get(key, {}), **field}
    return list(merged.values())
