"""The entity resources: ``amo.leads``, ``contacts``, ``companies``, ``customers``, ``tasks``.

One generic class serves them all (list/get/add/update, both dialects), as
amoCRM serves them from one shape (``/api/v4/{entity}``; the official PHP
SDK's ``EntitiesServices/Leads.php`` and its siblings differ only in names).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from ..._json import reading, response_json
from ..._models import from_wire, to_wire
from ..._pagination import AsyncPaginator, PaginatorState, server_date
from ..._results import WriteResult, outcome_unknown
from ...errors import (
    AccountBlockedError,
    AuthenticationError,
    CRMError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProtocolError,
    ServerError,
    TransportError,
    ValidationError,
)
from .. import _v2_fields, _wire
from . import _exactly_once

if TYPE_CHECKING:
    from .._client import AmoCRM

__all__ = ["EntityResource"]

M = TypeVar("M")
#: Errors after which a bulk write sends nothing more (the rest are reported not sent).
_STOPPING = (AccountBlockedError, AuthenticationError, PaymentRequiredError, PermissionDeniedError)


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
        item_path: str | None = None,
        v2_params: Mapping[str, Any] | None = None,
        parent: str | None = None,
    ) -> None:
        self._client = client
        self.entity = entity
        self.model = model
        self._v4_path = v4_path or entity
        #: Where one entity lives (``leads/notes`` for ``leads/5/notes``'s notes).
        self._item_path = item_path or self._v4_path
        self._v2_params = dict(v2_params or {})
        self._parent = parent

    def list(
        self,
        *,
        modified_since: datetime | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
        order: Mapping[str, str] | None = None,
        query: str | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
        **params: Any,
    ) -> AsyncPaginator[M]:
        """Every entity (matching ``filter``/``query``), page by page.

        ``modified_since`` sends ``If-Modified-Since`` (and, in v4,
        ``filter[updated_at][from]``); ``paginator.watermark`` is the value for
        the next incremental run. Dates in ``filter`` (aware datetimes) go as
        unix seconds; a naive one is a ValueError. v4 lists of leads, contacts,
        companies, customers and notes page in ``order[updated_at]=asc`` unless
        ``order`` says otherwise. Page sizes are capped at 500 (v2) / 250 (v4).
        """
        extra = _wire.list_params(
            self.entity,
            self._client.api_version,
            filter=filter,
            order=order,
            query=query,
            params=params,
        )
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
        """One entity by id (``GET /api/v4/{entity}/{id}``); ``NotFoundError`` if none."""
        if isinstance(id, bool) or not isinstance(id, int) or id < 1:
            raise ValueError(f"id must be a positive integer, not {id!r}")
        if self._client.api_version == 2:
            found = await self.list(page_size=1, id=id).first()
        else:
            response = await self._client.session.request(
                "GET", f"api/v4/{self._item_path}/{int(id)}"
            )
            found = (
                None
                if response.status_code == 204
                else from_wire(response_json(response), self.model)
            )
        if found is None:
            raise NotFoundError(f"amoCRM has no {self.entity} with id {id}", status=204)
        return found

    async def add(self, items: Sequence[Any], *, key: str | int | None = None) -> WriteResult:
        """Create entities, 250 per request; new ids in input order, failures kept per item.

        Without ``key`` a chunk whose outcome is unknown (a 5xx, a lost
        connection, an answer cut short) is never sent again: its items are
        reported "outcome unknown". With ``key`` (a field whose value tells
        every item apart: ``"name"``, or a custom field's int id) crmkit looks
        the chunk's entities up, takes the ids of those amoCRM created, and
        sends only the others again: each item is created exactly once
        (see :mod:`crmkit.amocrm.resources._exactly_once`).
        """
        write = _Write("add", [_wire_item(item) for item in items])
        if key is not None:
            write.key, write.keys = key, _exactly_once.keys_of(write.wired, key)
        return await self._write(write)

    async def update(self, items: Sequence[Any] | Any) -> WriteResult:
        """Update entities (each with its ``id``), 250 per request.

        One entity (a model or a mapping, not in a list) goes as
        ``PATCH /api/v4/{entity}/{id}`` with an object, as amoCRM's docs and
        the official PHP SDK's ``updateOne`` send it.
        """
        if attrs.has(type(items)) or isinstance(items, Mapping):
            return await self._update_one(_wire_item(items))
        write = _Write("update", [_wire_item(item) for item in items])
        for n, item in enumerate(write.wired):
            if not item.get("id"):
                raise ValueError(f"update: item {n} has no id")
        return await self._write(write)

    async def _update_one(self, item: dict[str, Any]) -> WriteResult:
        if not item.get("id"):
            raise ValueError("update: the entity has no id")
        if self._client.api_version == 2:
            return await self._write(_Write("update", [item]))
        try:
            response = await self._client.session.request(
                "PATCH", f"api/v4/{self._item_path}/{int(item['id'])}", json=item, idempotent=True
            )
        except ValidationError as exc:
            return WriteResult([None], {0: exc.details or str(exc)})
        body = response_json(response)
        found = body.get("id") if isinstance(body, Mapping) else None
        return WriteResult([int(found) if found is not None else int(item["id"])], {})

    async def _write(self, write: _Write) -> WriteResult:
        """Every chunk once, in order; what each chunk did is kept, whatever the next does.

        After an error that ends all sending (a block, refused credentials, an
        unpaid account) the remaining items are reported as not sent.
        """
        total = len(write.wired)
        stopped: CRMError | None = None
        for start in range(0, total, _wire.WRITE_CHUNK):
            indices = builtins.list(range(start, min(start + _wire.WRITE_CHUNK, total)))
            if stopped is not None:
                write.fail(indices, f"not sent: an earlier chunk ended the run ({stopped})")
                continue
            try:
                await self._write_chunk(write, indices)
            except _STOPPING as exc:
                write.fail(indices, str(exc))
                stopped = exc
        return WriteResult(write.ids, write.errors)

    async def _write_chunk(self, write: _Write, indices: builtins.list[int]) -> None:
        sent = time.monotonic()
        try:
            await self._send(write, indices)
        except _STOPPING:
            raise
        except (ServerError, TransportError, ProtocolError) as exc:
            status = getattr(exc, "status", None)
            if write.action == "update" and status == 504 and len(indices) > 1:
                # "504 means send fewer"; an update is safe to send again: halve it
                half = len(indices) // 2
                await self._write_chunk(write, indices[:half])
                await self._write_chunk(write, indices[half:])
                return
            if write.action == "add" and write.key is not None:
                await self._add_exactly_once(write, indices, exc, sent)
                return
            if write.action == "add":
                # A gateway's 504 (or a lost or garbled answer) often comes after the
                # write committed: sending it again could create every item twice.
                write.fail(
                    indices,
                    f"outcome unknown ({exc}): amoCRM may have created these; "
                    "crmkit did not send them again: check before retrying",
                )
                return
            write.fail(indices, str(exc))
        except CRMError as exc:
            write.fail(indices, getattr(exc, "details", None) or str(exc))

    async def _send(self, write: _Write, indices: builtins.list[int]) -> None:
        if self._client.api_version == 2:
            await self._write_v2(write, indices)
        else:
            await self._write_v4(write, indices)

    async def _add_exactly_once(
        self, write: _Write, indices: builtins.list[int], unknown: CRMError, sent: float
    ) -> None:
        """After an unknown outcome: take what amoCRM created, send the rest again."""
        pending = [i for i in indices if write.ids[i] is None and i not in write.errors]
        session = self._client.session
        for attempt in range(session.retry.max_retries + 1):
            await session.clock.sleep(session.retry.backoff(attempt))  # let a late write land
            try:
                pending = await self._not_created(write, pending, sent)
            except CRMError as exc:
                write.fail(pending, f"outcome unknown ({unknown}); looking it up failed: {exc}")
                if isinstance(exc, _STOPPING):
                    raise
                return
            if not pending:
                return
            if attempt == session.retry.max_retries:
                break
            sent = time.monotonic()
            try:
                await self._send(write, pending)
                return
            except _STOPPING:
                raise
            except CRMError as exc:
                if not outcome_unknown(exc):
                    write.fail(pending, getattr(exc, "details", None) or str(exc))
                    return
                unknown = exc
        write.fail(
            pending,
            f"not created: every attempt ended with an unknown outcome (the last: {unknown}) "
            "and looking it up found nothing",
        )

    async def _not_created(
        self, write: _Write, pending: builtins.list[int], sent: float
    ) -> builtins.list[int]:
        """Take the ids of the ``pending`` items amoCRM created since ``sent``; return the rest."""
        assert write.key is not None
        # the smallest read of this very list: its Date is amoCRM's clock (a 204 has one too)
        if self._client.api_version == 2:
            path, params = f"api/v2/{self.entity}", {**self._v2_params, "limit_rows": 1}
        else:
            path, params = f"api/v4/{self._v4_path}", {"limit": 1}
        probe = await self._client.session.request("GET", path, params=params)
        server_now = server_date(probe)
        if server_now is None:
            raise _wire.protocol_error(probe, "amoCRM's answer has no Date to bound a look-up by")
        bound = _exactly_once.since(server_now, time.monotonic() - sent)
        wanted = {write.keys[i]: i for i in pending}
        async for entity in self.list(modified_since=bound):
            wired = _wire_item(entity)
            created = getattr(entity, "created_at", None)
            index = wanted.get(_exactly_once.key_value(wired, write.key) or "")
            if index is not None and (created is None or created >= bound) and wired.get("id"):
                write.ids[index] = int(wired["id"])
        return [i for i in pending if write.ids[i] is None]

    async def _write_v4(self, write: _Write, indices: builtins.list[int]) -> None:
        method = "POST" if write.action == "add" else "PATCH"
        pending = indices
        while pending:
            body = [{**write.wired[i], "request_id": str(i)} for i in pending]
            try:
                response = await self._client.session.request(
                    method, f"api/v4/{self._v4_path}", json=body, idempotent=method == "PATCH"
                )
            except ValidationError as exc:
                # only request_ids of this chunk count: one outside it would repeat it for ever
                named = _v4_failures(exc.details)
                failed = {i: named[i] for i in pending if i in named}
                if not failed:
                    write.fail(pending, exc.details or str(exc))
                    return
                write.errors.update(failed)
                pending = [i for i in pending if i not in failed]  # the others, once more
                continue
            write.take_ids(_wire._embedded(response, self.entity), pending)
            return

    async def _write_v2(self, write: _Write, indices: builtins.list[int]) -> None:
        now = int(datetime.now(timezone.utc).timestamp())
        update = write.action == "update"
        rows = [
            {**_v2_fields.v4_to_v2(write.wired[i], self.entity, self._parent), "request_id": str(i)}
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
        with reading("amoCRM's v2 write answer", response):  # "_embedded": "x" is no crash
            embedded = body.get("_embedded", {}) if isinstance(body, Mapping) else {}
            write.take_ids(embedded.get("items") or [], indices)
            failures = (embedded.get("errors") or {}).get(write.action) or {}
        if not isinstance(failures, Mapping):
            raise _wire.protocol_error(response, "amoCRM's v2 errors are not keyed by position")
        for position, message in failures.items():
            if not str(position).isdigit() or int(position) >= len(indices):
                raise _wire.protocol_error(
                    response, f"amoCRM's v2 answer names item {position!r} outside the request"
                )
            write.errors[indices[int(position)]] = message


@attrs.define
class _Write:
    """One add/update in progress: the items as sent, and what came back for each."""

    action: str
    wired: list[dict[str, Any]]
    ids: list[int | None] = attrs.field()
    errors: dict[int, Any] = attrs.field(factory=dict)
    #: The field that tells items apart (``add(key=)``), and each item's value of it.
    key: str | int | None = None
    keys: list[str] = attrs.field(factory=list)

    @ids.default
    def _no_ids(self) -> list[int | None]:
        return [None] * len(self.wired)

    def fail(self, indices: Sequence[int], error: Any) -> None:
        """Record ``error`` for every item of ``indices`` that has no id and no error yet."""
        for index in indices:
            if self.ids[index] is None:
                self.errors.setdefault(index, error)

    def take_ids(self, rows: Sequence[Any], indices: Sequence[int]) -> None:
        """Record the ids of an answer's rows, matched to items by ``request_id``."""
        wanted = set(indices)
        for row in rows:
            if not isinstance(row, Mapping):
                continue
            request_id = str(row.get("request_id", ""))
            index = int(request_id) if request_id.isdigit() else -1
            if index in wanted and str(row.get("id", "")).isdigit():
                self.ids[index] = int(row["id"])


def _v4_failures(details: Any) -> dict[int, Any]:
    failed: dict[int, Any] = {}
    for entry in details or []:
        if isinstance(entry, Mapping) and str(entry.get("request_id", "")).isdigit():
            failed[int(entry["request_id"])] = entry.get("errors")
    return failed
