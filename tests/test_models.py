"""The one converter's generated fast builders against cattrs' detailed path.

``crmkit._models`` builds models with one generated function per class and falls
back to cattrs' detailed structuring only when that function cannot take an
answer; these tests hold the two to the same results and the same errors.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

import crmkit
from crmkit._models import _detailed, _fast, from_wire
from crmkit.amocrm.models import Lead
from crmkit.retailcrm.models import Customer, Order

ANSWERS: list[tuple[type[Any], dict[str, Any]]] = [
    (Lead, {"id": 7, "name": "Deal", "price": 100, "created_at": 1700000000}),
    (Lead, {"id": "7", "price": " 12 ", "created_at": "1700000000", "updated_at": 1.5e9}),
    (Lead, {"id": 1, "created_at": "2024-01-02T03:04:05+03:00", "closed_at": None}),
    (Lead, {"custom_fields_values": [{"field_id": "3", "values": [{"value": 1}], "x": 2}]}),
    (Lead, {"custom_fields_values": None, "is_deleted": False, "_embedded": {"tags": []}}),
    (Customer, {"id": 5, "firstName": "Ann", "phones": [{"number": 123}], "vip": "1"}),
    (Order, {"id": 1, "items": [{"initialPrice": "2.5", "quantity": 1, "unknown": True}]}),
    (Order, {"number": 42, "totalSumm": 10, "customer": {"id": 3, "x": 1}}),
]


@pytest.mark.parametrize(("model", "answer"), ANSWERS)
def test_fast_builder_gives_what_the_detailed_path_gives(model, answer):
    fast = _fast(model)(answer)
    assert fast == _detailed(answer, model)
    assert fast.extra == _detailed(answer, model).extra
    assert from_wire(answer, model) == fast


def test_numbers_as_text_instants_and_unknown_fields():
    lead = from_wire(
        {"id": "12", "created_at": "1700000000", "custom_fields_values": [{"field_id": 9, "z": 1}],
         "is_deleted": False},
        Lead,
    )  # fmt: skip
    assert lead.id == 12
    assert lead.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert lead.extra == {"is_deleted": False}
    # a model inside a model reads wire names and keeps its unknown fields too
    assert lead.custom_fields_values[0].extra == {"z": 1}
    order = from_wire({"items": [{"initialPrice": "2.5", "productName": "Tea"}]}, Order)
    assert order.items[0].initial_price == 2.5 and order.items[0].product_name == "Tea"


@pytest.mark.parametrize(
    ("answer", "path"),
    [
        ({"id": "abc"}, "Lead.id"),
        ({"created_at": "yesterday"}, "Lead.created_at"),
        ({"price": True}, "Lead.price"),
        ({"custom_fields_values": [{"field_id": "x"}]}, "Lead.custom_fields_values[0].field_id"),
        ({"custom_fields_values": [7]}, "Lead.custom_fields_values[0]"),
    ],
)
def test_malformed_answers_name_the_path(answer, path):
    with pytest.raises(
        crmkit.ProtocolError, match=r"malformed Lead: .*@ " + path.replace("[", r"\[")
    ):
        from_wire(answer, Lead)
