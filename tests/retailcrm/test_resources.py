"""crmkit's RetailCRM resources beyond the main entities, against the in-process sandbox.

Sources for paths, keys and form fields: ``retailcrm/api-client-php``
``ResourceGroup/References.php`` and ``Model/Response/References/*``,
``Model/Request/References/*EditRequest.php``.
"""

from __future__ import annotations

import pytest

import crmkit
from crmkit.retailcrm import REFERENCE_BOOKS, ReferenceItem

from .conftest import client_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", sorted(REFERENCE_BOOKS))
async def test_every_reference_book_lists_typed_entries(sandbox, name):
    async with client_for(sandbox) as client:
        entries = await getattr(client.reference, name).list()
    assert entries and all(isinstance(e, ReferenceItem) for e in entries)
    assert all(e.code or e.id for e in entries)
    path = "/api/v5/reference/" + REFERENCE_BOOKS[name].path
    assert sandbox.requests_by_path[path] == 1


async def test_reference_edit_creates_and_updates_by_code(sandbox):
    async with client_for(sandbox) as client:
        await client.reference.payment_types.edit(ReferenceItem(code="crypto", name="Crypto"))
        await client.reference.payment_types.edit({"code": "cash", "name": "Notes and coins"})
        books = {e.code: e for e in await client.reference.payment_types.list()}
        statuses = {e.code: e for e in await client.reference.statuses.list()}
    assert books["crypto"].name == "Crypto" and books["cash"].name == "Notes and coins"
    assert statuses["complete"].extra["group"] == "complete"


async def test_couriers_are_made_by_create_and_named_by_id(sandbox):
    async with client_for(sandbox) as client:
        new_id = await client.reference.couriers.create({"firstName": "Oleg", "active": True})
        await client.reference.couriers.edit({"id": new_id, "lastName": "Olegov"})
        couriers = {c.id: c for c in await client.reference.couriers.list()}
    assert couriers[new_id].extra == {"firstName": "Oleg", "lastName": "Olegov"}


async def test_read_only_books_refuse_edits_before_sending(sandbox):
    async with client_for(sandbox) as client:
        with pytest.raises(TypeError, match="no edit"):
            await client.reference.countries.edit({"code": "FR"})
        with pytest.raises(TypeError, match="by code"):
            await client.reference.sites.create({"code": "x"})
        with pytest.raises(crmkit.ValidationError, match="entity format"):
            await client.reference.stores.edit({"code": "new-store"})  # no name
    assert sandbox.requests_by_path["/api/v5/reference/countries/FR/edit"] == 0
