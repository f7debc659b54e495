"""The vendor's own sync client (``retailcrm`` on PyPI), unchanged, against the sandbox on loopback.

It was written by RetailCRM, not by us: if it works against the sandbox, the
sandbox speaks the protocol as the vendor reads it. Read from the installed
package, ``retailcrm/versions/base.py`` and ``retailcrm/versions/v5.py``.

The vendor client's methods that the sandbox serves, each run here:

- ``api_versions``, ``api_credentials``, ``system_info``, ``settings``;
- ``customers``, ``customer_create``, ``customer``, ``customer_edit``,
  ``customers_upload``, ``customers_history``, ``customers_fix_external_ids``;
- ``customers_corporate``, ``customer_corporate_create``, ``customer_corporate``,
  ``customer_corporate_edit`` (its bug, below), ``customers_corporate_upload``,
  ``customer_corporate_notes``, ``customer_corporate_note_create``,
  ``customer_corporate_note_delete``, ``customers_combine_corporate``,
  ``customers_corporate_history``, ``customers_corporate_fix_external_ids``;
- ``orders``, ``order_create``, ``order``, ``order_edit``, ``orders_upload``
  (a partial upload's 460 too), ``orders_history``, ``orders_statuses``,
  ``orders_fix_external_ids``;
- ``integration_module``, ``integration_module_edit``, ``integration_module_update_scopes``;
- every reference book: ``cost_groups(_edit)``, ``cost_items(_edit)``, ``currencies``,
  ``currencies_create``, ``currencies_edit``, ``mg_channels``, ``countries``, ``couriers``,
  ``couriers_create``,
  ``couriers_edit``, ``delivery_services(_edit)``, ``delivery_types(_edit)``,
  ``legal_entities(_edit)``, ``order_methods(_edit)``, ``order_types(_edit)``,
  ``payment_statuses(_edit)``, ``payment_types(_edit)``, ``price_types(_edit)``,
  ``product_statuses(_edit)``, ``sites(_edit)``, ``status_groups``,
  ``statuses(_edit)``, ``stores(_edit)``, ``units(_edit)``;
- ``users``, ``user``, ``user_status``, ``user_groups``;
- ``tasks``, ``task_create``, ``task``, ``task_edit``, ``tasks_history``, ``tasks_comments``;
- ``customer_subscription``;
- ``order_payment_create``, ``order_payment_edit``, ``order_payment_delete``;
- ``customer_notes``, ``customer_note_create``, ``customer_note_delete``, ``customers_combine``;
- ``packs``, ``pack_create``, ``pack``, ``pack_edit``, ``pack_delete``, ``packs_history``;
- ``loyalty_account_create``, ``loyalty_account``, ``loyalty_account_activate``,
  ``loyalty_account_edit``, ``loyalty_account_bonus_credit``, ``loyalty_account_bonus_charge``,
  ``loyalty_account_bonus_operations``, ``loyalty_accounts``, ``loyalty_loyalties``,
  ``loyalty_loyalty``, ``loyalty_bonus_operations``; ``orders_combine``;
- ``custom_fields``, ``custom_field``, ``custom_field_create``, ``custom_field_edit``,
  ``custom_dictionaries``, ``custom_dictionary``, ``custom_dictionary_create``,
  ``custom_dictionary_edit``;
- ``inventories``, ``inventories_upload``, ``offers``, ``products``, ``products_batch_create``,
  ``products_batch_edit``, ``product_groups``, ``product_groups_create``, ``product_groups_edit``;
- ``costs``, ``cost_create``, ``cost``, ``cost_edit``, ``cost_delete``, ``costs_delete``,
  ``costs_upload``;
- ``telephony_manager``, ``telephony_call_event``, ``telephony_calls_upload``.

Its known faults, each answered the way the service answers them:
``orders_history``/``customers_history`` always send ``page`` (default 1),
which the service refuses next to ``filter[sinceId]``; ``customer_corporate_edit``
sends the entity as ``customersCorporate`` where the service reads
``customerCorporate``, and ``price_types_edit``/``units_edit`` send ``priceTypes``/
``units`` where it reads ``priceType``/``unit`` (the PHP client's request models
say so): the service answers "Parameter '...' is missing".
"""

