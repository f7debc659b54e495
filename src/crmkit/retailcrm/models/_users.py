"""RetailCRM users (``/api/v5/users``): the account's managers and staff."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["User", "UserGroup"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class User:
    """A user of the account (``Model/Entity/Users/User.php``)."""

    id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    patronymic: str | None = None
    email: str | None = None
    active: bool | None = None
    is_manager: bool | None = None
    is_admin: bool | None = None
    online: bool | None = None
    status: str | None = None
    created_at: str | None = None
    groups: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class UserGroup:
    """A group of users (``/api/v5/user-groups``), with what its members may do."""

    id: int | None = None
    code: str | None = None
    name: str | None = None
    is_manager: bool | None = None
    is_delivery_men: bool | None = None
    extra: dict[str, Any] = _extra()
