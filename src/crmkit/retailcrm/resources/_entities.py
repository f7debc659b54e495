"""Customers, corporate customers and orders: list, get, create, edit, upload, history.

Writes and repeats (checked against the vendor's clients and api-notes):

- ``edit`` is sent as safe to repeat: a repeated edit sets the same fields to
  the same values, so a 502/504 or a dropped connection is retried;
- ``create`` and ``upload`` land exactly once by ``externalId`` (``_writes.py``
  says how); an item without ``externalId`` is never repeated after an
  unknown outcome (the service would make a second entity);
- a 429 or 503 (the rate limit) is repeated for every method: the service did
  nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from ..._json import reading
from ..._models import from_wire
from ..._pagination import AsyncPaginator, PaginatorState
from ...errors import NotFoundError
from .. import _wire
from ..models import HistoryEntry, Order, Saved
from ._base import Listing
from ._writes import ExactlyOnceWrites

__all__ = ["By", "Customers", "EntityResource", "Orders"]

M = TypeVar("M")
By = Literal["id", "externalId"]
Entity = Mapping[str, Any] | Any


class EntityResource(Listing[M], ExactlyOnceWrites[M]):
    """``customers``, ``customers_corporate`` or ``orders``.

    ``list(filter=, site=)``: ``site`` (or the client's) filters by
    ``filter[sites][]``; datetimes in ``filter`` must be aware.
    """

    def __init__(
        self,
        client: Any,
        path: str,
        key: str,
        one: str,
        model: type[M],
        upload_keys: tuple[str, str],
    ) -> None:
        super().__init__(client, path, key, model, sites=True)
        self._one = one  # the single entity's key and form field ("customerCorporate")
        self._uploaded, self._failed = upload_keys

    async def get(self, uid: int | str, *, by: By = "externalId", site: str | None = None) -> M:
        """One entity by ``externalId`` (the API's default) or by ``id``."""
        body = await self._client.request(
            "GET", f"{self._path}/{_wire.segment(uid)}", params=self._by(by, site)
        )
        return from_wire(body.get(self._one), self._model, what=self._one)

    async def edit(
        self, entity: Entity, *, by: By = "externalId", site: str | None = None
    ) -> Saved[M]:
        """Edit the entity named by its ``externalId`` (or ``id`` with ``by="id"``)."""
        wired = _wire.entity_dict(entity)
        uid = wired.get(by)
        if uid in (None, ""):
            raise ValueError(f"edit(by={by!r}) needs the entity's {by!r}")
        body = await self._client.request(
            "POST",
            f"{self._path}/{_wire.segment(uid)}/edit",
            form={self._one: wired, **self._by(by, site)},
            idempotent=True,
        )
        return self._saved(body)

    async def fix_external_ids(
        self, pairs: Mapping[int, str] | Sequence[Mapping[str, Any]], *, site: str | None = None
    ) -> None:
        """Set ``externalId`` by ``id``: ``{id: externalId}`` or ``[{"id":..,"externalId":..}]``."""
        rows = (
            [{"id": int(k), "externalId": v} for k, v in pairs.items()]
            if isinstance(pairs, Mapping)
            else [dict(p) for p in pairs]
        )
        await self._client.request(
            "POST",
            f"{self._path}/fix-external-ids",
            form={self._key: rows, "site": self._site(site)},
        )

    def history(
        self,
        since_id: int | None = None,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        filter: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[HistoryEntry]:
        """Changes after ``since_id`` (all, when None), oldest first.

        Advances ``filter[sinceId]`` and never sends ``page``. ``start_date``
        and ``end_date`` (aware datetimes) bound the changes by time.
        ``.state.cursor`` is the id of the last change handed over: save the
        state and pass it as ``resume_from`` to continue exactly there.
        """
        filters = dict(filter or {})
        if start_date is not None:
            filters["startDate"] = start_date
        if end_date is not None:
            filters["endDate"] = end_date
        return self._history(
            f"{self._path}/history",
            HistoryEntry,
            since_id=since_id,
            filter=filters,
            page_size=page_size,
            limit=limit,
            resume_from=resume_from,
        )

    def _saved(self, body: Mapping[str, Any]) -> Saved[M]:
        sent = body.get(self._one)
        entity = from_wire(sent, self._model, what=self._one) if sent is not None else None
        with reading(f"the {self._one} answer"):
            return Saved(int(body["id"]) if "id" in body else None, entity)

    async def _existing(self, externals: Sequence[str], site: str | None) -> dict[str, M]:
        """The entities with these ``externalId`` values, by it.

        One is read as ``{path}/{externalId}?by=externalId``; more with
        ``filter[externalIds][]``, 100 a request.
        """
        found: dict[str, M] = {}
        if len(externals) == 1:
            try:
                return {externals[0]: await self.get(externals[0], site=site)}
            except NotFoundError:
                return found
        for start in range(0, len(externals), _wire.PAGE_SIZES[-1]):
            wanted = builtins.list(externals[start : start + _wire.PAGE_SIZES[-1]])
            async for entity in self.list(filter={"externalIds": wanted}, site=site):
                external = getattr(entity, "external_id", None)
                if external is not None and str(external) in wanted:
                    found[str(external)] = entity
        return found

    def _by(self, by: By, site: str | None) -> dict[str, Any]:
        if by not in ("id", "externalId"):
            raise ValueError(f'by must be "id" or "externalId", not {by!r}')
        params: dict[str, Any] = {"by": by}
        chosen = self._site(site)
        if chosen:
            params["site"] = chosen
        return params


class Customers(EntityResource[M]):
    """``/api/v5/customers`` or ``customers-corporate``: the entity methods, and ``combine``."""

    async def combine(self, ids: Sequence[int], into: int) -> None:
        """Merge the customers ``ids`` into the customer ``into`` (``{path}/combine``).

        Both kinds take ``customers`` and ``resultCustomer`` (``CustomersCombineRequest``
        in the PHP client serves ``Customers.php`` and ``CustomersCorporate.php``).
        """
        if not ids or into in ids:
            raise ValueError("combine needs customers to merge, other than the one they go into")
        await self._client.request(
            "POST",
            f"{self._path}/combine",
            form={"customers": [{"id": int(i)} for i in ids], "resultCustomer": {"id": int(into)}},
        )

    async def subscriptions(
        self,
        uid: int | str,
        subscriptions: Sequence[Mapping[str, Any]],
        *,
        by: By = "externalId",
        site: str | None = None,
    ) -> None:
        """Set a customer's marketing subscriptions (``{path}/{uid}/subscriptions``).

        Each is ``{"channel": "email"|"sms"|"waba", "subscription": code, "active": bool}``
        (``CustomersSubscriptionsRequest.php``).
        """
        await self._client.request(
            "POST",
            f"{self._path}/{_wire.segment(uid)}/subscriptions",
            form={"subscriptions": [dict(s) for s in subscriptions], **self._by(by, site)},
            idempotent=True,
        )


class Orders(EntityResource[Order]):
    """``/api/v5/orders``: the entity methods, ``statuses`` and ``combine``."""

    async def combine(
        self, order_id: int, into: int, *, technique: Literal["ours", "summ", "theirs"] = "ours"
    ) -> None:
        """Merge order ``order_id`` into order ``into`` (``orders/combine``), then it is gone.

        ``technique``: ``ours`` keeps ``into``'s items, ``summ`` adds both orders'
        items, ``theirs`` takes ``order_id``'s (``OrdersCombineRequest.php``).
        """
        if technique not in ("ours", "summ", "theirs"):
            raise ValueError(f"technique must be ours, summ or theirs, not {technique!r}")
        if order_id == into:
            raise ValueError("an order cannot be combined into itself")
        await self._client.request(
            "POST",
            "orders/combine",
            form={"technique": technique, "order": {"id": order_id}, "resultOrder": {"id": into}},
        )

    async def statuses(
        self, ids: Sequence[int] = (), external_ids: Sequence[str] = ()
    ) -> builtins.list[dict[str, Any]]:
        """Orders' current status and status group: ``[{id, externalId, status, group}]``."""
        if not ids and not external_ids:
            raise ValueError("statuses needs ids or external_ids")
        body = await self._client.request(
            "GET",
            "orders/statuses",
            params={"ids": [int(i) for i in ids], "externalIds": list(external_ids)},
        )
        with reading("the orders/statuses answer"):
            return [dict(row) for row in _wire.listed(body, "orders", "orders/statuses")]