from __future__ import annotations

import pytest

import retailcrm
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox


@pytest.fixture(scope="module")
def served():
    sandbox = RetailCRMSandbox(customers=120, orders=80, corporate=10, rate_limit=None)
    with sandbox.serve() as served:
        yield sandbox, served.url


@pytest.fixture
def client(served):
    return retailcrm.v5(served[1], DEFAULT_API_KEY)


def ok(response) -> dict:
    assert response.is_successful(), (response.get_status_code(), response.get_response())
    body = response.get_response()
    assert body["success"] is True
    return body


def test_vendor_client_lists_customers(client):
    body = ok(client.customers({"ids": [1, 2, 3]}, limit=20, page=1))
    assert [c["id"] for c in body["customers"]] == [1, 2, 3]
    everything = ok(client.customers(limit=50, page=3))
    assert everything["pagination"] == {
        "limit": 50,
        "totalCount": 120,
        "currentPage": 3,
        "totalPageCount": 3,
    }
    assert len(everything["customers"]) == 20


def test_vendor_client_creates_gets_and_edits_a_customer(client):
    created = ok(client.customer_create({"externalId": "vendor-1", "firstName": "Irina"}))
    assert created["id"] > 0
    fetched = ok(client.customer("vendor-1"))["customer"]
    assert fetched["firstName"] == "Irina"
    ok(client.customer_edit({"externalId": "vendor-1", "lastName": "Ivanova"}))
    by_id = ok(client.customer(fetched["id"], uid_type="id"))["customer"]
    assert by_id["lastName"] == "Ivanova"


def test_vendor_client_customer_upload_history_and_fix_external_ids(client):
    body = ok(client.customers_upload([{"externalId": "vu-1"}, {"firstName": "No ext"}]))
    made = body["uploadedCustomers"]
    assert [m["externalId"] for m in made] == ["vu-1", None]
    ok(client.customers_fix_external_ids([{"id": made[1]["id"], "externalId": "vu-2"}]))
    assert ok(client.customer("vu-2"))["customer"]["id"] == made[1]["id"]
    history = ok(client.customers_history({"customerId": made[1]["id"]}, limit=20, page=1))
    assert [h["field"] for h in history["history"]] == ["id", "externalId"]


def test_vendor_client_orders(client):
    listing = ok(client.orders({"ids": [5]}, limit=20))
    assert [o["id"] for o in listing["orders"]] == [5]
    created = ok(client.order_create({"externalId": "vendor-order", "firstName": "Ilya"}))
    assert created["order"]["id"] == created["id"]  # {id, order}, as OrdersCreateResponse
    assert ok(client.order("vendor-order"))["order"]["firstName"] == "Ilya"
    edited = ok(client.order_edit({"externalId": "vendor-order", "status": "complete"}))
    assert edited["order"]["status"] == "complete"
    statuses = ok(client.orders_statuses([5], ["vendor-order"]))["orders"]
    assert {(s["id"], s["status"]) for s in statuses} == {(5, "new"), (created["id"], "complete")}
    ok(client.orders_fix_external_ids([{"id": 5, "externalId": "fixed-5"}]))
    assert ok(client.order("fixed-5"))["order"]["id"] == 5


def test_vendor_client_partial_order_upload_is_460_with_both_lists(client):
    ok(client.order_create({"externalId": "vo-taken"}))
    response = client.orders_upload([{"externalId": "vo-new"}, {"externalId": "vo-taken"}])
    assert response.get_status_code() == 460
    body = response.get_response()
    assert [o["externalId"] for o in body["uploadedOrders"]] == ["vo-new"]
    assert body["failedOrders"] == [{"externalId": "vo-taken"}]


def test_vendor_client_order_create_with_a_taken_external_id_is_refused_naming_it(client):
    """The vendor's text for a taken externalId, as retailcrm/prestashop-module reads it
    (``lib/api/middleware/RetailcrmExportOrdersMiddleware.php``): crmkit's exactly-once
    creates rely on this answer."""
    ok(client.order_create({"externalId": "vo-twice"}))
    response = client.order_create({"externalId": "vo-twice"})
    assert not response.is_successful() and response.get_status_code() == 400
    assert "Order with externalId=vo-twice already exists." in str(response.get_errors())


