"""amoCRM (Kommo), API v4 and the legacy v2: ``crmkit.AmoCRM``, models, webhooks, a sandbox.

The sandbox is :mod:`crmkit.amocrm.sandbox`.
"""

from ._auth import JSONFileTokenStore, MemoryTokenStore, OAuthCredentials, TokenStore
from ._client import AmoCRM, WriteResult
from .models import (
    Account,
    Company,
    Contact,
    Customer,
    CustomFieldValue,
    Lead,
    Note,
    Pipeline,
    Task,
)
from .webhooks import WebhookEvent, parse_webhook

__all__ = [
    "Account",
    "AmoCRM",
    "Company",
    "Contact",
    "CustomFieldValue",
    "Customer",
    "JSONFileTokenStore",
    "Lead",
    "MemoryTokenStore",
    "Note",
    "OAuthCredentials",
    "Pipeline",
    "Task",
    "TokenStore",
    "WebhookEvent",
    "WriteResult",
    "parse_webhook",
]

AmoCRM.__module__ = __name__
