"""The vendor's own sync client (``retailcrm`` on PyPI), unchanged, against the sandbox on loopback.

It was written by RetailCRM, not by us: if it works against the sandbox, the
sandbox speaks the protocol as the vendor reads it.
"""

from __future__ import annotations

import pytest

import retailcrm
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox


@pytest.fixture(scope="module")
def served():
    sandbox = RetailCRMSandbox(customers=120, orders=80, rate_limit=None)
    with sandbox.serve() as served:
        yield sandbox, served.url


def test_vendor_client_lists_customers(served):
    _, url = served
    client = retailcrm.v5(url, DEFAULT_API_KEY)
    response = client.customers({"ids": [1, 2, 3]}, limit=20, page=1)
    assert response.is_successful(), response.get_response()
    body = response.get_response()
    assert [c["id"] for c in body["customers"]] == [1, 2, 3]
    everything = client.customers(limit=50, page=3).get_response()
    assert everything["pagination"] == {
        "limit": 50,
        "totalCount": 120,
        "currentPage": 3,
        "totalPageCount": 3,
    }
    assert len(everything["customers"]) == 20


def test_vendor_client_creates_gets_and_edits_a_customer(served):
    _, url = served
    client = retailcrm.v5(url, DEFAULT_API_KEY)
    created = client.customer_create({"externalId": "vendor-1", "firstName": "Irina"})
    assert created.is_successful() and created.get_response()["id"] > 0
    fetched = client.customer("vendor-1").get_response()["customer"]
    assert fetched["firstName"] == "Irina"
    edited = client.customer_edit({"externalId": "vendor-1", "lastName": "Ivanova"})
    assert edited.is_successful()
    by_id = client.customer(fetched["id"], uid_type="id").get_response()["customer"]
    assert by_id["lastName"] == "Ivanova"


def test_vendor_client_orders(served):
    _, url = served
    client = retailcrm.v5(url, DEFAULT_API_KEY)
    listing = client.orders({"ids": [5]}, limit=20).get_response()
    assert [o["id"] for o in listing["orders"]] == [5]
    created = client.order_create({"externalId": "vendor-order", "firstName": "Ilya"})
    assert created.is_successful()
    assert client.order("vendor-order").get_response()["order"]["firstName"] == "Ilya"


def test_vendor_client_history(served):
    sandbox, url = served
    client = retailcrm.v5(url, DEFAULT_API_KEY)
    response = client.orders_history(limit=100, page=1)
    assert response.is_successful()
    history = response.get_response()["history"]
    expected = [entry["id"] for entry in sandbox.account().stores["orders"].history][:100]
    assert [entry["id"] for entry in history] == expected
    assert len(expected) >= 80


def test_vendor_client_history_with_since_id_is_refused_as_the_service_does(served):
    """The vendor client sends page with sinceId, which the service refuses since 2023."""
    _, url = served
    client = retailcrm.v5(url, DEFAULT_API_KEY)
    response = client.orders_history({"sinceId": 10}, limit=20, page=1)
    assert response.get_status_code() == 400
    assert not response.get_response()["success"]
    assert "sinceId" in response.get_response()["errorMsg"]


def test_vendor_client_wrong_key(served):
    _, url = served
    response = retailcrm.v5(url, "wrong").customers()
    assert not response.is_successful()
    assert response.get_error_msg() == 'Wrong "apiKey" value.'
