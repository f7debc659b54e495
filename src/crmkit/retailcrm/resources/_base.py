"""What every RetailCRM resource class shares: its client, and list/history paginators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..._pagination import AsyncPaginator, PaginatorState
from .. import _wire
from .._paging import CursorStrategy, HistoryStrategy, ListStrategy, list_filter

if TYPE_CHECKING:
    from .._client import RetailCRM

__all__ = ["Listing", "Resource"]

M = TypeVar("M")


class Resource:
    """A group of the API's methods, sent through one :class:`~crmkit.retailcrm.RetailCRM`."""

    def __init__(self, client: RetailCRM) -> None:
        self._client = client

    def _site(self, site: str | None) -> str | None:
        return site if site is not None else self._client.site

    def _list(
        self,
        path: str,
        key: str,
        model: type[M],
        *,
        filter: Mapping[str, Any] | None,
        site: str | None = None,
        sites: bool = True,
        page_size: int | None,
        limit: int | None,
        resume_from: PaginatorState | Mapping[str, Any] | None,
    ) -> AsyncPaginator[M]:
        filters = list_filter(filter, self._site(site)) if sites else dict(filter or {})
        strategy = ListStrategy(path, key, model, filter=filters)
        return self._paginate(strategy, page_size, limit, resume_from)

    def _history(
        self,
        path: str,
        model: type[M],
        *,
        since_id: int | None,
        filter: Mapping[str, Any] | None,
        page_size: int | None,
        limit: int | None,
        resume_from: PaginatorState | Mapping[str, Any] | None,
    ) -> AsyncPaginator[M]:
        strategy = HistoryStrategy(path, model, since_id=since_id, filter=filter)
        return self._paginate(strategy, page_size, limit, resume_from)

    def _paginate(
        self,
        strategy: ListStrategy[M] | HistoryStrategy[M] | CursorStrategy[M],
        page_size: int | None,
        limit: int | None,
        resume_from: PaginatorState | Mapping[str, Any] | None,
    ) -> AsyncPaginator[M]:
        return AsyncPaginator(
            self._client._fetch,
            strategy,
            page_size=_wire.page_size_for(page_size),
            limit=limit,
            resume_from=resume_from,
        )


class Listing(Resource, Generic[M]):
    """A list the API pages (``store/products``, ``custom-fields``, ...): ``list()``.

    ``sites``: whether the list filters by store, with the client's ``site``
    (or the call's) sent as ``filter[sites][]``.
    """

    def __init__(
        self, client: Any, path: str, key: str, model: type[M], *, sites: bool = False
    ) -> None:
        super().__init__(client)
        self._path = path
        self._key = key
        self._model = model
        self._sites = sites

    def _can(self, op: str) -> None:
        """Refuse an operation the API does not have here (subclasses that lack some)."""

    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        site: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[M]:
        """Every item matching ``filter`` (nested as the API takes it), page by page.

        Datetimes in ``filter`` must be aware (sent in the account's time
        zone); ``page_size`` is rounded up to 20, 50 or 100.
        """
        self._can("list")
        if site is not None and not self._sites:
            raise TypeError(f"{self._path} is not filtered by site")
        return self._list(
            self._path,
            self._key,
            self._model,
            filter=filter,
            site=site,
            sites=self._sites,
            page_size=page_size,
            limit=limit,
            resume_from=resume_from,
        )
