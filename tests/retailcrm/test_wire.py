"""The sans-I/O rules: URLs, bracket and form encodings, page sizes."""

from __future__ import annotations

import json

import pytest

from crmkit.retailcrm import Customer
from crmkit.retailcrm._wire import api_base_url, encode_form, encode_query, page_size_for


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
