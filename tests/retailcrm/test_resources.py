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


# -- records: users, tasks, payments, notes, packs, loyalty ------------------------------
# Paths and keys: ResourceGroup/Users.php, Tasks.php, Orders.php (payments*),
# Customers.php (notes*, combine), Packs.php, Loyalty.php.


async def test_users_list_get_and_status(sandbox):
    async with client_for(sandbox) as client:
        managers = await client.users.list(filter={"isManager": 1}).to_list()
        one = await client.users.get(managers[0].id)
        await client.users.status(one.id, "dinner")
        again = await client.users.get(one.id)
        with pytest.raises(ValueError, match="free, busy"):
            await client.users.status(one.id, "asleep")
        with pytest.raises(TypeError, match="no create for users"):
            await client.users.create({"firstName": "X"})
    assert [u.first_name for u in managers] == ["Max"] and isinstance(one, crmkit.retailcrm.User)
    assert again.status == "dinner"


async def test_tasks_create_get_edit_and_filter(sandbox):
    async with client_for(sandbox) as client:
        new = await client.tasks.create({"text": "Call back", "performerId": 2})
        await client.tasks.edit(new, {"complete": True})
        task = await client.tasks.get(new)
        done = await client.tasks.list(filter={"status": "completed", "performers": [2]}).to_list()
        with pytest.raises(crmkit.ValidationError) as info:
            await client.tasks.create({"text": "Nobody", "performerId": 99})
    assert task.text == "Call back" and task.complete is True and task.performer == 2
    assert [t.id for t in done] == [new]
    assert "performerId" in info.value.details


async def test_tasks_history_by_since_id_and_task(sandbox):
    async with client_for(sandbox) as client:
        first = await client.tasks.create({"text": "One", "performerId": 1})
        second = await client.tasks.create({"text": "Two", "performerId": 1})
        await client.tasks.edit(first, {"text": "One, again"})
        changes = await client.tasks.history(filter={"taskId": first}).to_list()
        after = await client.tasks.history(since_id=changes[0].id).to_list()
        with pytest.raises(TypeError, match="no history for users"):
            client.users.history()
    assert [(c.field, c.new_value) for c in changes] == [("id", first), ("text", "One, again")]
    assert all(isinstance(c, crmkit.retailcrm.TaskChange) for c in changes)
    assert [c.task["id"] for c in after] == [second, first]
    assert all("page=" not in r.query for r in sandbox.recent_requests if "history" in r.path)


async def test_order_payments_create_edit_delete(sandbox):
    async with client_for(sandbox) as client:
        pid = await client.payments.create(
            {"order": {"externalId": "o-1"}, "type": "cash", "amount": 100, "externalId": "p/1"}
        )
        order = await client.orders.get("o-1")
        await client.payments.edit({"externalId": "p/1", "status": "paid"}, by="externalId")
        paid = await client.orders.get("o-1")
        await client.payments.delete(pid)
        gone = await client.orders.get("o-1")
        with pytest.raises(crmkit.ValidationError, match="entity format"):
            await client.payments.create({"order": {"id": 1}, "type": "gold"})
    assert order.extra["payments"][str(pid)]["amount"] == 100
    assert paid.extra["payments"][str(pid)]["status"] == "paid"
    assert gone.extra["payments"] == {}


async def test_customer_notes_and_combine(sandbox):
    async with client_for(sandbox) as client:
        note = await client.customer_notes.create(
            {"customer": {"externalId": "c-1"}, "text": "VIP"}
        )
        listed = await client.customer_notes.list(filter={"customerExternalIds": ["c-1"]}).to_list()
        await client.customer_notes.delete(note)
        after = await client.customer_notes.list().to_list()
        await client.customers.combine([2, 3], into=1)
        with pytest.raises(crmkit.NotFoundError):
            await client.customers.get(2, by="id")
        with pytest.raises(ValueError):
            await client.customers.combine([1], into=1)
    assert [(n.id, n.text) for n in listed] == [(note, "VIP")] and after == []
    assert isinstance(listed[0], crmkit.retailcrm.CustomerNote)


