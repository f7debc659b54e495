"""amoCRM's v4 groups around the entities, against the sandbox.

Each test names where the shape was read: amoCRM's v4 docs and the official PHP
SDK (``amocrm/amocrm-api-php``, ``src/AmoCRM/EntitiesServices/*``).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest

import crmkit
from crmkit.amocrm import AmoCRM, MemoryTokenStore, OAuthCredentials, Pipeline, Tag, User
from crmkit.amocrm.sandbox import AmoCRMSandbox

from .test_amocrm import v4

pytestmark = pytest.mark.anyio


async def test_users_need_an_admins_token():
    """EntitiesServices/Users.php; a non-admin's token gets a JSON 403 (a refusal)."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    async with v4(sandbox) as amo:
        users = await amo.users.list().to_list()
        one = await amo.users.get(2)
    assert [(u.id, u.is_admin) for u in users] == [(1, True), (2, False)]
    assert isinstance(one, User) and one.email == "manager@example.test"
    async with v4(sandbox, access_token=sandbox.credentials.user_access_token) as amo:
        with pytest.raises(crmkit.PermissionDeniedError):
            await amo.users.list().to_list()
        with pytest.raises(crmkit.PermissionDeniedError):
            await amo.webhooks.list()
        assert len(await amo.pipelines.list().to_list()) == 1  # the Session goes on


async def test_account_with_parts():
    """EntitiesServices/Account.php: GET /api/v4/account?with=...; an unknown part is refused."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    async with v4(sandbox) as amo:
        account = await amo.account(include=["task_types", "users_groups", "amojo_id"])
        with pytest.raises(crmkit.ValidationError):
            await amo.account(include=["everything"])
    assert account.extra["amojo_id"] == "sandbox-amojo-id"
    assert [t["code"] for t in account.extra["_embedded"]["task_types"]] == [
        "FOLLOW_UP",
        "MEETING",
    ]
    assert sandbox.recent_requests[-2].query == "with=task_types%2Cusers_groups%2Camojo_id"


async def test_pipelines_with_their_statuses():
    """Leads/Pipelines.php, Leads/Statuses.php: _embedded.statuses, /pipelines/{id}/statuses."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    async with v4(sandbox) as amo:
        (pipeline,) = await amo.pipelines.list().to_list()
        same = await amo.pipelines.get(pipeline.id)
        statuses = await amo.statuses(pipeline.id).list().to_list()
        won = await amo.statuses(pipeline.id).get(142)
        made = await amo.pipelines.add(
            [Pipeline(name="Wholesale", extra={"_embedded": {"statuses": [{"name": "New"}]}})]
        )
        with pytest.raises(crmkit.NotFoundError):
            await amo.pipelines.get(999)
    assert [s.id for s in pipeline.statuses] == [10, 11, 12, 142, 143]
    assert same.statuses == pipeline.statuses and [s.id for s in statuses] == [10, 11, 12, 142, 143]
    assert won.name == "Успешно реализовано" and won.pipeline_id == 1
    assert made[0].name == "Wholesale" and [s.name for s in made[0].statuses] == ["New"]


