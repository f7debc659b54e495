"""The paging vocabulary: a page request, a page, a saved position, a strategy.

What a platform's strategy and :class:`crmkit.AsyncPaginator` exchange (the
engine is in :mod:`crmkit._pagination`, which re-exports these names).

A cursor is any JSON value (a page number, an offset, a history id, a next
URL, a dict of these): it goes into :class:`PaginatorState` as is, so a job can
write the state to disk after each page and resume from it later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs
import httpx

__all__ = [
    "WATERMARK_OVERLAP",
    "Cursor",
    "Page",
    "PageRequest",
    "PageStrategy",
    "PaginatorState",
    "server_date",
]

T = TypeVar("T")

#: A position in a listing: any JSON value.
Cursor = Any

#: Added to the server's clock reading when computing a watermark, because that
#: reading has one-second precision and the platforms compare timestamps strictly.
WATERMARK_OVERLAP = timedelta(seconds=1)


@attrs.frozen
class PageRequest:
    """The request for one page, as data: the paginator hands it to its ``fetch``."""

    url: str
    method: str = "GET"
    params: Any = None
    headers: Mapping[str, str] | None = None
    data: Mapping[str, Any] | None = None
    json: Any = None


@attrs.frozen
class Page(Generic[T]):
    """One page of items and where the listing goes next.

    ``next_cursor`` is None on the last page. ``item_cursors``, when the
    strategy can give them, holds for each item the cursor that resumes right
    after it (RetailCRM history ids), so a run can stop and resume mid-page.
    ``total`` is the number of items in the whole listing, when the server says.
    ``state`` is the paginator's position after this page (set by the paginator).
    """

    items: Sequence[T]
    next_cursor: Cursor = None
    total: int | None = None
    item_cursors: Sequence[Cursor] | None = None
    state: PaginatorState | None = None


@attrs.frozen
class PaginatorState:
    """A saved position: resume a listing with ``resume_from=state`` (or its dict).

    ``cursor`` is where the next page starts (None with ``done``), ``watermark``
    the run's server-clock start, ``modified_since`` the run's own lower bound.
    """

    cursor: Cursor = None
    done: bool = False
    watermark: datetime | None = None
    modified_since: datetime | None = None
    items: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 text)."""
        return {
            "cursor": self.cursor,
            "done": self.done,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "modified_since": self.modified_since.isoformat() if self.modified_since else None,
            "items": self.items,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaginatorState:
        """Read back what :meth:`to_dict` wrote; a malformed dict raises ValueError."""
        try:
            return cls(
                cursor=data.get("cursor"),
                done=bool(data.get("done", False)),
                watermark=_parse_iso(data.get("watermark")),
                modified_since=_parse_iso(data.get("modified_since")),
                items=int(data.get("items", 0)),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a crmkit paginator state: {exc}") from None


def _parse_iso(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} in state")
    return parsed


class PageStrategy(Protocol[T]):
    """One platform's list protocol, without I/O."""

    @property
    def max_page_size(self) -> int:
        """The most items the platform gives in one page; larger requests are clamped."""
        ...

    @property
    def default_page_size(self) -> int:
        """Page size used when the caller gives none."""
        ...

    # A strategy may also set ``streaming = True`` (a feed such as a change
    # history): a run that reaches the end then saves the last item's cursor
    # rather than "done", so the next run continues the feed from there.
    #
    # And it may define ``peek_next(response, cursor, page_size) -> Cursor``:
    # the next page's cursor read cheaply, before the page's models are built,
    # so that the next request is on its way while they are (``parse`` must
    # then give the same ``next_cursor``).
    #
    # And ``cursor_after(cursor, page_size) -> Cursor``: the next page's cursor
    # if the page at ``cursor`` is full, known without its answer (page numbers,
    # offsets). The paginator then keeps several page requests on their way and
    # still hands pages over in order; a page whose ``next_cursor`` differs
    # (short, last) cancels the requests sent beyond it. Cursor feeds (a next
    # link, a history id) leave it out and are paged one request at a time.

    def request(
        self, cursor: Cursor, page_size: int, modified_since: datetime | None
    ) -> PageRequest:
        """The request for the page at ``cursor`` (None: the first page)."""
        ...

    def parse(self, response: httpx.Response, cursor: Cursor, page_size: int) -> Page[T]:
        """Read one answer into a page; the paginator ends a run itself on 204/304."""
        ...


def server_date(response: httpx.Response) -> datetime | None:
    """The server's clock from the ``Date`` header, as an aware UTC datetime, or None."""
    value = response.headers.get("date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
