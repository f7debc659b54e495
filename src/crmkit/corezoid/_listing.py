"""Listings over Corezoid's ops: folders, processes' nodes, tasks in a node, task history.

Each listing is one op whose answer carries ``ops[0].list``
(``corezoid/corezoid-ai-plugin`` ``docs/corezoid-swagger.json``):

- ``list folder`` (a folder's contents) and ``list conv`` (a process's nodes)
  take no ``limit``/``offset``: one page holds the whole listing;
- ``list node`` (the tasks in a node, with ``count``) and ``list task_history``
  page by ``limit``/``offset``: the cursor is the offset, and a page shorter
  than asked (or the node's ``count`` reached) is the last.

:class:`OpListing` is the paginator strategy for all of them; :class:`Listings`
holds the client methods built on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

from .._log import redact_url
from .._models import from_wire
from .._pagination import AsyncPaginator, Cursor, Page, PageRequest, PaginatorState
from .._session import Session
from ..errors import ProtocolError
from . import _wire
from ._ops import Op, OpResult, check_ref
from .models import CorezoidObject, Task, TaskHistoryEntry

__all__ = ["Listings", "OpListing"]

T = TypeVar("T")

#: The most tasks or history entries asked for in one page (the API states no maximum).
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


class OpListing(Generic[T]):
    """The paginator strategy for one listing op (see the module docstring)."""

    def __init__(self, url: str, op: Op, model: type[T], *, paged: bool) -> None:
        self.url = url
        self.op = op
        self.model = model
        self.paged = paged
        self.max_page_size = MAX_PAGE_SIZE if paged else 1_000_000
        self.default_page_size = DEFAULT_PAGE_SIZE if paged else 1_000_000

    def request(
        self, cursor: Cursor, page_size: int, modified_since: datetime | None
    ) -> PageRequest:
        if modified_since is not None:
            raise ValueError("Corezoid listings take no modified_since")
        op = self.op
        if self.paged:
            op = Op(op.type, op.obj, **{**op.fields, "limit": page_size, "offset": cursor or 0})
        return PageRequest(
            url=self.url,
            method="POST",
            headers={"Content-Type": _wire.CONTENT_TYPE},
            json={"ops": [op.to_wire("1")]},
        )

    def parse(self, response: httpx.Response, cursor: Cursor, page_size: int) -> Page[T]:
        (result,) = _wire.read_answer(response, ["1"])
        result.unwrap()
        raw_items = result.raw.get("list")
        if not isinstance(raw_items, list):
            request = response.request
            raise ProtocolError(
                f"Corezoid's {self.op.obj} listing has no list",
                method=request.method,
                url=redact_url(request.url),
            )
        items = [from_wire(item, self.model, what=f"{self.op.obj} list") for item in raw_items]
        total = result.raw.get("count")
        total = total if isinstance(total, int) and not isinstance(total, bool) else None
        next_cursor = None
        if self.paged and raw_items and len(raw_items) >= page_size:
            offset = (cursor or 0) + len(raw_items)
            if total is None or offset < total:
                next_cursor = offset
        return Page(items=items, next_cursor=next_cursor, total=total)


class Listings:
    """The Corezoid client's listing and show helpers (a part of :class:`~crmkit.Corezoid`)."""

    api_login: str
    session: Session

    def prepare(self, op: Op) -> Op:
        raise NotImplementedError  # the client's

    async def ops(self, ops: Sequence[Op]) -> list[OpResult]:
        raise NotImplementedError  # the client's

    def _listing(
        self,
        op: Op,
        model: type[T],
        *,
        paged: bool,
        page_size: int | None = None,
        limit: int | None = None,
        resume_from: PaginatorState | dict[str, Any] | None = None,
    ) -> AsyncPaginator[T]:
        strategy = OpListing(f"api/2/json/{self.api_login}", self.prepare(op), model, paged=paged)
        return AsyncPaginator(
            self._fetch,
            strategy,
            page_size=page_size,
            limit=limit,
            resume_from=resume_from,
            watermark_of=lambda response: None,
        )

    async def _fetch(self, page: PageRequest) -> httpx.Response:
        # A read: the Session resends it after a drop, a 502/504, a 503 (its Retry-After).
        return await self.session.request(
            page.method, page.url, json=page.json, headers=page.headers, idempotent=True
        )

    def list_folder(
        self,
        folder_id: int = 0,
        *,
        filter: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        company_id: str | None = None,
    ) -> AsyncPaginator[CorezoidObject]:
        """The folders and processes in a folder (0: the root), in one page.

        ``filter`` (``folder``, ``conv``, ``conveyor`` ...), ``sort`` (``name``,
        ``title``, ``owner``, ``date``) and ``order`` (``asc``/``desc``) are the API's.
        """
        op = Op(
            "list",
            "folder",
            obj_id=folder_id,
            filter=filter,
            sort=sort,
            order=order,
            company_id=company_id,
        )
        return self._listing(op, CorezoidObject, paged=False)

    def list_nodes(
        self, conv_id: int | str, *, company_id: str | None = None
    ) -> AsyncPaginator[CorezoidObject]:
        """The nodes of a process (``list`` of a ``conv``), in one page."""
        op = Op("list", "conv", obj_id=conv_id, company_id=company_id)
        return self._listing(op, CorezoidObject, paged=False)

    def list_tasks(
        self,
        conv_id: int | str,
        node_id: str,
        *,
        ref: str | None = None,
        sort: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        resume_from: PaginatorState | dict[str, Any] | None = None,
        company_id: str | None = None,
    ) -> AsyncPaginator[Task]:
        """The tasks in node ``node_id`` of process ``conv_id``, paged by ``limit``/``offset``.

        ``ref`` keeps only the task with that ref; ``sort`` is ``ASC`` or ``DESC``.
        """
        filters = [{"name": "ref", "value": check_ref(ref), "fun": "eq"}] if ref else None
        op = Op(
            "list",
            "node",
            conv_id=conv_id,
            obj_id=node_id,
            sort=sort,
            filters=filters,
            company_id=company_id,
        )
        return self._listing(
            op, Task, paged=True, page_size=page_size, limit=limit, resume_from=resume_from
        )

    def task_history(
        self,
        conv_id: int | str,
        obj_id: str,
        *,
        page_size: int | None = None,
        limit: int | None = None,
        company_id: str | None = None,
    ) -> AsyncPaginator[TaskHistoryEntry]:
        """The steps of task ``obj_id`` (``task_history`` list), paged by ``limit``/``offset``."""
        op = Op("list", "task_history", conv_id=conv_id, obj_id=obj_id, company_id=company_id)
        return self._listing(op, TaskHistoryEntry, paged=True, page_size=page_size, limit=limit)

    async def show_process(
        self, conv_id: int | str, *, company_id: str | None = None
    ) -> CorezoidObject:
        """A process's details (``show`` of a ``conv``); ``OpError`` when it is not there."""
        op = Op("show", "conv", obj_id=conv_id, company_id=company_id)
        (result,) = await self.ops([op])
        return from_wire(dict(result.unwrap().raw), CorezoidObject, what="conv show")

    async def show_task(
        self,
        conv_id: int | str,
        *,
        ref: str | None = None,
        obj_id: str | None = None,
        company_id: str | None = None,
    ) -> Task:
        """A task by ``ref`` or ``obj_id``; ``OpError`` when it is not there."""
        (result,) = await self.ops([Op.show_task(conv_id, ref, obj_id, company_id=company_id)])
        return from_wire(dict(result.unwrap().raw), Task, what="task show")