async def test_loss_reasons_customer_statuses_and_roles():
    """Leads/LossReasons.php, Customers/Statuses.php, Roles.php: one shape, one class."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    async with v4(sandbox) as amo:
        reasons = await amo.loss_reasons.list().to_list()
        (made,) = await amo.loss_reasons.add([{"name": "Chose a competitor"}])
        (renamed,) = await amo.loss_reasons.update([{"id": made.id, "name": "Went elsewhere"}])
        statuses = await amo.customer_statuses.list().to_list()
        default = await amo.customer_statuses.get(1)
        roles = await amo.roles.list().to_list()
        with pytest.raises(crmkit.NotFoundError):
            await amo.loss_reasons.get(999)
    async with v4(sandbox, access_token=sandbox.credentials.user_access_token) as amo:
        with pytest.raises(crmkit.PermissionDeniedError):
            await amo.roles.list().to_list()
    assert [r.name for r in reasons] == ["Дорого", "Долгие сроки"]
    assert renamed.name == "Went elsewhere" and renamed.id == made.id
    assert len(statuses) == 3 and default.is_default is True
    assert roles[0].rights is not None and roles[0].name == "Менеджер"


async def test_custom_fields_and_groups_per_entity_match_the_seeded_values():
    """CustomFields.php, CustomFieldGroups.php: /api/v4/{entity}/custom_fields[/groups]."""
    sandbox = AmoCRMSandbox(leads=2, contacts=1, rate_limit=None)
    async with v4(sandbox) as amo:
        fields = await amo.custom_fields("leads").list().to_list()
        groups = await amo.custom_field_groups("leads").list().to_list()
        contact_fields = await amo.custom_fields("contacts").list().to_list()
        lead = await amo.leads.get(1)
        added = await amo.custom_fields("companies").add([{"name": "INN", "type": "text"}])
        renamed = await amo.custom_fields("companies").update([{"id": added[0].id, "name": "TIN"}])
        with pytest.raises(crmkit.ValidationError):
            await amo.custom_fields("companies").update([{"id": 424242, "name": "x"}])
        with pytest.raises(ValueError, match="entity"):
            amo.custom_fields("deals")
    assert {f.code for f in fields} >= {"PHONE"} and fields[1].group_id == groups[0].id
    assert lead.custom_fields_values is not None
    assert {v.field_id for v in lead.custom_fields_values} <= {f.id for f in fields}
    assert [f.code for f in contact_fields] == ["PHONE", "EMAIL"]
    assert renamed[0].name == "TIN" and renamed[0].type == "text"
    assert added[0].name == "INN" and added[0].id in {
        f["id"] for f in sandbox.custom_fields["companies"]
    }


async def test_tags_per_entity_and_on_a_lead():
    """EntityTags.php: /api/v4/{entity}/tags; a lead's _embedded.tags by id or name."""
    sandbox = AmoCRMSandbox(leads=2, rate_limit=None)
    async with v4(sandbox) as amo:
        tags = await amo.tags("leads").list().to_list()
        made = await amo.tags("contacts").add([Tag(name="Reseller")])
        await amo.leads.update({"id": 1, "_embedded": {"tags": [{"name": "VIP"}, {"name": "New"}]}})
        lead = await amo.leads.get(1)
        vip = await amo.tags("leads").list(query="vi").to_list()
    assert [t.name for t in tags] == ["VIP", "Repeat"] and made[0].name == "Reseller"
    tagged = [e for e in sandbox.events if e["type"] == "entity_tag_added"]
    assert [(e["entity_id"], len(e["value_after"])) for e in tagged] == [(1, 2)]
    assert [t["name"] for t in lead.extra["_embedded"]["tags"]] == ["VIP", "New"]
    assert [t.name for t in vip] == ["VIP"]


async def test_links_between_entities():
    """Links.php: /api/v4/{entity}/{id}/links, /{id}/link, /{id}/unlink."""
    sandbox = AmoCRMSandbox(leads=1, contacts=2, rate_limit=None)
    contacts = sorted(sandbox.entities["contacts"])
    async with v4(sandbox) as amo:
        made = await amo.links("leads").link(
            1, [{"to_entity_id": c, "to_entity_type": "contacts"} for c in contacts]
        )
        linked = await amo.links("leads").list(1)
        back = await amo.links("contacts").list(contacts[0])
        await amo.links("leads").unlink(
            1, [{"to_entity_id": contacts[0], "to_entity_type": "contacts"}]
        )
        after = await amo.links("leads").list(1)
        with pytest.raises(crmkit.ValidationError):
            await amo.links("leads").link(1, [{"to_entity_id": 999, "to_entity_type": "contacts"}])
    assert len(made) == 2 and sorted(link.to_entity_id for link in linked) == contacts
    assert [(link.to_entity_type, link.to_entity_id) for link in back] == [("leads", 1)]
    assert [link.to_entity_id for link in after] == [contacts[1]]


