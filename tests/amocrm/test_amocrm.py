"""amoCRM, both dialects, against the sandbox: paging, incremental runs, auth, limits, writes."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime, timezone

import attrs
import httpx
import pytest

import crmkit
from crmkit._models import from_wire
from crmkit.amocrm import (
    AmoCRM,
    JSONFileTokenStore,
    Lead,
    MemoryTokenStore,
    OAuthCredentials,
    Task,
    parse_webhook,
)
from crmkit.amocrm._wire import if_modified_since
from crmkit.amocrm.sandbox import AmoCRMSandbox

pytestmark = pytest.mark.anyio


def v4(sandbox: AmoCRMSandbox, **kwargs) -> AmoCRM:
    kwargs.setdefault("rate_limit", None)
    kwargs.setdefault("access_token", sandbox.credentials.access_token)
    return AmoCRM(
        base_url="http://acme.amocrm.test",
        transport=sandbox.transport(),
        allow_insecure_http=True,
        **kwargs,
    )


def mocked(answer, **kwargs) -> AmoCRM:
    """A v4 client whose answers come from ``answer`` (a handler or a transport)."""
    transport = (
        answer if isinstance(answer, httpx.AsyncBaseTransport) else httpx.MockTransport(answer)
    )
    kwargs.setdefault("rate_limit", None)
    return AmoCRM(
        base_url="https://acme.amocrm.ru", access_token="t", transport=transport, **kwargs
    )


def v2(sandbox: AmoCRMSandbox, **kwargs) -> AmoCRM:
    kwargs.setdefault("rate_limit", None)
    c = sandbox.credentials
    kwargs.setdefault("api_key", c.api_key)
    return AmoCRM(
        base_url="http://acme.amocrm.test",
        api_version=2,
        login=c.login,
        transport=sandbox.transport(),
        allow_insecure_http=True,
        **kwargs,
    )


def test_if_modified_since_format():
    from datetime import datetime, timezone

    # (api-notes' example says "Mon"; 1 August 2017 was a Tuesday)
    when = datetime(2017, 8, 1, 7, 7, 23, tzinfo=timezone.utc)
    assert if_modified_since(when) == "Tue, 01 Aug 2017 07:07:23 UTC"


async def test_10000_leads_through_v2_in_21_requests():
    sandbox = AmoCRMSandbox(leads=10_000, rate_limit=None)
    async with v2(sandbox) as amo:
        leads = [lead async for lead in amo.leads.list(page_size=5000)]
    assert len(leads) == 10_000 and isinstance(leads[0], Lead)
    assert sandbox.requests_by_path["/api/v2/leads"] == 21  # 20 full pages, then the 204
    assert all("limit_rows=500" in r.query for r in sandbox.recent_requests if "v2/leads" in r.path)
    assert sandbox.logins == 1
    assert leads[0].price is not None and leads[0].custom_field("PHONE")


async def test_10000_leads_through_v4_in_40_requests():
    sandbox = AmoCRMSandbox(leads=10_000, rate_limit=None)
    async with v4(sandbox) as amo:
        leads = await amo.leads.list(page_size=1000).to_list()
    assert len(leads) == 10_000 and len({lead.id for lead in leads}) == 10_000
    assert sandbox.requests_by_path["/api/v4/leads"] == 40  # the last page has no next link


@pytest.mark.parametrize("dialect", [v2, v4])
async def test_second_run_returns_only_what_changed_including_during_the_first(dialect):
    sandbox = AmoCRMSandbox(leads=1200, rate_limit=None)
    sandbox.clock.advance(10)  # the seeded leads are older than the run
    async with dialect(sandbox) as amo:
        first = amo.leads.list()
        async for lead in first:
            if lead.id == 300:
                sandbox.touch("leads", [1100], name="changed while the first run paged")
        sandbox.clock.advance(5)
        sandbox.touch("leads", [7], name="changed between the runs")
        second = amo.leads.list(modified_since=first.watermark)
        changed = sorted([lead.id async for lead in second])
    assert changed == [7, 1100]


async def test_nothing_changed_ends_with_one_204():
    sandbox = AmoCRMSandbox(leads=50, rate_limit=None)
    sandbox.clock.advance(10)
    async with v4(sandbox) as amo:
        first = amo.leads.list()
        await first.to_list()
        before = sandbox.request_count
        assert await amo.leads.list(modified_since=first.watermark).to_list() == []
    assert sandbox.request_count == before + 1


async def test_50_concurrent_calls_across_an_expired_oauth_token_make_one_refresh(tmp_path):
    sandbox = AmoCRMSandbox(leads=20, rate_limit=None)
    c = sandbox.credentials
    expired = OAuthCredentials(
        client_id=c.client_id,
        client_secret=c.client_secret,
        redirect_uri=c.redirect_uri,
        refresh_token=c.refresh_token,
        access_token="old-access-token",
        expires_at=time.time() - 10,
    )
    store = JSONFileTokenStore(tmp_path / "amocrm-token.json")
    await store.save(expired)
    async with v4(sandbox, access_token=None, token_store=store) as amo:
        counts = await asyncio.gather(*(amo.leads.list(limit=5).to_list() for _ in range(50)))
        assert all(len(c) == 5 for c in counts)
        assert sandbox.refreshes == 1
        saved = await store.load()
        assert saved is not None and saved.refresh_token != c.refresh_token  # saved before use
        sandbox.expire_access_tokens()  # now a 401 on the next calls: again one refresh
        await asyncio.gather(*(amo.leads.get(3) for _ in range(20)))
    assert sandbox.refreshes == 2
    assert oct(os.stat(tmp_path / "amocrm-token.json").st_mode & 0o777) == "0o600"
    assert json.loads((tmp_path / "amocrm-token.json").read_text())["client_id"] == c.client_id


async def test_used_refresh_token_is_an_authentication_error():
    sandbox = AmoCRMSandbox(rate_limit=None)
    c = sandbox.credentials
    stale = OAuthCredentials(c.client_id, c.client_secret, c.redirect_uri, "already-used-token")
    async with v4(sandbox, access_token=None, oauth=stale) as amo:
        with pytest.raises(crmkit.AuthenticationError, match="authorize the integration again"):
            await amo.leads.list().to_list()


async def test_v2_session_expiry_is_one_login_for_many_tasks():
    sandbox = AmoCRMSandbox(leads=30, rate_limit=None)
    async with v2(sandbox) as amo:
        await amo.leads.get(1)
        sandbox.expire_sessions()
        leads = await asyncio.gather(*(amo.leads.get(n) for n in range(1, 21)))
    assert [lead.id for lead in leads] == list(range(1, 21))
    assert sandbox.logins == 2


async def test_wrong_v2_api_key_is_an_authentication_error_without_the_key():
    sandbox = AmoCRMSandbox(rate_limit=None)
    async with v2(sandbox, api_key="wrong-user-hash-1234") as amo:
        with pytest.raises(crmkit.AuthenticationError) as info:
            await amo.leads.list().to_list()
    text = str(info.value) + repr(info.value) + repr(amo) + repr(amo.cookie_login)
    assert "wrong-user-hash-1234" not in text and "Incorrect login" in text


async def test_a_429_storm_never_reaches_the_block():
    # The account allows 3/s (another process uses the rest); this client is set to 7/s.
    sandbox = AmoCRMSandbox(leads=2000, rate_limit=3, block_after=20)
    async with v4(sandbox, rate_limit=7) as amo:
        amo.session.retry = crmkit.RetryPolicy(max_retries=10, backoff_base=0.2)
        pages = await asyncio.gather(
            *(amo.leads.list(limit=50, page_size=50).to_list() for _ in range(8))
        )
    assert all(len(p) == 50 for p in pages)
    assert not sandbox.blocked
    assert 0 < sandbox.limiter.violations() <= 3  # of the 20 that block the account


async def test_after_a_block_no_further_request_reaches_the_sandbox():
    sandbox = AmoCRMSandbox(leads=100, rate_limit=1, block_after=1)
    async with v4(sandbox, max_retries=0) as amo:
        with pytest.raises(crmkit.RateLimitError):
            await asyncio.gather(*(amo.leads.get(n) for n in range(1, 4)))
        await asyncio.sleep(1.05)
        with pytest.raises(crmkit.AccountBlockedError):
            await amo.leads.get(1)
        reached = sandbox.request_count
        for _ in range(5):
            with pytest.raises(crmkit.AccountBlockedError):
                await amo.leads.list().to_list()
    assert sandbox.request_count == reached


async def test_subscription_over_is_payment_required():
    sandbox = AmoCRMSandbox(leads=5, rate_limit=None)
    sandbox.subscription_ended = True
    async with v4(sandbox) as amo:
        with pytest.raises(crmkit.PaymentRequiredError):
            await amo.leads.list().to_list()


@pytest.mark.parametrize("dialect", [v2, v4])
async def test_writes_return_ids_in_order_and_keep_per_item_failures(dialect):
    sandbox = AmoCRMSandbox(rate_limit=None)
    items = [{"name": f"Deal {n}", "price": n} for n in range(600)]
    items[3] = {"name": "bad", "price": "not a number"}
    async with dialect(sandbox) as amo:
        result = await amo.leads.add(items)
        lead = await amo.leads.get(result.ids[10])
        changed = lead.with_custom_field(501, "+70001112233")
        updated = await amo.leads.update([changed])
        again = await amo.leads.get(result.ids[10])
    assert len(result.ids) == 600 and result.ids[3] is None and set(result.errors) == {3}
    assert lead.name == "Deal 10"
    assert updated.ok and again.custom_field(501) == "+70001112233"
    assert len(sandbox.entities["leads"]) == 599


def _answering(sizes: list[int], too_big: int):
    def handler(request: httpx.Request) -> httpx.Response:
        rows = json.loads(request.content)
        sizes.append(len(rows))
        if len(rows) > too_big:
            return httpx.Response(504)
        answer = [{"id": 1000 + int(r["request_id"]), "request_id": r["request_id"]} for r in rows]
        return httpx.Response(200, json={"_embedded": {"leads": answer}})

    return httpx.MockTransport(handler)


async def test_504_on_an_update_halves_the_chunk():
    sizes: list[int] = []
    async with mocked(_answering(sizes, 60), max_retries=0) as amo:
        result = await amo.leads.update([{"id": n + 1, "name": str(n)} for n in range(250)])
    assert result.ids == [1000 + n for n in range(250)] and result.ok
    assert sizes[:3] == [250, 125, 62]
    assert sum(s for s in sizes if s <= 60) == 250  # every item sent once in a chunk that passed


async def test_504_on_an_add_is_never_sent_again_and_the_other_chunks_are_kept():
    """Issue 19: a gateway 504 often follows a committed write; re-sending it duplicates."""
    sizes: list[int] = []
    async with mocked(_answering(sizes, 240)) as amo:
        result = await amo.leads.add([{"name": str(n)} for n in range(600)])
    assert sizes == [250, 250, 100]  # each chunk once, 504s included
    assert result.ids[:250] == [None] * 250 and set(result.errors) == set(range(500))
    assert "outcome unknown" in str(result.errors[0])
    assert result.ids[500:] == [1500 + n for n in range(100)]


async def test_a_garbled_answer_to_an_add_is_reported_not_raised_nor_repeated():
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        return httpx.Response(200, json={"_embedded": {"leads": "not a list"}})

    async with mocked(handler) as amo:
        result = await amo.leads.add([{"name": "x"}, {"name": "y"}])
    assert sent == [1] and result.ids == [None, None]
    assert "outcome unknown" in str(result.errors[1])


async def test_a_400_naming_a_request_id_outside_the_chunk_does_not_loop():
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(len(json.loads(request.content)))
        body = {
            "title": "Bad Request",
            "validation-errors": [{"request_id": "9999", "errors": [{"code": "X"}]}],
        }
        return httpx.Response(400, json=body, headers={"content-type": "application/problem+json"})

    async with mocked(handler) as amo:
        result = await amo.leads.add([{"name": str(n)} for n in range(3)])
    assert sent == [3] and set(result.errors) == {0, 1, 2} and result.ids == [None] * 3


async def test_a_block_during_a_bulk_add_keeps_what_was_created_and_sends_nothing_more():
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        rows = json.loads(request.content)
        calls.append(len(rows))
        if len(calls) == 2:
            return httpx.Response(
                403, text="<html>blocked</html>", headers={"content-type": "text/html"}
            )
        answer = [{"id": 1 + int(r["request_id"]), "request_id": r["request_id"]} for r in rows]
        return httpx.Response(200, json={"_embedded": {"leads": answer}})

    async with mocked(handler) as amo:
        result = await amo.leads.add([{"name": str(n)} for n in range(700)])
        assert amo.session.blocked is not None
    assert calls == [250, 250] and result.ids[:250] == list(range(1, 251))
    assert set(result.errors) == set(range(250, 700))
    assert "not sent" in str(result.errors[600])


def test_webhook_payload_becomes_events():
    body = (
        "leads%5Badd%5D%5B0%5D%5Bid%5D=101&leads%5Badd%5D%5B0%5D%5Bname%5D=New+deal"
        "&leads%5Bstatus%5D%5B0%5D%5Bid%5D=7&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142"
        "&account%5Bsubdomain%5D=acme"
    )
    events = parse_webhook(body.encode())
    assert [(e.entity, e.action, e.id, e.account) for e in events] == [
        ("leads", "add", 101, "acme"),
        ("leads", "status", 7, "acme"),
    ]
    assert events[0].data["name"] == "New deal"
    with pytest.raises(ValueError):
        parse_webhook(b"leads[add=1")


async def test_account_in_both_dialects_and_pipelines_in_v4():
    sandbox = AmoCRMSandbox(rate_limit=None)
    for dialect in (v2, v4):
        async with dialect(sandbox) as amo:
            assert (await amo.account()).subdomain == "sandbox"
    async with v4(sandbox) as amo:
        assert [p.name for p in await amo.pipelines.list().to_list()] == ["Воронка"]
    async with v2(sandbox) as amo:
        with pytest.raises(ValueError, match="v4 only"):
            amo.pipelines.list()


def test_default_rate_limit_is_7_per_second_and_secrets_stay_hidden():
    amo = AmoCRM("acme", access_token="secret-token-value")
    assert amo.session.throttle.rate == 7.0  # type: ignore[attr-defined]
    assert amo.base_url == "https://acme.amocrm.ru"
    assert "secret-token-value" not in repr(amo) + repr(amo.session)
    creds = OAuthCredentials("id", "client-secret-x", "https://r", "refresh-x", "access-x")
    assert "client-secret-x" not in repr(creds) and "refresh-x" not in repr(creds)
    assert "refresh-x" not in repr(MemoryTokenStore(creds).credentials)


def _answer(status: int, body: object, kind: str = "application/json") -> httpx.Response:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers={"content-type": kind})


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (
            _answer(401, {"response": {"error": "Incorrect login", "error_code": "110"}}),
            crmkit.AuthenticationError,
            "Incorrect login",
        ),
        (
            _answer(403, {"response": {"error": "IP is not allowed", "error_code": "113"}}),
            crmkit.PermissionDeniedError,
            "IP",
        ),
        (
            _answer(403, "<html><body>Blocked</body></html>", "text/html"),
            crmkit.AccountBlockedError,
            "blocked",
        ),
        (
            _answer(402, {"title": "Payment Required"}, "application/problem+json"),
            crmkit.PaymentRequiredError,
            "subscription",
        ),
        (
            _answer(
                400,
                {
                    "title": "Bad Request",
                    "validation-errors": [
                        {
                            "request_id": "0",
                            "errors": [{"code": "NotSupportedChoice", "path": "price"}],
                        }
                    ],
                },
                "application/problem+json",
            ),
            crmkit.ValidationError,
            "Bad Request",
        ),
    ],
)
async def test_error_answers_become_typed_errors(answer, error, text):
    async with mocked(lambda request: answer, max_retries=0) as amo:
        with pytest.raises(error, match=text) as info:
            await amo.leads.get(1)
    if error is crmkit.ValidationError:
        assert info.value.details[0]["errors"][0]["path"] == "price"


async def test_a_json_403_after_recent_429s_on_an_account_that_worked_is_the_block():
    answers = iter(
        [
            _answer(200, {"id": 1, "name": "x"}),
            httpx.Response(429),
            _answer(403, {"title": "Forbidden"}, "application/problem+json"),
        ]
    )
    async with mocked(
        lambda request: next(answers), retry=crmkit.RetryPolicy(max_retries=1, backoff_base=0.01)
    ) as amo:
        assert (await amo.leads.get(1)).name == "x"
        with pytest.raises(crmkit.AccountBlockedError):
            await amo.leads.get(1)  # 429, then the 403
        with pytest.raises(crmkit.AccountBlockedError):
            await amo.leads.get(1)  # fail fast: nothing sent


async def test_a_json_403_on_a_call_that_never_worked_is_a_refusal_even_after_429s():
    answers = iter(
        [
            _answer(200, {"id": 1, "name": "x"}),
            httpx.Response(429),
            _answer(403, {"title": "Forbidden"}, "application/problem+json"),
            _answer(200, {"id": 2, "name": "y"}),
        ]
    )
    async with mocked(
        lambda request: next(answers), retry=crmkit.RetryPolicy(max_retries=1, backoff_base=0.01)
    ) as amo:
        assert (await amo.leads.get(1)).name == "x"
        with pytest.raises(crmkit.PermissionDeniedError) as info:
            await amo.request("GET", "api/v4/users")  # 429, then a JSON 403: never worked
        assert not isinstance(info.value, crmkit.AccountBlockedError)
        assert (await amo.leads.get(2)).name == "y"


async def test_a_json_403_without_recent_429s_is_a_refusal_and_the_session_goes_on():
    """Kommo: a JSON 403 means "insufficient rights" (official PHP SDK AmoCRMApiRequest)."""
    sandbox = AmoCRMSandbox(leads=3, rate_limit=None)
    async with v4(sandbox, access_token=sandbox.credentials.user_access_token) as amo:
        assert (await amo.leads.get(1)).id == 1
        with pytest.raises(crmkit.PermissionDeniedError) as info:
            await amo.request("GET", "api/v4/users")
        assert not isinstance(info.value, crmkit.AccountBlockedError)
        assert (await amo.leads.get(2)).id == 2  # the Session still works
        assert amo.session.blocked is None
    async with v4(sandbox) as admin:  # the admin's token may list users
        body = (await admin.request("GET", "api/v4/users")).json()
    assert {u["rights"]["is_admin"] for u in body["_embedded"]["users"]} == {True, False}


def test_custom_fields_by_id_and_code_and_aware_timestamps():
    lead = from_wire(
        {
            "id": 5,
            "updated_at": 1700000000,
            "custom_fields_values": [
                {
                    "field_id": 10,
                    "field_code": "PHONE",
                    "values": [{"value": "+1"}, {"value": "+2"}],
                }
            ],
            "is_deleted": False,
        },
        Lead,
    )
    assert lead.custom_field("PHONE") == "+1" and lead.custom_field_values(10) == ["+1", "+2"]
    assert lead.updated_at is not None and lead.updated_at.utcoffset() is not None
    assert lead.updated_at.timestamp() == 1700000000
    assert lead.extra == {"is_deleted": False}
    changed = lead.with_custom_field("PHONE", "+3")
    assert changed.custom_field(10) == "+3" and len(changed.custom_fields_values or []) == 1
    assert lead.custom_field("PHONE") == "+1"  # the original is unchanged


async def test_the_login_counts_against_the_rate_limit():
    # Without counting it, the login and the first two requests share one window of 2.
    sandbox = AmoCRMSandbox(leads=10, rate_limit=2, block_after=None)
    async with v2(sandbox, rate_limit=2, max_retries=0) as amo:
        leads = await asyncio.gather(*(amo.leads.get(n) for n in range(1, 5)))
        assert amo.session.stats.requests == 5
    assert [lead.id for lead in leads] == [1, 2, 3, 4]
    assert sandbox.limiter is not None and sandbox.limiter.violations() == 0


@pytest.mark.parametrize("dialect", [v2, v4])
async def test_notes_live_under_their_parent_type(dialect):
    sandbox = AmoCRMSandbox(leads=3, contacts=2, notes=30, rate_limit=None)
    contact = min(sandbox.entities["contacts"])
    async with dialect(sandbox) as amo:
        on_leads = await amo.notes.list(entity_type="leads", page_size=10).to_list()
        added = await amo.notes.add(
            [{"entity_id": contact, "note_type": "common", "params": {"text": "hi"}}],
            entity_type="contacts",
        )
        on_contacts = await amo.notes.of("contacts").list().to_list()
        with pytest.raises(ValueError, match="entity_type"):
            amo.notes.list(entity_type="deals")
    assert len(on_leads) == 30 and all(n.note_type == "common" for n in on_leads)
    assert [n.id for n in on_contacts] == added.ids
    assert on_contacts[0].entity_id == contact and on_contacts[0].params == {"text": "hi"}


async def test_notes_of_one_entity_live_under_its_path_and_never_create_a_parent():
    """amoCRM v4 docs / PHP SDK EntityNotes: /api/v4/{entity}/{id}/notes; no tasks/notes."""
    sandbox = AmoCRMSandbox(leads=3, rate_limit=None)
    async with v4(sandbox) as amo:
        added = await amo.notes.add(
            [{"note_type": "common", "params": {"text": "on lead 2"}}],
            entity_type="leads",
            entity_id=2,
        )
        mine = await amo.notes.list(entity_type="leads", entity_id=2).to_list()
        others = await amo.notes.list(entity_type="leads", entity_id=3).to_list()
        with pytest.raises(ValueError, match="entity_type"):
            amo.notes.of("tasks")  # v4 has no notes under tasks
        with pytest.raises(crmkit.NotFoundError):
            await amo.request("GET", "api/v4/tasks/notes")
        with pytest.raises(crmkit.NotFoundError):
            await amo.request("POST", "api/v4/leads/2/whatever", json=[{"name": "x"}])
    assert [n.id for n in mine] == added.ids and others == []
    assert mine[0].entity_id == 2 and len(sandbox.entities["leads"]) == 3
    assert sandbox.requests_by_path["/api/v4/leads/2/notes"] == 2


async def test_one_entity_is_read_and_patched_at_its_own_path():
    sandbox = AmoCRMSandbox(leads=3, rate_limit=None)
    async with v4(sandbox) as amo:
        lead = await amo.leads.get(2)
        result = await amo.leads.update(attrs.evolve(lead, name="Renamed", price=7))
        refused = await amo.leads.update({"id": 2, "price": "lots"})
        again = await amo.leads.get(2)
    assert result.ids == [2] and result.ok and not refused.ok
    assert (again.name, again.price) == ("Renamed", 7)
    assert [(r.method, r.path) for r in sandbox.recent_requests if r.method == "PATCH"] == [
        ("PATCH", "/api/v4/leads/2"),
        ("PATCH", "/api/v4/leads/2"),
    ]


@pytest.mark.parametrize("dialect", [v2, v4])
async def test_date_filters_go_as_unix_seconds_and_naive_ones_are_refused(dialect):
    sandbox = AmoCRMSandbox(leads=20, rate_limit=None)
    start = sandbox.clock.now_int()
    sandbox.clock.advance(100)
    sandbox.touch("leads", [4, 9])
    when = datetime.fromtimestamp(start + 50, timezone.utc)
    key = "updated_at" if dialect is v4 else "date_modify"
    async with dialect(sandbox) as amo:
        changed = await amo.leads.list(filter={key: {"from": when}}).to_list()
        with pytest.raises(ValueError, match="naive"):
            amo.leads.list(filter={key: {"from": datetime(2024, 1, 1)}})
    assert sorted(lead.id for lead in changed) == [4, 9]
    query = next(r.query for r in sandbox.recent_requests if r.path.endswith("/leads"))
    assert f"filter%5B{key}%5D%5Bfrom%5D={start + 50}" in query
    if dialect is v4:
        assert "order%5Bupdated_at%5D=asc" in query


async def test_v4_lists_page_in_updated_at_order_so_changes_do_not_shift_pages():
    sandbox = AmoCRMSandbox(leads=6, rate_limit=None)
    sandbox.clock.advance(10)
    sandbox.touch("leads", [1])  # now the most recently changed
    async with v4(sandbox) as amo:
        ids = [lead.id for lead in await amo.leads.list().to_list()]
        by_id = [lead.id for lead in await amo.leads.list(order={"id": "desc"}).to_list()]
    assert ids == [2, 3, 4, 5, 6, 1] and by_id == [6, 5, 4, 3, 2, 1]


async def test_v2_tasks_and_notes_map_their_own_fields_both_ways():
    """amoCRM v2 docs: element_id, element_type (2 = lead), complete_till_at, task_type, text."""
    sandbox = AmoCRMSandbox(leads=2, tasks=1, rate_limit=None)
    due = datetime(2030, 1, 2, tzinfo=timezone.utc)
    async with v2(sandbox) as amo:
        task = (await amo.tasks.list().to_list())[0]
        added = await amo.tasks.add(
            [
                Task(
                    text="Call",
                    entity_id=2,
                    entity_type="leads",
                    complete_till=due,
                    task_type_id=1,
                )
            ]
        )
        note = await amo.notes.add(
            [{"entity_id": 2, "note_type": "common", "params": {"text": "v2 note"}}]
        )
        notes = await amo.notes.list().to_list()
    assert task.entity_id == 1 and task.entity_type == "leads" and task.complete_till
    assert added.ok and note.ok
    stored = sandbox.entities["tasks"][added.ids[0]]
    assert (stored["entity_id"], stored["entity_type"]) == (2, "leads")
    assert stored["complete_till"] == int(due.timestamp())
    assert [(n.entity_id, n.note_type, n.params) for n in notes] == [
        (2, "common", {"text": "v2 note"})
    ]


async def test_a_repeat_refused_again_on_a_busy_account_logs_in_itself_once():
    """Another task's new cookie is refused too: this call logs in itself, once."""
    logins: list[str] = []
    cookies_ok: set[str] = set()
    refused_with: list[str] = []
    stale: list[str] = []
    both_stale = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("auth.php"):
            cookie = f"c{len(logins) + 1}"
            logins.append(cookie)
            cookies_ok.add(cookie)
            headers = {"set-cookie": f"session_id={cookie}"}
            return httpx.Response(200, json={"response": {"auth": True}}, headers=headers)
        cookie = request.headers.get("cookie", "").removeprefix("session_id=")
        if cookie == "c1" and not cookies_ok & {"c1"}:
            # both calls went out with the ended session; lead 1's refusal comes back first
            stale.append(request.url.path)
            if len(stale) == 2:
                both_stale.set()
            await both_stale.wait()
            if request.url.path.endswith("/2"):
                await asyncio.sleep(0.05)
            return httpx.Response(401, json={"response": {"error_code": "101"}})
        if request.url.path.endswith("/2") and cookie == "c2":
            refused_with.append(cookie)  # the busy account dropped this call's new session
            return httpx.Response(401, json={"response": {"error_code": "101"}})
        if cookie not in cookies_ok:
            return httpx.Response(401, json={"response": {"error_code": "101"}})
        entity = {"id": int(request.url.path.rsplit("/", 1)[-1]), "name": "x"}
        return httpx.Response(200, json={"_embedded": {"items": [entity]}})

    async with AmoCRM(
        base_url="https://acme.amocrm.ru",
        api_version=2,
        login="m@example.test",
        api_key="k",
        transport=httpx.MockTransport(handler),
        rate_limit=None,
    ) as amo:
        await amo.request("GET", "api/v2/leads/1")  # the first login: c1
        cookies_ok.clear()  # every session ends
        one, two = await asyncio.gather(
            amo.request("GET", "api/v2/leads/1"), amo.request("GET", "api/v2/leads/2")
        )
    assert one.status_code == two.status_code == 200
    assert refused_with == ["c2"] and len(logins) == 3  # at most one extra login per call


async def test_a_filter_with_several_values_sends_them_all():
    sandbox = AmoCRMSandbox(leads=10, rate_limit=None)
    async with v4(sandbox) as amo:
        leads = await amo.leads.list(filter={"id": [2, 5, 7]}).to_list()
    assert sorted(lead.id for lead in leads) == [2, 5, 7]
