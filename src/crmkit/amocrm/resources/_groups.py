"""The generic v4 group resource, and the few groups whose calls are not list/get/add.

:class:`GroupResource` serves every row of :mod:`._table` that has an
``_embedded`` key and a model: users, pipelines, statuses, custom fields and
their groups, tags, events, catalogs and their elements, unsorted. The
others: :class:`LinksResource`, :class:`WebhooksResource`, the unsorted
actions (on :class:`UnsortedResource`), ``leads/complex`` (:func:`add_complex`).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import httpx

from ..._json import response_json
from ..._models import from_wire, to_wire
from ..._pagination import AsyncPaginator
from ...errors import NotFoundError
from .. import _wire
from ..models import ComplexResult, Link, Webhook
from ._table import ApiGroup

if TYPE_CHECKING:
    from .._client import AmoCRM

__all__ = ["GroupResource", "LinksResource", "UnsortedResource", "WebhooksResource"]

M = TypeVar("M")
#: ``leads/complex`` takes at most 50 leads a request (amoCRM v4 docs).
COMPLEX_CHUNK = 50


def _wired(item: Any) -> dict[str, Any]:
    return to_wire(item) if attrs.has(type(item)) else dict(item)


def _embedded_or_empty(response: httpx.Response, key: str) -> list[Any]:
    return [] if response.status_code == 204 else _wire._embedded(response, key)


class GroupResource(Generic[M]):
    """One v4 group of the table: ``list`` (paged), ``get``, ``add``, ``update``.

    Only the methods its row names work; the others raise ``NotImplementedError``
    naming the group. Path parts (``{entity}``, ``{pipeline_id}`` ...) are
    encoded as single segments.
    """

    def __init__(self, client: AmoCRM, group: ApiGroup, **path_args: Any) -> None:
        if client.api_version != 4:
            raise ValueError(f"{group.name}: amoCRM serves this group in API v4 only")
        self._client = client
        self.group = group
        self.path = group.path.format(**{k: _wire.segment(v) for k, v in path_args.items()})
        self.model: type[M] = group.model
        self.key: str = group.key or ""

    def _require(self, method: str) -> None:
        if method not in self.group.methods:
            raise NotImplementedError(f"amoCRM's {self.group.name} API has no {method}")

    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        order: Mapping[str, str] | None = None,
        query: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        **params: Any,
    ) -> AsyncPaginator[M]:
        """Every item, page by page (``filter`` dates as unix seconds, as entity lists)."""
        self._require("list")
        extra = _wire.list_params(
            self.key, 4, filter=filter, order=order, query=query, params=params
        )
        strategy = _wire.V4ListStrategy(
            self.key,
            self.model,
            extra,
            max_page_size=self.group.page_max,
            default_page_size=self.group.page_max,
            path=self.path,
            lift=self.group.lift,
        )
        return AsyncPaginator(self._client._fetch, strategy, page_size=page_size, limit=limit)

    async def get(self, id: int | str) -> M:
        """One item by id; ``NotFoundError`` when there is none (amoCRM answers 204)."""
        self._require("get")
        response = await self._client.session.request(
            "GET", f"api/v4/{self.path}/{_wire.segment(id)}"
        )
        if response.status_code == 204:
            raise NotFoundError(f"amoCRM has no {self.group.name} item {id}", status=204)
        return self._model(response_json(response))

    async def add(self, items: Sequence[Any]) -> builtins.list[M]:
        """Create items (models or mappings); the created items as amoCRM answers them."""
        self._require("add")
        return await self._write("POST", items)

    async def update(self, items: Sequence[Any]) -> builtins.list[M]:
        """Update items (each with its ``id``)."""
        self._require("update")
        return await self._write("PATCH", items)

    async def _write(self, method: str, items: Sequence[Any]) -> builtins.list[M]:
        out: builtins.list[M] = []
        rows = [_wired(item) for item in items]
        for start in range(0, len(rows), _wire.WRITE_CHUNK):
            chunk = rows[start : start + _wire.WRITE_CHUNK]
            response = await self._client.session.request(
                method, f"api/v4/{self.path}", json=chunk, idempotent=method == "PATCH"
            )
            out += [self._model(raw) for raw in _wire._embedded(response, self.key)]
        return out

    def _model(self, raw: Any) -> M:
        return from_wire(_wire.lift_embedded(raw, self.group.lift), self.model)


class UnsortedResource(GroupResource[Any]):
    """``amo.unsorted``: list, add (forms), accept, decline, link (``/api/v4/leads/unsorted``)."""

    async def add(self, items: Sequence[Any], *, category: str = "forms") -> builtins.list[Any]:
        """Add unsorted entries of ``category`` (``forms`` or ``sip``)."""
        if category not in ("forms", "sip"):
            raise ValueError(f"unsorted: category must be forms or sip, not {category!r}")
        response = await self._client.session.request(
            "POST", f"api/v4/{self.path}/{category}", json=[_wired(i) for i in items]
        )
        return [self._model(raw) for raw in _wire._embedded(response, "unsorted")]

    async def accept(
        self, uid: str, *, status_id: int | None = None, user_id: int | None = None
    ) -> dict[str, Any]:
        """Accept an entry: its lead moves to ``status_id`` (the first stage by default)."""
        body = {k: v for k, v in (("status_id", status_id), ("user_id", user_id)) if v}
        return await self._act(uid, "accept", body)

    async def decline(self, uid: str, *, user_id: int | None = None) -> dict[str, Any]:
        """Decline an entry (its lead is deleted)."""
        return await self._act(uid, "decline", {"user_id": user_id} if user_id else {})

    async def link(self, uid: str, lead_id: int) -> dict[str, Any]:
        """Attach an entry to an existing lead."""
        body = {"link": {"entity_id": int(lead_id), "entity_type": "leads"}}
        return await self._act(uid, "link", {"entity_id": int(lead_id), **body})

    async def _act(self, uid: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.session.request(
            "POST", f"api/v4/{self.path}/{_wire.segment(uid)}/{action}", json=body
        )
        answer = response_json(response) if response.content else {}
        return dict(answer) if isinstance(answer, Mapping) else {}


class LinksResource:
    """``amo.links("leads")``: an entity's links, and linking or unlinking others to it."""

    def __init__(self, client: AmoCRM, entity: str) -> None:
        self._client = client
        self.entity = _wire.segment(entity)

    async def list(
        self, id: int, *, filter: Mapping[str, Any] | None = None
    ) -> builtins.list[Link]:
        """The links of one entity (``GET /api/v4/{entity}/{id}/links``)."""
        params = _wire.list_params("links", 4, filter=filter, order=None, query=None, params={})
        response = await self._client.session.request(
            "GET", f"api/v4/{self.entity}/{int(id)}/links", params=params or None
        )
        return [from_wire(raw, Link) for raw in _embedded_or_empty(response, "links")]

    async def link(self, id: int, to: Sequence[Link | Mapping[str, Any]]) -> builtins.list[Link]:
        """Link entities (``to_entity_id``, ``to_entity_type``, ``metadata``) to entity ``id``."""
        response = await self._client.session.request(
            "POST", f"api/v4/{self.entity}/{int(id)}/link", json=[_wired(t) for t in to]
        )
        return [from_wire(raw, Link) for raw in _embedded_or_empty(response, "links")]

    async def unlink(self, id: int, to: Sequence[Link | Mapping[str, Any]]) -> None:
        """Remove links from entity ``id``."""
        await self._client.session.request(
            "POST", f"api/v4/{self.entity}/{int(id)}/unlink", json=[_wired(t) for t in to]
        )