async def test_events_record_every_change_including_deletions_and_filter():
    """Events.php: /api/v4/events, 100 a page, filter[type], filter[entity], filter[created_at]."""
    sandbox = AmoCRMSandbox(leads=3, rate_limit=None)
    start = sandbox.clock.datetime()
    async with v4(sandbox) as amo:
        added = await amo.leads.add([{"name": f"New {n}"} for n in range(120)])
        await amo.leads.update({"id": 1, "status_id": 142})
        await amo.leads.update({"id": 2, "status_id": 12})
        sandbox.clock.advance(5)
        sandbox.delete("leads", [3])
        every = await amo.events.list().to_list()
        deleted = await amo.events.list(filter={"type": ["lead_deleted"]}).to_list()
        moves = await amo.events.list(filter={"type": "lead_status_changed"}).to_list()
        recent = await amo.events.list(
            filter={"entity": ["lead"], "created_at": {"from": start + timedelta(seconds=3)}}
        ).to_list()
        with pytest.raises(crmkit.ValidationError):
            await amo.events.list(filter={"colour": "red"}).to_list()
        with pytest.raises(ValueError, match="naive"):
            amo.events.list(filter={"created_at": {"from": datetime(2024, 1, 1)}})
    assert sum(e.type == "lead_added" for e in every) == len(added.ids) == 120
    assert [(e.entity_id, e.entity_type) for e in deleted] == [(3, "lead")]
    assert sorted(e.entity_id for e in moves) == [2]  # lead 1 was already at 142
    assert moves[0].value_after == [{"lead_status": {"id": 12, "pipeline_id": 1}}]
    assert [e.type for e in recent] == ["lead_deleted"]
    pages = [r for r in sandbox.recent_requests if r.path == "/api/v4/events"]
    assert all("limit=100" in r.query for r in pages)


async def test_leads_complex_50_a_request():
    """Leads.php addComplex: POST /api/v4/leads/complex, at most 50; [{id, contact_id, ...}]."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    leads = [
        {
            "name": f"Deal {n}",
            "_embedded": {
                "contacts": [{"first_name": f"C{n}"}],
                "companies": [{"name": f"Co {n}"}],
            },
        }
        for n in range(60)
    ]
    async with v4(sandbox) as amo:
        results = await amo.add_complex(leads)
        links = await amo.links("leads").list(results[0].id)
    assert len(results) == 60 and sandbox.requests_by_path["/api/v4/leads/complex"] == 2
    assert all(r.contact_id and r.company_id and r.merged is False for r in results)
    assert sorted(link.to_entity_type for link in links) == ["companies", "contacts"]
    assert results[59].request_id == ["59"]


async def test_catalogs_and_their_elements():
    """Catalogs.php, CatalogElements.php: /api/v4/catalogs/{id}/elements."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    async with v4(sandbox) as amo:
        (catalog,) = await amo.catalogs.add([{"name": "Goods"}])
        await amo.catalogs.update([{"id": catalog.id, "name": "Products"}])
        elements = amo.catalog_elements(catalog.id)
        made = await elements.add([{"name": "Chair"}, {"name": "Table"}])
        await elements.update([{"id": made[0].id, "name": "Armchair"}])
        names = [e.name for e in await elements.list().to_list()]
        found = await elements.list(query="tab").to_list()
        assert (await amo.catalogs.get(catalog.id)).name == "Products"
        seeded = (await amo.catalogs.list().to_list())[0]
        goods = await amo.catalog_elements(seeded.id).list().to_list()
    assert names == ["Armchair", "Table"] and [e.name for e in found] == ["Table"]
    assert seeded.type == "products" and [e.name for e in goods] == ["Консультация", "Установка"]


