"""The store (``/api/v5/store``): inventories, products and product groups.

From ``ResourceGroup/Store.php`` (``retailcrm/api-client-php``): inventories
answer ``offers`` (per store with ``filter[details]=1``) and are uploaded 250
offers a request; the upload answers ``processedOffersCount`` and
``notFoundOffers``; product groups answer under ``productGroup``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..._json import reading
from .. import _wire
from ..models import InventoryOffer, InventoryUpload, Offer, Product, ProductGroup
from ._base import Listing, Resource

__all__ = ["Inventories", "ProductGroups", "Products", "Store"]

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
            with reading("the store/inventories/upload answer"):
                processed += int(body.get("processedOffersCount") or 0)
                missing.extend(_wire.listed(body, "notFoundOffers", "the inventories answer"))
        return InventoryUpload(processed_offers_count=processed, not_found_offers=missing)


class Products(Listing[Product]):
    """``store/products``: the catalogue (``list``), made and changed in batches."""

    async def batch_create(self, products: Sequence[Product | Mapping[str, Any]]) -> list[int]:
        """Create products (``store/products/batch/create``); returns their ids in order."""
        body = await self._client.request(
            "POST",
            "store/products/batch/create",
            form={"products": [_wire.entity_dict(p) for p in products]},
        )
        return [int(i) for i in body.get("addedProducts") or []]

    async def batch_edit(
        self, products: Sequence[Product | Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Change products named by ``id`` or ``externalId`` (with ``site``); returns those
        the service did not find (``notFoundProducts``)."""
        body = await self._client.request(
            "POST",
            "store/products/batch/edit",
            form={"products": [_wire.entity_dict(p) for p in products]},
            idempotent=True,
        )
        return [dict(p) for p in body.get("notFoundProducts") or []]


class ProductGroups(Listing[ProductGroup]):
    """``store/product-groups``: list, create, edit (by ``externalId`` or ``id``)."""

    async def create(self, group: ProductGroup | Mapping[str, Any]) -> int:
        body = await self._client.request(
            "POST",
            "store/product-groups/create",
            form={"productGroup": _wire.entity_dict(group)},
        )
        return int(body["id"])

    async def edit(
        self,
        group: ProductGroup | Mapping[str, Any],
        *,
        by: str = "externalId",
        site: str | None = None,
    ) -> int:
        """Edit the group named by its ``externalId`` (or ``id`` with ``by="id"``)."""
        wired = _wire.entity_dict(group)
        uid = wired.get(by)
        if by not in ("id", "externalId") or uid in (None, ""):
            raise ValueError(f"edit(by={by!r}) needs the group's {by!r}")
        body = await self._client.request(
            "POST",
            f"store/product-groups/{_wire.segment(uid)}/edit",
            form={"productGroup": wired, "by": by, "site": self._site(site)},
            idempotent=True,
        )
        return int(body["id"])


class Store(Resource):
    """``client.store``: ``inventories``, ``offers``, ``products``, ``product_groups``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.inventories = Inventories(
            client, "store/inventories", "offers", InventoryOffer, sites=True
        )
        self.offers = Listing(client, "store/offers", "offers", Offer, sites=True)
        self.products = Products(client, "store/products", "products", Product, sites=True)
        self.product_groups = ProductGroups(
            client, "store/product-groups", "productGroup", ProductGroup, sites=True
        )
