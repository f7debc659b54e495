"""RetailCRM API groups, one module each; the client holds one instance of each."""

from ._base import Listing
from ._custom_fields import CustomDictionaries, CustomFields
from ._entities import By, Customers, EntityResource, Orders
from ._modules import IntegrationModules
from ._records import (
    RECORD_KINDS,
    Costs,
    Kind,
    Loyalties,
    LoyaltyAccounts,
    Payments,
    RecordResource,
    Tasks,
    Users,
)
from ._references import REFERENCE_BOOKS, ReferenceBook, References
from ._store import Store
from ._telephony import Telephony

__all__ = [
    "RECORD_KINDS",
    "REFERENCE_BOOKS",
    "By",
    "Costs",
    "CustomDictionaries",
    "CustomFields",
    "Customers",
    "EntityResource",
    "IntegrationModules",
    "Kind",
    "Listing",
    "Loyalties",
    "LoyaltyAccounts",
    "Orders",
    "Payments",
    "RecordResource",
    "ReferenceBook",
    "References",
    "Store",
    "Tasks",
    "Telephony",
    "Users",
]