async def test_unsorted_list_accept_decline_link():
    """Unsorted.php: /api/v4/leads/unsorted, /forms, /{uid}/accept|decline|link."""
    sandbox = AmoCRMSandbox(leads=1, rate_limit=None)
    form = {
        "source_uid": "site",
        "source_name": "Site form",
        "pipeline_id": 1,
        "_embedded": {"leads": [{"name": "From the site"}]},
    }
    async with v4(sandbox) as amo:
        made = await amo.unsorted.add([form, form, form])
        listed = await amo.unsorted.list().to_list()
        accepted = await amo.unsorted.accept(made[0].uid or "", status_id=12)
        await amo.unsorted.decline(made[1].uid or "")
        await amo.unsorted.link(made[2].uid or "", 1)
        left = await amo.unsorted.list().to_list()
    assert len(listed) == 3 and {u.category for u in listed} == {"forms"} and left == []
    lead_id = accepted["_embedded"]["leads"][0]["id"]
    assert sandbox.entities["leads"][lead_id]["status_id"] == 12
    assert len(sandbox.deleted["leads"]) == 1  # the declined one


async def test_webhooks_subscribe_list_unsubscribe():
    """Webhooks.php: POST/GET/DELETE /api/v4/webhooks (destination, settings)."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    async with v4(sandbox) as amo:
        hook = await amo.webhooks.subscribe("https://hooks.example.test/amo", ["add_lead"])
        listed = await amo.webhooks.list()
        await amo.webhooks.unsubscribe("https://hooks.example.test/amo")
        after = await amo.webhooks.list()
        with pytest.raises(ValueError, match="https"):
            await amo.webhooks.subscribe("http://plain.example.test", ["add_lead"])
    assert hook.settings == ["add_lead"] and [w.destination for w in listed] == [hook.destination]
    assert after == []


async def test_exchange_code_sends_a_form_and_saves_the_pair_before_use():
    """OAuth/AmoCRMOAuth.php (league/oauth2-client): grant_type=authorization_code, form-encoded."""
    sandbox = AmoCRMSandbox(leads=2, rate_limit=None)
    c = sandbox.credentials
    bodies: list[tuple[str, bytes]] = []
    inner = sandbox.transport()

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth2/access_token":
                bodies.append((request.headers["content-type"], request.content))
            return await inner.handle_async_request(request)

    store = MemoryTokenStore()
    async with AmoCRM(
        base_url="http://acme.amocrm.test",
        oauth=OAuthCredentials(c.client_id, c.client_secret, c.redirect_uri),
        token_store=store,
        transport=Recording(),
        allow_insecure_http=True,
        rate_limit=None,
    ) as amo:
        pair = await amo.exchange_code(c.authorization_code)
        assert store.credentials == pair and pair.refresh_token
        assert len(await amo.leads.list().to_list()) == 2
        sandbox.expire_access_tokens()
        assert (await amo.leads.get(1)).id == 1  # refreshed, form-encoded too
        with pytest.raises(crmkit.APIError):
            await amo.exchange_code(c.authorization_code)  # a code is single-use
    kinds = [kind for kind, _ in bodies]
    assert kinds[:2] == ["application/x-www-form-urlencoded"] * 2
    grants = [dict(parse_qsl(body.decode()))["grant_type"] for _, body in bodies[:2]]
    assert grants == ["authorization_code", "refresh_token"] and sandbox.refreshes == 2


async def test_the_sandbox_takes_json_token_and_login_bodies_and_issues_jwts():
    """Widely copied examples send both as JSON; clients decode exp from the JWT."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    c = sandbox.credentials
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://acme.amocrm.test"
    ) as http:
        token = await http.post(
            "/oauth2/access_token",
            json={
                "client_id": c.client_id,
                "client_secret": c.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": c.refresh_token,
                "redirect_uri": c.redirect_uri,
            },
        )
        login = await http.post(
            "/private/api/auth.php?type=json",
            json={"USER_LOGIN": c.login, "USER_HASH": c.api_key},
        )
        account = await http.get(
            "/api/v4/account", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        )
    parts = token.json()["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    assert len(parts) == 3 and claims["exp"] > sandbox.clock.now() + 3600
    assert login.json()["response"]["auth"] is True and "session_id" in login.cookies
    assert account.json()["_links"]["self"]["href"] == "http://acme.amocrm.test/api/v4/account"


async def test_the_sandbox_honours_or_refuses_every_list_filter():
    """Filters/LeadsFilter.php: pipeline_id, statuses[][pipeline_id,status_id], query, order."""
    sandbox = AmoCRMSandbox(leads=6, rate_limit=None)
    sandbox.touch("leads", [2, 4], status_id=12)
    async with v4(sandbox) as amo:
        by_status = await amo.leads.list(
            filter={"statuses": [{"pipeline_id": 1, "status_id": 12}]}
        ).to_list()
        by_pipeline = await amo.leads.list(filter={"pipeline_id": [1]}).to_list()
        by_price = await amo.leads.list(filter={"price": {"from": 0, "to": 10**9}}).to_list()
        with pytest.raises(crmkit.ValidationError, match="Bad Request"):
            await amo.leads.list(filter={"colour": "red"}).to_list()
        with pytest.raises(crmkit.ValidationError):
            await amo.leads.list(order={"name": "asc"}).to_list()
        with pytest.raises(crmkit.ValidationError):
            await amo.tasks.list(order={"updated_at": "asc"}).to_list()
    assert sorted(lead.id for lead in by_status) == [2, 4]
    assert len(by_pipeline) == 6 == len(by_price)


async def test_the_v2_sandbox_honours_or_refuses_its_list_parameters():
    """amoCRM v2 docs: id, query, responsible_user_id, status, filter[date_*]; no others."""
    from .test_amocrm import v2

    sandbox = AmoCRMSandbox(leads=5, rate_limit=None)
    sandbox.touch("leads", [2, 3], status_id=12)
    async with v2(sandbox) as amo:
        moved = await amo.leads.list(status=12).to_list()
        mine = await amo.leads.list(responsible_user_id=[1]).to_list()
        with pytest.raises(crmkit.ValidationError):
            await amo.leads.list(colour="red").to_list()
    assert sorted(lead.id for lead in moved) == [2, 3] and len(mine) == 5


async def test_the_sandbox_answers_unknown_paths_and_methods_as_amocrm_does():
    sandbox = AmoCRMSandbox(leads=2, rate_limit=None)
    async with v4(sandbox) as amo:
        for path in ("api/v4/deals", "api/v4/leads/1/tasks", "api/v4/tasks/notes"):
            with pytest.raises(crmkit.NotFoundError):
                await amo.request("GET", path)
        with pytest.raises(crmkit.APIError) as info:
            await amo.request("DELETE", "api/v4/leads/1")
    assert info.value.status == 405 and len(sandbox.entities["leads"]) == 2


def test_subdomains_are_one_dns_label_and_paths_are_encoded():
    for bad in ("evil.test/x?", "a.b", "", "-x", "x y"):
        with pytest.raises(ValueError, match="subdomain"):
            AmoCRM(bad or None, access_token="t")
    amo = AmoCRM("acme-1", access_token="t")
    assert amo.tags("leads").path == "leads/tags"
    assert amo.statuses(5).path == "leads/pipelines/5/statuses"
    with pytest.raises(ValueError):
        AmoCRM("acme", access_token="t").custom_fields("../users")


def test_the_readmes_coverage_table_is_the_resource_tables():
    from pathlib import Path

    from crmkit.amocrm.resources import coverage_table

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert coverage_table() in readme
