"""vtiger: login, sessions, queries, safe VTQL, records, sync, errors, against the sandbox."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest

import crmkit
from crmkit.vtiger import Vtiger, VtigerError, VtigerId, access_key_digest, vtql
from crmkit.vtiger._wire import result_of
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

pytestmark = pytest.mark.anyio


def client_for(sandbox: VtigerSandbox, *, key: str = DEFAULT_ACCESS_KEY, ip: str = "127.0.0.1"):
    return Vtiger(
        "http://crm.example.test",
        DEFAULT_USER,
        key,
        transport=sandbox.transport(client_ip=ip),
        allow_insecure_http=True,
    )


def test_access_key_digest_vector():
    assert access_key_digest("5a4b3c", "myKey") == hashlib.md5(b"5a4b3cmyKey").hexdigest()


def test_url_takes_the_base_or_the_webservice_path():
    for url in (
        "https://app.abms.co",
        "https://app.abms.co/",
        "https://app.abms.co/webservice.php",
    ):
        assert Vtiger(url, "u", "k").endpoint == "https://app.abms.co/webservice.php"


def test_vtiger_ids_are_typed():
    assert VtigerId.parse("12x34") == VtigerId(12, 34)
    assert str(VtigerId(12, 34)) == "12x34"
    with pytest.raises(ValueError, match="12x34"):
        VtigerId.parse("34")


async def test_1050_leads_in_11_query_requests_after_one_login():
    sandbox = VtigerSandbox(leads=1050)
    async with client_for(sandbox) as crm:
        leads = [lead async for lead in crm.query("SELECT * FROM Leads")]
    assert len(leads) == 1050 and len({lead.id for lead in leads}) == 1050
    assert isinstance(leads[0].id, VtigerId) and leads[0]["lastname"]
    assert sandbox.operations["query"] == 11
    assert (sandbox.operations["getchallenge"], sandbox.operations["login"]) == (1, 1)
    assert sandbox.operations["logout"] == 1  # closing the client logs out


async def test_query_with_its_own_limit_runs_as_given():
    sandbox = VtigerSandbox(leads=300)
    async with client_for(sandbox) as crm:
        rows = await crm.query("SELECT firstname FROM Leads ORDER BY lastname LIMIT 5;").to_list()
    assert len(rows) == 5 and set(rows[0]) == {"firstname", "id"}
    assert sandbox.operations["query"] == 1


async def test_20_concurrent_first_calls_make_one_challenge_and_one_login():
    sandbox = VtigerSandbox(leads=30)
    async with client_for(sandbox) as crm:
        counts = await asyncio.gather(*(crm.count("Leads") for _ in range(20)))
    assert counts == [30] * 20
    assert (sandbox.operations["getchallenge"], sandbox.operations["login"]) == (1, 1)


async def test_session_expired_mid_run_is_recovered_with_one_login():
    sandbox = VtigerSandbox(leads=350)
    seen = []
    async with client_for(sandbox) as crm:
        async for lead in crm.query("SELECT * FROM Leads"):
            seen.append(lead.id)
            if len(seen) == 150:
                sandbox.expire_sessions()
    assert len(seen) == 350 and len(set(seen)) == 350
    assert sandbox.operations["login"] == 2


async def test_each_query_page_names_the_current_session_once():
    """The client puts its session in a page's query (the auth keeps it, or replaces it)."""
    sandbox = VtigerSandbox(leads=350)
    async with client_for(sandbox) as crm:
        paginator = crm.query("SELECT * FROM Leads")
        async for _ in paginator:
            if paginator.state.items == 150:
                first = crm.auth.session
                sandbox.expire_sessions()
        second = crm.auth.session
        pages = [
            httpx.QueryParams(r.query).get_list("sessionName")
            for r in sandbox.recent_requests
            if "operation=query" in r.query
        ]
    assert first and second and first != second
    # Two pages with the first; the third refused, asked again with the second; the last.
    assert pages == [[first]] * 3 + [[second]] * 2


async def test_many_tasks_hitting_an_expired_session_cause_one_new_login():
    sandbox = VtigerSandbox(leads=10)
    async with client_for(sandbox) as crm:
        await crm.count("Leads")
        sandbox.expire_sessions()
        await asyncio.gather(*(crm.count("Leads") for _ in range(15)))
    assert sandbox.operations["login"] == 2


async def test_idle_session_is_renewed_transparently():
    sandbox = VtigerSandbox(leads=3)
    async with client_for(sandbox) as crm:
        await crm.count("Leads")
        sandbox.clock.advance(1801)  # left idle
        assert await crm.count("Leads") == 3
    assert sandbox.operations["login"] == 2


async def test_session_renewed_before_its_maximum_life_without_an_error_round_trip():
    sandbox = VtigerSandbox(leads=3)
    now = [1000.0]
    async with client_for(sandbox) as crm:
        crm.auth._monotonic = lambda: now[0]
        await crm.count("Leads")
        now[0] += 86_400 - 300  # near the end of the 86,400 s life
        await crm.count("Leads")
    assert sandbox.operations["login"] == 2
    assert sandbox.operations["query"] == 2  # no call was refused first


async def test_abms_session_id_field_is_read():
    sandbox = VtigerSandbox(leads=4, session_field="sessionId")
    async with client_for(sandbox) as crm:
        assert await crm.count("Leads") == 4


