"""Corezoid ops and their answers, as values: :class:`Op` and :class:`OpResult`.

An op is one operation in a package (``{"type", "obj", ...fields}``,
``corezoid/documentation`` ``en/api/v2/spec.md``); task ops follow
``en/api/v2/tasks.md`` and the OpenAPI description in
``corezoid/corezoid-ai-plugin`` ``docs/corezoid-swagger.json`` (creates by
``conv_id`` or ``obj_alias``, with ``company_id``, ``project_id``, ``stage_id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import OpError

__all__ = ["READ_TYPES", "Op", "OpResult", "check_ref", "new_ref"]

#: The op-level answer of a write over the process's rate limit (self-hosted default 5/s).
TOO_MANY_REQUESTS = "too many requests"
#: Op types that change nothing: safe to send again.
READ_TYPES = frozenset({"show", "list", "get"})


def new_ref() -> str:
    """A fresh task ``ref`` (32 hex characters) for creates the caller gave none."""
    return uuid.uuid4().hex


def check_ref(ref: object, name: str = "ref") -> str | None:
    """``ref`` as text, or ValueError naming ``name``: 1 to 255 characters (tasks.md)."""
    if ref is None:
        return None
    if isinstance(ref, bool) or not isinstance(ref, (str, int)):
        raise ValueError(f"{name} must be text or a number, not {type(ref).__name__}")
    text = str(ref)
    if not 1 <= len(text) <= 255:
        raise ValueError(f"{name} must be 1 to 255 characters, not {len(text)}")
    return text


class Op:
    """One Corezoid operation: ``type`` (create, modify, show, delete, list ...), ``obj``
    (task, conv, node, folder ...) and its other fields as the API names them.

    ``Op("list", "conv", obj_id=5)`` builds any op; the class methods build the task
    ops. Fields given as None are left out. An Op is immutable and compares by value.
    """

    __slots__ = ("fields", "obj", "type")
    type: str
    obj: str
    fields: Mapping[str, Any]

    def __init__(self, type: str, obj: str, **fields: Any) -> None:
        if not type or not obj:
            raise ValueError("an op needs a type and an obj")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "obj", obj)
        object.__setattr__(self, "fields", {k: v for k, v in fields.items() if v is not None})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("an Op is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Op):
            return NotImplemented
        return (self.type, self.obj, self.fields) == (other.type, other.obj, other.fields)

    def __hash__(self) -> int:
        return hash((self.type, self.obj, tuple(sorted(self.fields))))

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.fields.items() if k != "data"}
        args = "".join(f", {k}={v!r}" for k, v in shown.items())
        return f"Op({self.type!r}, {self.obj!r}{args})"

    @classmethod
    def create_task(
        cls,
        conv_id: int | str | None = None,
        data: Mapping[str, Any] | None = None,
        ref: str | None = None,
        *,
        obj_alias: str | None = None,
        company_id: str | None = None,
        project_id: int | str | None = None,
        stage_id: int | str | None = None,
    ) -> Op:
        """A task create in the process ``conv_id``, or the one behind ``obj_alias``.

        ``company_id`` is the workspace (default: the client's); ``project_id`` and
        ``stage_id`` pick the stage an alias resolves in.
        """
        if (conv_id is None) == (obj_alias is None):
            raise ValueError("create_task needs exactly one of conv_id or obj_alias")
        if obj_alias is not None and not 1 <= len(obj_alias) <= 255:
            raise ValueError("obj_alias must be 1 to 255 characters")
        if data is not None and not isinstance(data, Mapping):
            raise ValueError(f"data must be a mapping, not {type(data).__name__}")
        return cls(
            "create",
            "task",
            conv_id=conv_id,
            obj_alias=obj_alias,
            company_id=company_id,
            project_id=project_id,
            stage_id=stage_id,
            data=dict(data or {}),
            ref=check_ref(ref),
        )

    @classmethod
    def modify_task(
        cls,
        conv_id: int | str,
        data: Mapping[str, Any],
        ref: str | None = None,
        obj_id: str | None = None,
        *,
        company_id: str | None = None,
    ) -> Op:
        if ref is None and obj_id is None:
            raise ValueError("modify_task needs a ref or an obj_id")
        return cls(
            "modify",
            "task",
            conv_id=conv_id,
            data=dict(data),
            ref=check_ref(ref),
            obj_id=obj_id,
            company_id=company_id,
        )

    @classmethod
    def show_task(
        cls,
        conv_id: int | str,
        ref: str | None = None,
        obj_id: str | None = None,
        *,
        company_id: str | None = None,
    ) -> Op:
        if ref is None and obj_id is None:
            raise ValueError("show_task needs a ref or an obj_id")
        return cls(
            "show",
            "task",
            conv_id=conv_id,
            ref=check_ref(ref),
            obj_id=obj_id,
            company_id=company_id,
        )

    @classmethod
    def delete_task(
        cls, conv_id: int | str, obj_id: str, node_id: str, *, company_id: str | None = None
    ) -> Op:
        return cls(
            "delete", "task", conv_id=conv_id, obj_id=obj_id, node_id=node_id, company_id=company_id
        )

    @property
    def ref(self) -> str | None:
        ref = self.fields.get("ref")
        return str(ref) if ref is not None else None

    @property
    def is_task_create(self) -> bool:
        return self.type == "create" and self.obj == "task"

    @property
    def safe_to_resend(self) -> bool:
        """A read, or a task create carrying a ``ref`` (a repeat answers "duplicate ref")."""
        return self.type in READ_TYPES or (self.is_task_create and self.ref is not None)

    def with_ref(self) -> Op:
        """This op, with a generated ``ref`` if it is a task create without one."""
        if self.is_task_create and self.ref is None:
            return Op(self.type, self.obj, **{**self.fields, "ref": new_ref()})
        return self

    def with_company(self, company_id: str | None) -> Op:
        """This op in workspace ``company_id`` unless it names its own."""
        if company_id is None or "company_id" in self.fields:
            return self
        return Op(self.type, self.obj, **{**self.fields, "company_id": company_id})

    def to_wire(self, op_id: str | None) -> dict[str, Any]:
        head: dict[str, Any] = {"id": op_id} if op_id is not None else {}
        return {**head, "type": self.type, "obj": self.obj, **self.fields}


@attrs.frozen
class OpResult:
    """The answer to one op; ``raw`` keeps every field the server sent."""

    id: str
    obj: str | None
    obj_id: str | None
    ref: str | None
    proc: str
    description: str | None
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def ok(self) -> bool:
        return self.proc == "ok"

    @property
    def data(self) -> Any:
        return self.raw.get("data")

    @property
    def rate_limited(self) -> bool:
        return not self.ok and TOO_MANY_REQUESTS in (self.description or "").lower()

    @property
    def duplicate_ref(self) -> bool:
        text = (self.description or "").lower()
        return not self.ok and "ref" in text and ("unical" in text or "unique" in text)

    @property
    def timed_out(self) -> bool:
        """The Sync API's "Timeout for create task" answer (``en/api/sync-api.md``)."""
        return not self.ok and "timeout" in f"{self.proc} {self.description or ''}".lower()

    def unwrap(self) -> OpResult:
        """Return self when ok, else raise :class:`OpError` with the proc and description."""
        if self.ok:
            return self
        raise OpError(self.description or self.proc, code=self.proc, status=200)

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> OpResult:
        def text(value: Any) -> str | None:
            if value is None or value == "":
                return None
            return value if isinstance(value, str) else str(value)

        return cls(
            id=text(raw.get("id")) or "",
            obj=text(raw.get("obj")),
            obj_id=text(raw.get("obj_id")),
            ref=text(raw.get("ref")),
            proc=text(raw.get("proc")) or "",
            description=text(raw.get("description")),
            raw=raw,
        )