def test_vendor_client_history(served, client):
    sandbox, _ = served
    body = ok(client.orders_history(limit=100, page=1))
    expected = [entry["id"] for entry in sandbox.account().stores["orders"].history][:100]
    assert [entry["id"] for entry in body["history"]] == expected
    assert len(expected) >= 80


def test_vendor_client_sends_page_with_since_id_and_the_service_refuses_it(client):
    """The client's fault: ``orders_history`` always sends ``page``, refused with ``sinceId``."""
    for call in (client.orders_history, client.customers_history):
        response = call({"sinceId": 10}, limit=20)
        assert response.get_status_code() == 400
        assert response.get_response()["success"] is False
        assert "sinceId" in response.get_error_msg()


def test_vendor_client_corporate_customers_and_its_edit_fault(client):
    """The client's fault: ``customer_corporate_edit`` names the entity ``customersCorporate``."""
    created = ok(client.customer_corporate_create({"externalId": "vc-1", "nickName": "Acme"}))
    assert ok(client.customer_corporate("vc-1"))["customerCorporate"]["id"] == created["id"]
    assert ok(client.customers_corporate({"ids": [created["id"]]}))["customersCorporate"]
    response = client.customer_corporate_edit({"externalId": "vc-1", "nickName": "Acme 2"})
    assert response.get_status_code() == 400
    assert response.get_error_msg() == "Parameter 'customerCorporate' is missing"
    assert ok(client.customer_corporate("vc-1"))["customerCorporate"]["nickName"] == "Acme"
    uploaded = ok(client.customers_corporate_upload([{"externalId": "vc-2"}]))
    ok(client.customers_corporate_fix_external_ids(
        [{"id": uploaded["uploadedCustomers"][0]["id"], "externalId": "vc-3"}]
    ))  # fmt: skip
    assert ok(client.customer_corporate("vc-3"))["customerCorporate"]["externalId"] == "vc-3"
    made = uploaded["uploadedCustomers"][0]["id"]
    changes = ok(client.customers_corporate_history({"customerCorporateId": made}))
    assert [h["field"] for h in changes["history"]] == ["id", "externalId"]


def test_vendor_client_account_methods(client):
    assert ok(client.api_versions())["versions"] == ["3.0", "4.0", "5.0"]
    assert "order_read" in ok(client.api_credentials())["scopes"]
    assert ok(client.system_info())["systemVersion"]
    assert ok(client.settings())["settings"]["timezone"]["value"] == "Europe/Moscow"


def test_vendor_client_integration_modules(client):
    ok(client.integration_module_edit({"code": "vm", "name": "Vendor module", "active": True}))
    assert ok(client.integration_module("vm"))["integrationModule"]["name"] == "Vendor module"
    key = ok(client.integration_module_update_scopes("vm", {"scopes": ["order_read"]}))["apiKey"]
    assert key and key != DEFAULT_API_KEY


READ_ONLY = {
    "countries": "countriesIso",
    "status_groups": "statusGroups",
    "mg_channels": "mgChannels",
}
BOOKS = {
    "cost_groups": ("costGroups", "marketing"),
    "cost_items": ("costItems", "ads"),
    "delivery_services": ("deliveryServices", "cdek"),
    "delivery_types": ("deliveryTypes", "courier"),
    "legal_entities": ("legalEntities", "main-entity"),
    "order_methods": ("orderMethods", "phone"),
    "order_types": ("orderTypes", "eshop-legal"),
    "payment_statuses": ("paymentStatuses", "paid"),
    "payment_types": ("paymentTypes", "cash"),
    "product_statuses": ("productStatuses", "in-reserve"),
    "sites": ("sites", "main-shop"),
    "statuses": ("statuses", "complete"),
    "stores": ("stores", "main-store"),
}
#: The client's faults: it sends these edits as ``priceTypes`` and ``units``,
#: where the service reads ``priceType`` and ``unit``
#: (``Model/Request/References/PriceTypesEditRequest.php``, ``UnitsEditRequest.php``).
MISNAMED = {"price_types": ("priceTypes", "base", "priceType"), "units": ("units", "pc", "unit")}


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_vendor_client_reference_books(client, name):
    key, code = BOOKS[name]
    assert code in ok(getattr(client, name)())[key]
    ok(getattr(client, f"{name}_edit")({"code": code, "name": "Renamed"}))
    assert ok(getattr(client, name)())[key][code]["name"] == "Renamed"


