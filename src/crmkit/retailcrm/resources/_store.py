"""The store (``/api/v5/store``): inventories, products and product groups.

From ``ResourceGroup/Store.php`` (``retailcrm/api-client-php``): inventories
answer ``offers`` (per store with ``filter[details]=1``) and are uploaded 250
offers a request; the upload answers ``processedOffersCount`` and
``notFoundOffers``; product groups answer under ``productGroup``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import _wire
from ..models import InventoryOffer, InventoryUpload, Product, ProductGroup
from ._base import Listing, Resource

__all__ = ["Inventories", "Store"]

#: Offers in one ``store/inventories/upload`` request (the API's limit).
INVENTORY_CHUNK = 250


class Inventories(Listing[InventoryOffer]):
    """``store/inventories``: offers' stock (``list``), and setting it (``upload``)."""

    async def upload(
        self, offers: Sequence[Mapping[str, Any]], *, site: str | None = None
    ) -> InventoryUpload:
        """Set offers' stock (and purchase prices) per store, 250 offers a request.

        Each offer names itself by ``id``, ``externalId`` or ``xmlId`` and holds
        ``stores: [{"code": ..., "available": ...}]``. The answer adds up the
        requests: offers processed, and every offer the service did not find.
        """
        processed = 0
        missing: list[dict[str, Any]] = []
        for chunk in _wire.chunks([dict(o) for o in offers], INVENTORY_CHUNK):
            body = await self._client.request(
                "POST",
                "store/inventories/upload",
                form={"offers": list(chunk), "site": self._site(site)},
                idempotent=True,  # setting stock to a value twice leaves the same stock
            )
            processed += int(body.get("processedOffersCount") or 0)
            missing.extend(body.get("notFoundOffers") or [])
        return InventoryUpload(processed_offers_count=processed, not_found_offers=missing)


class Store(Resource):
    """``client.store``: ``inventories`` (list, upload), ``products``, ``product_groups``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.inventories = Inventories(
            client, "store/inventories", "offers", InventoryOffer, sites=True
        )
        self.products = Listing(client, "store/products", "products", Product, sites=True)
        self.product_groups = Listing(
            client, "store/product-groups", "productGroup", ProductGroup, sites=True
        )
