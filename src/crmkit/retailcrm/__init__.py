"""RetailCRM (Simla) API v5: ``crmkit.RetailCRM``, its models, and its sandbox.

The sandbox is :mod:`crmkit.retailcrm.sandbox`; the marketplace module toolkit
("simple connection") is :mod:`crmkit.retailcrm.module`.
"""

from ._client import RetailCRM
from .models import (
    CorporateCustomer,
    Customer,
    HistoryEntry,
    IntegrationModule,
    Order,
    OrderItem,
    Phone,
)

__all__ = [
    "CorporateCustomer",
    "Customer",
    "HistoryEntry",
    "IntegrationModule",
    "Order",
    "OrderItem",
    "Phone",
    "RetailCRM",
]

RetailCRM.__module__ = __name__  # tracebacks and docs show crmkit.retailcrm.RetailCRM
