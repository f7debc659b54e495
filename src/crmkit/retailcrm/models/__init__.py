"""RetailCRM API v5 models, one module per API group, every public name here.

Frozen attrs classes read by :func:`crmkit._models.from_wire`: lenient where the
API is (numbers as text, ``regionId`` as a number or ``""``, unknown fields kept
in ``extra``). When you build one for a request, only the fields you set are
sent; anything the models do not name can go in ``extra``.
"""

from ._account import Credentials, SystemInfo
from ._costs import Cost
from ._custom_fields import CustomDictionary, CustomField
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
from ._loyalty import BonusOperation, Loyalty, LoyaltyAccount
from ._notes import CustomerNote
from ._packs import Pack, PackChange
from ._payments import Payment
from ._references import ReferenceItem
from ._store import InventoryOffer, InventoryUpload, Offer, Product, ProductGroup
from ._tasks import Task, TaskChange, TaskComment
from ._telephony import CallManager
from ._users import User, UserGroup

__all__ = [
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
    "Saved",
    "SystemInfo",
    "Task",
    "TaskChange",
    "TaskComment",
    "User",
    "UserGroup",
]
