"""amoCRM, both dialects, against the sandbox: paging, incremental runs, auth, limits, writes."""

from __future__ import annotations

import asyncio
import json
import os
import time

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
    assert 0 < sandbox.limiter.violations() < 20


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


async def test_504_on_a_write_halves_the_chunk():
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        rows = json.loads(request.content)
        sizes.append(len(rows))
        if len(rows) > 60:
            return httpx.Response(504)
        answer = [{"id": 1000 + int(r["request_id"]), "request_id": r["request_id"]} for r in rows]
        return httpx.Response(200, json={"_embedded": {"leads": answer}})

    async with AmoCRM(
        base_url="https://acme.amocrm.ru",
        access_token="t",
        transport=httpx.MockTransport(handler),
        rate_limit=None,
    ) as amo:
        result = await amo.leads.add([{"name": str(n)} for n in range(250)])
    assert result.ids == [1000 + n for n in range(250)]
    assert sizes[:3] == [250, 125, 62]
    assert sum(s for s in sizes if s <= 60) == 250  # every item sent once in a chunk that passed


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


async def test_account_and_pipelines_in_both_dialects():
    sandbox = AmoCRMSandbox(rate_limit=None)
    for dialect in (v2, v4):
        async with dialect(sandbox) as amo:
            assert (await amo.account()).subdomain == "sandbox"
            assert [p.name for p in await amo.pipelines()] == ["Main"]


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
    async with AmoCRM(
        base_url="https://acme.amocrm.ru",
        access_token="t",
        transport=httpx.MockTransport(lambda request: answer),
        rate_limit=None,
        max_retries=0,
    ) as amo:
        with pytest.raises(error, match=text) as info:
            await amo.leads.get(1)
    if error is crmkit.ValidationError:
        assert info.value.details[0]["errors"][0]["path"] == "price"


async def test_a_json_403_on_an_account_that_worked_is_the_block():
    answers = iter([_answer(200, {"id": 1, "name": "x"}), _answer(403, {"title": "Forbidden"})])
    async with AmoCRM(
        base_url="https://acme.amocrm.ru",
        access_token="t",
        transport=httpx.MockTransport(lambda request: next(answers)),
        rate_limit=None,
    ) as amo:
        assert (await amo.leads.get(1)).name == "x"
        with pytest.raises(crmkit.AccountBlockedError):
            await amo.leads.get(1)


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
    sandbox = AmoCRMSandbox(leads=3, notes=30, rate_limit=None)
    async with dialect(sandbox) as amo:
        on_leads = await amo.notes.list(entity_type="leads", page_size=10).to_list()
        added = await amo.notes.add(
            [{"entity_id": 1, "note_type": "common", "params": {"text": "hi"}}],
            entity_type="contacts",
        )
        on_contacts = await amo.notes.of("contacts").list().to_list()
        with pytest.raises(ValueError, match="entity_type"):
            amo.notes.list(entity_type="deals")
    assert len(on_leads) == 30 and all(n.note_type == "common" for n in on_leads)
    assert [n.id for n in on_contacts] == added.ids


async def test_a_filter_with_several_values_sends_them_all():
    sandbox = AmoCRMSandbox(leads=10, rate_limit=None)
    async with v4(sandbox) as amo:
        leads = await amo.leads.list(filter={"id": [2, 5, 7]}).to_list()
    assert sorted(lead.id for lead in leads) == [2, 5, 7]