async def test_packs_and_their_history(sandbox):
    async with client_for(sandbox) as client:
        order = await client.orders.get(1, by="id")
        item = order.items[0].id
        pack = await client.packs.create({"itemId": item, "store": "main-store", "quantity": 1})
        await client.packs.edit(pack, {"invoiceNumber": "INV-1"})
        found = await client.packs.list(filter={"orderId": 1}).to_list()
        history = await client.packs.history().to_list()
        later = await client.packs.history(since_id=history[0].id).to_list()
        await client.packs.delete(pack)
        with pytest.raises(crmkit.NotFoundError):
            await client.packs.get(pack)
    assert [(p.id, p.invoice_number, p.item["order"]["id"]) for p in found] == [(pack, "INV-1", 1)]
    assert [(h.field, h.new_value) for h in history] == [("id", pack), ("invoiceNumber", "INV-1")]
    assert [h.field for h in later] == ["invoiceNumber"]
    assert all("page=" not in r.query for r in sandbox.recent_requests if "history" in r.path)


async def test_loyalty_account_bonuses(sandbox):
    async with client_for(sandbox, site="main-shop") as client:
        new = await client.loyalty_accounts.create({"customer": {"id": 5}, "phoneNumber": "+7900"})
        with pytest.raises(crmkit.ValidationError, match="entity format"):
            await client.loyalty_accounts.credit(new, 100)  # not active yet
        active = await client.loyalty_accounts.activate(new)
        bonus = await client.loyalty_accounts.credit(new, 150, comment="welcome")
        await client.loyalty_accounts.charge(new, 50)
        account = await client.loyalty_accounts.get(new)
        operations = await client.loyalty_accounts.operations(new).to_list()
        listed = await client.loyalty_accounts.list(filter={"customerId": 5}).to_list()
    assert active.active is True and bonus["amount"] == 150
    assert account.amount == 100
    assert [(o.type, o.amount) for o in operations] == [("credit_manual", 150), ("charge", 50)]
    assert [a.id for a in listed] == [new]


# -- custom fields, store ---------------------------------------------------------------
# ResourceGroup/CustomFields.php, ResourceGroup/Store.php.


async def test_custom_fields_and_dictionaries(sandbox):
    async with client_for(sandbox) as client:
        code = await client.custom_fields.dictionaries.create(
            {"code": "colours", "name": "Colours", "elements": [{"code": "red", "name": "Red"}]}
        )
        made = await client.custom_fields.create(
            "order", {"code": "colour", "name": "Colour", "type": "dictionary", "dictionary": code}
        )
        await client.custom_fields.edit("order", made, {"name": "Paint"})
        field = await client.custom_fields.get("order", "colour")
        listed = await client.custom_fields.list(filter={"entity": "order"}).to_list()
        dictionary = await client.custom_fields.dictionaries.get("colours")
        with pytest.raises(ValueError, match="entity must be"):
            await client.custom_fields.get("lead", "x")
        with pytest.raises(crmkit.ValidationError, match="input parameters"):
            await client.custom_fields.list(filter={"inList": 1}).to_list()
    assert (field.name, field.type, field.entity) == ("Paint", "dictionary", "order")
    assert [f.code for f in listed] == ["colour"]
    assert dictionary.elements == [{"code": "red", "name": "Red"}]


async def test_store_inventories_products_and_groups(sandbox):
    async with client_for(sandbox) as client:
        upload = await client.store.inventories.upload(
            [
                {"externalId": "of-1", "stores": [{"code": "main-store", "available": 7}]},
                {"xmlId": "missing", "stores": [{"code": "main-store", "available": 1}]},
            ]
        )
        stock = await client.store.inventories.list(
            filter={"offerExternalId": "of-1", "details": 1}
        ).to_list()
        products = await client.store.products.list(filter={"name": "Thing 2"}).to_list()
        groups = await client.store.product_groups.list().to_list()
    assert upload.processed_offers_count == 1 and upload.not_found_offers == [{"xmlId": "missing"}]
    assert [(o.external_id, o.quantity) for o in stock] == [("of-1", 7)]
    assert stock[0].stores == [{"store": "main-store", "quantity": 7}]
    assert [p.external_id for p in products] == ["p-2"] and products[0].offers
    assert [g.name for g in groups] == ["Things"]


