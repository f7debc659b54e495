"""RetailCRM models of the main entities: customers, companies, orders, history, modules."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import attrs

__all__ = [
    "CorporateCustomer",
    "Customer",
    "HistoryEntry",
    "IntegrationModule",
    "Order",
    "OrderItem",
    "Phone",
    "Saved",
]

M = TypeVar("M")


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class Phone:
    number: str | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Customer:
    """A person who buys (``/api/v5/customers``)."""

    id: int | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    patronymic: str | None = None
    email: str | None = None
    phones: list[Phone] | None = None
    site: str | None = None
    created_at: str | None = None
    vip: bool | None = None
    bad: bool | None = None
    address: dict[str, Any] | None = None
    custom_fields: Any = None  # a map or a list, as the API sends it
    extra: dict[str, Any] = _extra()


@attrs.frozen
class CorporateCustomer:
    """A company that buys (``/api/v5/customers-corporate``)."""

    id: int | None = None
    external_id: str | None = None
    nick_name: str | None = None
    site: str | None = None
    created_at: str | None = None
    vip: bool | None = None
    companies: list[dict[str, Any]] | None = None
    custom_fields: Any = None  # a map or a list, as the API sends it
    extra: dict[str, Any] = _extra()


@attrs.frozen
class OrderItem:
    id: int | None = None
    initial_price: float | None = None
    quantity: float | None = None
    offer: dict[str, Any] | None = None
    product_name: str | None = None
    status: str | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Order:
    """An order (``/api/v5/orders``), with its items."""

    id: int | None = None
    external_id: str | None = None
    number: str | None = None
    site: str | None = None
    status: str | None = None
    order_type: str | None = None
    created_at: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    total_summ: float | None = None
    customer: dict[str, Any] | None = None
    items: list[OrderItem] | None = None
    delivery: dict[str, Any] | None = None
    region_id: Any = attrs.field(default=None, metadata={"wire": "regionId"})  # number or ""
    custom_fields: Any = None  # a map or a list, as the API sends it
    extra: dict[str, Any] = _extra()


@attrs.frozen
class HistoryEntry:
    """One change from ``/orders/history`` or ``/customers/history``."""

    id: int
    created_at: str | None = None
    created: bool | None = None
    deleted: bool | None = None
    source: str | None = None
    field: str | None = None
    old_value: Any = None
    new_value: Any = None
    order: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None
    user: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class IntegrationModule:
    """A marketplace module's registration (``/api/v5/integration-modules/{code}``)."""

    code: str | None = None
    integration_code: str | None = None
    active: bool | None = None
    freeze: bool | None = None
    name: str | None = None
    logo: str | None = None
    client_id: str | None = None
    base_url: str | None = None
    account_url: str | None = None
    actions: dict[str, str] | None = None
    available_countries: list[str] | None = None
    integrations: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Saved(Generic[M]):
    """What ``create`` and ``edit`` did: the new ``id``, and the entity when the service sent it.

    ``orders/create`` and ``orders/{id}/edit`` answer ``{id, order}``
    (``Model/Response/Orders/OrdersCreateResponse.php``); customers answer the
    ``id`` alone, and ``entity`` is None.
    """

    id: int | None
    entity: M | None = None
