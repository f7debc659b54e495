"""Paging a VTQL query, without I/O: its shape, and the strategy the paginator drives.

What vtiger does with a query (``include/Webservices/VTQL_Lexer.php``,
``VTQL_Parser.php``, ``vtiger-crm/vtigercrm`` and ``thinkingreed-inc/F-RevoCRM``):
a literal is ``'(?:[^']|'')+'``; the rows are clamped (100 on vtiger.com and ABMS,
1000 on some forks; no LIMIT means the clamp); ``id`` is compared by record
number (``WHERE id > '10x5'`` means ``crmid > 5``); ``;`` ends the query.

So a query is paged like this:

- a query with no ORDER BY of its own (or ``ORDER BY id``) and no OR is paged **by key**:
  ``... [WHERE ... AND] id > 'last' ORDER BY id LIMIT n``. Nothing is skipped or
  repeated when records are added or deleted during the run, and a run resumes
  after the last record it handed over;
- otherwise **by offset**: ``ORDER BY id`` is added when there is no ORDER BY
  (an unordered LIMIT pages unstably), then ``LIMIT offset, n``;
- a caller's own ``LIMIT [offset,] count`` is kept as the whole to fetch: pages
  go on until ``count`` rows have come, so ``LIMIT 0, 500`` on a server that
  clamps at 100 is five requests;
- the clamp is learned, not assumed: a page shorter than asked is the end only
  when an earlier page showed the server gives at least that many; otherwise
  one more page is asked (an empty one ends it);
- ``SELECT count(*)`` runs once, as given.

Semicolons inside the query and comment markers (``--``, ``/*``, ``#``) outside
literals are refused: VTQL has neither, and they are how injections look.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any, overload

import attrs
import httpx

from .._pagination import Page, PageRequest
from ._wire import (
    ENDPOINT,
    PAGE_SIZE,
    Record,
    VtigerId,
    checked_rows,
    malformed,
    records_from,
    result_of,
)

__all__ = ["QueryShape", "QueryStrategy", "shape_query", "statement"]

_TOKEN = re.compile(r"'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_]*|\d+|--|/\*|\*/|\S", re.DOTALL)
_COMMENTS = {"--", "/*", "*/", "#"}


@attrs.frozen
class QueryShape:
    """What paging needs to know of a query; ``text`` has neither its ``;`` nor its LIMIT."""

    text: str
    where: bool = False
    ordered: bool = False
    alternatives: bool = False  # an OR at the top level
    aggregate: bool = False  # SELECT count(*)
    offset: int = 0
    count: int | None = None  # the caller's LIMIT

    @property
    def keyed(self) -> bool:
        """Whether it can be paged by ``id`` (``WHERE id > last ORDER BY id``)."""
        return not (self.ordered or self.alternatives or self.aggregate)


def shape_query(query: str) -> QueryShape:
    """Read a query's shape; ValueError for an empty query, ``;`` inside it, comments."""
    text = query.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        raise ValueError("empty VTQL query")
    spans = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    words = [word.upper() for word, _, _ in spans]
    for word, _, _ in spans:
        if word == ";":
            raise ValueError(f"a VTQL query is one statement; ';' inside it is refused: {query!r}")
        if word in _COMMENTS:
            raise ValueError(f"VTQL has no comments; {word!r} outside a quoted value: {query!r}")
        if (word.startswith("'") and not word.endswith("'")) or word == "'":
            raise ValueError(f"unbalanced quote in VTQL query: {query!r}")
    offset, count = 0, None
    # The caller's own LIMIT: LIMIT n or LIMIT offset, n at the very end.
    if len(words) >= 2 and words[-2] == "LIMIT" and words[-1].isdigit():
        count = int(words[-1])
        cut = spans[-2][1]
    elif len(words) >= 4 and words[-4] == "LIMIT" and words[-3].isdigit() and words[-2] == ",":
        offset, count = int(words[-3]), int(words[-1]) if words[-1].isdigit() else -1
        if count < 0:
            raise ValueError(f"LIMIT needs numbers: {query!r}")
        cut = spans[-4][1]
    else:
        cut = len(text)
    body = words[: next((i for i, (_, start, _) in enumerate(spans) if start >= cut), len(words))]
    aggregate = len(body) > 3 and body[1] == "COUNT" and body[2] == "("
    # The caller's own ORDER BY id (ascending) is the key order: page by key.
    for tail in (["ORDER", "BY", "ID"], ["ORDER", "BY", "ID", "ASC"]):
        if body[-len(tail) :] == tail and "ORDER" not in body[: -len(tail)]:
            cut = spans[len(body) - len(tail)][1]
            body = body[: -len(tail)]
            break
    return QueryShape(
        text=text[:cut].rstrip(),
        where="WHERE" in body,
        ordered=any(a == "ORDER" and b == "BY" for a, b in pairwise(body)),
        alternatives="OR" in body,
        aggregate=aggregate,
        offset=offset,
        count=count,
    )


def statement(query: str) -> str:
    """``query`` checked as :func:`shape_query` checks it, without its ``;``."""
    shape_query(query)
    return query.strip().rstrip(";").rstrip()


