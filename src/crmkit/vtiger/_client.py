"""The vtiger client: operations over one Session, each with the HTTP method vtiger requires."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._client_base import ClientBase
from .._json import dumps_text, reading
from .._pagination import AsyncPaginator, PaginatorState
from .._session import Session
from . import _wire, vtql
from ._auth import VtigerAuth
from ._wire import ENDPOINT, GET_OPERATIONS, Record, SyncChange, VtigerId

__all__ = ["Vtiger"]


class Vtiger(ClientBase):
    """A vtiger CRM (ABMS and other vtiger-based CRMs) as one user.

    ``url`` is the CRM's address (``https://app.abms.co``) or its full
    ``.../webservice.php``. Logging in (challenge, then ``md5(token + access_key)``)
    happens on the first call, once however many tasks make it, and again when
    the session expires. Other keywords go to :class:`crmkit.Session`.
    """

    def __init__(self, url: str, username: str, access_key: str, **session_options: Any) -> None:
        if not username or not access_key:
            raise ValueError("Vtiger needs a username and the user's access key")
        self.endpoint = _wire.endpoint_url(url)
        self.auth = VtigerAuth(self.endpoint, username, access_key)
        session_options.setdefault("error_mapper", _wire.error_mapper)
        base = self.endpoint.rsplit("/", 1)[0]
        self.session = Session(base, auth=self.auth, **session_options)
        self._described: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"<Vtiger {self.endpoint} user={self.auth.username!r}>"

    async def aclose(self) -> None:
        """Log out (when logged in) and close the Session."""
        if self.auth.session is not None and not self.session.closed:
            try:
                await self.call("logout", "POST")
            except Exception:  # closing must not fail because the session had already gone
                pass
            self.auth.session = None
        await super().aclose()

    # -- the one way a call is made ---------------------------------------------

    async def call(self, operation: str, method: str | None = None, **params: Any) -> Any:
        """Call ``operation`` (custom ones too) and return its ``result``.

        ``method`` defaults to what vtiger requires for the standard operations
        (GET for reads, POST for writes); mappings and lists are sent as JSON.
        """
        method = (method or ("GET" if operation in GET_OPERATIONS else "POST")).upper()
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
        """Every record of a VTQL query, paged with ``LIMIT offset, 100``.

        The trailing ``;`` is added when missing; a query with its own LIMIT runs
        as given, in one request. Build queries with :mod:`crmkit.vtiger.vtql`
        to keep values from changing them.
        """
        text, has_limit = _wire.finish_query(query)
        strategy = _wire.QueryStrategy(text, has_limit)
        return AsyncPaginator(self._fetch, strategy, limit=limit, resume_from=resume_from)

    async def query_one(self, query: str) -> Record | None:
        """The first record of a query, or None."""
        return await self.query(query, limit=1).first()

    async def count(self, module: str, where: Mapping[str, Any] | None = None) -> int:
        """How many records of ``module`` match ``where``."""
        query = f"SELECT count(*) FROM {vtql.identifier(module)}"
        if where:
            query += f" WHERE {vtql.where(where)}"
        rows = await self.call("query", query=query + ";")
        with reading("the count answer"):
            return int(rows[0]["count"]) if rows else 0

    # -- records -------------------------------------------------------------

    async def retrieve(self, id: str | VtigerId) -> Record:
        return _record(await self.call("retrieve", id=str(VtigerId.parse(id))))

    async def create(self, module: str, fields: Mapping[str, Any]) -> Record:
        element = dict(fields)
        return _record(
            await self.call("create", elementType=vtql.identifier(module), element=element)
        )

    async def update(self, record: Mapping[str, Any]) -> Record:
        """Replace a whole record (it must carry its ``id``); see :meth:`revise` for a part."""
        if not record.get("id"):
            raise ValueError("update needs the whole record, with its id")
        element = dict(record)
        element["id"] = str(VtigerId.parse(element["id"]))
        return _record(await self.call("update", element=element))

    async def revise(self, id: str | VtigerId, fields: Mapping[str, Any]) -> Record:
        """Change only ``fields`` of record ``id``."""
        element = {**fields, "id": str(VtigerId.parse(id))}
        return _record(await self.call("revise", element=element))

    async def delete(self, id: str | VtigerId) -> None:
        await self.call("delete", id=str(VtigerId.parse(id)))

    async def describe(self, module: str) -> dict[str, Any]:
        """The module's fields and rules (cached for the life of this client)."""
        if module not in self._described:
            result = await self.call("describe", elementType=vtql.identifier(module))
            with reading("the describe answer"):
                self._described[module] = dict(result)
        return self._described[module]

    async def list_types(self) -> list[str]:
        result = await self.call("listtypes")
        with reading("the listtypes answer"):
            return list(result.get("types") or [])

    def sync(
        self,
        module: str | None = None,
        *,
        modified_since: datetime | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[SyncChange]:
        """Changes since ``modified_since``: updated records and deleted ids, window by window.

        Loops on ``more`` with ``lastModifiedTime``; pass ``.watermark`` as
        ``modified_since`` next time, or keep ``.state`` and resume the feed.
        """
        strategy = _wire.SyncStrategy(vtql.identifier(module) if module else None)
        return AsyncPaginator(
            self._fetch, strategy, modified_since=modified_since, resume_from=resume_from
        )


def _record(answer: Any) -> Record:
    """A record from an answer (a malformed one is a ProtocolError)."""
    with reading("the record in the answer"):
        return Record(answer)
