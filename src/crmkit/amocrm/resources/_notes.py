"""Notes: ``amo.notes``, kept by amoCRM under their parent's type (and parent)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..._pagination import AsyncPaginator
from ..._results import WriteResult
from .. import _wire
from ..models import Note
from ._entities import EntityResource

if TYPE_CHECKING:
    from .._client import AmoCRM

__all__ = ["NotesResource"]


class NotesResource:
    """Notes, which amoCRM keeps under their parent's type.

    ``amo.notes.list(entity_type="contacts")`` reads ``/api/v4/contacts/notes``
    (v2: ``/api/v2/notes?type=contact``); ``entity_type`` is one of ``leads``
    (the default), ``contacts``, ``companies``, ``customers`` (and ``tasks`` in
    v2 only: v4 has no notes on tasks). ``entity_id=`` narrows to one parent:
    ``/api/v4/leads/{id}/notes``. ``amo.notes.of("contacts")`` is the resource
    for one type, with the same methods as ``amo.leads``.
    """

    def __init__(self, client: AmoCRM) -> None:
        self._client = client

    def of(self, entity_type: str, entity_id: int | None = None) -> EntityResource[Note]:
        """The notes of one parent type (``"leads"``, ``"contacts"`` ...), or of one parent."""
        parents = _wire.NOTE_PARENTS if self._client.api_version == 2 else _wire.V4_NOTE_PARENTS
        if entity_type not in parents:
            raise ValueError(
                f"notes: entity_type must be one of {', '.join(parents)}, not {entity_type!r}"
            )
        v2_params: dict[str, Any] = {"type": _wire.NOTE_PARENTS[entity_type]}
        path = f"{entity_type}/notes"
        if entity_id is not None:
            v2_params["element_id"] = int(entity_id)
            path = f"{entity_type}/{int(entity_id)}/notes"
        return EntityResource(
            self._client,
            "notes",
            Note,
            v4_path=path,
            item_path=f"{entity_type}/notes",
            v2_params=v2_params,
            parent=entity_type,
        )

    def list(
        self, *, entity_type: str = "leads", entity_id: int | None = None, **options: Any
    ) -> AsyncPaginator[Note]:
        """Notes of one parent type (or one parent); the other keywords are ``leads.list``'s."""
        return self.of(entity_type, entity_id).list(**options)

    async def get(self, id: int, *, entity_type: str = "leads") -> Note:
        """One note by id."""
        return await self.of(entity_type).get(id)

    async def add(
        self, items: Sequence[Any], *, entity_type: str = "leads", entity_id: int | None = None
    ) -> WriteResult:
        """Add notes (each with ``entity_id``, ``note_type``, ``params``).

        With ``entity_id`` they go to ``/api/v4/{entity_type}/{entity_id}/notes``.
        """
        return await self.of(entity_type, entity_id).add(items)

    async def update(
        self, items: Sequence[Any] | Any, *, entity_type: str = "leads"
    ) -> WriteResult:
        """Update notes (each with its ``id``)."""
        return await self.of(entity_type).update(items)
