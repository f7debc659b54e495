"""What every platform client shares: it owns one Session, and ``async with`` closes it."""

from __future__ import annotations

from typing import TypeVar

import httpx

from ._pagination import PageRequest
from ._session import Session

__all__ = ["ClientBase"]

C = TypeVar("C", bound="ClientBase")


class ClientBase:
    """A platform client: ``self.session`` is its :class:`crmkit.Session`."""

    session: Session

    async def __aenter__(self: C) -> C:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _fetch(self, page: PageRequest) -> httpx.Response:
        """A paginator's page request, sent through the Session."""
        return await self.session.request(
            page.method, page.url, params=page.params, headers=page.headers
        )

    async def aclose(self) -> None:
        """Close the client's Session (and its connections)."""
        await self.session.aclose()