@pytest.mark.parametrize("name", sorted(MISNAMED))
def test_vendor_client_misnamed_reference_edits_fail_as_the_service_fails_them(client, name):
    key, code, field = MISNAMED[name]
    assert code in ok(getattr(client, name)())[key]
    response = getattr(client, f"{name}_edit")({"code": code, "name": "Renamed"})
    assert response.get_status_code() == 400
    assert response.get_error_msg() == f"Parameter '{field}' is missing"
    assert ok(getattr(client, name)())[key][code]["name"] != "Renamed"


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_vendor_client_read_only_books(client, name):
    assert ok(getattr(client, name)())[READ_ONLY[name]]


def test_vendor_client_currencies(client):
    made = ok(client.currencies_create({"code": "USD", "isBase": False}))
    ok(client.currencies_edit({"id": made["id"], "manualConvertValue": 90}))
    usd = [c for c in ok(client.currencies())["currencies"] if c["code"] == "USD"]
    assert usd == [{"code": "USD", "isBase": False, "manualConvertValue": 90, "id": made["id"]}]


def test_vendor_client_couriers(client):
    made = ok(client.couriers_create({"firstName": "Petr", "active": True}))
    ok(client.couriers_edit({"id": made["id"], "lastName": "Petrov"}))
    couriers = ok(client.couriers())["couriers"]
    assert {"firstName": "Petr", "lastName": "Petrov"}.items() <= couriers[-1].items()


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.subscriptions(),
        lambda c: c.segments(),
    ],
)
def test_vendor_client_methods_the_sandbox_does_not_serve_are_method_not_found(client, call):
    """Never "Not found" of a mistaken entity (``orders/combine`` is not an order)."""
    response = call(client)
    assert response.get_status_code() == 404
    assert response.get_error_msg() == "Method not found"


def test_vendor_client_wrong_key(served):
    response = retailcrm.v5(served[1], "wrong").customers()
    assert not response.is_successful()
    assert response.get_error_msg() == 'Wrong "apiKey" value.'


def test_vendor_client_users(client):
    managers = ok(client.users({"isManager": 1}))["users"]
    assert [u["firstName"] for u in managers] == ["Max"]
    ok(client.user_status(managers[0]["id"], "busy"))
    assert ok(client.user(managers[0]["id"]))["user"]["status"] == "busy"


def test_vendor_client_user_groups(client):
    assert [g["code"] for g in ok(client.user_groups(limit=20))["groups"]] == ["managers", "admins"]


def test_vendor_client_corporate_notes_and_combine(client):
    made = ok(client.customer_corporate_note_create({"customer": {"id": 3}, "text": "Corp note"}))
    listed = ok(client.customer_corporate_notes({"customerIds": [3]}))["notes"]
    assert [n["id"] for n in listed] == [made["id"]]
    ok(client.customer_corporate_note_delete(made["id"]))
    ok(client.customers_combine_corporate([{"id": 4}], {"id": 3}))
    assert client.customer_corporate(4, uid_type="id").get_status_code() == 404


def test_vendor_client_tasks(client):
    made = ok(client.task_create({"text": "Vendor task", "performerId": 1}))
    ok(client.task_edit({"id": made["id"], "commentary": "soon"}))
    assert ok(client.task(made["id"]))["task"]["commentary"] == "soon"
    assert made["id"] in [t["id"] for t in ok(client.tasks({"text": "Vendor"}))["tasks"]]
    history = ok(client.tasks_history({"taskId": made["id"]}))["history"]
    assert [h["field"] for h in history] == ["id", "commentary"]
    assert ok(client.tasks_comments(made["id"]))["comments"] == []


