"""Models from platform answers: attrs classes built by one lenient cattrs converter.

Every platform model is an ``@attrs.frozen`` class whose fields are snake_case
and whose wire names are camelCase (or given in the field's ``wire`` metadata).
:func:`from_wire` builds one from a decoded answer:

- numbers that arrive as strings (``"12"``) are accepted where a number is due,
  and instants as unix seconds or ISO 8601 become aware datetimes;
- unknown fields are kept in the model's ``extra`` mapping, never dropped;
- a malformed answer becomes :class:`crmkit.ProtocolError` naming the path of
  each bad value (cattrs' ``transform_error``), never a bare KeyError.

:func:`to_wire` goes the other way for requests (``None`` fields left out,
``extra`` merged back). This module holds no platform knowledge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .errors import ProtocolError

__all__ = ["converter", "from_wire", "to_wire", "wire_name"]

T = TypeVar("T")

#: The converter with cattrs' detailed validation: it names the path of each bad
#: value, and builds models only when :data:`_fast` has failed on an answer.
converter = cattrs.Converter()
#: The same hooks without detailed validation: the generated structuring code
#: skips the per-field bookkeeping that only a failure needs (most of its cost).
_fast = cattrs.Converter(detailed_validation=False)


def _lenient_int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
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
    if type(value) is str:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


def _lenient_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    raise ValueError(f"expected true or false, got {value!r}")


def _instant(value: Any, _: Any) -> datetime:
    """Unix seconds (as a number or text) or ISO 8601 -> an aware datetime (UTC if unzoned)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text), timezone.utc)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _optional(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def structure(value: Any, kind: Any) -> Any:
        return None if value is None else hook(value, kind)

    return structure


for _kind, _hook in (
    (datetime, _instant),
    (bool, _lenient_bool),
    (int, _lenient_int),
    (float, _lenient_float),
    (str, _lenient_str),
):
    for _converter in (converter, _fast):
        _converter.register_structure_hook(_kind, _hook)
        # ``X | None`` directly: cattrs' generic Optional handling costs more than the value.
        _converter.register_structure_hook(_kind | None, _optional(_hook))
for _converter in (converter, _fast):
    _converter.register_structure_hook(Any, lambda value, _: value)


def _is_optional(kind: Any) -> bool:
    args = get_args(kind)
    return len(args) == 2 and type(None) in args and get_origin(kind) in (Union, UnionType)


def _fast_optional(kind: Any) -> Callable[[Any, Any], Any]:
    """``X | None`` with X's hook looked up once, not on every value (cattrs' generic way)."""
    inner_kind = next(arg for arg in get_args(kind) if arg is not type(None))
    inner = _fast.get_structure_hook(inner_kind)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, inner_kind)

    return structure


_fast.register_structure_hook_factory(_is_optional, _fast_optional)


def wire_name(field: attrs.Attribute[Any], snake: bool = False) -> str:
    """The name a field has on the wire: its ``wire`` metadata, else camelCase.

    A model class with ``__wire_snake_case__ = True`` keeps its names as they are
    (amoCRM's API is snake_case).
    """
    explicit = field.metadata.get("wire")
    if explicit:
        return str(explicit)
    if snake:
        return field.name
    head, *rest = field.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_PLANS: dict[type[Any], tuple[tuple[str, str, Any], ...]] = {}
_BUILDERS: dict[type[Any], tuple[Callable[[Any, Any], Any], frozenset[str], bool]] = {}
_DETAILED: dict[type[Any], Callable[[Any, Any], Any]] = {}


def _plan(cls: type[Any]) -> tuple[tuple[str, str, Any], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        attrs.resolve_types(cls)
        snake = bool(getattr(cls, "__wire_snake_case__", False))
        plan = _PLANS[cls] = tuple(
            (field.name, wire_name(field, snake), field.type)
            for field in attrs.fields(cls)
            if field.name != "extra" and field.init
        )
    return plan


def _structure_fn(cls: type[Any], using: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # cattrs generates one structuring function per class (compiled once):
    # several times faster than structuring field by field on every record.
    overrides: dict[str, Any] = {name: override(rename=key) for name, key, _ in _plan(cls)}
    if "extra" in attrs.fields_dict(cls):
        overrides["extra"] = override(omit=True)
    return make_dict_structure_fn(cls, using, _cattrs_forbid_extra_keys=False, **overrides)


def _builder(cls: type[Any]) -> tuple[Callable[[Any, Any], Any], frozenset[str], bool]:
    built = _BUILDERS.get(cls)
    if built is None:
        known = frozenset(key for _, key, _ in _plan(cls))
        has_extra = "extra" in attrs.fields_dict(cls)
        built = _BUILDERS[cls] = (_structure_fn(cls, _fast), known, has_extra)
    return built


def from_wire(data: Any, cls: type[T], *, what: str | None = None) -> T:
    """Build ``cls`` from a decoded answer, keeping unknown fields in ``extra``."""
    name = what or cls.__name__
    if not isinstance(data, Mapping):
        raise ProtocolError(f"expected {name} as a JSON object, got {type(data).__name__}")
    function, known, has_extra = _builder(cls)
    try:
        try:
            model: T = function(data, cls)
        except Exception:
            # Build it again with detailed validation: the error then names the path.
            detailed = _DETAILED.get(cls)
            if detailed is None:
                detailed = _DETAILED[cls] = _structure_fn(cls, converter)
            model = detailed(data, cls)
    except cattrs.BaseValidationError as exc:
        problems = cattrs.transform_error(exc, path=name)
        raise ProtocolError(f"malformed {name}: " + "; ".join(problems)) from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ProtocolError(f"malformed {name}: {exc}") from None
    if has_extra:
        extra = {k: v for k, v in data.items() if k not in known}
        if extra:
            # The model is frozen for its users; filling ``extra`` here is part of building it.
            object.__setattr__(model, "extra", extra)
    return model


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
