"""Models from platform answers: attrs classes built by one lenient cattrs converter.

Every platform model is an ``@attrs.frozen`` class whose fields are snake_case
and whose wire names are camelCase (or given in the field's ``wire`` metadata).
:func:`from_wire` builds one from a decoded answer:

- numbers that arrive as strings (``"12"``) are accepted where a number is due;
- unknown fields are kept in the model's ``extra`` mapping, never dropped;
- a malformed answer becomes :class:`crmkit.ProtocolError` naming the path of
  each bad value (cattrs' ``transform_error``), never a bare KeyError.

:func:`to_wire` goes the other way for requests (``None`` fields left out,
``extra`` merged back). This module holds no platform knowledge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs

from .errors import ProtocolError

__all__ = ["converter", "from_wire", "to_wire", "wire_name"]

T = TypeVar("T")

converter = cattrs.Converter()


def _lenient_int(value: Any, _: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    return int(str(value).strip())


def _lenient_float(value: Any, _: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _lenient_str(value: Any, _: Any) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


def _lenient_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    raise ValueError(f"expected true or false, got {value!r}")


converter.register_structure_hook(bool, _lenient_bool)
converter.register_structure_hook(int, _lenient_int)
converter.register_structure_hook(float, _lenient_float)
converter.register_structure_hook(str, _lenient_str)
converter.register_structure_hook(Any, lambda value, _: value)


def wire_name(field: attrs.Attribute[Any]) -> str:
    """The name a field has on the wire: its ``wire`` metadata, else camelCase."""
    explicit = field.metadata.get("wire")
    if explicit:
        return str(explicit)
    head, *rest = field.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_PLANS: dict[type[Any], tuple[tuple[str, str, Any], ...]] = {}


def _plan(cls: type[Any]) -> tuple[tuple[str, str, Any], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        attrs.resolve_types(cls)
        plan = _PLANS[cls] = tuple(
            (field.name, wire_name(field), field.type)
            for field in attrs.fields(cls)
            if field.name != "extra" and field.init
        )
    return plan


def from_wire(data: Any, cls: type[T], *, what: str | None = None) -> T:
    """Build ``cls`` from a decoded answer, keeping unknown fields in ``extra``."""
    name = what or cls.__name__
    if not isinstance(data, Mapping):
        raise ProtocolError(f"expected {name} as a JSON object, got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    known: set[str] = set()
    problems: list[str] = []
    for attr, key, kind in _plan(cls):
        known.add(key)
        if key not in data or data[key] is None:
            continue
        try:
            kwargs[attr] = converter.structure(data[key], kind)
        except Exception as exc:  # cattrs raises several types; each becomes one line
            details = (
                cattrs.transform_error(exc, path=f"{name}.{key}")
                if isinstance(exc, cattrs.BaseValidationError)
                else [f"{exc} @ {name}.{key}"]
            )
            problems.extend(details)
    if problems:
        raise ProtocolError(f"malformed {name}: " + "; ".join(problems))
    if "extra" in attrs.fields_dict(cls):  # type: ignore[arg-type]
        kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ProtocolError(f"malformed {name}: {exc}") from None


def to_wire(model: Any) -> dict[str, Any]:
    """The wire dict of a model (camelCase keys, ``None`` left out, ``extra`` merged)."""
    out: dict[str, Any] = dict(getattr(model, "extra", None) or {})
    for attr, key, _ in _plan(type(model)):
        value = getattr(model, attr)
        if value is None:
            continue
        if attrs.has(type(value)):
            value = to_wire(value)
        elif isinstance(value, (list, tuple)):
            value = [to_wire(v) if attrs.has(type(v)) else v for v in value]
        out[key] = value
    return out
