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

import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .errors import ProtocolError

__all__ = ["Wire", "converter", "from_wire", "to_wire", "wire_name"]

T = TypeVar("T")
_MISSING: Any = object()
_fromtimestamp = datetime.fromtimestamp

converter = cattrs.Converter()


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
    converter.register_structure_hook(_kind, _hook)
    # ``X | None`` directly: cattrs' generic Optional handling costs more than the value.
    converter.register_structure_hook(_kind | None, _optional(_hook))
converter.register_structure_hook(Any, lambda value, _: value)


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


def _builder(cls: type[Any]) -> tuple[Callable[[Any, Any], Any], frozenset[str], bool]:
    # cattrs' generated function with detailed validation: the slow path, run only
    # when the fast one fails, to name the path of each bad value.
    built = _BUILDERS.get(cls)
    if built is None:
        plan = _plan(cls)
        has_extra = "extra" in attrs.fields_dict(cls)
        overrides: dict[str, Any] = {name: override(rename=key) for name, key, _ in plan}
        if has_extra:
            overrides["extra"] = override(omit=True)
        function = make_dict_structure_fn(
            cls, converter, _cattrs_forbid_extra_keys=False, **overrides
        )
        built = _BUILDERS[cls] = (function, frozenset(key for _, key, _ in plan), has_extra)
    return built


# -- the fast path: one plain function per class, generated once ---------------------
#
# Profiling an export (``benchmarks/bench_cpu.py``) showed most of crmkit's CPU per
# record in cattrs' structuring: a hook call per field, an Optional dispatch, a copy
# of every list and mapping. The generated builder below reads each field with
# ``dict.get`` and checks its type inline; only a value of an unexpected type goes
# through the lenient hooks above, and anything the builder cannot take (a wrong
# type, a missing required field) re-runs cattrs' detailed function, which accepts
# exactly what it always did or raises with the path.

_SCALARS: dict[Any, Callable[[Any, Any], Any]] = {
    int: _lenient_int,
    str: _lenient_str,
    bool: _lenient_bool,
    float: _lenient_float,
    datetime: _instant,
}
_MAPPINGS = {dict, Mapping}
_FAST: dict[type[Any], Callable[[Any], Any]] = {}
_FACTORY: type[Any] = attrs.Factory  # type: ignore[assignment]


def _value_fn(kind: Any) -> Callable[[Any], Any]:
    """A one-argument function structuring a value of ``kind`` (not ``None``)."""
    if kind in _SCALARS:
        exact, hook = kind, _SCALARS[kind]
        if kind is datetime:
            return lambda value: (
                _fromtimestamp(value, timezone.utc) if type(value) is int else hook(value, kind)
            )
        return lambda value: value if type(value) is exact else hook(value, kind)
    if kind is Any:
        return lambda value: value
    if isinstance(kind, type) and attrs.has(kind):
        return _fast(kind)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in _MAPPINGS and len(args) == 2 and args[0] is str and args[1] is Any:
        # A decoded JSON object's keys are text: the model keeps the object it was given
        # (decoded for it alone), without a copy; anything else goes through cattrs.
        def mapping(value: Any) -> Any:
            return value if type(value) is dict else converter.structure(value, kind)

        return mapping
    if origin is list and len(args) == 1:
        item, element = _value_fn(args[0]), args[0]
        # A list of JSON objects is kept as it came when that is what it holds.
        objects = typing.get_origin(element) in _MAPPINGS and typing.get_args(element) == (
            str,
            Any,
        )
        plain = dict if objects else None

        def sequence(value: Any) -> Any:
            if type(value) is list:
                if plain is not None and all(type(v) is plain for v in value):
                    return value
                return [item(v) for v in value]
            return converter.structure(value, kind)

        return sequence
    return lambda value: converter.structure(value, kind)


