"""Safe VTQL: build queries whose values cannot change the query.

vtiger's query language is a small SQL: ``SELECT * FROM Leads WHERE email =
'a@b.c' ORDER BY lastname LIMIT 0, 100;``. Values written into it by hand are
an injection waiting to happen; :func:`quote` makes any value a single literal
as vtiger's lexer reads one (``include/Webservices/VTQL_Lexer.php``:
``'(?:[^']|'')+'``, so a quote inside is doubled, ``O''Brien``; the literal then
reaches MySQL as written, so a backslash is doubled too). Semicolons and comment
markers (``--``, ``/*``, ``#``) inside a value stay inside its literal. Numbers go
as numbers, aware datetimes as UTC ``Y-m-d H:i:s`` (vtiger keeps datetimes in
UTC; naive ones are refused). :func:`select` builds a whole query from a
``where`` mapping. Field and module names are checked to be plain identifiers.

Raw strings still work everywhere a query is taken, for those who want them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from typing import Any

__all__ = ["identifier", "quote", "select", "utc_text", "where"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def identifier(name: str) -> str:
    """``name`` unchanged if it is a plain field or module name, else ValueError."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not a VTQL field or module name: {name!r}")
    return name


def quote(value: Any) -> str:
    """One VTQL literal: ``'O''Brien'``, ``42``, ``'2024-05-01 10:00:00'`` (UTC).

    ValueError for what VTQL cannot say: None, an empty string (vtiger's lexer
    needs at least one character between the quotes), a naive datetime, a
    number that is not finite.
    """
    if value is None:
        raise ValueError("VTQL has no NULL literal: leave the condition out instead")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"VTQL has no literal for {value!r}")
        return repr(value)
    if isinstance(value, datetime):
        value = utc_text(value)
    elif isinstance(value, date):
        value = value.isoformat()
    text = str(value)
    if not text:
        raise ValueError(
            "VTQL cannot compare with an empty string: vtiger's lexer needs at least one "
            "character between the quotes"
        )
    text = text.replace("\\", "\\\\").replace("'", "''")
    return f"'{text}'"


def utc_text(moment: datetime) -> str:
    """An aware datetime as vtiger writes datetimes: ``Y-m-d H:i:s`` in UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"a VTQL datetime must be aware (e.g. datetime.now(timezone.utc)): vtiger compares "
            f"in UTC, and a naive {moment!r} has no zone to convert from"
        )
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def where(conditions: Mapping[str, Any]) -> str:
    """``{"email": x, "source": ["Web", "Phone"]}`` -> ``email = 'x' AND source IN (...)``."""
    parts = []
    for field, value in conditions.items():
        name = identifier(field)
        if isinstance(value, (list, tuple, set, frozenset)):
            if not value:
                raise ValueError(f"{field}: IN needs at least one value")
            parts.append(f"{name} IN ({', '.join(quote(v) for v in value)})")
        else:
            parts.append(f"{name} = {quote(value)}")
    return " AND ".join(parts)


def select(
    module: str,
    *,
    fields: Iterable[str] | None = None,
    where: Mapping[str, Any] | None = None,
    order_by: str | None = None,
    descending: bool = False,
    limit: int | None = None,
) -> str:
    """A whole query, ending in ``;``. Without ``limit`` the client pages it for you."""
    columns = ", ".join(identifier(f) for f in fields) if fields else "*"
    query = f"SELECT {columns} FROM {identifier(module)}"
    if where:
        query += f" WHERE {_where(where)}"
    if order_by:
        query += f" ORDER BY {identifier(order_by)}{' DESC' if descending else ''}"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return query + ";"


_where = where
