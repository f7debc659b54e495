"""The RetailCRM client: resources over one Session, built by the rules in ``_wire``."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

from .._client_base import ClientBase
from .._json import reading
from .._models import from_wire
from .._pagination import AsyncPaginator, PaginatorState
from .._session import Session
from . import _wire
from .models import CorporateCustomer, Customer, HistoryEntry, IntegrationModule, Order

__all__ = ["RetailCRM"]

M = TypeVar("M")
By = Literal["id", "externalId"]
Entity = Mapping[str, Any] | Any

#: The vendor's limit per API key, outside ``/telephony*``.
DEFAULT_RATE_LIMIT = 10.0


class _Base:
    def __init__(self, client: RetailCRM) -> None:
        self._client = client


class EntityResource(_Base, Generic[M]):
    """``customers``, ``customers_corporate`` or ``orders``."""

    def __init__(self, client: RetailCRM, path: str, key: str, one: str, model: type[M]) -> None:
        super().__init__(client)
        self._path = path
        self._key = key  # the list's key in answers ("customersCorporate")
        self._one = one  # the single entity's key and form field ("customerCorporate")
        self._model = model

    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[M]:
        """Every entity matching ``filter`` (nested as the API takes it: ``{"ids": [1, 2]}``).

        ``page_size`` is rounded up to 20, 50 or 100.
        """
        strategy = _wire.ListStrategy(
            self._path, self._key, self._model, filter=filter, site=self._client.site
        )
        return AsyncPaginator(
            self._client._fetch,
            strategy,
            page_size=_wire.page_size_for(page_size),
            limit=limit,
            resume_from=resume_from,
        )

    async def get(self, uid: int | str, *, by: By = "externalId") -> M:
        """One entity by ``externalId`` (the API's default) or by ``id``."""
        body = await self._client.request("GET", f"{self._path}/{uid}", params=self._by(by))
        return from_wire(body.get(self._one), self._model, what=self._one)

    async def create(self, entity: Entity) -> int:
        """Create one entity; returns its new ``id``."""
        body = await self._client.request("POST", f"{self._path}/create", form={self._one: entity})
        with reading("the create answer"):
            return int(body["id"])

    async def edit(self, entity: Entity, *, by: By = "externalId") -> int | None:
        """Edit the entity named by its ``externalId`` (or ``id`` with ``by="id"``)."""
        wire = _wire.encode_form({"e": entity})["e"]
        from .._json import loads

        uid = loads(wire).get(by)
        if uid in (None, ""):
            raise ValueError(f"edit(by={by!r}) needs the entity's {by!r}")
        body = await self._client.request(
            "POST", f"{self._path}/{uid}/edit", form={self._one: entity, **self._by(by)}
        )
        with reading("the edit answer"):
            return int(body["id"]) if "id" in body else None

    async def upload(self, entities: Sequence[Entity]) -> builtins.list[int]:
        """Create many at once, in requests of 50 (the API's limit); returns ids in input order."""
        plural = self._key
        ids: builtins.list[int] = []
        for chunk in _wire.chunks(list(entities), _wire.UPLOAD_CHUNK):
            body = await self._client.request("POST", f"{self._path}/upload", form={plural: chunk})
            uploaded = body.get("uploadedOrders" if plural == "orders" else "uploadedCustomers")
            with reading("the upload answer"):
                ids.extend(int(item["id"]) for item in uploaded or [])
        return ids

    def history(
        self,
        since_id: int | None = None,
        *,
        filter: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[HistoryEntry]:
        """Changes after ``since_id`` (all, when None), oldest first.

        Advances ``filter[sinceId]`` and never sends ``page``. ``.state.cursor``
        is the id of the last change handed over: save the state and pass it as
        ``resume_from`` to continue exactly there.
        """
        strategy = _wire.HistoryStrategy(
            f"{self._path}/history", HistoryEntry, since_id=since_id, filter=filter
        )
        return AsyncPaginator(
            self._client._fetch,
            strategy,
            page_size=_wire.page_size_for(page_size),
            limit=limit,
            resume_from=resume_from,
        )

    def _by(self, by: By) -> dict[str, Any]:
        if by not in ("id", "externalId"):
            raise ValueError(f'by must be "id" or "externalId", not {by!r}')
        params: dict[str, Any] = {"by": by}
        if self._client.site:
            params["site"] = self._client.site
        return params


class IntegrationModules(_Base):
    """``/api/v5/integration-modules``: a marketplace module's registration."""

    async def get(self, code: str) -> IntegrationModule:
        body = await self._client.request("GET", f"integration-modules/{code}")
        return from_wire(body.get("integrationModule"), IntegrationModule)

    async def edit(
        self, code: str, module: IntegrationModule | Mapping[str, Any]
    ) -> dict[str, Any]:
        """Create or update the module ``code`` on this account; returns the answer's fields."""
        return await self._client.request(
            "POST", f"integration-modules/{code}/edit", form={"integrationModule": module}
        )

    async def update_scopes(self, code: str, scopes: Iterable[str]) -> str:
        """Ask for new scopes; returns the new API key the account issued."""
        body = await self._client.request(
            "POST",
            f"integration-modules/{code}/update-scopes",
            form={"requires": {"scopes": list(scopes)}},
        )
        return str(body["apiKey"])


class Reference(_Base):
    """Reference books: sites, order statuses, order types (``{code: {...}}``)."""

    async def sites(self) -> dict[str, dict[str, Any]]:
        return (await self._client.request("GET", "reference/sites")).get("sites") or {}

    async def statuses(self) -> dict[str, dict[str, Any]]:
        return (await self._client.request("GET", "reference/statuses")).get("statuses") or {}

    async def order_types(self) -> dict[str, dict[str, Any]]:
        body = await self._client.request("GET", "reference/order-types")
        return body.get("orderTypes") or {}


class RetailCRM(ClientBase):
    """A RetailCRM (Simla) account, API v5.

    ``url`` is the account's address (``https://demo.retailcrm.ru``; a trailing
    slash or ``/api/v5`` is fine). ``site`` is sent where the API takes it (keys
    that span several stores). Other keywords go to :class:`crmkit.Session`;
    the default rate limit is 10 requests/s, never bursting.
    """

    def __init__(
        self, url: str, api_key: str, *, site: str | None = None, **session_options: Any
    ) -> None:
        if not api_key:
            raise ValueError("RetailCRM needs an api_key")
        if "rate_limit" not in session_options and "throttle" not in session_options:
            session_options["rate_limit"] = DEFAULT_RATE_LIMIT
        headers = {**session_options.pop("headers", {}), "X-API-KEY": api_key}
        self.url = _wire.api_base_url(url)
        self.site = site
        self.session = Session(
            self.url, headers=headers, error_mapper=_wire.error_mapper, **session_options
        )
        self.customers = EntityResource(self, "customers", "customers", "customer", Customer)
        self.customers_corporate = EntityResource(
            self,
            "customers-corporate",
            "customersCorporate",
            "customerCorporate",
            CorporateCustomer,
        )
        self.orders = EntityResource(self, "orders", "orders", "order", Order)
        self.integration_modules = IntegrationModules(self)
        self.reference = Reference(self)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        form: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call any endpoint: ``path`` under ``/api/v5/``; ``params`` nested, ``form`` JSON-encoded.

        Returns the decoded answer; failures raise crmkit errors.
        """
        response = await self.session.request(
            method,
            path,
            params=_wire.encode_query(params) if params else None,
            data=_wire.encode_form(form) if form else None,
        )
        return _wire.read_body(response)

    def __repr__(self) -> str:
        return f"<RetailCRM {self.url}>"