def _field_code(
    cls: type[Any], n: int, field: attrs.Attribute[Any], key: str, scope: dict[str, Any]
) -> list[str]:
    """Lines reading ``field`` from ``data`` into ``v{n}``, converted (the builder's body)."""
    kind, var, default = field.type, f"v{n}", field.default
    members = typing.get_args(kind)
    optional = (
        typing.get_origin(kind) in (types.UnionType, typing.Union)
        and len(members) == 2
        and type(None) in members
    )
    if optional:
        kind = next(member for member in members if member is not type(None))
    if kind is Any:
        convert = None
    elif kind is datetime:  # unix seconds, the usual case, without a call to _instant
        scope.update(ts=_fromtimestamp, utc=timezone.utc, instant=_instant)
        convert = f"{var} = ts({var}, utc) if type({var}) is int else instant({var}, None)"
    elif kind in _SCALARS:
        scope[f"h{n}"], scope[f"t{n}"] = _SCALARS[kind], kind
        convert = f"{var} = {var} if type({var}) is t{n} else h{n}({var}, t{n})"
    else:
        scope[f"f{n}"] = _value_fn(kind)
        convert = f"{var} = f{n}({var})"
    lines = []
    if default is attrs.NOTHING:
        lines.append(f"    {var} = data[{key!r}]")
        branch = "if"
    elif default is None and optional:
        lines.append(f"    {var} = data.get({key!r})")
        branch = "if"
    else:
        if isinstance(default, _FACTORY):
            if default.takes_self:
                raise TypeError(f"{cls.__name__}.{field.name}: a factory taking self")
            scope[f"d{n}"], fill = default.factory, f"d{n}()"
        else:
            scope[f"d{n}"], fill = default, f"d{n}"
        lines.append(f"    {var} = data.get({key!r}, MISSING)")
        lines.append(f"    if {var} is MISSING: {var} = {fill}")
        branch = "elif"
    if convert is not None:
        guard = f"{var} is not None" if optional else "True"
        lines.append(f"    {branch} {guard}: {convert}")
    return lines


def _fast(cls: type[Any]) -> Callable[[Any], Any]:
    """The generated builder of ``cls``: takes a mapping, returns the model or raises."""
    built = _FAST.get(cls)
    if built is not None:
        return built
    # A stand-in while generating, so that a model naming itself does not recurse.
    _FAST[cls] = lambda data: _FAST[cls](data)
    keys = {name: key for name, key, _ in _plan(cls)}
    scope: dict[str, Any] = {"cls": cls, "MISSING": _MISSING}
    lines, args = ["def build(data):"], []
    for n, field in enumerate(attrs.fields(cls)):
        if not field.init:
            continue
        if field.name == "extra":
            scope["known"] = frozenset(keys.values())
            lines.append("    extra = {k: v for k, v in data.items() if k not in known}")
            args.append("extra=extra")
            continue
        lines += _field_code(cls, n, field, keys[field.name], scope)
        args.append(f"{field.name}=v{n}" if field.kw_only else f"v{n}")
    lines.append(f"    return cls({', '.join(args)})")
    code = compile("\n".join(lines), f"<crmkit builder {cls.__qualname__}>", "exec")
    exec(code, scope)  # generated once per model class, from its own fields only
    built = _FAST[cls] = scope["build"]
    return built  # type: ignore[no-any-return]


# -- lazy models: a model that converts its fields when one is first read ----------
#
# Building every field of every listed record was still most of a typed listing's
# CPU (``benchmarks/bench_cpu.py``). A lazy model is an instance of a generated
# subclass of the model class with one more slot, the wire mapping it came from;
# its own slots stay empty until a field is read, when ``__getattr__`` (reached only
# for an empty slot) converts the fields and fills their slots, and later reads
# are plain slot reads. (Filling one field a read cost twice an eager build for a
# caller reading every field; filling all at the first read costs about one.)
# It reports the model class as its ``__class__``, so it prints,
# compares, unstructures, evolves and pickles as an eager instance of that class
# would (``isinstance`` holds; only ``type()`` shows the subclass).
#
# Errors do not move: a generated check reads the exact types the converters take
# without a call (numbers, text, unix seconds, JSON objects, nested models), and
# any other answer is built eagerly as before, which accepts it or raises
# ProtocolError naming its path. The check runs on nested models too, so a read
# never fails.

_LAZY: dict[type[Any], Callable[[Any], Any] | None] = {}


def _lazy_ok(cls: type[Any]) -> bool:
    """Whether ``cls`` can be built lazily: a plain slotted frozen model, no hooks."""
    if "__slots__" not in cls.__dict__ or any(
        hasattr(cls, hook) for hook in ("__attrs_post_init__", "__attrs_pre_init__", "__getattr__")
    ):
        return False
    return all(
        field.init and field.validator is None and field.converter is None
        for field in attrs.fields(cls)
    )


