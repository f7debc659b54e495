"""RetailCRM (Simla) API v5: ``crmkit.RetailCRM``, its models, and its sandbox.

The sandbox is :mod:`crmkit.retailcrm.sandbox`; the marketplace module toolkit
("simple connection") is :mod:`crmkit.retailcrm.module`.
"""

from ._client import RetailCRM
from ._wire import ServiceUnavailableError, format_datetime, parse_datetime
from .models import (
    BonusOperation,
    CallManager,
    CorporateCustomer,
    Cost,
    Credentials,
    CustomDictionary,
    Customer,
    CustomerNote,
    CustomField,
    HistoryEntry,
    IntegrationModule,
    InventoryOffer,
    InventoryUpload,
    Loyalty,
    LoyaltyAccount,
    Offer,
    Order,
    OrderItem,
    Pack,
    PackChange,
    Payment,
    Phone,
    Product,
    ProductGroup,
    ReferenceItem,
    Saved,
    SystemInfo,
    Task,
    TaskChange,
    TaskComment,
    User,
    UserGroup,
)
from .resources import RECORD_KINDS, REFERENCE_BOOKS

__all__ = [
    "RECORD_KINDS",
    "REFERENCE_BOOKS",
    "BonusOperation",
    "CallManager",
    "CorporateCustomer",
    "Cost",
    "Credentials",
    "CustomDictionary",
    "CustomField",
    "Customer",
    "CustomerNote",
    "HistoryEntry",
    "IntegrationModule",
    "InventoryOffer",
    "InventoryUpload",
    "Loyalty",
    "LoyaltyAccount",
    "Offer",
    "Order",
    "OrderItem",
    "Pack",
    "PackChange",
    "Payment",
    "Phone",
    "Product",
    "ProductGroup",
    "ReferenceItem",
    "RetailCRM",
    "Saved",
    "ServiceUnavailableError",
    "SystemInfo",
    "Task",
    "TaskChange",
    "TaskComment",
    "User",
    "UserGroup",
    "format_datetime",
    "parse_datetime",
]

RetailCRM.__module__ = __name__  # tracebacks and docs show crmkit.retailcrm.RetailCRM
ServiceUnavailableError.__module__ = __name__