def test_vendor_client_customer_subscription(client):
    subscriptions = [{"channel": "sms", "subscription": "promo", "active": True}]
    ok(client.customer_subscription("c-8", subscriptions))
    subscribed = ok(client.customer("c-8"))["customer"]["customerSubscriptions"]
    assert [s["subscription"] for s in subscribed] == [{"channel": "sms", "code": "promo"}]


def test_vendor_client_order_payments(client):
    made = ok(client.order_payment_create(
        {"externalId": "vp-1", "order": {"id": 2}, "type": "bank-card", "amount": 10}
    ))  # fmt: skip
    ok(client.order_payment_edit({"externalId": "vp-1", "amount": 12}))
    order = ok(client.order(2, uid_type="id"))["order"]
    assert order["payments"][str(made["id"])]["amount"] == 12
    ok(client.order_payment_delete(made["id"]))
    assert ok(client.order(2, uid_type="id"))["order"]["payments"] == {}


def test_vendor_client_customer_notes_and_combine(client):
    made = ok(client.customer_note_create({"customer": {"id": 10}, "text": "Vendor note"}))
    notes = ok(client.customer_notes({"customerIds": [10]}))["notes"]
    assert [n["id"] for n in notes] == [made["id"]]
    ok(client.customer_note_delete(made["id"]))
    assert ok(client.customer_notes({"customerIds": [10]}))["notes"] == []
    ok(client.customers_combine([{"id": 11}], {"id": 12}))
    assert client.customer(11, uid_type="id").get_status_code() == 404


def test_vendor_client_packs(served, client):
    sandbox, _ = served
    item = sandbox.account().stores["orders"].records[3]["items"][0]["id"]
    made = ok(client.pack_create({"itemId": item, "store": "main-store", "quantity": 1}))
    ok(client.pack_edit({"id": made["id"], "invoiceNumber": "V-1"}))
    assert ok(client.pack(made["id"]))["pack"]["invoiceNumber"] == "V-1"
    assert [p["id"] for p in ok(client.packs({"orderId": 3}))["packs"]] == [made["id"]]
    history = ok(client.packs_history())["history"]
    assert [h["field"] for h in history if h["pack"]["id"] == made["id"]] == ["id", "invoiceNumber"]
    ok(client.pack_delete(made["id"]))
    assert client.pack(made["id"]).get_status_code() == 404


def test_vendor_client_loyalty(client):
    made = ok(client.loyalty_account_create("main-shop", {"customer": {"id": 20}}))
    uid = made["id"]
    ok(client.loyalty_account_activate(uid))
    ok(client.loyalty_account_edit(uid, {"cardNumber": "777"}))
    credit = ok(client.loyalty_account_bonus_credit(uid, 30, None, None, "vendor"))
    assert credit["loyaltyBonus"]["amount"] == 30
    ok(client.loyalty_account_bonus_charge(uid, 5, "spent"))
    account = ok(client.loyalty_account(uid))["loyaltyAccount"]
    assert (account["amount"], account["cardNumber"]) == (25, "777")
    operations = ok(client.loyalty_account_bonus_operations(uid))["bonusOperations"]
    assert [o["amount"] for o in operations] == [30, 5]
    assert [
        a["id"] for a in ok(client.loyalty_accounts({"cardNumber": "777"}))["loyaltyAccounts"]
    ] == [uid]
    every = ok(client.loyalty_bonus_operations(limit=20))
    assert [o["amount"] for o in every["bonusOperations"]][-2:] == [30, 5]


def test_vendor_client_loyalties_and_order_combine(client):
    programmes = ok(client.loyalty_loyalties({"active": 1}))["loyalties"]
    assert ok(client.loyalty_loyalty(programmes[0]["id"]))["loyalty"]["name"] == "Bonus club"
    ok(client.orders_combine({"id": 6}, {"id": 7}, technique="summ"))
    assert client.order(6, uid_type="id").get_status_code() == 404


