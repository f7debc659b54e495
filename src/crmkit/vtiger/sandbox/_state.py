"""The vtiger sandbox's data: users and groups, records with owners, relations, vtiger's datetimes.

Read from vtiger's own code (``vtiger-crm/vtigercrm`` and the vtiger 7 fork
``thinkingreed-inc/F-RevoCRM``):

- every record has an owner, ``assigned_user_id``: a user (``19xN``) or a
  group (``20xN``); ``sync`` filters on it (``include/Webservices/GetUpdates.php``);
- ``createdtime`` / ``modifiedtime`` are ``Y-m-d H:i:s`` in UTC (vtiger keeps
  them in the database's ``datetime`` columns, to the second);
- a deleted record keeps its owner and its deletion time (vtiger marks it
  deleted and touches ``modifiedtime``), which ``sync`` reports as ``deleted``;
- related lists (``include/Webservices/RelatedTypes.php``): Accounts list their
  Contacts (label ``Contacts``) through the contacts' ``account_id``.

No HTTP here: the operations are in ``_ops.py``, the app in ``_app.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ...sandbox import FakeData, SandboxClock

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_USER",
    "MODULES",
    "RELATIONS",
    "SandboxUser",
    "VtigerData",
    "vtiger_datetime",
]

DEFAULT_USER = "admin@example.test"
DEFAULT_ACCESS_KEY = "sandboxAccessKey123"
#: module -> (webservice entity id, its mandatory field)
MODULES = {"Leads": (10, "lastname"), "Accounts": (11, "accountname"), "Contacts": (12, "lastname")}
USERS_ENTITY = 19
GROUPS_ENTITY = 20
#: module -> related list label -> (related module, its field that points back)
RELATIONS: dict[str, dict[str, tuple[str, str]]] = {
    "Accounts": {"Contacts": ("Contacts", "account_id")},
}


def vtiger_datetime(seconds: float) -> str:
    """Unix seconds as vtiger writes a datetime: ``Y-m-d H:i:s`` in UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


@attrs.frozen
class SandboxUser:
    name: str
    access_key: str = attrs.field(repr=False)
    id: str
    admin: bool
    groups: frozenset[str] = frozenset()  # the ids of the groups the user is in


class VtigerData:
    """Users, groups and records: the part of the sandbox that is not HTTP."""

    clock: SandboxClock

    def _init_data(
        self,
        *,
        users: Mapping[str, str] | None,
        admins: Iterable[str] | None,
        groups: Mapping[str, Iterable[str]] | None,
        owners: Sequence[str] | None,
        counts: Mapping[str, int],
        seed: int,
    ) -> None:
        keys = dict(users or {DEFAULT_USER: DEFAULT_ACCESS_KEY})
        admin_names = set(admins) if admins is not None else {DEFAULT_USER} & set(keys)
        member_of = dict(groups) if groups is not None else {"Team Selling": list(keys)}
        self.group_ids = {name: f"{GROUPS_ENTITY}x{n}" for n, name in enumerate(member_of, 1)}
        self.users: dict[str, SandboxUser] = {}
        for number, (name, key) in enumerate(keys.items(), 1):
            mine = frozenset(self.group_ids[g] for g, who in member_of.items() if name in set(who))
            self.users[name] = SandboxUser(
                name, key, f"{USERS_ENTITY}x{number}", name in admin_names, mine
            )
        self.records: dict[str, dict[str, Any]] = {}
        #: (when, record id, owner id) of every deleted record
        self.deleted: list[tuple[float, str, str]] = []
        self.next_number = {module: 1 for module in MODULES}
        rotation = list(owners or [next(iter(self.users))])
        fake = FakeData(seed)
        n = 0
        for module in ("Leads", "Contacts", "Accounts"):
            for index in range(counts.get(module, 0)):
                if module == "Accounts":
                    fields: dict[str, Any] = {
                        "accountname": fake.company(),
                        "bill_city": fake.city(),
                    }
                else:
                    first, last = fake.first_name(), fake.last_name()
                    fields = {
                        "firstname": first,
                        "lastname": last,
                        "email": fake.email(f"{first} {last}"),
                        "phone": fake.phone(),
                    }
                    accounts = counts.get("Accounts", 0)
                    if module == "Contacts" and accounts:
                        fields["account_id"] = f"{MODULES['Accounts'][0]}x{index % accounts + 1}"
                self.add(module, fields, owner=rotation[n % len(rotation)])
                n += 1

    # -- owners --------------------------------------------------------------------

    def owner_id(self, owner: str | None) -> str:
        """The webservice id of a user or group named ``owner`` (default: the first user)."""
        if owner is None:
            return next(iter(self.users.values())).id
        if owner in self.users:
            return self.users[owner].id
        if owner in self.group_ids:
            return self.group_ids[owner]
        raise KeyError(f"no sandbox user or group named {owner!r}")

    # -- records -------------------------------------------------------------------

    def add(
        self, module: str, fields: Mapping[str, Any], *, owner: str | None = None
    ) -> dict[str, Any]:
        """Create a record as the CRM would (id, owner, created and modified times)."""
        module_id, _ = MODULES[module]
        number = self.next_number[module]
        self.next_number[module] += 1
        now = self.clock.now()
        record = {
            "assigned_user_id": self.owner_id(owner),
            **fields,
            "id": f"{module_id}x{number}",
            "createdtime": now,
            "modifiedtime": now,
            "_module": module,
        }
        self.records[record["id"]] = record
        return record

    def touch(self, record_id: str, **changes: Any) -> None:
        """Change a record now (by the sandbox clock)."""
        record = self.records[record_id]
        record.update(changes)
        record["modifiedtime"] = self.clock.now()

    def remove(self, record_id: str) -> None:
        record = self.records.pop(record_id)
        self.deleted.append((self.clock.now(), record_id, record["assigned_user_id"]))

    @staticmethod
    def public(record: Mapping[str, Any]) -> dict[str, Any]:
        """A record as vtiger sends it: no private keys, datetimes as ``Y-m-d H:i:s`` UTC."""
        out = {k: v for k, v in record.items() if not k.startswith("_")}
        out["createdtime"] = vtiger_datetime(out["createdtime"])
        out["modifiedtime"] = vtiger_datetime(out["modifiedtime"])
        return out
