"""Groups of one shape: a list, and records named by ``id`` to get, create, edit, delete.

Users, tasks, order payments, customer notes, packs and loyalty accounts all
read the same way (``ResourceGroup/Users.php``, ``Tasks.php``, ``Orders.php``
``payments*``, ``Customers.php`` ``notes*``, ``Packs.php``, ``Loyalty.php`` in
``retailcrm/api-client-php``): one table row says where each lives and what
it may do, and :class:`RecordResource` serves them all. The groups' own extra
methods (a user's status, a loyalty account's bonuses) are small subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from ..._json import reading
from ..._models import from_wire
from ..._pagination import AsyncPaginator, PaginatorState
from .. import _wire
from .._paging import CursorStrategy
from ..models import (
    BonusOperation,
    Cost,
    CustomerNote,
    Loyalty,
    LoyaltyAccount,
    Pack,
    PackChange,
    Payment,
    Task,
    TaskChange,
    TaskComment,
    User,
)
from ._base import Listing

__all__ = [
    "RECORD_KINDS",
    "Costs",
    "Kind",
    "Loyalties",
    "LoyaltyAccounts",
    "Payments",
    "RecordResource",
    "Tasks",
    "Users",
]

M = TypeVar("M")


class Kind(NamedTuple):
    path: str  # where one record lives: {path}/{id}, {path}/create
    list_path: str | None  # the list's path (None: no list)
    key: str  # the list's key in answers
    one: str  # one record's key in answers, and its form field
    model: type[Any]
    ops: frozenset[str]  # of list, get, create, edit, delete
    site: bool = False  # create takes ``site``
    change: type[Any] | None = None  # the model of its history feed ({path}/history), if any


_ALL = frozenset({"list", "get", "create", "edit", "delete"})


def _notes(path: str) -> Kind:
    """Notes on customers and on corporate customers: one shape at two paths."""
    ops = frozenset({"list", "create", "delete"})
    return Kind(path, path, "notes", "note", CustomerNote, ops, site=True)


#: attribute name -> where its records live and what the API lets you do with them.
RECORD_KINDS: dict[str, Kind] = {
    "users": Kind("users", "users", "users", "user", User, frozenset({"list", "get"})),
    "tasks": Kind(
        "tasks", "tasks", "tasks", "task", Task, _ALL - {"delete"}, site=True, change=TaskChange
    ),
    "payments": Kind(
        "orders/payments",
        None,
        "",
        "payment",
        Payment,
        frozenset({"create", "edit", "delete"}),
        site=True,
    ),
    "customer_notes": _notes("customers/notes"),
    "corporate_notes": _notes("customers-corporate/notes"),
    "packs": Kind("orders/packs", "orders/packs", "packs", "pack", Pack, _ALL, change=PackChange),
    "costs": Kind("costs", "costs", "costs", "cost", Cost, _ALL, site=True),
    "loyalty_accounts": Kind(
        "loyalty/account",
        "loyalty/accounts",
        "loyaltyAccounts",
        "loyaltyAccount",
        LoyaltyAccount,
        _ALL - {"delete"},
        site=True,
    ),
}


class RecordResource(Listing[M]):
    """One row of :data:`RECORD_KINDS`: the operations the API has for it, others refused."""

    def __init__(self, client: Any, kind: Kind) -> None:
        super().__init__(client, kind.list_path or kind.path, kind.key, kind.model)
        self.kind = kind

    async def get(self, id: int) -> M:
        """One record by its ``id``."""
        self._can("get")
        body = await self._client.request("GET", f"{self.kind.path}/{_wire.segment(id)}")
        model: type[M] = self.kind.model
        return from_wire(body.get(self.kind.one), model, what=self.kind.one)

    async def create(self, record: M | Mapping[str, Any], *, site: str | None = None) -> int:
        """Create one record; returns its new ``id``."""
        self._can("create")
        form: dict[str, Any] = {self.kind.one: _wire.entity_dict(record)}
        if self.kind.site:
            form["site"] = self._site(site)
        body = await self._client.request("POST", f"{self.kind.path}/create", form=form)
        with reading(f"the {self.kind.path}/create answer"):
            return int(body["id"])

    async def edit(self, id: int | str, record: M | Mapping[str, Any], **params: Any) -> None:
        """Change the record ``id`` (fields not given are kept); ``params`` go in the form."""
        self._can("edit")
        await self._client.request(
            "POST",
            f"{self.kind.path}/{_wire.segment(id)}/edit",
            form={self.kind.one: _wire.entity_dict(record), **params},
            idempotent=True,
        )

    async def delete(self, id: int) -> None:
        """Delete the record ``id``."""
        self._can("delete")
        await self._client.request("POST", f"{self.kind.path}/{_wire.segment(id)}/delete")

    def history(
        self,
        since_id: int | None = None,
        *,
        filter: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[Any]:
        """Changes after ``since_id``, oldest first, by ``filter[sinceId]`` (never ``page``).

        Tasks and packs have a feed (``TaskChange``, ``PackChange``); ``filter``
        narrows it (``{"taskId": 5}``, ``{"orderId": 7}``, aware ``startDate``).
        """
        if self.kind.change is None:
            raise TypeError(f"the API has no history for {self.kind.path}")
        return self._history(
            f"{self.kind.path}/history",
            self.kind.change,
            since_id=since_id,
            filter=filter,
            page_size=page_size,
            limit=limit,
            resume_from=resume_from,
        )

    def _can(self, op: str) -> None:
        if op not in self.kind.ops:
            raise TypeError(f"the API has no {op} for {self.kind.path}")


class Users(RecordResource[User]):
    """``/api/v5/users``: list, get, and a user's working status."""

    async def status(self, id: int, status: str) -> None:
        """Set a user's status: ``free``, ``busy``, ``dinner`` or ``break``."""
        if status not in ("free", "busy", "dinner", "break"):
            raise ValueError(f"status must be free, busy, dinner or break, not {status!r}")
        await self._client.request(
            "POST", f"users/{_wire.segment(id)}/status", form={"status": status}, idempotent=True
        )