async def test_costs_create_edit_filter_upload_and_delete(sandbox):
    """``ResourceGroup/Costs.php``: costs, create, get, edit, delete, costs/delete, costs/upload."""
    cost = {"costItem": "delivery", "summ": 150, "dateFrom": "2026-02-01", "dateTo": "2026-02-28"}
    async with client_for(sandbox, site="main-shop") as client:
        made = await client.costs.create({**cost, "order": {"externalId": "o-2"}})
        await client.costs.edit(made, {"comment": "courier"})
        one = await client.costs.get(made)
        more = await client.costs.upload([{**cost, "summ": 10}, {**cost, "summ": 20}])
        cheap = await client.costs.list(filter={"maxSumm": 15}).to_list()
        february = await client.costs.list(filter={"dateFrom": "2026-02-01"}).to_list()
        left = await client.costs.delete_many([more[0], 999])
        await client.costs.delete(made)
        rest = await client.costs.list().to_list()
        with pytest.raises(crmkit.ValidationError, match="entity format"):
            await client.costs.create({"summ": 1})
    assert (one.summ, one.comment, one.order["id"], one.sites) == (150, "courier", 2, ["main-shop"])
    assert [c.id for c in cheap] == [more[0]] and len(february) == 3
    assert left == [999] and [c.id for c in rest] == [more[1]]


async def test_corporate_notes_combine_and_user_groups(sandbox):
    """``CustomersCorporate.php`` notes and combine; ``Users.php`` userGroups."""
    async with client_for(sandbox) as client:
        note = await client.corporate_notes.create({"customer": {"id": 1}, "text": "Key account"})
        notes = await client.corporate_notes.list(filter={"customerIds": [1]}).to_list()
        await client.customers_corporate.combine([2], into=1)
        with pytest.raises(crmkit.NotFoundError):
            await client.customers_corporate.get(2, by="id")
        groups = await client.user_groups.list().to_list()
        with pytest.raises(crmkit.ValidationError, match="input parameters"):
            await client.user_groups.list(filter={"code": "x"}).to_list()
    assert [(n.id, n.text) for n in notes] == [(note, "Key account")]
    assert [g.code for g in groups] == ["managers", "admins"]
    assert isinstance(groups[0], crmkit.retailcrm.UserGroup) and groups[0].is_manager


async def test_catalogue_writes_offers_and_groups(sandbox):
    """``Store.php``: offers, productGroupsCreate/Edit, productsBatchCreate, productBatchEdit."""
    async with client_for(sandbox) as client:
        group = await client.store.product_groups.create({"name": "Gadgets", "externalId": "g/2"})
        same = await client.store.product_groups.edit({"externalId": "g/2", "name": "Gizmos"})
        children = await client.store.product_groups.create({"name": "Small", "parentId": group})
        under = await client.store.product_groups.list(filter={"parentGroupId": group}).to_list()
        added = await client.store.products.batch_create(
            [
                {"name": "Widget", "catalogId": 1, "externalId": "w-1"},
                {"name": "Gear", "catalogId": 1},
            ]
        )
        missing = await client.store.products.batch_edit(
            [{"externalId": "w-1", "article": "W1"}, {"id": 999, "name": "Ghost"}]
        )
        widget = await client.store.products.list(filter={"externalId": "w-1"}).to_list()
        offers = await client.store.offers.list(filter={"externalIds": ["of-2"]}).to_list()
        with pytest.raises(crmkit.ValidationError, match="entity format"):
            await client.store.products.batch_create([{"name": "No catalogue"}])
    assert same == group and [g.id for g in under] == [children]
    assert len(added) == 2 and missing == [{"id": 999}]
    assert [(p.id, p.article) for p in widget] == [(added[0], "W1")]
    assert [(o.external_id, o.name) for o in offers] == [("of-2", "Thing 2")]
    assert isinstance(offers[0], crmkit.retailcrm.Offer)


@pytest.mark.parametrize(
    ("technique", "items"), [("ours", ["Item 1"]), ("summ", ["Item 1", "Item 1", "Item 2"]),
                             ("theirs", ["Item 1", "Item 2"])],
)  # fmt: skip
async def test_orders_combine_by_technique(sandbox, technique, items):
    """``Orders.php`` combine: ``order`` into ``resultOrder`` (``OrdersCombineRequest.php``)."""
    async with client_for(sandbox) as client:
        await client.orders.combine(2, into=1, technique=technique)
        kept = await client.orders.get(1, by="id")
        with pytest.raises(crmkit.NotFoundError):
            await client.orders.get(2, by="id")
    assert [i.offer["name"] for i in kept.items or []] == items


