"""The sandbox's list and history filters: every documented one honoured or refused.

The names are those the vendor's clients send (``retailcrm/api-client-go``
``filters.go``: ``OrdersFilter``, ``CustomersFilter``, ``CorporateCustomersFilter``,
``*HistoryFilter``; ``retailcrm/api-client-php`` ``Model/Filter/*``). A filter
the sandbox emulates is applied; a documented one it does not emulate, and any
name the service does not know, is refused as the service's form validation
refuses it: 400 "Errors in the input parameters" naming the field. Datetimes
are read as the API writes them, ``Y-m-d H:i:s`` (or a bare ``Y-m-d``) in the
account's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._filter_tests import (
    FilterError,
    Test,
    _contains,
    _customer_of,
    _equals,
    _extended_status,
    _flag,
    _history_pack_order,
    _in,
    _nested,
    _not_emulated,
    _number,
    _order_customer,
    _pack_order,
    _passes,
    _since,
    _task_status,
)
from ._state import Account

__all__ = ["FilterError", "matcher"]


_CREATED = {"createdAtFrom": _since("createdAt"), "createdAtTo": _since("createdAt", True)}
_HISTORY = {"startDate": _since("createdAt"), "endDate": _since("createdAt", True)}

#: area -> filter name -> how to apply it (None: documented, not emulated: refused).
FILTERS: dict[str, dict[str, Callable[[str], Test] | None]] = {
    "orders": {
        "ids": _in("id", int),
        "externalIds": _in("externalId"),
        "numbers": _in("number"),
        "customer": _order_customer,
        "customerId": _customer_of("id"),
        "customerExternalId": _customer_of("externalId"),
        "email": _contains("email"),
        "sites": _in("site"),
        "orderTypes": _in("orderType"),
        "orderMethods": _in("orderMethod"),
        "managers": _in("managerId", int),
        "paymentStatuses": _in("paymentStatus"),
        "extendedStatus": _extended_status,
        **_CREATED,
        "statusUpdatedAtFrom": _since("statusUpdatedAt"),
        "statusUpdatedAtTo": _since("statusUpdatedAt", True),
        "minPrice": _number("totalSumm", most=False),
        "maxPrice": _number("totalSumm", most=True),
        "vip": _flag("vip"),
        "bad": _flag("bad"),
        **_not_emulated(
            """
            countries city region index metro deliveryTimeFrom deliveryTimeTo minPrepaySumm
            maxPrepaySumm product expired call online shipped attachments deliveryStates
            minDeliveryCost maxDeliveryCost minDeliveryNetCost maxDeliveryNetCost managerComment
            customerComment minMarginSumm maxMarginSumm minPurchaseSumm maxPurchaseSumm
            minCostSumm maxCostSumm trackNumber deliveryExternalId contragentName
            contragentTypes contragentInn contragentKpp contragentBik contragentCorrAccount
            contragentBankAccount receiptFiscalDocumentAttribute receiptStatus receiptOperation
            receiptOrderStatus tasksCounts customerType companyName paymentTypes deliveryTypes
            deliveryServices couriers managerGroups shipmentStores mgChannels fullPaidAtFrom
            fullPaidAtTo paidAtFrom paidAtTo deliveryDateFrom deliveryDateTo firstWebVisitFrom
            firstWebVisitTo lastWebVisitFrom lastWebVisitTo firstOrderFrom firstOrderTo
            lastOrderFrom lastOrderTo shipmentDateFrom shipmentDateTo dpdParcelDateFrom
            dpdParcelDateTo customFields sourceName mediumName campaignName keywordName
            adContentName uploadedToExtStoreSys
            """
        ),
    },
    "customers": {
        "ids": _in("id", int),
        "externalIds": _in("externalId"),
        "name": _contains("firstName", "lastName", "patronymic"),
        "email": _contains("email"),
        "sites": _in("site"),
        "managers": _in("managerId", int),
        "vip": _flag("vip"),
        "bad": _flag("bad"),
        "dateFrom": _since("createdAt"),
        "dateTo": _since("createdAt", True),
        **_not_emulated(
            """
            city region notes minOrdersCount maxOrdersCount minAverageSumm maxAverageSumm
            minTotalSumm maxTotalSumm minCostSumm maxCostSumm classSegment attachments online
            emailMarketingUnsubscribed sex segment discountCardNumber contragentName
            contragentInn contragentKpp contragentBik contragentCorrAccount
            contragentBankAccount contragentTypes managerGroups firstWebVisitFrom
            firstWebVisitTo lastWebVisitFrom lastWebVisitTo firstOrderFrom firstOrderTo
            lastOrderFrom lastOrderTo browserId commentary sourceName mediumName campaignName
            keywordName adContentName mgCustomerId customFields
            """
        ),
    },
    "customers-corporate": {
        "ids": _in("id", int),
        "externalIds": _in("externalId"),
        "name": _contains("nickName"),
        "sites": _in("site"),
        "managers": _in("managerId", int),
        "vip": _flag("vip"),
        "bad": _flag("bad"),
        "dateFrom": _since("createdAt"),
        "dateTo": _since("createdAt", True),
        **_not_emulated(
            """
            contragentName contragentInn contragentKpp contragentBik contragentCorrAccount
            contragentBankAccount contragentTypes city region email notes minOrdersCount
            maxOrdersCount minAverageSumm maxAverageSumm minTotalSumm maxTotalSumm classSegment
            discountCardNumber attachments minCostSumm maxCostSumm tasksCounts contactIds
            managerGroups firstOrderFrom firstOrderTo lastOrderFrom lastOrderTo customFields
            """
        ),
    },
    # History feeds: sinceId is read by the handler; these narrow the changes.
    "orders/history": {"orderId": None, "orderExternalId": None, **_HISTORY},
    "customers/history": {"customerId": None, "customerExternalId": None, **_HISTORY},
    "customers-corporate/history": {
        "customerCorporateId": None,
        "customerCorporateExternalId": None,
        **_HISTORY,
    },
}


_NOTES = {
    "ids": _in("id", int),
    "customerIds": _nested("customer", "id"),
    "customerExternalIds": _nested("customer", "externalId"),
    "text": _contains("text"),
    **_CREATED,
    **_not_emulated("managerIds"),
}

FILTERS.update({
    "users": {
        "email": _contains("email"), "status": _equals("status"), "online": _flag("online"),
        "active": _flag("active"), "isManager": _flag("isManager"), "isAdmin": _flag("isAdmin"),
        **_CREATED, **_not_emulated("groups"),
    },
    "tasks": {
        "ids": _in("id", int), "performers": _in("performer", int), "status": _task_status,
        "text": _contains("text", "commentary"), **_CREATED,
        **_not_emulated(
            "orderNumber customer creators dateFrom dateTo completedAtFrom completedAtTo"
        ),
    },
    "user-groups": {},  # the API takes no filter here
    "tasks/comments": {},  # nor here (TaskGetCommentsRequest: page and limit)
    "customers-corporate/notes": _NOTES,
    "customers/notes": _NOTES,
    "orders/packs": {
        "ids": _in("id", int), "stores": _in("store"), "itemId": _equals("itemId", int),
        "orderId": _pack_order("id"), "orderExternalId": _pack_order("externalId"),
        "invoiceNumber": _equals("invoiceNumber"),
        "deliveryNoteNumber": _equals("deliveryNoteNumber"),
        **_not_emulated("offerXmlId offerExternalId shipmentDateFrom shipmentDateTo"),
    },
    "orders/packs/history": {
        "sinceId": _passes, **_HISTORY,
        "orderId": _history_pack_order("id"), "orderExternalId": _history_pack_order("externalId"),
    },
    "tasks/history": {
        "sinceId": _passes, **_HISTORY,
        "taskId": _nested("task", "id"),
    },
    "loyalty/accounts": {
        "ids": _in("id", int), "id": _equals("id", int), "status": _equals("status"),
        "phoneNumber": _equals("phoneNumber"), "cardNumber": _equals("cardNumber"),
        "customerId": _customer_of("id"), "minAmount": _number("amount", most=False),
        "maxAmount": _number("amount", most=True), **_CREATED,
        **_not_emulated(
            "minOrdersSum maxOrdersSum customer burnDateFrom burnDateTo customerExternalId "
            "loyalties sites level customFields"
        ),
    },
    "loyalty/bonus/operations/all": {"loyalties": _nested("loyalty", "id")},
    "loyalty/loyalties": {
        "ids": _in("id", int), "active": _flag("active"), "blocked": _flag("blocked"),
        **_not_emulated("sites"),
    },
    "loyalty/bonus/operations": {**_CREATED},
    "custom-fields": {
        "name": _contains("name"), "code": _equals("code"), "type": _equals("type"),
        "entity": _equals("entity"),
        **_not_emulated("viewMode displayArea inFilter inList inGroupActions"),
    },
    "costs": {
        "ids": _in("id", int), "orderIds": _nested("order", "id"),
        "orderNumber": _nested("order", "number"), "costItems": _in("costItem"),
        "minSumm": _number("summ", most=False), "maxSumm": _number("summ", most=True),
        "dateFrom": _since("dateFrom"), "dateTo": _since("dateTo", True), **_CREATED,
        **_not_emulated("sites createdBy costGroups users orderExternalIds"),
    },
    "custom-fields/dictionaries": {"name": _contains("name"), "code": _equals("code")},
    "store/inventories": {
        "ids": _in("id", int), "offerExternalId": _equals("externalId"),
        "offerXmlId": _equals("xmlId"), "offerActive": _flag("active"), "details": _passes,
        "sites": _in("site"),
        **_not_emulated("productExternalId productArticle offerArticle productActive catalogs"),
    },
    "store/products": {
        "ids": _in("id", int), "name": _contains("name"), "externalId": _equals("externalId"),
        "active": _flag("active"), "sites": _in("site"),
        **_not_emulated(
            "offerIds recommended novelty stock popular maxQuantity minQuantity maxPurchasePrice "
            "minPurchasePrice maxPrice minPrice groups classSegment xmlId manufacturer url "
            "priceType offerExternalId properties"
        ),
    },
    "store/offers": {
        "ids": _in("id", int), "name": _contains("name"), "externalIds": _in("externalId"),
        "xmlIds": _in("xmlId"), "sites": _in("site"), "active": _flag("active"),
        **_not_emulated(
            "properties catalogs sinceId groups priceType minPrice maxPrice minQuantity maxQuantity"
        ),
    },
    "store/product-groups": {
        "ids": _in("id", int), "sites": _in("site"), "active": _flag("active"),
        "parentGroupId": _equals("parentId", int),
        **_not_emulated("catalogs minLevel maxLevel"),
    },
})  # fmt: skip

_HISTORY_ENTITY = {
    "orderId": ("order", "id"),
    "orderExternalId": ("order", "externalId"),
    "customerId": ("customer", "id"),
    "customerExternalId": ("customer", "externalId"),
    "customerCorporateId": ("customerCorporate", "id"),
    "customerCorporateExternalId": ("customerCorporate", "externalId"),
}


def _history_entity(name: str) -> Test:
    key, field = _HISTORY_ENTITY[name]

    def test(record: dict[str, Any], value: Any, account: Account) -> bool:
        return str((record.get(key) or {}).get(field)) == str(value)

    return test


def matcher(
    area: str, filters: dict[str, Any], *, skip: tuple[str, ...] = ()
) -> Callable[[dict[str, Any], Account], bool]:
    """A test for records of ``area`` meeting every filter; refuses what it cannot apply."""
    known = FILTERS[area]
    tests: list[tuple[Test, Any]] = []
    for name, value in filters.items():
        if name in skip:
            continue
        if name not in known:
            raise FilterError(name, "This form should not contain extra fields.")
        make = known[name]
        if make is None and name in _HISTORY_ENTITY:
            make = _history_entity
        if make is None:
            raise FilterError(name, "This filter is not emulated by the sandbox.")
        tests.append((make(name), value))

    def check(record: dict[str, Any], account: Account) -> bool:
        return all(test(record, value, account) for test, value in tests)

    return check
