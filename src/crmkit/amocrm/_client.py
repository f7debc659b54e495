"""The amoCRM client: resources over one Session, in either dialect, built by ``_wire``."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

import attrs
import httpx

from .._client_base import ClientBase
from .._json import reading, response_json
from .._models import from_wire, to_wire
from .._pagination import AsyncPaginator, PaginatorState
from .._params import encode_query
from .._results import WriteResult
from .._session import Session
from ..errors import NotFoundError, ServerError, ValidationError
from . import _wire
from ._auth import CookieLogin, MemoryTokenStore, OAuth, OAuthCredentials, TokenStore
from .models import Account, Company, Contact, Customer, Lead, Note, Pipeline, Task

__all__ = ["AmoCRM", "WriteResult"]

M = TypeVar("M")
#: The vendor's current figure per account (the older brief says 1/s: pass rate_limit=1).
DEFAULT_RATE_LIMIT = 7.0
_SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _wire_item(item: Any) -> dict[str, Any]:
    data = to_wire(item) if attrs.has(type(item)) else dict(item)
    return {
        k: int(v.timestamp()) if isinstance(v, datetime) else v
        for k, v in data.items()
        if v is not None
    }


class EntityResource(Generic[M]):
    """``leads``, ``contacts``, ``companies``, ``customers`` or ``tasks``.

    (Notes hang under one of these: :class:`NotesResource`.)
    """

    def __init__(
        self,
        client: AmoCRM,
        entity: str,
        model: type[M],
        *,
        v4_path: str | None = None,
        v2_params: Mapping[str, Any] | None = None,
    ) -> None:
        self._client = client
        self.entity = entity
        self.model = model
        self._v4_path = v4_path or entity
        self._v2_params = dict(v2_params or {})

    def list(
        self,
        *,
        modified_since: datetime | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
        query: str | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
        **params: Any,
    ) -> AsyncPaginator[M]:
        """Every entity (matching ``filter``/``query``), page by page.

        ``modified_since`` sends ``If-Modified-Since`` (and, in v4,
        ``filter[updated_at][from]``); ``paginator.watermark`` is the value for
        the next incremental run. Page sizes are capped at 500 (v2) / 250 (v4).
        """
        extra: dict[str, Any] = dict(params)
        for key, value in encode_query({"filter": filter or {}}):
            # filter[id][]=1&filter[id][]=2: a repeated name keeps every value
            extra.setdefault(key, []).append(value)
        if query:
            extra["query"] = query
        strategy: _wire.V2ListStrategy[M] | _wire.V4ListStrategy[M]
        if self._client.api_version == 2:
            strategy = _wire.V2ListStrategy(self.entity, self.model, {**self._v2_params, **extra})
        else:
            strategy = _wire.V4ListStrategy(self.entity, self.model, extra, path=self._v4_path)
        return AsyncPaginator(
            self._client._fetch,
            strategy,
            page_size=page_size,
            limit=limit,
            modified_since=modified_since,
            resume_from=resume_from,
        )

    async def get(self, id: int) -> M:
        """One entity by id; ``NotFoundError`` when there is none."""
        if isinstance(id, bool) or not isinstance(id, int) or id < 1:
            raise ValueError(f"id must be a positive integer, not {id!r}")
        if self._client.api_version == 2:
            found = await self.list(page_size=1, id=id).first()
        else:
            response = await self._client.session.request("GET", f"api/v4/{self._v4_path}/{id}")
            found = (
                None
                if response.status_code == 204
                else from_wire(response_json(response), self.model)
            )
        if found is None:
            raise NotFoundError(f"amoCRM has no {self.entity} with id {id}", status=204)
        return found

    async def add(self, items: Sequence[Any]) -> WriteResult:
        """Create entities, 250 per request; new ids in input order, failures kept per item."""
        return await self._write(_Write("add", [_wire_item(item) for item in items]))

    async def update(self, items: Sequence[Any]) -> WriteResult:
        """Update entities (each with its ``id``), 250 per request."""
        write = _Write("update", [_wire_item(item) for item in items])
        for n, item in enumerate(write.wired):
            if not item.get("id"):
                raise ValueError(f"update: item {n} has no id")
        return await self._write(write)

    async def _write(self, write: _Write) -> WriteResult:
        total = len(write.wired)
        for start in range(0, total, _wire.WRITE_CHUNK):
            await self._write_chunk(
                write, builtins.list(range(start, min(start + _wire.WRITE_CHUNK, total)))
            )
        return WriteResult(write.ids, write.errors)

    async def _write_chunk(self, write: _Write, indices: builtins.list[int]) -> None:
        try:
            if self._client.api_version == 2:
                await self._write_v2(write, indices)
            else:
                await self._write_v4(write, indices)
        except ServerError as exc:
            if exc.status != 504 or len(indices) == 1:
                raise
            half = len(indices) // 2  # "504 means send fewer": halve and go on
            await self._write_chunk(write, indices[:half])
            await self._write_chunk(write, indices[half:])

    async def _write_v4(self, write: _Write, indices: builtins.list[int]) -> None:
        body = [{**write.wired[i], "request_id": str(i)} for i in indices]
        method = "POST" if write.action == "add" else "PATCH"
        try:
            response = await self._client.session.request(
                method, f"api/v4/{self._v4_path}", json=body, idempotent=write.action == "update"
            )
        except ValidationError as exc:
            failed = _v4_failures(exc.details)
            if not failed:
                raise
            write.errors.update({i: failed[i] for i in indices if i in failed})
            rest = [i for i in indices if i not in failed]
            if rest:  # the chunk was refused as a whole: send the others again
                await self._write_v4(write, rest)
            return
        write.take_ids(_wire._embedded(response, self.entity), indices)

    async def _write_v2(self, write: _Write, indices: builtins.list[int]) -> None:
        now = int(datetime.now(timezone.utc).timestamp())
        update = write.action == "update"
        rows = [
            {**_wire.v4_to_v2(write.wired[i]), "request_id": str(i)}
            | ({"updated_at": write.wired[i].get("updated_at", now)} if update else {})
            for i in indices
        ]
        response = await self._client.session.request(
            "POST",
            f"api/v2/{self.entity}",
            params=self._v2_params or None,
            json={write.action: rows},
            idempotent=update,
        )
        body = response_json(response)
        with reading("the write answer", response):
            embedded = body.get("_embedded", {}) if isinstance(body, Mapping) else {}
            write.take_ids(embedded.get("items") or [], indices)
            failures = (embedded.get("errors") or {}).get(write.action) or {}
            for position, message in dict(failures).items():
                write.errors[indices[int(position)]] = message


@attrs.define
class _Write:
    """One add/update in progress: the items as sent, and what came back for each."""

    action: str
    wired: list[dict[str, Any]]
    ids: list[int | None] = attrs.field()
    errors: dict[int, Any] = attrs.field(factory=dict)

    @ids.default
    def _no_ids(self) -> list[int | None]:
        return [None] * len(self.wired)

    def take_ids(self, rows: Sequence[Any], indices: Sequence[int]) -> None:
        """Record the ids of an answer's rows, matched to items by ``request_id``."""
        wanted = set(indices)
        with reading("the write answer's rows"):
            for row in rows:
                index = int(row.get("request_id", -1))
                if index in wanted:
                    self.ids[index] = int(row["id"])


