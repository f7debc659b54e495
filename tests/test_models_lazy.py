"""Models built from answers convert each field when it is first read, and still behave as models.

A lazy model is an instance of a generated subclass that reports the model class
as its ``__class__``: these tests compare it with the same model built eagerly,
field by field and through every attrs / cattrs / pickle path a caller may use.
"""

from __future__ import annotations

import copy
import pickle
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timezone

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmkit
import crmkit.amocrm.models
import crmkit.corezoid.models
import crmkit.retailcrm.models
from crmkit._models import _detailed, _fast, _lazy_ok, _plan, converter, from_wire, to_wire
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


def test_to_wire_of_a_lazy_model_reads_the_mapping_it_keeps_and_fills_nothing():
    """A dlt sync's rows: ``to_wire`` of a listed record without building its fields."""
    data = {**WIRE, "price": None, "updated_at": "2024-01-02T03:04:05"}
    lead = from_wire(data, Lead)
    wire = to_wire(lead)
    with pytest.raises(AttributeError):  # no field was built to get it
        Lead.__dict__["name"].__get__(lead)
    built = attrs.evolve(lead)  # an eager copy: to_wire reads its fields
    assert type(built) is Lead
    assert wire == to_wire(built) and list(wire) == list(to_wire(built))
    assert "price" not in wire  # None left out, as ever
    assert wire["created_at"] == datetime.fromtimestamp(1700000000, timezone.utc)
    assert wire["updated_at"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert wire["custom_fields_values"] == [
        {"field_id": 3, "field_code": "PHONE", "values": [{"value": "+1"}]}
    ]
    assert wire["custom_fields_values"] is not data["custom_fields_values"]  # lists are new
    assert wire["surprise"] == {"kept": True}


@attrs.frozen
class Inner:
    """A nested model of the test's own: every kind a platform's models use."""

    id: int
    at: datetime | None = None
    tags: list[str] = attrs.field(factory=list)
    extra: dict[str, typing.Any] = attrs.field(factory=dict)


@attrs.frozen
class Outer:
    """A model holding one nested model and a list of them (no platform model does yet)."""

    inner: Inner | None = None
    inners: list[Inner] = attrs.field(factory=list)
    options: dict[str, typing.Any] | None = None
    anything: typing.Any = None


def _models() -> list[type[object]]:
    """Every platform model that lists build lazily."""
    found = {
        value
        for module in (crmkit.amocrm.models, crmkit.corezoid.models, crmkit.retailcrm.models)
        for value in vars(module).values()
        if isinstance(value, type)
        and attrs.has(value)
        and _lazy_ok(value)
        and not getattr(value, "__parameters__", ())  # a generic one is built as Saved[Order]
    }
    return [*sorted(found, key=lambda cls: cls.__qualname__), Inner, Outer]


def _value(kind, depth):
    """A strategy for a wire value of ``kind``: right types mostly, sometimes not."""
    members = typing.get_args(kind)
    if typing.get_origin(kind) in (types.UnionType, typing.Union):
        return st.one_of(*(_value(m, depth) for m in members))
    if kind is type(None):
        return st.none()
    json = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans())
    if kind is int:
        return st.one_of(st.integers(-(2**40), 2**40), st.just("12"))
    if kind is float:
        return st.one_of(st.floats(allow_nan=False), st.integers())
    if kind is str:
        return st.one_of(st.text(max_size=8), st.integers())
    if kind is bool:
        return st.booleans()
    if kind is datetime:
        return st.one_of(st.integers(0, 2**31), st.just("2024-01-02 03:04:05"))
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if isinstance(kind, type) and attrs.has(kind):
        return _record(kind, depth + 1) if depth < 2 else st.none()
    if origin is list and args:
        return st.lists(_value(args[0], depth), max_size=3)
    if origin in (dict, Mapping):
        return st.dictionaries(st.text(max_size=4), json, max_size=3)
    return json


def _record(cls, depth=0):
    fields = {key: _value(kind, depth) for _, key, kind in _plan(cls)}
    required = {
        key: fields[key]
        for name, key, _ in _plan(cls)
        if attrs.fields_dict(cls)[name].default is attrs.NOTHING
    }
    optional = {key: value for key, value in fields.items() if key not in required}
    unknown = st.dictionaries(st.sampled_from(["zz", "_links", "other"]), st.integers(), max_size=2)
    return st.builds(
        lambda a, b, c: {**c, **a, **b},
        st.fixed_dictionaries(required),
        st.fixed_dictionaries({}, optional=optional),
        unknown,
    )


@pytest.mark.parametrize("cls", _models(), ids=lambda cls: cls.__qualname__)
def test_to_wire_of_any_listed_record_is_that_of_its_eager_model(cls):
    """For every lazily built model: generated answers (nulls, defaults, nested models,
    unknown keys, wrong types), ``to_wire`` of the lazy model equals that of the eager one."""

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_record(cls))
    def check(data):
        try:
            built = _fast(cls)(data)
        except Exception:
            try:
                built = _detailed(data, cls)
            except Exception:
                with pytest.raises(crmkit.ProtocolError):
                    to_wire(from_wire(data, cls))
                return
        model = from_wire(data, cls)
        lazy.append(type(model) is not cls)
        wire = to_wire(model)
        assert wire == to_wire(built)
        assert list(wire) == list(to_wire(built))

    lazy: list[bool] = []
    check()
    assert any(lazy), f"no generated {cls.__qualname__} was built lazily"
