"""The sans-I/O rules: URLs, path segments, bracket and form encodings, datetimes, answers.

HTML rules from ``retailcrm/api-client-php`` ``Handler/Response/AccountNotFoundHandler.php``;
460 from ``Model/Response/Orders/OrdersUploadResponse.php``; 503/429 from
``retailcrm/api-client-go`` ``client.go``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

import crmkit
from crmkit.retailcrm import Customer, ServiceUnavailableError
from crmkit.retailcrm._wire import (
    api_base_url,
    encode_form,
    encode_params,
    encode_query,
    error_mapper,
    format_datetime,
    localize,
    page_size_for,
    parse_datetime,
    read_upload,
    segment,
)


@pytest.mark.parametrize(
    "given",
    [
        "https://demo.retailcrm.ru",
        "https://demo.retailcrm.ru/",
        "https://demo.retailcrm.ru/api/v5",
        "https://demo.retailcrm.ru/api/v5/",
        " https://demo.retailcrm.ru/api ",
    ],
)
def test_account_url_is_normalised(given):
    assert api_base_url(given) == "https://demo.retailcrm.ru/api/v5/"


def test_account_url_must_be_an_address():
    with pytest.raises(ValueError, match="account's address"):
        api_base_url("demo.retailcrm.ru")


def test_nested_brackets():
    params = {
        "filter": {"ids": [1, 2], "customFields": {"nps": {"min": 5}}, "email": "a@b.c"},
        "limit": 20,
        "none": None,
    }
    assert encode_query(params) == [
        ("filter[ids][]", "1"),
        ("filter[ids][]", "2"),
        ("filter[customFields][nps][min]", "5"),
        ("filter[email]", "a@b.c"),
        ("limit", "20"),
    ]


def test_form_fields_hold_json_entities():
    form = encode_form(
        {"customer": Customer(external_id="e1", first_name="Ана"), "site": "shop", "by": None}
    )
    assert set(form) == {"customer", "site"}
    assert json.loads(form["customer"]) == {"externalId": "e1", "firstName": "Ана"}
    assert form["site"] == "shop"


@pytest.mark.parametrize(
    ("asked", "sent"), [(None, 100), (1, 20), (20, 20), (21, 50), (99, 100), (500, 100)]
)
def test_page_size_rounds_up_to_an_allowed_size(asked, sent):
    assert page_size_for(asked) == sent


# -- path segments, datetimes, answers -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("c-1", "c-1"),
        (42, "42"),
        ("../customers/c-1", "..%2Fcustomers%2Fc-1"),
        ("a/b?c#d", "a%2Fb%3Fc%23d"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("50%", "50%25"),
        ("Ана", "%D0%90%D0%BD%D0%B0"),
    ],
)
def test_caller_values_are_one_escaped_segment(value, sent):
    assert segment(value) == sent


def test_an_empty_segment_is_refused():
    with pytest.raises(ValueError, match="cannot be empty"):
        segment("")


def test_datetimes_in_the_account_zone_and_back():
    moscow = ZoneInfo("Europe/Moscow")
    moment = datetime(2026, 6, 1, 21, 30, 5, tzinfo=timezone.utc)
    assert format_datetime(moment, moscow) == "2026-06-02 00:30:05"
    back = parse_datetime("2026-06-02 00:30:05", moscow)
    assert back == moment and back.tzinfo == moscow
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2026, 6, 1), moscow)


def test_query_datetimes_wait_for_the_zone():
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pairs = encode_params({"filter": {"createdAtFrom": moment, "ids": [1]}, "limit": 20})
    assert pairs[0] == ("filter[createdAtFrom]", moment)
    assert localize(pairs, ZoneInfo("Asia/Tokyo")) == [
        ("filter[createdAtFrom]", "2026-01-01 09:00:00"),
        ("filter[ids][]", "1"),
        ("limit", "20"),
    ]


def _response(status: int, method: str = "GET", **kwargs) -> httpx.Response:
    request = httpx.Request(method, "https://shop.retailcrm.test/api/v5/orders")
    return httpx.Response(status, request=request, **kwargs)


def html(status: int, method: str, page: bytes) -> httpx.Response:
    return _response(status, method, headers={"content-type": "text/html"}, content=page)


def refusal(status: int, message: str) -> httpx.Response:
    return _response(status, json={"success": False, "errorMsg": message})


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (html(405, "POST", b"<html></html>"), crmkit.NotFoundError),
        (html(405, "GET", b"<html></html>"), crmkit.ProtocolError),
        (html(404, "GET", b"<h1>Account does not exist</h1>"), crmkit.NotFoundError),
        (html(502, "POST", b"<html>Bad Gateway</html>"), crmkit.ServerError),
        (html(504, "GET", b"<html>Timeout</html>"), crmkit.ServerError),
        (html(503, "GET", b"<html>busy</html>"), ServiceUnavailableError),
        (refusal(503, "Rate limit exceeded"), ServiceUnavailableError),
        (_response(429, content=b""), crmkit.RateLimitError),
        (refusal(400, "Parameter 'site' is missing"), crmkit.ValidationError),
        (html(200, "GET", b"<html>login</html>"), crmkit.ProtocolError),
    ],
)
def test_error_mapper_reads_html_only_as_the_vendor_does(response, expected):
    error = error_mapper(response)
    assert type(error) is expected
    if expected is crmkit.NotFoundError:
        assert "Account does not exist" in str(error)


def test_460_is_not_an_error_and_is_read_item_by_item():
    body = {
        "success": False,
        "errorMsg": "Orders are loaded with errors",
        "errors": {"1": "Order with externalId b already exists."},
        "uploadedOrders": [{"id": 7, "externalId": "a"}, {"id": 8, "externalId": "c"}],
        "failedOrders": [{"externalId": "b"}],
    }
    assert error_mapper(_response(460, "POST", json=body)) is None
    chunk = [{"externalId": "a"}, {"externalId": "b"}, {"externalId": "c"}]
    result = read_upload(chunk, body, "uploadedOrders", "failedOrders")
    assert result.ids == [7, None, 8]
    assert result.errors == {
        1: {
            "errorMsg": "Orders are loaded with errors",
            "errors": "Order with externalId b already exists.",
        }
    }


def test_upload_items_without_external_id_are_never_guessed():
    body = {"uploadedOrders": [{"id": 7}], "failedOrders": [{}], "errors": ["bad"]}
    result = read_upload(
        [{"firstName": "x"}, {"firstName": "y"}], body, "uploadedOrders", "failedOrders"
    )
    assert result.ids == [None, None] and set(result.errors) == {0, 1}
    assert "externalId" in result.errors[0]["errorMsg"]
    whole = read_upload([{}, {}], {"uploadedOrders": [{"id": 1}, {"id": 2}]}, "uploadedOrders", "x")
    assert whole.ids == [1, 2] and whole.ok