def _check_lines(var: str, n: int, kind: Any, scope: dict[str, Any]) -> list[str]:
    """Lines returning False unless ``var`` (not ``None``) converts without a call."""
    if kind is Any:
        return []
    if kind is datetime:
        scope["instant"] = _instant  # text: parsed here too, so a bad one is found now
        return [f"if type({var}) is not int: instant({var}, None)"]
    if kind in _SCALARS:
        scope[f"t{n}"] = kind
        return [f"if type({var}) is not t{n}: return False"]
    if isinstance(kind, type) and attrs.has(kind):
        scope[f"c{n}"] = _checker(kind)
        return [f"if type({var}) is not dict or not c{n}({var}): return False"]
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in _MAPPINGS and args == (str, Any):
        return [f"if type({var}) is not dict: return False"]
    if origin is list and len(args) == 1:
        element, test = args[0], None
        if isinstance(element, type) and attrs.has(element):
            scope[f"c{n}"] = _checker(element)
            test = f"type(x) is not dict or not c{n}(x)"
        elif typing.get_origin(element) in _MAPPINGS and typing.get_args(element) == (str, Any):
            test = "type(x) is not dict"
        elif element in _SCALARS and element is not datetime:
            scope[f"t{n}"] = element
            test = f"type(x) is not t{n}"
        if test is not None:
            return [
                f"if type({var}) is not list: return False",
                f"for x in {var}:",
                f"    if {test}: return False",
            ]
    scope[f"f{n}"] = _value_fn(kind)  # anything else: converted once here to be sure
    return [f"f{n}({var})"]


_CHECKERS: dict[type[Any], Callable[[Any], bool]] = {}


def _checker(cls: type[Any]) -> Callable[[Any], bool]:
    """A generated function: does this mapping build ``cls`` by the fast converters alone?

    It returns False or raises where it does not.
    """
    found = _CHECKERS.get(cls)
    if found is not None:
        return found
    _CHECKERS[cls] = lambda data: _CHECKERS[cls](data)  # a model naming itself
    keys = {name: key for name, key, _ in _plan(cls)}
    scope: dict[str, Any] = {"MISSING": _MISSING}
    lines = ["def check(data):"]
    for n, field in enumerate(attrs.fields(cls)):
        if field.name == "extra" or not field.init:
            continue
        kind = field.type
        members = typing.get_args(kind)
        optional = typing.get_origin(kind) in (types.UnionType, typing.Union) and (
            len(members) == 2 and type(None) in members
        )
        if optional:
            kind = next(member for member in members if member is not type(None))
        var, key = f"v{n}", keys[field.name]
        if field.default is attrs.NOTHING:
            lines.append(f"    if {key!r} not in data: return False")
        body = _check_lines(var, n, kind, scope)
        if not body:
            continue
        if optional:
            lines.append(f"    {var} = data.get({key!r})")
            lines.append(f"    if {var} is not None:")
        else:
            lines.append(f"    {var} = data.get({key!r}, MISSING)")
            lines.append(f"    if {var} is not MISSING:")
        lines += [f"        {line}" for line in body]
    lines.append("    return True")
    code = compile("\n".join(lines), f"<crmkit check {cls.__qualname__}>", "exec")
    exec(code, scope)  # generated once per model class, from its own fields only
    found = _CHECKERS[cls] = scope["check"]
    return found  # type: ignore[no-any-return]


def _optional_of(kind: Any) -> Any:
    """``X`` for ``X | None``, else ``kind`` itself."""
    members = typing.get_args(kind)
    if typing.get_origin(kind) in (types.UnionType, typing.Union) and type(None) in members:
        return next(member for member in members if member is not type(None))
    return kind


def _nested_lazy(kind: Any) -> tuple[type[Any] | None, bool]:
    """The model a field of ``kind`` holds, when it is built lazily too, and whether a list of it.

    ``(None, False)`` for any other field (``X | None`` is read as ``X``).
    """
    kind = _optional_of(kind)
    many = typing.get_origin(kind) is list
    if many:
        kind = typing.get_args(kind)[0]
    if isinstance(kind, type) and attrs.has(kind) and _lazy_factory(kind) is not None:
        return kind, many
    return None, False


def _reader(cls: type[Any], field: attrs.Attribute[Any], n: int, key: str) -> Callable[[Any], Any]:
    """A generated function reading one field from the wire mapping (checked already)."""
    scope: dict[str, Any] = {"MISSING": _MISSING}
    nested, many = _nested_lazy(field.type)
    if nested is None:
        tail = f"    return v{n}"
    else:
        field = field.evolve(type=Any)  # read as it came, made lazy below
        scope["nested"] = _LAZY[nested]
        tail = (
            f"    return v{n} if type(v{n}) is not list else [nested(x) for x in v{n}]"
            if many
            else f"    return None if v{n} is None else nested(v{n})"
        )
    lines = ["def read(data):", *_field_code(cls, n, field, key, scope), tail]
    code = compile("\n".join(lines), f"<crmkit read {cls.__qualname__}.{field.name}>", "exec")
    exec(code, scope)  # generated once per model field
    return scope["read"]  # type: ignore[no-any-return]


