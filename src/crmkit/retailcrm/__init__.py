"""RetailCRM (Simla) API v5: ``crmkit.RetailCRM``, its models, and its sandbox.

The sandbox is :mod:`crmkit.retailcrm.sandbox`; the marketplace module toolkit
("simple connection") is :mod:`crmkit.retailcrm.module`.
"""

from ._client import RetailCRM
from ._wire import ServiceUnavailableError, format_datetime, parse_datetime
from .models import (
    CorporateCustomer,
    Credentials,
    Customer,
    HistoryEntry,
    IntegrationModule,
    Order,
    OrderItem,
    Phone,
    ReferenceItem,
    Saved,
    SystemInfo,
)
from .resources import REFERENCE_BOOKS

__all__ = [
    "REFERENCE_BOOKS",
    "CorporateCustomer",
    "Credentials",
    "Customer",
    "HistoryEntry",
    "IntegrationModule",
    "Order",
    "OrderItem",
    "Phone",
    "ReferenceItem",
    "RetailCRM",
    "Saved",
    "ServiceUnavailableError",
    "SystemInfo",
    "format_datetime",
    "parse_datetime",
]

RetailCRM.__module__ = __name__  # tracebacks and docs show crmkit.retailcrm.RetailCRM
ServiceUnavailableError.__module__ = __name__
