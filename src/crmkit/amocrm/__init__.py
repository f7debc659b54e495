"""amoCRM (Kommo), API v4 and the legacy v2: ``crmkit.AmoCRM``, models, webhooks, a sandbox.

The sandbox is :mod:`crmkit.amocrm.sandbox`; the table of API groups crmkit
covers is :data:`crmkit.amocrm.resources.API_GROUPS`.
"""

from ._auth import JSONFileTokenStore, MemoryTokenStore, OAuthCredentials, TokenStore
from ._client import AmoCRM, WriteResult
from .models import (
    Account,
    Catalog,
    CatalogElement,
    Company,
    ComplexResult,
    Contact,
    Customer,
    CustomerStatus,
    CustomField,
    CustomFieldGroup,
    CustomFieldValue,
    Event,
    Lead,
    Link,
    LossReason,
    Note,
    Pipeline,
    Role,
    Status,
    Tag,
    Task,
    UnsortedEntry,
    User,
    Webhook,
)
from .webhooks import WebhookEvent, parse_webhook

__all__ = [
    "Account",
    "AmoCRM",
    "Catalog",
    "CatalogElement",
    "Company",
    "ComplexResult",
    "Contact",
    "CustomField",
    "CustomFieldGroup",
    "CustomFieldValue",
    "Customer",
    "CustomerStatus",
    "Event",
    "JSONFileTokenStore",
    "Lead",
    "Link",
    "LossReason",
    "MemoryTokenStore",
    "Note",
    "OAuthCredentials",
    "Pipeline",
    "Role",
    "Status",
    "Tag",
    "Task",
    "TokenStore",
    "UnsortedEntry",
    "User",
    "Webhook",
    "WebhookEvent",
    "WriteResult",
    "parse_webhook",
]

AmoCRM.__module__ = __name__
