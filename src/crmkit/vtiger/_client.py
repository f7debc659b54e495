"""The vtiger client: operations over one Session, each with the HTTP method vtiger requires."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
import httpx

from .._client_base import ClientBase
from .._json import dumps_text
from .._log import logger
from .._pagination import AsyncPaginator, PageRequest, PaginatorState
from .._session import Session
from . import _wire, vtql
from ._auth import VtigerAuth
from ._errors import VtigerAccessDeniedError, error_mapper
from ._query import QueryStrategy, shape_query, statement
from ._sessions import SessionStore
from ._wire import (
    ENDPOINT,
    OPERATION_METHODS,
    SYNC_TYPES,
    WIDEST_SYNC_TYPE,
    Record,
    SyncChange,
    VtigerId,
)

__all__ = ["Vtiger"]


class Vtiger(ClientBase):
    """A vtiger CRM (ABMS and other vtiger-based CRMs) as one user.

    ``url`` is the CRM's address (``https://app.abms.co``) or its full
    ``.../webservice.php``. Logging in (challenge, then ``md5(token + access_key)``)
    happens on the first call, once however many tasks make it, and again when
    the session expires. Workers that log in as the same user should share
    one ``session_store`` (:class:`MemorySessionStore` in one process,
    :class:`RedisSessionStore` across processes): they then use one session and
    log in one at a time; a client with a shared store does not log out on
    close. Other keywords go to :class:`crmkit.Session`.
    """

    def __init__(
        self,
        url: str,
        username: str,
        access_key: str,
        *,
        session_store: SessionStore | None = None,
        **session_options: Any,
    ) -> None:
        if not username or not access_key:
            raise ValueError("Vtiger needs a username and the user's access key")
        self.endpoint = _wire.endpoint_url(url)
        self.auth = VtigerAuth(self.endpoint, username, access_key, store=session_store)
        session_options.setdefault("error_mapper", error_mapper)
        base = self.endpoint.rsplit("/", 1)[0]
        self.session = Session(base, auth=self.auth, **session_options)
        self._described: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"<Vtiger {self.endpoint} user={self.auth.username!r}>"

    async def aclose(self) -> None:
        """Log out (when logged in, and the session is not shared) and close the Session."""
        if self.auth.session is not None and not self.auth.shared and not self.session.closed:
            try:
                await self.call("logout", "POST")
            except Exception:  # closing must not fail because the session had already gone
                pass
            self.auth.session = None
        await super().aclose()

    # -- the one way a call is made ---------------------------------------------

    async def call(self, operation: str, method: str | None = None, **params: Any) -> Any:
        """Call ``operation`` (custom ones too) and return its ``result``.

        ``method`` defaults to the operation's type in vtiger's operation table
        (:data:`OPERATION_METHODS`: GET for reads, POST for writes, POST for an
        operation it does not list); mappings and lists are sent as JSON.
        """
        method = (method or OPERATION_METHODS.get(operation, "POST")).upper()
        fields = {"operation": operation}
        for key, value in params.items():
            if value is None:
                continue
            fields[key] = dumps_text(value) if isinstance(value, (Mapping, list)) else str(value)
        if method == "GET":
            response = await self.session.request("GET", ENDPOINT, params=fields)
        else:
            response = await self.session.request("POST", ENDPOINT, data=fields, idempotent=False)
        return _wire.result_of(response)

    # -- queries -------------------------------------------------------------

    def query(
        self,
        query: str,
        *,
        limit: int | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[Record]:
        """Every record of a VTQL query, page by page (100 rows, or the server's clamp).

        A query with no ORDER BY and no OR is paged by id (``id > last ORDER BY
        id``), so records added or deleted during the run neither vanish nor
        repeat; others get ``ORDER BY id`` when they have no ORDER BY and are
        paged by offset. A query's own ``LIMIT [offset,] count`` is the total to
        fetch, in as many pages as the server's clamp needs. The ``;`` is added
        when missing; ``;`` inside a query and comments are refused
        (ValueError). Build queries with :mod:`crmkit.vtiger.vtql` to keep values
        from changing them.
        """
        strategy = QueryStrategy(shape_query(query))
        return AsyncPaginator(self._fetch_query, strategy, limit=limit, resume_from=resume_from)

    async def query_one(self, query: str) -> Record | None:
        """The first record of a query, or None (asks for one row)."""
        paginator = AsyncPaginator(
            self._fetch_query, QueryStrategy(shape_query(query)), page_size=1, limit=1
        )
        return await paginator.first()

    async def _fetch_query(self, page: PageRequest) -> httpx.Response:
        """A query page naming the session the client has, which the auth then keeps.

        The Session builds the page's URL once; the auth adding the session after it
        would build it again (a second parse of the URL, each page). A session
        replaced meanwhile (a login by another task) is replaced there by the auth.
        """
        session = self.auth.session
        if session and type(page.params) is dict:
            page = attrs.evolve(page, params={**page.params, "sessionName": session})
        return await self._fetch(page)

    async def count(self, module: str, where: Mapping[str, Any] | None = None) -> int:
        """How many records of ``module`` match ``where``."""
        query = f"SELECT count(*) FROM {vtql.identifier(module)}"
        if where:
            query += f" WHERE {vtql.where(where)}"
        rows = await self.call("query", query=query + ";")
        if rows == []:
            return 0
        try:
            return int(rows[0]["count"])
        except (TypeError, KeyError, IndexError, ValueError):
            raise _wire.malformed("count", "[{'count': n}]") from None

    # -- records -------------------------------------------------------------

    async def retrieve(self, id: str | VtigerId) -> Record:
        """Record ``id`` (``NotFoundError`` when there is none)."""
        return _wire.record_of(await self.call("retrieve", id=str(VtigerId.parse(id))), "retrieve")

    async def create(self, module: str, fields: Mapping[str, Any]) -> Record:
        """Create a ``module`` record from ``fields``; returns it as vtiger stored it."""
        element = dict(fields)
        result = await self.call("create", elementType=vtql.identifier(module), element=element)
        return _wire.record_of(result, "create")

    async def update(self, record: Mapping[str, Any]) -> Record:
        """Replace a whole record (it must carry its ``id``); see :meth:`revise` for a part."""
        if not record.get("id"):
            raise ValueError("update needs the whole record, with its id")
        element = dict(record)
        element["id"] = str(VtigerId.parse(element["id"]))
        return _wire.record_of(await self.call("update", element=element), "update")

    async def revise(self, id: str | VtigerId, fields: Mapping[str, Any]) -> Record:
        """Change only ``fields`` of record ``id``."""
        element = {**fields, "id": str(VtigerId.parse(id))}
        return _wire.record_of(await self.call("revise", element=element), "revise")

    async def delete(self, id: str | VtigerId) -> None:
        """Delete record ``id`` (``sync`` reports it as deleted)."""
        await self.call("delete", id=str(VtigerId.parse(id)))

    async def describe(self, module: str) -> dict[str, Any]:
        """The module's fields and rules (cached for the life of this client)."""
        if module not in self._described:
            result = await self.call("describe", elementType=vtql.identifier(module))
            if not isinstance(result, Mapping) or not isinstance(result.get("fields", []), list):
                raise _wire.malformed("describe", "an object with a list of fields")
            self._described[module] = dict(result)
        return self._described[module]

    async def list_types(self) -> list[str]:
        """The names of the modules this user may use."""
        result = await self.call("listtypes")
        types = result.get("types") if isinstance(result, Mapping) else None
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise _wire.malformed("listtypes", "an object with a list of type names")
        return types

    # -- related records -------------------------------------------------------

    async def related_types(self, module: str) -> dict[str, Any]:
        """``relatedtypes``: the modules related to ``module``.

        ``{"types": [module, ...], "information": {label: {"name", "label", "isEntity"}}}``;
        a label is what :meth:`retrieve_related` and :meth:`query_related` take.
        """
        result = await self.call("relatedtypes", elementType=vtql.identifier(module))
        if not isinstance(result, dict) or not isinstance(result.get("types"), list):
            raise _wire.malformed("relatedtypes", "an object with types")
        return result

    async def retrieve_related(
        self, id: str | VtigerId, related_type: str, related_label: str | None = None
    ) -> list[Record]:
        """Every ``related_type`` record related to record ``id`` (through ``related_label``,
        by default the label that equals ``related_type``, as vtiger names most lists)."""
        rows = await self.call(
            "retrieve_related",
            id=str(VtigerId.parse(id)),
            relatedType=vtql.identifier(related_type),
            relatedLabel=related_label or related_type,
        )
        return _wire.records_of(rows, "retrieve_related")

    async def query_related(
        self, query: str, id: str | VtigerId, related_label: str
    ) -> list[Record]:
        """The records of a VTQL ``query`` on a related module, among those related to ``id``.

        vtiger adds ``id IN (...)`` to the query's WHERE and ends it with ``;`` itself,
        so the query is sent without its ``;``; it is not paged (vtiger's row clamp holds).
        """
        rows = await self.call(
            "query_related",
            query=statement(query),
            id=str(VtigerId.parse(id)),
            relatedLabel=related_label,
        )
        return _wire.records_of(rows, "query_related")

    # -- the change feed -------------------------------------------------------

    def sync(
        self,
        module: str | None = None,
        modified_since: datetime | None = None,
        *,
        sync_type: str | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[SyncChange]:
        """Changes since ``modified_since``: updated records and deleted ids, window by window.

        ``sync_type`` says whose records: ``"application"`` (every owner; admins
        only), ``"userandgroup"`` (the user's and the user's groups') or
        ``"user"`` (the user's own, vtiger's default when none is sent). By default
        the widest the user may use: ``application`` for an admin, else
        ``userandgroup``; when vtiger refuses ``application`` the client falls back
        to ``userandgroup`` and logs it once. Loops on ``more`` with
        ``lastModifiedTime``; pass ``.watermark`` as ``modified_since`` next time,
        or keep ``.state`` and resume the feed.
        """
        if sync_type is not None and sync_type not in SYNC_TYPES:
            raise ValueError(f"sync_type must be one of {', '.join(SYNC_TYPES)}, not {sync_type!r}")
        strategy = _wire.SyncStrategy(vtql.identifier(module) if module else None, sync_type)
        fetch = self._fetch if sync_type is not None else self._fetch_widest_sync
        return AsyncPaginator(
            fetch, strategy, modified_since=modified_since, resume_from=resume_from
        )

    async def _fetch_widest_sync(self, page: PageRequest) -> httpx.Response:
        """A sync window with the widest ``syncType`` this user may use (see ``sync``)."""
        widest = attrs.evolve(page, params={**page.params, "syncType": WIDEST_SYNC_TYPE})
        try:
            return await self._fetch(widest)
        except VtigerAccessDeniedError as refused:
            if "syncType=application" not in (refused.url or "") or (
                self.auth.application_sync_refused
            ):
                raise
            logger.warning(
                "vtiger refused an application-wide sync to %s (%s): falling back to "
                "syncType=userandgroup, the records of this user and of the user's groups",
                self.auth.username,
                refused.message,
            )
            self.auth.application_sync_refused = True
            return await self._fetch(widest)
