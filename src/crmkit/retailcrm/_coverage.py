"""crmkit's RetailCRM coverage, by API group, against the vendor's PHP client.

``PHP_GROUPS`` lists the methods of each ``ResourceGroup/*.php`` in
``retailcrm/api-client-php``; :func:`covered` says which crmkit call serves
each (built from the resource tables :data:`REFERENCE_BOOKS` and
:data:`RECORD_KINDS` where they apply); :func:`coverage_markdown` writes the
README's table, and a test keeps the two equal and checks every call named
exists. Anything not covered is still one ``crm.request(method, path, ...)`` away.
"""

from __future__ import annotations

import re

from .resources import RECORD_KINDS, REFERENCE_BOOKS

__all__ = ["PHP_GROUPS", "coverage_markdown", "covered"]

PHP_GROUPS: dict[str, tuple[str, ...]] = {
    name: tuple(methods.split())
    for name, methods in {
        "Api": "apiVersions credentials systemInfo",
        "Costs": "list costsDelete costsUpload create get delete edit",
        "CustomFields": "list dictionaries dictionariesCreate dictionariesGet dictionariesEdit "
        "create get edit",
        "CustomMethods": "register call",
        "CustomerInteraction": "cartClear cartSet cartGet",
        "Customers": "list combine create fixExternalIds history notes notesCreate notesDelete "
        "upload get edit subscriptions",
        "CustomersCorporate": "list combine create fixExternalIds history notes notesCreate "
        "notesDelete upload get addresses addressesCreate addressesEdit companies "
        "companiesCreate companiesEdit contacts contactsCreate contactsEdit edit",
        "Delivery": "calculate tracking shipments shipmentsCreate shipmentsGet shipmentsEdit",
        "Features": "check",
        "Files": "list upload get delete download edit",
        "Integration": "get edit updateScopes",
        "Loyalty": "accountCreate accountActivate accountBonusCharge accountBonusCredit "
        "accountBonusOperations accountEdit accounts accountGet bonusOperations calculate "
        "loyalties get getBonusAccountDetails",
        "Notifications": "send",
        "Orders": "list combine create fixExternalIds history linksCreate loyaltyApply "
        "cancelBonusOperations paymentsCreate paymentsDelete paymentsEdit statuses upload get "
        "edit deliveryCancel platesPrint",
        "Packs": "list create history get delete edit",
        "Payments": "check createInvoice updateInvoice getInvoice importInvoice",
        "References": "costGroups costGroupsEdit costItems costItemsEdit countries couriers "
        "couriersCreate couriersEdit currencies currenciesCreate currenciesEdit deliveryServices "
        "deliveryServicesEdit deliveryTypes deliveryTypesEdit legalEntities legalEntitiesEdit "
        "mgChannels orderMethods orderMethodsEdit orderTypes orderTypesEdit paymentStatuses "
        "paymentStatusesEdit paymentTypes paymentTypesEdit priceTypes priceTypesEdit "
        "productStatuses productStatusesEdit sites sitesEdit statusGroups statuses statusesEdit "
        "stores storesEdit units unitsEdit",
        "Segments": "list",
        "Settings": "get",
        "Statistics": "update",
        "Store": "inventories inventoriesUpload pricesUpload productGroups productGroupsCreate "
        "productGroupsEdit products productsProperties productBatchEdit productsBatchCreate "
        "offers productsPropertyValues",
        "Tasks": "list create get edit history getComments",
        "Telephony": "callEvent callsUpload manager",
        "Users": "userGroups list get status",
        "Verification": "smsConfirm smsStatus",
        "WebAnalytics": "sourcesUpload clientIdsUpload visitsUpload",
    }.items()
}

