"""One amoCRM leads export spec for the tests that drive the export engine in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.cli._sources import ExportSpec


def leads_spec(url: str, sandbox: AmoCRMSandbox, out: Path, **options: Any) -> ExportSpec:
    """The sandbox's leads from ``url`` to ``out``, 10 a page; ``options``: e.g. ``state``."""
    token = sandbox.credentials.access_token
    client = {"url": url, "token": token, "page_size": 10}
    return ExportSpec("amocrm", "leads", client, out=out, **options)