def test_vendor_client_custom_fields(client):
    assert (
        ok(client.custom_dictionary_create({"code": "vd", "name": "Vendor dict"}))["code"] == "vd"
    )
    ok(client.custom_dictionary_edit({"code": "vd", "elements": [{"code": "a", "name": "A"}]}))
    assert ok(client.custom_dictionary("vd"))["customDictionary"]["elements"][0]["code"] == "a"
    assert ok(client.custom_dictionaries({"code": "vd"}))["customDictionaries"]
    field = {"code": "vf", "name": "Vendor field", "type": "string", "entity": "customer"}
    assert ok(client.custom_field_create(field))["code"] == "vf"
    ok(client.custom_field_edit({**field, "name": "Renamed field"}))
    assert ok(client.custom_field("vf", "customer"))["customField"]["name"] == "Renamed field"
    assert [
        f["code"] for f in ok(client.custom_fields({"entity": "customer"}))["customFields"]
    ] == ["vf"]


def test_vendor_client_catalogue(client):
    group = ok(client.product_groups_create({"name": "Vendor group", "externalId": "vg"}))["id"]
    ok(client.product_groups_edit("vg", {"name": "Vendor group 2"}))
    names = [g["name"] for g in ok(client.product_groups({"ids": [group]}))["productGroup"]]
    assert names == ["Vendor group 2"]
    made = ok(client.products_batch_create([{"name": "V", "catalogId": 1, "externalId": "vp"}]))
    assert made["processedProductsCount"] == 1
    edited = ok(client.products_batch_edit([{"externalId": "vp", "name": "V2"}, {"id": 404}]))
    assert edited["notFoundProducts"] == [{"id": 404}]
    assert ok(client.products({"externalId": "vp"}))["products"][0]["name"] == "V2"
    assert [o["externalId"] for o in ok(client.offers({"ids": [10]}))["offers"]] == ["of-1"]


def test_vendor_client_telephony(served, client):
    sandbox, _ = served
    phone = sandbox.account().stores["customers"].records[30]["phones"][0]["number"]
    found = ok(client.telephony_manager(phone))
    assert found["customer"]["id"] == 30 and found["manager"]["firstName"] == "Max"
    event = {"phone": phone, "type": "in", "codes": ["102", "999"], "userIds": [1, 77]}
    missing = ok(client.telephony_call_event(event))
    assert (missing["notExistCodes"], missing["notExistUsers"]) == (["999"], [77])
    call = {"date": "2026-03-01 10:00:00", "type": "in", "phone": phone, "externalId": "vc"}
    assert ok(client.telephony_calls_upload([call]))["processedCallsCount"] == 1
    assert ok(client.telephony_calls_upload([call]))["duplicateCalls"] == ["vc"]


def test_vendor_client_costs(client):
    cost = {"costItem": "ads", "summ": 5, "dateFrom": "2026-03-01", "dateTo": "2026-03-31"}
    made = ok(client.cost_create(cost, site="main-shop"))["id"]
    ok(client.cost_edit({"id": made, "summ": 7}))
    assert ok(client.cost(made))["cost"]["summ"] == 7
    uploaded = ok(client.costs_upload([cost, cost]))["uploadedCosts"]
    assert len(uploaded) == 2
    assert ok(client.costs_delete(uploaded))["count"] == 2
    assert [c["id"] for c in ok(client.costs({"costItems": ["ads"]}))["costs"]] == [made]
    ok(client.cost_delete(made))
    assert client.cost(made).get_status_code() == 404


def test_vendor_client_store(client):
    done = ok(
        client.inventories_upload([{"id": 20, "stores": [{"code": "main-store", "available": 4}]}])
    )
    assert done["processedOffersCount"] == 1 and done["notFoundOffers"] == []
    offers = ok(client.inventories({"ids": [20]}))["offers"]
    assert [(o["id"], o["quantity"]) for o in offers] == [(20, 4)]
    assert [p["externalId"] for p in ok(client.products({"ids": [1]}))["products"]] == ["p-1"]
    assert ok(client.product_groups())["productGroup"][0]["name"] == "Things"