_ENTITY_METHODS = ("list", "create", "fixExternalIds", "history", "upload", "get", "edit")
_GROUP_OF_RECORDS = {
    "users": "Users",
    "tasks": "Tasks",
    "payments": "Orders",
    "customer_notes": "Customers",
    "packs": "Packs",
    "loyalty_accounts": "Loyalty",
    "costs": "Costs",
    "corporate_notes": "CustomersCorporate",
}
#: The PHP method for each record operation, where the group names it its own way.
_RECORD_METHODS = {
    ("Orders", "payments"): "payments{Op}",
    ("Customers", "customer_notes"): "notes{Op}",
    ("CustomersCorporate", "corporate_notes"): "notes{Op}",
    ("Loyalty", "loyalty_accounts"): "account{Op}",
}
_HAND_WRITTEN = {
    ("Api", "apiVersions"): "api_versions",
    ("Api", "credentials"): "credentials",
    ("Api", "systemInfo"): "system_info",
    ("Settings", "get"): "settings",
    ("Customers", "combine"): "customers.combine",
    ("Customers", "notes"): "customer_notes.list",
    ("CustomersCorporate", "notes"): "corporate_notes.list",
    ("CustomersCorporate", "combine"): "customers_corporate.combine",
    ("Users", "userGroups"): "user_groups.list",
    ("Orders", "statuses"): "orders.statuses",
    ("Integration", "get"): "integration_modules.get",
    ("Integration", "edit"): "integration_modules.edit",
    ("Integration", "updateScopes"): "integration_modules.update_scopes",
    ("Users", "status"): "users.status",
    ("Packs", "history"): "packs.history",
    ("Tasks", "history"): "tasks.history",
    ("Tasks", "getComments"): "tasks.comments",
    ("Customers", "subscriptions"): "customers.subscriptions",
    ("Costs", "costsDelete"): "costs.delete_many",
    ("Costs", "costsUpload"): "costs.upload",
    ("Loyalty", "accounts"): "loyalty_accounts.list",
    ("Loyalty", "loyalties"): "loyalties.list",
    ("Loyalty", "get"): "loyalties.get",
    ("Loyalty", "bonusOperations"): "loyalties.bonus_operations",
    ("Orders", "combine"): "orders.combine",
    ("Telephony", "manager"): "telephony.manager",
    ("Telephony", "callEvent"): "telephony.call_event",
    ("Telephony", "callsUpload"): "telephony.calls_upload",
    ("Loyalty", "accountActivate"): "loyalty_accounts.activate",
    ("Loyalty", "accountBonusCredit"): "loyalty_accounts.credit",
    ("Loyalty", "accountBonusCharge"): "loyalty_accounts.charge",
    ("Loyalty", "accountBonusOperations"): "loyalty_accounts.operations",
    ("CustomFields", "list"): "custom_fields.list",
    ("CustomFields", "get"): "custom_fields.get",
    ("CustomFields", "create"): "custom_fields.create",
    ("CustomFields", "edit"): "custom_fields.edit",
    ("CustomFields", "dictionaries"): "custom_fields.dictionaries.list",
    ("CustomFields", "dictionariesGet"): "custom_fields.dictionaries.get",
    ("CustomFields", "dictionariesCreate"): "custom_fields.dictionaries.create",
    ("CustomFields", "dictionariesEdit"): "custom_fields.dictionaries.edit",
    ("Store", "inventories"): "store.inventories.list",
    ("Store", "inventoriesUpload"): "store.inventories.upload",
    ("Store", "products"): "store.products.list",
    ("Store", "productGroups"): "store.product_groups.list",
    ("Store", "productGroupsCreate"): "store.product_groups.create",
    ("Store", "productGroupsEdit"): "store.product_groups.edit",
    ("Store", "offers"): "store.offers.list",
    ("Store", "productsBatchCreate"): "store.products.batch_create",
    ("Store", "productBatchEdit"): "store.products.batch_edit",
}


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def covered() -> dict[tuple[str, str], str]:
    """(PHP group, PHP method) -> the crmkit call that does it (attribute path on the client)."""
    calls = dict(_HAND_WRITTEN)
    for group, attr in (
        ("Customers", "customers"),
        ("CustomersCorporate", "customers_corporate"),
        ("Orders", "orders"),
    ):
        for method in _ENTITY_METHODS:
            calls[(group, method)] = f"{attr}.{_snake(method)}"
    for attr, book in REFERENCE_BOOKS.items():
        calls[("References", _camel(attr))] = f"reference.{attr}.list"
        if book.one is not None:
            calls[("References", _camel(attr) + "Edit")] = f"reference.{attr}.edit"
        if book.by_id:
            calls[("References", _camel(attr) + "Create")] = f"reference.{attr}.create"
    for attr, kind in RECORD_KINDS.items():
        group = _GROUP_OF_RECORDS[attr]
        shape = _RECORD_METHODS.get((group, attr), "{op}")
        for op in sorted(kind.ops):
            method = shape.format(op=op, Op=op.title())
            if method in PHP_GROUPS[group]:
                calls.setdefault((group, method), f"{attr}.{op}")
    return calls


def coverage_markdown() -> str:
    """The README's table: each PHP resource group, what crmkit covers, and what it does not."""
    calls = covered()
    lines = [
        "| API group (PHP client) | covered | crmkit | not yet (use `crm.request`) |",
        "|---|---|---|---|",
    ]
    for group, methods in sorted(PHP_GROUPS.items()):
        done = [m for m in methods if (group, m) in calls]
        missing = [m for m in methods if (group, m) not in calls]
        names = sorted({"`" + calls[(group, m)].rsplit(".", 1)[0] + "`" for m in done})
        if group in ("Api", "Settings"):
            names = sorted({f"`{calls[(group, m)]}()`" for m in done})
        elif group == "References":
            names = [f"`reference.<book>` ({len(REFERENCE_BOOKS)} books)"]
        lines.append(
            f"| {group} | {len(done)}/{len(methods)} | {', '.join(names) or '-'} "
            f"| {', '.join(missing) or '-'} |"
        )
    return "\n".join(lines)
