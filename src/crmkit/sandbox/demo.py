"""A tiny generic sandbox that pages numbered items, and the client strategy that reads it.

It exists to exercise the shared machinery (Session, paginator, rate limits,
faults) without any platform's rules. The wire protocol, in full:

- ``GET /items?page=N&limit=L`` (``page`` from 1, ``limit`` at most 100; a
  larger one is a 400) answers ``{"items": [{"id", "name", "updated_at"}],
  "page": N, "next": N+1 or null, "total": T}``, items in id order;
- ``If-Modified-Since`` (HTTP date) keeps items with ``updated_at`` after it;
- no items on the page: ``204`` with an empty body;
- more than ``rate_limit`` requests in a second: ``429`` with ``Retry-After: 1``;
  after ``block_after`` such answers every request gets ``403`` for good;
- every answer carries ``Date`` from the sandbox clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import httpx

from .._json import dumps, response_json
from .._pagination import AsyncPaginator, Page, PageRequest
from ._base import Sandbox
from ._faults import ASGIApp
from ._limits import SlidingWindowLimiter, Verdict

__all__ = ["DemoSandbox", "DemoStrategy", "list_items"]

MAX_LIMIT = 100


class DemoSandbox(Sandbox):
    """``items`` numbered items; optional strict ``rate_limit`` per second and ``block_after``."""

    def __init__(
        self,
        items: int = 1000,
        *,
        rate_limit: int | None = None,
        block_after: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        start = self.clock.now() - 86_400
        self.items: list[dict[str, Any]] = [
            {"id": i, "name": f"item {i}", "updated_at": int(start + i)}
            for i in range(1, items + 1)
        ]
        self.limiter = (
            SlidingWindowLimiter(rate_limit, block_after=block_after) if rate_limit else None
        )
        self.limited = 0

    def touch(self, ids: Sequence[int]) -> None:
        """Mark items as changed now (by the sandbox clock)."""
        now = int(self.clock.now())
        for item_id in ids:
            self.items[item_id - 1]["updated_at"] = now

    def build_app(self) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        def answer(status: int, body: bytes = b"", **headers: str) -> Response:
            media = "application/json" if body.startswith((b"{", b"[")) else "text/plain"
            return Response(body, status_code=status, headers=headers, media_type=media)

        async def items(request: Request) -> Response:
            if self.limiter is not None:
                verdict = self.limiter.hit()
                if verdict is Verdict.BLOCKED:
                    return answer(403, b"<html><body>Account blocked</body></html>")
                if verdict is Verdict.LIMITED:
                    self.limited += 1
                    return answer(429, b"Too Many Requests", **{"retry-after": "1"})
            try:
                page = int(request.query_params.get("page", "1"))
                limit = int(request.query_params.get("limit", "50"))
            except ValueError:
                return answer(400, dumps({"error": "page and limit must be integers"}))
            if page < 1 or not 1 <= limit <= MAX_LIMIT:
                return answer(400, dumps({"error": f"limit must be 1..{MAX_LIMIT}, page >= 1"}))
            rows = self.items
            since = request.headers.get("if-modified-since")
            if since:
                try:
                    bound = parsedate_to_datetime(since).timestamp()
                except (TypeError, ValueError):
                    return answer(400, dumps({"error": "bad If-Modified-Since"}))
                rows = [row for row in rows if row["updated_at"] > bound]
            chunk = rows[(page - 1) * limit : page * limit]
            if not chunk:
                return answer(204)
            more = page * limit < len(rows)
            body = {
                "items": chunk,
                "page": page,
                "next": page + 1 if more else None,
                "total": len(rows),
            }
            return answer(200, dumps(body))

        return Starlette(routes=[Route("/items", items)])


class DemoStrategy:
    """The paging rules of :class:`DemoSandbox`, as a :class:`crmkit.PageStrategy`."""

    max_page_size = MAX_LIMIT
    default_page_size = 50

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        headers = None
        if modified_since is not None:
            headers = {"If-Modified-Since": format_datetime(modified_since, usegmt=True)}
        return PageRequest(
            "items", params={"page": cursor or 1, "limit": page_size}, headers=headers
        )

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[dict[str, Any]]:
        body = response_json(response)
        return Page(items=body["items"], next_cursor=body.get("next"), total=body.get("total"))


def list_items(session: Any, **options: Any) -> AsyncPaginator[dict[str, Any]]:
    """Page through a :class:`DemoSandbox` with ``session`` (a :class:`crmkit.Session`)."""

    async def fetch(request: PageRequest) -> httpx.Response:
        response: httpx.Response = await session.request(
            request.method, request.url, params=request.params, headers=request.headers
        )
        return response

    return AsyncPaginator(fetch, DemoStrategy(), **options)


async def _main(items: int, rate: float) -> None:  # pragma: no cover - exercised by the README
    import time

    from .._session import Session

    sandbox = DemoSandbox(items, rate_limit=int(rate))
    async with (
        sandbox.serve() as served,
        Session(served.url, rate_limit=rate, allow_insecure_http=True) as session,
    ):
        started = time.monotonic()
        first = list_items(session, page_size=100)
        count = sum([1 async for _ in first])
        print(f"paged {count} items from {served.url} in {sandbox.request_count} requests")
        sandbox.touch([7, 42, 99])
        changed = [item["id"] async for item in list_items(session, modified_since=first.watermark)]
        print(f"incremental run since {first.watermark:%H:%M:%S}: changed items {changed}")
        elapsed = time.monotonic() - started
        print(
            f"{session.stats.requests} requests in {elapsed:.1f}s at a {rate:g}/s limit, "
            f"{session.stats.rate_limited} answered 429"
        )


if __name__ == "__main__":  # pragma: no cover
    import asyncio

    asyncio.run(_main(2000, 10.0))
