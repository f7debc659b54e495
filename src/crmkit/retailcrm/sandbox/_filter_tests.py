"""The pieces the sandbox's filter tables are made of: one test per kind of filter.

A builder takes the filter's name and gives a test of one record against the
value sent; a value it cannot read is a :class:`FilterError` naming the filter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ._state import DATETIME, Account

__all__ = ["FilterError", "Test"]

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
            if record.get(field) is None:
                return False
            stamp = str(record[field])
            if len(stamp) == len("2026-01-01"):  # a date alone: its first second
                stamp += " 00:00:00"
            return stamp <= bound if end else stamp >= bound

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


def _history_pack_order(inner: str) -> Callable[[str], Test]:
    pack_order = _pack_order(inner)

    def make(name: str) -> Test:
        test = pack_order(name)
        return lambda record, value, account: test(record.get("pack") or {}, value, account)

    return make