class NotesResource:
    """Notes, which amoCRM keeps under their parent's type.

    ``amo.notes.list(entity_type="contacts")`` reads ``/api/v4/contacts/notes``
    (v2: ``/api/v2/notes?type=contact``); ``entity_type`` is one of ``leads``
    (the default), ``contacts``, ``companies``, ``customers``, ``tasks``
    (v2 only). ``amo.notes.of("contacts")`` is the resource for one type, with
    the same methods as ``amo.leads``.
    """

    def __init__(self, client: AmoCRM) -> None:
        self._client = client

    def of(self, entity_type: str) -> EntityResource[Note]:
        """The notes of one parent type (``"leads"``, ``"contacts"`` ...)."""
        if entity_type not in _wire.NOTE_PARENTS:
            raise ValueError(
                f"notes: entity_type must be one of {', '.join(_wire.NOTE_PARENTS)}, "
                f"not {entity_type!r}"
            )
        return EntityResource(
            self._client,
            "notes",
            Note,
            v4_path=f"{entity_type}/notes",
            v2_params={"type": _wire.NOTE_PARENTS[entity_type]},
        )

    def list(self, *, entity_type: str = "leads", **options: Any) -> AsyncPaginator[Note]:
        """Notes of one parent type; the other keywords are ``leads.list``'s."""
        return self.of(entity_type).list(**options)

    async def get(self, id: int, *, entity_type: str = "leads") -> Note:
        """One note by id."""
        return await self.of(entity_type).get(id)

    async def add(self, items: Sequence[Any], *, entity_type: str = "leads") -> WriteResult:
        """Add notes (each with ``entity_id``, ``note_type``, ``params``)."""
        return await self.of(entity_type).add(items)

    async def update(self, items: Sequence[Any], *, entity_type: str = "leads") -> WriteResult:
        """Update notes (each with its ``id``)."""
        return await self.of(entity_type).update(items)


