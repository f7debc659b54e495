"""Sandbox accounts served on loopback, and the accounts file that points workers at them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox
from crmkit.sandbox import Sandbox

#: entity -> records seeded, per platform
AMOCRM = {"leads": 40, "contacts": 30}
RETAILCRM = {"customers": 60, "orders": 40}


def toml_table(**fields: Any) -> str:
    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        return f'"{v}"' if isinstance(v, str) else str(v)

    return "[[account]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in fields.items()) + "\n"


@contextlib.contextmanager
def served_accounts(
    path: Path,
    amocrm: int,
    retailcrm: int,
    common: dict[str, Any] | None = None,
    **extra: dict[str, Any],
) -> Iterator[dict[str, tuple[Sandbox, dict[str, int]]]]:
    """Serve the sandboxes; write ``path``. ``extra``: more amoCRM accounts by name, with
    their entity counts and options (``{"leads": 300, "rate_limit": 3}``); ``common``:
    options of every account (``{"destination": "postgres"}``)."""
    accounts: dict[str, tuple[Sandbox, dict[str, int], dict[str, Any]]] = {}
    for n in range(amocrm):
        accounts[f"amo-{n}"] = (AmoCRMSandbox(**AMOCRM, seed=n), dict(AMOCRM), {})
    for n in range(retailcrm):
        accounts[f"retail-{n}"] = (RetailCRMSandbox(**RETAILCRM, seed=n), dict(RETAILCRM), {})
    for name, spec in extra.items():
        counts = {k: v for k, v in spec.items() if k in AMOCRM}
        options = {k: v for k, v in spec.items() if k not in AMOCRM}
        accounts[name] = (AmoCRMSandbox(**counts, seed=99), counts, options)
    with contextlib.ExitStack() as stack:
        text = ""
        for name, (sandbox, counts, options) in accounts.items():
            url = stack.enter_context(sandbox.serve()).url
            if isinstance(sandbox, AmoCRMSandbox):
                auth = {"token": sandbox.credentials.access_token, "page_size": 10}
                platform = "amocrm"
            else:
                auth = {"api_key": DEFAULT_API_KEY, "page_size": 20}
                platform = "retailcrm"
            text += toml_table(
                name=name,
                platform=platform,
                url=url,
                entities=list(counts),
                **auth,
                **{**(common or {}), **options},
            )
        path.write_text(text)
        yield {name: (sandbox, counts) for name, (sandbox, counts, _) in accounts.items()}
