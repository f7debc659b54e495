"""The table of amoCRM's v4 API groups: what crmkit calls, where, and how.

One row per group. Rows with an ``_embedded`` key and a model are served by
the one generic :class:`crmkit.amocrm.resources.GroupResource`; the others
name the resource class or method that serves them. :func:`coverage_table`
prints the README's coverage table from these rows and from the official PHP
SDK's services that crmkit leaves to ``amo.request`` (``NOT_COVERED``), so
the README cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..models import (
    Catalog,
    CatalogElement,
    CustomerStatus,
    CustomField,
    CustomFieldGroup,
    Event,
    LossReason,
    Pipeline,
    Role,
    Status,
    Tag,
    UnsortedEntry,
    User,
)

__all__ = ["API_GROUPS", "NOT_COVERED", "ApiGroup", "coverage_table", "group"]


@attrs.frozen
class ApiGroup:
    """One v4 API group: its path, the methods crmkit has, the PHP SDK service it matches."""

    name: str
    #: The path after ``/api/v4/``; ``{entity}``, ``{id}`` ... are filled per call.
    path: str
    #: How a crmkit user reaches it.
    access: str
    methods: tuple[str, ...]
    #: The official PHP SDK's ``EntitiesServices`` class(es) for the same group.
    php_sdk: str
    #: For the generic resource: the ``_embedded`` key of lists and writes, and the model.
    key: str | None = None
    model: Any = None
    page_max: int = 250
    #: ``_embedded`` parts read as the model's own fields (a pipeline's statuses).
    lift: tuple[str, ...] = ()


API_GROUPS: tuple[ApiGroup, ...] = (
    ApiGroup("Leads, contacts, companies, customers, tasks", "{entity}",
             "amo.leads (.contacts, .companies, .customers, .tasks)",
             ("list", "get", "add", "update"),
             "Leads, Contacts, Companies, Customers/Customers, Tasks"),
    ApiGroup("Notes", "{entity}/notes, {entity}/{id}/notes", "amo.notes",
             ("list", "get", "add", "update"), "EntityNotes"),
    ApiGroup("Complex leads", "leads/complex", "amo.add_complex", ("add",), "Leads::addComplex"),
    ApiGroup("Account", "account", "amo.account(include=...)", ("get",), "Account"),
    ApiGroup("Users", "users", "amo.users", ("list", "get"), "Users",
             key="users", model=User),
    ApiGroup("Pipelines", "leads/pipelines", "amo.pipelines", ("list", "get", "add"),
             "Leads/Pipelines", key="pipelines", model=Pipeline, lift=("statuses",)),
    ApiGroup("Statuses", "leads/pipelines/{pipeline_id}/statuses",
             "amo.statuses(pipeline_id)", ("list", "get"), "Leads/Statuses",
             key="statuses", model=Status),
    ApiGroup("Loss reasons", "leads/loss_reasons", "amo.loss_reasons",
             ("list", "get", "add", "update"), "Leads/LossReasons", key="loss_reasons",
             model=LossReason),
    ApiGroup("Customer statuses", "customers/statuses", "amo.customer_statuses",
             ("list", "get", "add", "update"), "Customers/Statuses", key="statuses",
             model=CustomerStatus),
    ApiGroup("Roles", "roles", "amo.roles", ("list", "get", "add", "update"), "Roles",
             key="roles", model=Role),
    ApiGroup("Custom fields", "{entity}/custom_fields", "amo.custom_fields(entity)",
             ("list", "get", "add", "update"), "CustomFields", key="custom_fields",
             model=CustomField),
    ApiGroup("Custom field groups", "{entity}/custom_fields/groups",
             "amo.custom_field_groups(entity)", ("list",), "CustomFieldGroups",
             key="custom_field_groups", model=CustomFieldGroup),
    ApiGroup("Tags", "{entity}/tags", "amo.tags(entity)", ("list", "add"), "EntityTags",
             key="tags", model=Tag),
    ApiGroup("Links", "{entity}/{id}/links, {entity}/link, {entity}/unlink",
             "amo.links(entity)", ("list", "link", "unlink"), "Links"),
    ApiGroup("Events", "events", "amo.events", ("list",), "Events", key="events",
             model=Event, page_max=100),
    ApiGroup("Catalogs", "catalogs", "amo.catalogs", ("list", "get", "add", "update"),
             "Catalogs", key="catalogs", model=Catalog),
    ApiGroup("Catalog elements", "catalogs/{catalog_id}/elements",
             "amo.catalog_elements(catalog_id)", ("list", "get", "add", "update"),
             "CatalogElements", key="elements", model=CatalogElement),
    ApiGroup("Unsorted", "leads/unsorted", "amo.unsorted",
             ("list", "add", "accept", "decline", "link"), "Unsorted",
             key="unsorted", model=UnsortedEntry),
    ApiGroup("Webhooks", "webhooks", "amo.webhooks", ("list", "subscribe", "unsubscribe"),
             "Webhooks"),
    ApiGroup("OAuth tokens", "/oauth2/access_token", "amo.exchange_code, automatic refresh",
             ("authorization_code", "refresh_token"), "OAuth/AmoCRMOAuth"),
    ApiGroup("Anything else", "any", "amo.request(method, path)", ("any",), "-"),
)  # fmt: skip

#: The official PHP SDK's services crmkit has no typed resource for (``amo.request`` reaches them).
NOT_COVERED: tuple[str, ...] = (
    "Calls", "Chats/Templates", "Currencies", "Customers/BonusPoints (Earn, Redeem)",
    "Customers/Transactions", "EntityFiles", "Files",
    "EntitySubscriptions", "EventTypes", "Leads/EntitySources",
    "Products", "Segments", "ShortLinks", "Sources", "Sources/WebsiteButtons",
    "Talks", "Widgets",
)  # fmt: skip


def group(name: str) -> ApiGroup:
    """The row named ``name``."""
    for row in API_GROUPS:
        if row.name == name:
            return row
    raise KeyError(name)


def coverage_table() -> str:
    """The README's Markdown table of v4 groups and what crmkit covers of each."""
    lines = [
        "| v4 API group | path (`/api/v4/...`) | crmkit | methods | PHP SDK service |",
        "|---|---|---|---|---|",
    ]
    for row in API_GROUPS:
        lines.append(
            f"| {row.name} | `{row.path}` | `{row.access}` | {', '.join(row.methods)} "
            f"| {row.php_sdk} |"
        )
    for service in NOT_COVERED:
        lines.append(f"| {service} | | `amo.request` only | | {service} |")
    return "\n".join(lines) + "\n"
