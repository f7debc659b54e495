"""Nested-bracket parameters, the PHP way: ``filter[ids][]=1&filter[ids][]=2``.

RetailCRM's GET parameters and amoCRM's lists and webhooks are written this
way. :func:`encode_query` writes them from nested mappings and lists;
:func:`parse_brackets` reads form or query pairs back into nested values as
PHP does (``a[]`` appends to a list, ``a[b]`` sets a key). No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["BadParameters", "encode_query", "parse_brackets"]

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


class BadParameters(ValueError):
    """A parameter name that is not well-formed brackets, or mixes a list and a map."""


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name}: a naive datetime is ambiguous (which time zone?); pass an aware one, "
            "e.g. datetime(2024, 1, 1, tzinfo=timezone.utc)"
        )


def _scalar(value: Any, name: str = "a parameter") -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        _require_aware(value, name)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def encode_query(
    params: Mapping[str, Any], *, keep: tuple[type, ...] = ()
) -> list[tuple[str, Any]]:
    """Nested brackets: ``{"filter": {"ids": [1, 2]}}`` -> ``filter[ids][]=1&filter[ids][]=2``.

    Values of the types in ``keep`` are left as they are, for the caller to
    write later (RetailCRM writes datetimes once it knows the account's zone).
    """
    out: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}[{key}]", inner)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for inner in value:
                if isinstance(inner, (Mapping, list, tuple)):
                    raise ValueError(f"{prefix}: nested lists of objects cannot go in a query")
                walk(f"{prefix}[]", inner)
        else:
            if isinstance(value, datetime):  # refused here, before any request is made
                _require_aware(value, prefix)
            out.append((prefix, value if isinstance(value, keep) else _scalar(value, prefix)))

    for key, value in params.items():
        walk(key, value)
    return out


def parse_brackets(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``filter[ids][]=1`` pairs -> ``{"filter": {"ids": ["1"]}}`` (PHP's reading)."""
    out: dict[str, Any] = {}
    for raw_key, value in pairs:
        head, _, rest = raw_key.partition("[")
        if not head:
            raise BadParameters(f"bad parameter name {raw_key!r}")
        rest = "[" + rest if rest else ""
        parts = _KEY_PART.findall(rest)
        if "".join(f"[{p}]" for p in parts) != rest:
            raise BadParameters(f"bad parameter name {raw_key!r}")
        node: Any = out
        keys = [head, *parts]
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if key == "":
                if not isinstance(node, list):
                    raise BadParameters(f"{raw_key!r} mixes a list and a map")
                if last:
                    node.append(value)
                else:
                    node.append({})
                    node = node[-1]
                continue
            if not isinstance(node, dict):
                raise BadParameters(f"{raw_key!r} mixes a list and a map")
            if last:
                node[key] = value
            else:
                nxt = "list" if keys[depth + 1] == "" else "dict"
                if key not in node or not isinstance(node[key], list if nxt == "list" else dict):
                    node[key] = [] if nxt == "list" else {}
                node = node[key]
    return out
