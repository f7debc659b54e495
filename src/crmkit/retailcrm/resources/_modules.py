"""``/api/v5/integration-modules``: a marketplace module's registration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..._models import from_wire
from .. import _wire
from ..models import IntegrationModule
from ._base import Resource

__all__ = ["IntegrationModules"]


class IntegrationModules(Resource):
    """``/api/v5/integration-modules``: a marketplace module's registration."""

    async def get(self, code: str) -> IntegrationModule:
        body = await self._client.request("GET", f"integration-modules/{_wire.segment(code)}")
        return from_wire(body.get("integrationModule"), IntegrationModule)

    async def edit(
        self, code: str, module: IntegrationModule | Mapping[str, Any]
    ) -> dict[str, Any]:
        """Create or update the module ``code`` on this account; returns the answer's fields."""
        return await self._client.request(
            "POST",
            f"integration-modules/{_wire.segment(code)}/edit",
            form={"integrationModule": module},
        )

    async def update_scopes(self, code: str, scopes: Iterable[str]) -> str:
        """Ask for new scopes; returns the new API key the account issued."""
        body = await self._client.request(
            "POST",
            f"integration-modules/{_wire.segment(code)}/update-scopes",
            form={"requires": {"scopes": list(scopes)}},
        )
        return str(body["apiKey"])