async def test_quote_keeps_injection_a_value():
    sandbox = VtigerSandbox(leads=50)
    async with client_for(sandbox) as crm:
        await crm.create("Leads", {"lastname": "O'Brien", "email": "ob@example.test"})
        evil = "x' OR 1=1;"
        assert await crm.query(vtql.select("Leads", where={"lastname": evil})).to_list() == []
        found = await crm.query(vtql.select("Leads", where={"lastname": "O'Brien"})).to_list()
        assert [r["email"] for r in found] == ["ob@example.test"]
        assert await crm.count("Leads", where={"lastname": evil}) == 0
    assert vtql.quote(evil) == "'x'' OR 1=1;'"
    with pytest.raises(ValueError):
        vtql.select("Leads; DROP", where={"a": 1})
    with pytest.raises(ValueError):
        vtql.where({"lastname = 'a' OR id": 1})


async def test_records_create_retrieve_update_revise_delete():
    sandbox = VtigerSandbox()
    async with client_for(sandbox) as crm:
        created = await crm.create("Contacts", {"lastname": "Ivanova", "firstname": "Anna"})
        assert created.id is not None and created.id.module_id == 12
        fetched = await crm.retrieve(created.id)
        assert fetched["firstname"] == "Anna"
        whole = {**fetched.to_dict(), "firstname": "Anya", "email": "anya@example.test"}
        updated = await crm.update(whole)
        revised = await crm.revise(created.id, {"phone": "+70000000000"})
        await crm.delete(created.id)
        with pytest.raises(crmkit.NotFoundError):
            await crm.retrieve(created.id)
    assert updated["firstname"] == "Anya" and revised["email"] == "anya@example.test"
    assert revised["phone"] == "+70000000000"


async def test_describe_is_cached_and_list_types():
    sandbox = VtigerSandbox(leads=2)
    async with client_for(sandbox) as crm:
        first = await crm.describe("Leads")
        again = await crm.describe("Leads")
        types = await crm.list_types()
    assert first is again and first["name"] == "Leads"
    assert sandbox.operations["describe"] == 1
    assert "Contacts" in types


async def test_sync_of_250_changes_in_3_windows_with_deletions():
    sandbox = VtigerSandbox(leads=20)
    older = list(sandbox.records)  # existed before the run's start
    start = sandbox.clock.datetime()
    sandbox.clock.advance(5)
    for n in range(230):
        sandbox.add("Leads", {"lastname": f"L{n}"})
        sandbox.clock.advance(1)
    for record_id in older:
        sandbox.remove(record_id)
        sandbox.clock.advance(1)
    async with client_for(sandbox) as crm:
        changes = crm.sync("Leads", modified_since=start)
        items = [change async for change in changes]
        assert changes.watermark is not None
    updated = [c for c in items if c.kind == "updated"]
    deleted = [c for c in items if c.kind == "deleted"]
    assert len(items) == 250 and sandbox.operations["sync"] == 3
    assert len(updated) == 230 and {str(c.id) for c in deleted} == set(older)
    assert all(c.record is not None and c.record.id == c.id for c in updated)


async def test_errors_are_typed_with_vtiger_codes():
    sandbox = VtigerSandbox(leads=2)
    async with client_for(sandbox) as crm:
        with pytest.raises(crmkit.ValidationError) as missing:
            await crm.create("Leads", {"firstname": "no last name"})
        with pytest.raises(crmkit.ValidationError) as syntax:
            await crm.query("SELECT * Leads").to_list()
        # vtiger reads a GET-type operation's inputs from the query string whatever
        # the method (OperationManager.php): a query in a POST body is not read.
        with pytest.raises(VtigerError) as method:
            await crm.call("query", "POST", query="SELECT * FROM Leads;")
        with pytest.raises(crmkit.PermissionDeniedError):
            await crm.create("Invoices", {"subject": "x"})
    assert missing.value.code == "MANDATORY_FIELDS_MISSING"
    assert syntax.value.code == "QUERY_SYNTAX_ERROR" and "expected FROM" in str(syntax.value)
    assert method.value.code == "QUERY_SYNTAX_ERROR"


async def test_bad_access_key_says_so_without_the_key():
    sandbox = VtigerSandbox()
    async with client_for(sandbox, key="wrongAccessKey999") as crm:
        with pytest.raises(
            crmkit.AuthenticationError, match="wrong username or access key"
        ) as info:
            await crm.count("Leads")
    assert "wrongAccessKey999" not in str(info.value) + repr(info.value) + repr(crm)


async def test_refused_ip_says_it_is_the_ip():
    sandbox = VtigerSandbox(allowed_ips={"10.1.1.1"})
    async with client_for(sandbox, ip="127.0.0.1") as crm:
        with pytest.raises(crmkit.PermissionDeniedError, match="IP address"):
            await crm.count("Leads")


def test_html_or_empty_answers_are_protocol_errors():
    request = httpx.Request("GET", "https://crm.example.test/webservice.php?operation=query")
    for body in (b"", b"<html><body>Fatal error</body></html>"):
        with pytest.raises(crmkit.ProtocolError):
            result_of(httpx.Response(200, content=body, request=request))


async def test_sync_feed_resumes_from_its_state_with_only_new_changes():
    sandbox = VtigerSandbox(leads=5)
    sandbox.clock.advance(2)
    async with client_for(sandbox) as crm:
        first = crm.sync("Leads")
        assert len(await first.to_list()) == 5
        sandbox.clock.advance(2)
        sandbox.touch("10x3", lastname="Changed")
        later = crm.sync("Leads", resume_from=first.state.to_dict())
        changes = await later.to_list()
    assert [(c.kind, str(c.id)) for c in changes] == [("updated", "10x3")]
    assert changes[0].record is not None and changes[0].record["lastname"] == "Changed"