def _extra_reader(known: frozenset[str]) -> Callable[[Any], dict[str, Any]]:
    return lambda data: {k: v for k, v in data.items() if k not in known}


def _lazy_factory(cls: type[Any]) -> Callable[[Any], Any] | None:
    """The function making a lazy ``cls`` of a checked mapping, or None if ``cls`` cannot be."""
    if cls in _LAZY:
        return _LAZY[cls]
    if not _lazy_ok(cls):
        _LAZY[cls] = None
        return None
    # A stand-in while generating, so that a model naming itself does not recurse.
    _LAZY[cls] = lambda data: _LAZY[cls](data)  # type: ignore[misc]
    plan = {name: key for name, key, _ in _plan(cls)}
    readers: dict[str, Callable[[Any], Any]] = {}
    for n, field in enumerate(attrs.fields(cls)):
        if field.name == "extra":
            readers["extra"] = _extra_reader(frozenset(plan.values()))
        else:
            readers[field.name] = _reader(cls, field, n, plan[field.name])
    fill = object.__setattr__

    every = tuple(readers.items())

    def __getattr__(self: Any, name: str) -> Any:
        # The first read fills every field: a caller reading them all then pays one
        # call here, not one per field (which cost twice an eager build).
        if name not in readers:
            raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")
        data = wire(self)
        for field, read in every:
            fill(self, field, read(data))
        return getattr(self, name)

    def __reduce__(self: Any) -> tuple[Any, ...]:
        return from_wire, (wire(self), cls)

    lazy = type(
        cls.__name__,
        (cls,),
        {
            "__slots__": ("_crmkit_wire",),
            "__getattr__": __getattr__,
            "__reduce__": __reduce__,
            "__class__": property(lambda self: cls),
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
        },
    )
    slot = lazy.__dict__["_crmkit_wire"]
    wire, keep, new = slot.__get__, slot.__set__, object.__new__

    def make(data: Any) -> Any:
        model: Any = new(lazy)
        keep(model, data)
        return model

    _LAZY[cls] = make
    _ROW_OF[lazy] = lambda model: (_ROWS.get(cls) or _row(cls))(wire(model))
    return make


# -- a lazy model's wire dict, straight from the mapping it keeps -------------------
#
# ``to_wire`` of a model reads every field and turns the nested models back into
# dicts; for a lazy model that means building all it put off, to undo it (a dlt
# sync's rows: most of its reader's CPU). The mapping it keeps was checked
# already, so a generated function per class gives the same dict from it at once:
# each field read and converted as the model's would be (numbers, instants,
# defaults), ``None`` left out, nested models taken the same way, ``extra`` first.

#: A lazy model's class -> its wire dict, from the mapping it keeps.
_ROW_OF: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}
_ROWS: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}


def _wire_value(value: Any) -> Any:
    """A field's value as :func:`to_wire` gives it: models as dicts, sequences as lists."""
    if attrs.has(value.__class__):
        return to_wire(value)
    if isinstance(value, (list, tuple)):
        return [to_wire(v) if attrs.has(v.__class__) else v for v in value]
    return value