class Tasks(RecordResource[Task]):
    """``/api/v5/tasks``: records, their history, and each task's comments."""

    def comments(
        self, id: int, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[TaskComment]:
        """The comments on task ``id``, page by page (``tasks/{id}/comments``)."""
        return self._list(
            f"tasks/{_wire.segment(id)}/comments",
            "comments",
            TaskComment,
            filter=None,
            sites=False,
            page_size=page_size,
            limit=limit,
            resume_from=None,
        )


class Payments(RecordResource[Payment]):
    """``/api/v5/orders/payments``: create, edit (by ``id`` or ``externalId``), delete."""

    async def edit(  # type: ignore[override]
        self, payment: Payment | Mapping[str, Any], *, by: str = "id", site: str | None = None
    ) -> None:
        """Edit the payment named by its ``id`` (or ``externalId`` with ``by="externalId"``)."""
        wired = _wire.entity_dict(payment)
        uid = wired.get(by)
        if by not in ("id", "externalId") or uid in (None, ""):
            raise ValueError(f"edit(by={by!r}) needs the payment's {by!r}")
        await super().edit(uid, wired, by=by, site=self._site(site))


class Costs(RecordResource[Cost]):
    """``/api/v5/costs``: records, and deleting or uploading many at once."""

    async def delete_many(self, ids: Sequence[int]) -> list[int]:
        """Delete the costs ``ids``; returns those the service did not remove."""
        body = await self._client.request(
            "POST", "costs/delete", form={"ids": [int(i) for i in ids]}
        )
        return [int(i) for i in body.get("notRemovedIds") or []]

    async def upload(self, costs: Sequence[Cost | Mapping[str, Any]]) -> list[int]:
        """Create many costs in one request; returns their ids in input order."""
        body = await self._client.request(
            "POST", "costs/upload", form={"costs": [_wire.entity_dict(c) for c in costs]}
        )
        return [int(i) for i in body.get("uploadedCosts") or []]


class LoyaltyAccounts(RecordResource[LoyaltyAccount]):
    """``/api/v5/loyalty/account*``: accounts, activation, bonus credits and charges."""

    async def activate(self, id: int) -> LoyaltyAccount:
        body = await self._client.request("POST", f"loyalty/account/{_wire.segment(id)}/activate")
        return from_wire(body.get("loyaltyAccount"), LoyaltyAccount, what="loyaltyAccount")

    async def credit(
        self,
        id: int,
        amount: float,
        *,
        comment: str | None = None,
        activation_date: datetime | None = None,
        expire_date: datetime | None = None,
    ) -> dict[str, Any]:
        """Credit bonuses; returns the service's ``loyaltyBonus`` (the credited amount, dates)."""
        tz = await self._client.timezone() if activation_date or expire_date else None
        form: dict[str, Any] = {"amount": amount, "comment": comment}
        for name, when in (("activationDate", activation_date), ("expireDate", expire_date)):
            if when is not None and tz is not None:
                form[name] = _wire.format_datetime(when, tz)[:10]
        body = await self._client.request(
            "POST", f"loyalty/account/{_wire.segment(id)}/bonus/credit", form=form
        )
        bonus = body.get("loyaltyBonus")
        return dict(bonus) if isinstance(bonus, Mapping) else {}

    async def charge(self, id: int, amount: float, *, comment: str | None = None) -> None:
        """Charge (spend) bonuses from the account."""
        await self._client.request(
            "POST",
            f"loyalty/account/{_wire.segment(id)}/bonus/charge",
            form={"amount": amount, "comment": comment},
        )

    def operations(
        self,
        id: int,
        *,
        filter: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[BonusOperation]:
        """The account's bonus operations, page by page."""
        return self._list(
            f"loyalty/account/{_wire.segment(id)}/bonus/operations",
            "bonusOperations",
            BonusOperation,
            filter=filter,
            sites=False,
            page_size=page_size,
            limit=limit,
            resume_from=None,
        )


class Loyalties(Listing[Loyalty]):
    """``/api/v5/loyalty/loyalties``: the account's loyalty programmes; every bonus operation."""

    def bonus_operations(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[BonusOperation]:
        """Every bonus operation of the account (``{"loyalties": [id]}`` narrows it), by cursor."""
        strategy = CursorStrategy(
            "loyalty/bonus/operations", "bonusOperations", BonusOperation, filter=filter
        )
        return self._paginate(strategy, page_size, limit, resume_from)

    async def get(self, id: int) -> Loyalty:
        body = await self._client.request("GET", f"loyalty/loyalties/{_wire.segment(id)}")
        return from_wire(body.get("loyalty"), Loyalty, what="loyalty")
