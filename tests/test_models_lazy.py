"""Models built from answers convert each field when it is first read, and still behave as models.

A lazy model is an instance of a generated subclass that reports the model class
as its ``__class__``: these tests compare it with the same model built eagerly,
field by field and through every attrs / cattrs / pickle path a caller may use.
"""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone

import attrs
import pytest

import crmkit
from crmkit._models import converter, from_wire, to_wire
from crmkit.amocrm.models import CustomFieldValue, Lead
from crmkit.retailcrm.models import Customer

WIRE = {
    "id": 7,
    "name": "Deal",
    "price": 100,
    "created_at": 1700000000,
    "custom_fields_values": [{"field_id": 3, "field_code": "PHONE", "values": [{"value": "+1"}]}],
    "surprise": {"kept": True},
}


def eager() -> Lead:
    return Lead(
        id=7,
        name="Deal",
        price=100,
        created_at=datetime.fromtimestamp(1700000000, timezone.utc),
        custom_fields_values=[
            CustomFieldValue(field_id=3, field_code="PHONE", values=[{"value": "+1"}])
        ],
        extra={"surprise": {"kept": True}},
    )


def test_an_answer_builds_a_lazy_model_whose_fields_are_filled_at_the_first_read():
    lead = from_wire(dict(WIRE), Lead)
    assert type(lead) is not Lead and lead.__class__ is Lead and isinstance(lead, Lead)
    price, name = Lead.__dict__["price"], Lead.__dict__["name"]  # the model's own slots
    with pytest.raises(AttributeError):
        price.__get__(lead)
    assert lead.price == 100
    assert price.__get__(lead) == 100 and name.__get__(lead) == "Deal"


def test_a_lazy_model_equals_prints_and_converts_as_the_eager_one():
    lead, built = from_wire(dict(WIRE), Lead), eager()
    assert lead == built and built == lead and (lead != built) is False
    assert repr(lead) == repr(built)
    assert lead.custom_field("PHONE") == "+1"
    assert lead.custom_fields_values[0].__class__ is CustomFieldValue
    assert lead.extra == {"surprise": {"kept": True}}
    assert to_wire(lead) == to_wire(built)
    assert converter.unstructure(lead) == converter.unstructure(built)
    assert attrs.asdict(lead) == attrs.asdict(built)
    assert lead != from_wire({**WIRE, "price": 101}, Lead)


def test_a_lazy_model_is_frozen_and_copies_evolves_and_pickles():
    lead = from_wire(dict(WIRE), Lead)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        lead.name = "changed"  # type: ignore[misc]
    changed = attrs.evolve(lead, name="Other")
    assert type(changed) is Lead and changed.name == "Other" and changed.price == 100
    assert pickle.loads(pickle.dumps(lead)) == eager()
    assert copy.deepcopy(lead) == eager() and copy.copy(lead) == eager()
    assert lead.with_custom_field("PHONE", "+2").custom_field("PHONE") == "+2"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lead.nope  # type: ignore[attr-defined]  # noqa: B018


def test_values_the_fast_path_does_not_take_are_built_eagerly_as_before():
    lenient = from_wire({"id": "7", "price": "12"}, Lead)  # numbers as text
    assert type(lenient) is Lead and lenient.id == 7 and lenient.price == 12
    with pytest.raises(crmkit.ProtocolError, match=r"Lead\.price"):
        from_wire({"id": 1, "price": "a lot"}, Lead)
    nested = {**WIRE, "custom_fields_values": [{"field_id": "not a number"}]}
    with pytest.raises(crmkit.ProtocolError, match="custom_fields_values"):
        from_wire(nested, Lead)
    with pytest.raises(crmkit.ProtocolError):
        from_wire({"id": 1, "created_at": "yesterday"}, Lead)


def test_camel_case_wire_names_and_iso_instants_read_lazily():
    customer = from_wire(
        {"id": 5, "firstName": "Ann", "createdAt": "2024-01-02 03:04:05", "x": 1}, Customer
    )
    assert type(customer) is not Customer
    assert customer.first_name == "Ann" and customer.extra == {"x": 1}
    assert customer.created_at == "2024-01-02 03:04:05"
    lead = from_wire({"id": 1, "updated_at": "2024-01-02T03:04:05"}, Lead)
    assert type(lead) is not Lead
    assert lead.updated_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
