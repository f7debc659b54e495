"""What a test client needs to sign in to an amoCRM sandbox, in either dialect."""

from __future__ import annotations

from typing import Any

from crmkit.amocrm.sandbox import AmoCRMSandbox


def auth_for(sandbox: AmoCRMSandbox, version: int) -> dict[str, Any]:
    """``AmoCRM(...)`` keyword arguments: v2's login and API key, or v4's token."""
    c = sandbox.credentials
    if version == 2:
        return {"api_version": 2, "login": c.login, "api_key": c.api_key}
    return {"access_token": c.access_token}