async def test_loyalty_programmes(sandbox):
    """``Loyalty.php`` loyalties and get; an account joins the programme."""
    async with client_for(sandbox, site="main-shop") as client:
        programmes = await client.loyalties.list(filter={"active": 1}).to_list()
        one = await client.loyalties.get(programmes[0].id)
        joined = await client.loyalty_accounts.create({"customer": {"id": 7}})
        member = await client.loyalty_accounts.get(joined)
        rich = await client.loyalty_accounts.list(filter={"minAmount": 1}).to_list()
    assert [p.name for p in programmes] == ["Bonus club"] and one.levels
    assert isinstance(one, crmkit.retailcrm.Loyalty)
    assert member.loyalty == {"id": one.id} and rich == []


async def test_telephony_manager_event_and_calls(sandbox):
    """``Telephony.php``: manager, callEvent, callsUpload (``Model/Response/Telephony/*``)."""
    customer = sandbox.account().stores["customers"].records[4]
    phone = customer["phones"][0]["number"]
    async with client_for(sandbox) as client:
        found = await client.telephony.manager(phone)
        unknown = await client.telephony.manager("+1 555 0100")
        missing = await client.telephony.call_event(
            {"phone": phone, "type": "hangup", "codes": ["7"]}
        )
        calls = [{"date": "2026-01-01 09:00:00", "type": "out", "phone": phone, "externalId": "c1"}]
        first = await client.telephony.calls_upload(calls)
        again = await client.telephony.calls_upload(calls)
        with pytest.raises(crmkit.ValidationError, match="entity format"):
            await client.telephony.call_event({"phone": phone, "type": "ringing"})
    assert isinstance(found, crmkit.retailcrm.CallManager)
    assert found.customer["id"] == 4 and found.manager["code"] == "102"
    assert unknown.customer is None and unknown.manager is not None
    assert missing == {"notExistCodes": ["7"], "notExistUsers": []}
    assert (first["processedCallsCount"], again["duplicateCalls"]) == (1, ["c1"])


async def test_every_bonus_operation_by_cursor(sandbox):
    """``Loyalty.php`` bonusOperations: cursor-paged (``AbstractCursorPaginatedResponse.php``)."""
    async with client_for(sandbox, site="main-shop") as client:
        accounts = [await client.loyalty_accounts.create({"customer": {"id": n}}) for n in (1, 2)]
        for uid in accounts:
            await client.loyalty_accounts.activate(uid)
            for n in range(1, 23):
                await client.loyalty_accounts.credit(uid, n)
        paginator = client.loyalties.bonus_operations(page_size=20)
        seen = []
        async for operation in paginator:
            seen.append(operation)
            if len(seen) == 25:
                break
        rest = await client.loyalties.bonus_operations(resume_from=paginator.state).to_list()
        none = await client.loyalties.bonus_operations(filter={"loyalties": [99]}).to_list()
    # A cursor names a page, not an item: the run resumes at the page it stopped in
    # (items 21-25 come again), and nothing is missed.
    assert len(seen) == 25 and len(rest) == 24 and rest[:5] == seen[20:]
    everything = seen[:20] + rest
    assert [o.amount for o in everything] == [*range(1, 23), *range(1, 23)]
    assert [o.loyalty_account["id"] for o in everything].count(accounts[1]) == 22
    assert none == []
    cursors = [r.query for r in sandbox.recent_requests if r.path.endswith("bonus/operations")]
    assert all("page=" not in q for q in cursors) and any("cursor=c" in q for q in cursors)


async def test_task_comments_and_customer_subscriptions(sandbox):
    """``Tasks.php`` getComments; ``Customers.php`` subscriptions."""
    async with client_for(sandbox) as client:
        task = await client.tasks.create({"text": "Follow up", "performerId": 2})
        sandbox.account().add(
            "tasks/comments", {"task": task, "text": "Called twice", "creator": 2}
        )
        comments = await client.tasks.comments(task).to_list()
        with pytest.raises(crmkit.NotFoundError):
            await client.tasks.comments(999).to_list()
        await client.customers.subscriptions(
            "c-3", [{"channel": "email", "subscription": "news", "active": False}]
        )
        customer = await client.customers.get("c-3")
        with pytest.raises(crmkit.ValidationError, match="entity format"):
            await client.customers.subscriptions(
                3, [{"channel": "fax", "subscription": "x"}], by="id"
            )
    assert [(c.text, c.creator) for c in comments] == [("Called twice", 2)]
    assert isinstance(comments[0], crmkit.retailcrm.TaskComment)
    subscribed = customer.extra["customerSubscriptions"]
    assert [(s["subscription"]["code"], s["subscribed"]) for s in subscribed] == [("news", False)]
