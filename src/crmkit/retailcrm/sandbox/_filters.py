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
from datetime import datetime
from typing import Any

from ._state import DATETIME, Account

__all__ = ["FilterError", "matcher"]

Test = Callable[[dict[str, Any], Any, Account], bool]


class FilterError(Exception):
    """A filter the sandbox cannot apply: 400 with ``errors`` naming it."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(why)
        self.errors = {f"filter[{name}]": why}


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise FilterError(name, "This value should be of type array.")
    return value


def _time(name: str, value: Any, end: bool) -> str:
    text = str(value)
    for shape in (DATETIME, "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, shape)
        except ValueError:
            continue
        if shape != DATETIME and end:
            moment = moment.replace(hour=23, minute=59, second=59)
        return moment.strftime(DATETIME)
    raise FilterError(name, "This value is not valid.")


def _in(field: str, cast: Callable[[Any], Any] = str) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            try:
                wanted = {cast(v) for v in _list(name, value)}
            except (TypeError, ValueError):
                raise FilterError(name, "This value is not valid.") from None
            got = record.get(field)
            return (cast(got) if got is not None else None) in wanted

        return test

    return make


def _equals(field: str, cast: Callable[[Any], Any] = str) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            try:
                return record.get(field) is not None and cast(record[field]) == cast(value)
            except (TypeError, ValueError):
                raise FilterError(name, "This value is not valid.") from None

        return test

    return make


def _contains(*fields: str) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            text = " ".join(str(record.get(f) or "") for f in fields).lower()
            return str(value).lower() in text

        return test

    return make


def _since(field: str, end: bool = False) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            bound = _time(name, value, end)
            stamp = record.get(field)
            return stamp is not None and (stamp <= bound if end else stamp >= bound)

        return test

    return make


def _number(field: str, most: bool) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            try:
                bound, got = float(value), float(record.get(field) or 0)
            except (TypeError, ValueError):
                raise FilterError(name, "This value is not valid.") from None
            return got <= bound if most else got >= bound

        return test

    return make


def _flag(field: str) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            if str(value) not in ("0", "1"):
                raise FilterError(name, "This value is not valid.")
            return bool(record.get(field)) == (str(value) == "1")

        return test

    return make


def _extended_status(name: str) -> Test:
    """``extendedStatus[]``: status codes, or status-group codes meaning all their statuses."""

    def test(record: dict[str, Any], value: Any, account: Account) -> bool:
        codes = {str(v) for v in _list(name, value)}
        status = str(record.get("status"))
        group = account.statuses.get(status, {}).get("group")
        return status in codes or group in codes

    return test


def _customer_of(field: str) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            customer = record.get("customer") or {}
            return str(customer.get(field)) == str(value)

        return test

    return make


def _order_customer(name: str) -> Test:
    """``customer``: a part of the buyer's name, e-mail or phone."""
    return _contains("firstName", "lastName", "patronymic", "email", "phone")(name)


def _not_emulated(names: str) -> dict[str, None]:
    """Documented filters the sandbox refuses rather than ignores."""
    return dict.fromkeys(names.split())


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


def _passes(name: str) -> Test:
    """A filter read by the handler itself (``sinceId``, ``details``)."""
    return lambda record, value, account: True


def _nested(field: str, inner: str) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            wanted = {str(v) for v in (value if isinstance(value, list) else [value])}
            return str((record.get(field) or {}).get(inner)) in wanted

        return test

    return make


def _task_status(name: str) -> Test:
    def test(record: dict[str, Any], value: Any, account: Account) -> bool:
        if value not in ("performing", "completed"):
            raise FilterError(name, "The value you selected is not a valid choice.")
        return bool(record.get("complete")) is (value == "completed")

    return test


def _pack_order(inner: str) -> Callable[[str], Test]:
    def make(name: str) -> Test:
        def test(record: dict[str, Any], value: Any, account: Account) -> bool:
            order_id = ((record.get("item") or {}).get("order") or {}).get("id")
            order = account.stores["orders"].records.get(int(order_id or 0)) or {}
            return str(order.get(inner)) == str(value)

        return test

    return make


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
    "customers/notes": {
        "ids": _in("id", int), "customerIds": _nested("customer", "id"),
        "customerExternalIds": _nested("customer", "externalId"), "text": _contains("text"),
        **_CREATED, **_not_emulated("managerIds"),
    },
    "orders/packs": {
        "ids": _in("id", int), "stores": _in("store"), "itemId": _equals("itemId", int),
        "orderId": _pack_order("id"), "orderExternalId": _pack_order("externalId"),
        "invoiceNumber": _equals("invoiceNumber"),
        "deliveryNoteNumber": _equals("deliveryNoteNumber"),
        **_not_emulated("offerXmlId offerExternalId shipmentDateFrom shipmentDateTo"),
    },
    "orders/packs/history": {"sinceId": _passes, **_HISTORY, **_not_emulated("orderId")},
    "loyalty/accounts": {
        "ids": _in("id", int), "phoneNumber": _equals("phoneNumber"),
        "cardNumber": _equals("cardNumber"), "customerId": _customer_of("id"),
        **_not_emulated("status customerExternalId minAmount maxAmount sites loyalties level"),
    },
    "loyalty/bonus/operations": {**_CREATED},
    "custom-fields": {
        "name": _contains("name"), "code": _equals("code"), "type": _equals("type"),
        "entity": _equals("entity"),
        **_not_emulated("viewMode displayArea inFilter inList inGroupActions"),
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
    "store/product-groups": {
        "ids": _in("id", int), "sites": _in("site"), "active": _flag("active"),
        **_not_emulated("parentGroupId"),
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