def _v4_failures(details: Any) -> dict[int, Any]:
    failed: dict[int, Any] = {}
    for entry in details or []:
        if isinstance(entry, Mapping) and str(entry.get("request_id", "")).isdigit():
            failed[int(entry["request_id"])] = entry.get("errors")
    return failed


class AmoCRM(ClientBase):
    """An amoCRM (Kommo) account, API v4 (default) or the legacy v2.

    - v4: ``access_token`` (a long-lived token) or ``oauth=OAuthCredentials(...)``
      (optionally with ``token_store=``) for refreshable OAuth2 tokens;
    - v2: ``login`` (the user's e-mail) and ``api_key`` (``USER_HASH``).

    ``base_url`` defaults to ``https://{subdomain}.amocrm.ru``; pass it for
    ``.amocrm.com`` or ``.kommo.com`` accounts. The default rate limit is 7
    requests/s, never bursting (the vendor's current figure; the older brief
    says 1/s: pass ``rate_limit=1`` to follow it). Other keywords go to
    :class:`crmkit.Session`.
    """

    def __init__(
        self,
        subdomain: str | None = None,
        *,
        base_url: str | None = None,
        api_version: int = 4,
        access_token: str | None = None,
        oauth: OAuthCredentials | None = None,
        token_store: TokenStore | None = None,
        login: str | None = None,
        api_key: str | None = None,
        **session_options: Any,
    ) -> None:
        if base_url is None:
            if not subdomain:
                raise ValueError("AmoCRM needs a subdomain or a base_url")
            if not _SUBDOMAIN.fullmatch(subdomain):  # "evil.test/x?" would send the token away
                raise ValueError(
                    f"subdomain must be the account's name (like 'acme'), not {subdomain!r}"
                )
            base_url = f"https://{subdomain}.amocrm.ru"
        if api_version not in (2, 4):
            raise ValueError(f"api_version must be 2 or 4, not {api_version!r}")
        self.api_version = api_version
        self.base_url = base_url.rstrip("/")
        auth: httpx.Auth | None = None
        headers = dict(session_options.pop("headers", {}))
        if api_version == 2:
            if not (login and api_key):
                raise ValueError("API v2 needs login (the user's e-mail) and api_key")
            auth = self.cookie_login = CookieLogin(self.base_url, login, api_key)
        elif access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        elif oauth is not None or token_store is not None:
            auth = self.oauth = OAuth(self.base_url, token_store or MemoryTokenStore(oauth), oauth)
        else:
            raise ValueError("API v4 needs access_token, or oauth=OAuthCredentials(...)")
        if "rate_limit" not in session_options and "throttle" not in session_options:
            session_options["rate_limit"] = DEFAULT_RATE_LIMIT
        session_options.setdefault("error_mapper", _wire.ErrorMapper())
        self.session = Session(self.base_url, auth=auth, headers=headers, **session_options)
        self.leads = EntityResource(self, "leads", Lead)
        self.contacts = EntityResource(self, "contacts", Contact)
        self.companies = EntityResource(self, "companies", Company)
        self.customers = EntityResource(self, "customers", Customer)
        self.tasks = EntityResource(self, "tasks", Task)
        self.notes = NotesResource(self)

    def __repr__(self) -> str:
        return f"<AmoCRM {self.base_url} api v{self.api_version}>"

    async def account(self) -> Account:
        path = "api/v2/account" if self.api_version == 2 else "api/v4/account"
        response = await self.session.request("GET", path)
        return from_wire(response_json(response), Account)

    async def pipelines(self) -> list[Pipeline]:
        path = "api/v2/pipelines" if self.api_version == 2 else "api/v4/leads/pipelines"
        response = await self.session.request("GET", path)
        key = "items" if self.api_version == 2 else "pipelines"
        return [from_wire(p, Pipeline) for p in _wire._embedded(response, key)]
