"""RetailCRM API v5 models, one module per API group, every public name here.

Frozen attrs classes read by :func:`crmkit._models.from_wire`: lenient where the
API is (numbers as text, ``regionId`` as a number or ``""``, unknown fields kept
in ``extra``). When you build one for a request, only the fields you set are
sent; anything the models do not name can go in ``extra``.
"""

from ._account import Credentials, SystemInfo
from ._entities import (
    CorporateCustomer,
    Customer,
    HistoryEntry,
    IntegrationModule,
    Order,
    OrderItem,
    Phone,
    Saved,
)
from ._references import ReferenceItem

__all__ = [
    "CorporateCustomer",
    "Credentials",
    "Customer",
    "HistoryEntry",
    "IntegrationModule",
    "Order",
    "OrderItem",
    "Phone",
    "ReferenceItem",
    "Saved",
    "SystemInfo",
]