def _row(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    """The generated ``row(data)`` of a lazy-built ``cls``: ``to_wire`` of its model."""
    found = _ROWS.get(cls)
    if found is not None:
        return found
    _ROWS[cls] = lambda data: _ROWS[cls](data)  # a model naming itself
    plan = {name: key for name, key, _ in _plan(cls)}
    scope: dict[str, Any] = {"MISSING": _MISSING, "wire_value": _wire_value}
    lines = ["def row(data):", "    out = {}"]
    for n, field in enumerate(attrs.fields(cls)):
        if field.name == "extra":
            scope["known"] = frozenset(plan.values())
            lines[1] = "    out = {k: v for k, v in data.items() if k not in known}"
            continue
        key, var = plan[field.name], f"v{n}"
        nested, many = _nested_lazy(field.type)
        if nested is None:
            value = var if _optional_of(field.type) in _SCALARS else f"wire_value({var})"
        else:
            field = field.evolve(type=Any)  # a checked mapping: its own row
            scope[f"r{n}"] = _row(nested)
            one = f"r{n}({{0}}) if type({{0}}) is dict else wire_value({{0}})"
            value = (
                f"[{one.format('x')} for x in {var}] if type({var}) is list else wire_value({var})"
                if many
                else one.format(var)
            )
        lines += _field_code(cls, n, field, key, scope)
        lines.append(f"    if {var} is not None: out[{key!r}] = {value}")
    lines.append("    return out")
    code = compile("\n".join(lines), f"<crmkit row {cls.__qualname__}>", "exec")
    exec(code, scope)  # generated once per model class, from its own fields only
    found = _ROWS[cls] = scope["row"]
    return found  # type: ignore[no-any-return]


class Wire:
    """A stand-in model for bulk jobs: ``from_wire(data, Wire)`` is the decoded object itself.

    The CLI's export swaps it into a list's strategy to write each record as the
    platform sent it, without building a model to turn back into a dict.
    """


_LAZY_BUILD: dict[type[Any], Callable[[Any], Any]] = {Wire: lambda data: data}


def _lazy_build(cls: type[Any]) -> Callable[[Any], Any]:
    """``build(data)``: a lazy ``cls`` of a checked mapping, else None (then built eagerly)."""
    make, check = _lazy_factory(cls), _checker(cls) if _lazy_ok(cls) else None
    if make is None or check is None:
        built: Callable[[Any], Any] = lambda data: None  # noqa: E731
    else:
        built = lambda data: make(data) if check(data) else None  # noqa: E731
    _LAZY_BUILD[cls] = built
    return built


def _detailed(data: Any, cls: type[Any]) -> Any:
    """cattrs' detailed function: what the fast builder could not take, or its path."""
    function, known, has_extra = _builder(cls)
    model = function(data, cls)
    if has_extra:
        extra = {k: v for k, v in data.items() if k not in known}
        if extra:
            # The model is frozen for its users; filling ``extra`` here is part of building it.
            object.__setattr__(model, "extra", extra)
    return model


def _structure_model(data: Any, cls: type[Any]) -> Any:
    """The converter's hook for a model inside a model: wire names and ``extra`` too."""
    if isinstance(data, Mapping):
        try:
            return _fast(cls)(data)
        except Exception:  # the detailed path decides, and names the path
            pass
    return _detailed(data, cls)


converter.register_structure_hook_factory(
    lambda kind: isinstance(kind, type) and attrs.has(kind), lambda cls: _structure_model
)


def from_wire(data: Any, cls: type[T], *, what: str | None = None) -> T:
    """Build ``cls`` from a decoded answer, keeping unknown fields in ``extra``."""
    if type(data) is dict:
        lazy = _LAZY_BUILD.get(cls)
        if lazy is None:
            lazy = _lazy_build(cls)
        try:
            built = lazy(data)
        except Exception:  # built eagerly below, which accepts it or names the path
            built = None
        if built is not None:
            return built  # type: ignore[no-any-return]
    name = what or cls.__name__
    if not isinstance(data, Mapping):
        raise ProtocolError(f"expected {name} as a JSON object, got {type(data).__name__}")
    if cls is Wire:
        return data  # type: ignore[return-value]
    try:
        return _fast(cls)(data)  # type: ignore[no-any-return]
    except Exception:  # re-run below, which accepts it or names the path
        pass
    try:
        model: T = _detailed(data, cls)
    except cattrs.BaseValidationError as exc:
        problems = cattrs.transform_error(exc, path=name)
        raise ProtocolError(f"malformed {name}: " + "; ".join(problems)) from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ProtocolError(f"malformed {name}: {exc}") from None
    return model


def to_wire(model: Any) -> dict[str, Any]:
    """The wire dict of a model (camelCase keys, ``None`` left out, ``extra`` merged)."""
    row_of = _ROW_OF.get(type(model))
    if row_of is not None:  # a lazy model: from the mapping it keeps (see _row)
        return row_of(model)
    out: dict[str, Any] = dict(getattr(model, "extra", None) or {})
    for attr, key, _ in _plan(model.__class__):
        value = getattr(model, attr)
        if value is None:
            continue
        if attrs.has(value.__class__):
            value = to_wire(value)
        elif isinstance(value, (list, tuple)):
            value = [to_wire(v) if attrs.has(v.__class__) else v for v in value]
        out[key] = value
    return out