@attrs.frozen
class QueryStrategy:
    """The paginator's strategy for one query (see the module's docstring).

    A cursor is ``{"after": "10x5" | "offset": n, "left": rows still wanted (the
    caller's LIMIT), "floor": the most rows one page has given}``; a plain
    number is an offset (what earlier versions saved).
    """

    shape: QueryShape
    max_page_size: int = PAGE_SIZE
    default_page_size: int = PAGE_SIZE
    #: The rows as vtiger sent them (dicts, checked as records are), not :class:`Record`
    #: objects: for bulk jobs that write them out as they came (the CLI's export).
    raw: bool = False

    def _asked(self, cursor: Mapping[str, Any], page_size: int) -> int:
        left = cursor.get("left")
        return int(left) if left is not None else page_size

    def _cursor(self, cursor: Any) -> dict[str, Any]:
        if cursor is None:
            return {"left": self.shape.count}
        if isinstance(cursor, int):
            return {"offset": cursor, "left": None}
        return dict(cursor)

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        shape, at = self.shape, self._cursor(cursor)
        if shape.aggregate:
            return self._page(shape.text + (f" LIMIT {shape.count}" if shape.count else ""))
        asked = self._asked(at, page_size)
        if shape.keyed:
            text = shape.text
            if at.get("after"):
                after = str(VtigerId.parse(at["after"]))
                text += f"{' AND' if shape.where else ' WHERE'} id > '{after}'"
                return self._page(f"{text} ORDER BY id LIMIT {asked}")
            offset = shape.offset + int(at.get("offset") or 0)  # an offset saved earlier
            return self._page(f"{text} ORDER BY id LIMIT {offset}, {asked}")
        order = "" if shape.ordered else " ORDER BY id"
        offset = shape.offset + int(at.get("offset") or 0)
        return self._page(f"{shape.text}{order} LIMIT {offset}, {asked}")

    def cursor_after(self, cursor: Any, page_size: int) -> Any:
        """The cursor after a full page, for the paginator to ask for pages ahead.

        Only offset paging can name a later page without the earlier answers;
        paging by key needs the last id seen, so it stays one page at a time. A
        guess the answers disprove (a server clamp below the page size) is
        dropped by the paginator, never used.
        """
        shape, at = self.shape, self._cursor(cursor)
        if shape.keyed or shape.aggregate:
            return None
        asked = self._asked(at, page_size)
        left = None if at.get("left") is None else int(at["left"]) - asked
        if left is not None and left <= 0:
            return None
        floor = max(int(at.get("floor") or 0), asked)
        return {"floor": floor, "left": left, "offset": int(at.get("offset") or 0) + asked}

    @staticmethod
    def _page(text: str) -> PageRequest:
        return PageRequest(ENDPOINT, params={"operation": "query", "query": text + ";"})

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[Any]:
        """A page of :class:`Record` objects (with ``raw``, of the rows as dicts)."""
        rows, ids, parsed = checked_rows(result_of(response), "query")
        records: list[Record] | list[dict[str, Any]] = (
            rows if self.raw else records_from(rows, parsed)
        )
        if self.shape.aggregate:
            return Page(items=records)
        at = self._cursor(cursor)
        asked, got = self._asked(at, page_size), len(records)
        floor = at.get("floor")
        left = None if at.get("left") is None else int(at["left"]) - got
        more = got > 0 and (left is None or left > 0)
        if more and got < asked:
            # Short: the end, unless this many may be the server's clamp (not yet known).
            more = floor is None or got >= floor
        floor = max(int(floor or 0), got)
        wanted = None if at.get("left") is None else int(at["left"])
        cursors: _Cursors
        if self.shape.keyed:
            # vtiger's id as it wrote it (checked already: text, not built into a VtigerId)
            if not all(ids):
                raise malformed("query", "a list of records with ids (paging by id)")
            cursors = _Cursors(floor, wanted, "after", ids)
        else:
            start = int(at.get("offset") or 0) + 1
            cursors = _Cursors(floor, wanted, "offset", range(start, start + got))
        return Page(
            items=records,
            next_cursor=cursors[-1] if more else None,
            item_cursors=cursors,
        )


class _Cursors(Sequence[dict[str, Any]]):
    """The cursor after each record of a page, each built when it is read.

    ``{"floor", "left", key: value}`` for the record at ``i``: ``key`` is ``"after"``
    (its id) or ``"offset"`` (the offset after it), ``left`` what the caller's
    LIMIT still wants after it. A run reading whole pages (the CLI's export) reads
    only the last; one stopped mid-page, the one where it stopped.
    """

    __slots__ = ("_floor", "_key", "_values", "_wanted")

    def __init__(self, floor: int, wanted: int | None, key: str, values: Sequence[Any]) -> None:
        self._floor, self._wanted, self._key, self._values = floor, wanted, key, values

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._values)))]
        value = self._values[index]  # IndexError as a list's
        if index < 0:
            index += len(self._values)
        wanted = self._wanted
        left = None if wanted is None else wanted - 1 - index
        return {"floor": self._floor, "left": left, self._key: value}
