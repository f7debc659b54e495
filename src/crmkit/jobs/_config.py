"""``accounts.toml``: the accounts the workers serve, read by the workers and by ``enqueue``.

Every worker and the scheduler read the same file; a job carries only the
account's name and the entity, so credentials never travel through Redis (and
``*_env`` options are read on the worker, from its own environment)::

    [[account]]
    name = "acme"                 # unique; names the jobs, checkpoints and rate limit
    platform = "amocrm"
    subdomain = "acme"
    token_env = "ACME_AMOCRM_TOKEN"
    entities = ["leads", "contacts"]
    rate_limit = 7                # optional: the platform's figure by default

An amoCRM account with ``oauth = true`` (and no ``token``) uses the OAuth pair
kept in Redis under ``RedisTokenStore(key="amocrm:{name}")``, refreshed once
for all workers.

Any option of ``crmkit export --config`` tables goes in a table (``url``,
``api_key``, ``page_size`` ...); ``sink`` picks where records go (``jsonl``,
the default; ``dlt``, the default when the table names a ``destination``; or
a name given to :func:`crmkit.jobs.register_sink`). A ``dlt`` account syncs
into a dlt destination (see :func:`crmkit.jobs.dlt_sink`)::

    [[account]]
    name = "shop"
    platform = "retailcrm"
    url = "https://shop.retailcrm.ru"
    api_key_env = "SHOP_RETAILCRM_KEY"
    entities = ["orders", "customers"]
    destination = "postgres"      # or "duckdb" (with database = "path.duckdb"), any dlt name
    credentials_env = "WAREHOUSE_DSN"   # else dlt's own configuration
    dataset = "retailcrm_shop"    # default: platform_name
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..cli._commands import config_tables
from ..cli._sources import ENTITIES, ExportSpec, SpecError

__all__ = ["Account", "load_accounts"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_OWN_KEYS = ("name", "platform", "entities", "entity", "sink")


@attrs.frozen
class Account:
    """One account the workers export: its entities and how to reach it (options never shown)."""

    name: str
    platform: str
    entities: tuple[str, ...]
    options: Mapping[str, Any] = attrs.field(repr=False, factory=dict)
    sink: str = "jsonl"

    def spec(self, entity: str) -> ExportSpec:
        """The export of one entity of this account."""
        if entity not in self.entities:
            raise SpecError(f"account {self.name!r} exports no {entity!r}")
        return ExportSpec(self.platform, entity, self.options)


def load_accounts(path: Path) -> dict[str, Account]:
    """The ``[[account]]`` tables of ``path`` by name; :class:`SpecError` names what is wrong."""
    tables = config_tables(path, "account")
    accounts: dict[str, Account] = {}
    for n, table in enumerate(tables, start=1):
        account = _account(table, f"{path}: account #{n}")
        if account.name in accounts:
            raise SpecError(f"{path}: two accounts are named {account.name!r}")
        accounts[account.name] = account
    return accounts


def _account(table: Any, where: str) -> Account:
    if not isinstance(table, dict):
        raise SpecError(f"{where} is not a table")
    name, platform = table.get("name"), table.get("platform")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(f"{where} needs a name of letters, digits, '.', '_' or '-' (got {name!r})")
    if platform not in ENTITIES:
        raise SpecError(f"{where} ({name}): platform must be one of {', '.join(sorted(ENTITIES))}")
    entities = table.get("entities", [table["entity"]] if "entity" in table else None)
    if (
        not isinstance(entities, list)
        or not entities
        or not all(isinstance(e, str) for e in entities)
    ):
        raise SpecError(f"{where} ({name}): entities must be a list of entity names")
    known = ENTITIES[platform]
    for entity in entities:
        if known and entity not in known:
            raise SpecError(f"{where} ({name}): {platform} has no entity {entity!r}")
    options = {k: v for k, v in table.items() if k not in _OWN_KEYS}
    sink = table.get("sink", "dlt" if "destination" in table else "jsonl")
    return Account(name, platform, tuple(entities), options, str(sink))
