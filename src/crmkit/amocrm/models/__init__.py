"""amoCRM models: frozen attrs classes built by crmkit's one converter.

One set reads both dialects (v2 answers are first renamed to v4's field
names). Timestamps become aware UTC datetimes; fields a model does not name
stay in ``extra``. :mod:`._entities` holds the entities (leads, contacts,
companies, customers, tasks, notes), :mod:`._groups` everything around them.
"""

from ._entities import Company, Contact, Customer, CustomFields, CustomFieldValue, Lead, Note, Task
from ._groups import (
    Account,
    Catalog,
    CatalogElement,
    ComplexResult,
    CustomerStatus,
    CustomField,
    CustomFieldGroup,
    Event,
    Link,
    LossReason,
    Pipeline,
    Role,
    Status,
    Tag,
    UnsortedEntry,
    User,
    Webhook,
)

__all__ = [
    "Account",
    "Catalog",
    "CatalogElement",
    "Company",
    "ComplexResult",
    "Contact",
    "CustomField",
    "CustomFieldGroup",
    "CustomFieldValue",
    "CustomFields",
    "Customer",
    "CustomerStatus",
    "Event",
    "Lead",
    "Link",
    "LossReason",
    "Note",
    "Pipeline",
    "Role",
    "Status",
    "Tag",
    "Task",
    "UnsortedEntry",
    "User",
    "Webhook",
]