class WebhooksResource:
    """``amo.webhooks``: the account's webhook subscriptions (an admin's token)."""

    def __init__(self, client: AmoCRM) -> None:
        self._client = client

    async def list(self, *, destination: str | None = None) -> builtins.list[Webhook]:
        params = {"filter[destination]": destination} if destination else None
        response = await self._client.session.request("GET", "api/v4/webhooks", params=params)
        return [from_wire(raw, Webhook) for raw in _embedded_or_empty(response, "webhooks")]

    async def subscribe(self, destination: str, settings: Sequence[str]) -> Webhook:
        """Send ``settings`` events (``add_lead``, ``update_contact`` ...) to ``destination``."""
        if not destination.startswith("https://"):
            raise ValueError("webhooks: destination must be an https:// URL")
        if not settings:
            raise ValueError("webhooks: settings must name at least one event")
        response = await self._client.session.request(
            "POST", "api/v4/webhooks", json={"destination": destination, "settings": list(settings)}
        )
        return from_wire(response_json(response), Webhook)

    async def unsubscribe(self, destination: str) -> None:
        await self._client.session.request(
            "DELETE", "api/v4/webhooks", json={"destination": destination}, idempotent=True
        )


async def add_complex(client: AmoCRM, leads: Sequence[Any]) -> builtins.list[ComplexResult]:
    """``POST /api/v4/leads/complex``: leads with a new contact and company, 50 a request."""
    rows = [{**_wired(lead), "request_id": str(n)} for n, lead in enumerate(leads)]
    out: builtins.list[ComplexResult] = []
    for start in range(0, len(rows), COMPLEX_CHUNK):
        response = await client.session.request(
            "POST", "api/v4/leads/complex", json=rows[start : start + COMPLEX_CHUNK]
        )
        answer = response_json(response)
        if not isinstance(answer, list):
            raise _wire.protocol_error(response, "amoCRM's leads/complex answer is not a list")
        out += [from_wire(raw, ComplexResult) for raw in answer]
    return out
