"""amoCRM adds with ``key=``: an add whose outcome is unknown is looked up, never duplicated.

``request_id`` is echoed, never stored (amoCRM's v4 add docs; the official PHP SDK
``amocrm/amocrm-api-php`` matches answers to models by it and nothing more), so
the key is a field the caller writes: ``name`` or a custom field's id.
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

import crmkit
from crmkit.amocrm import AmoCRM
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.sandbox import FaultPlan

from ..amocrm._clients import auth_for
from ..conftest import VirtualClock

pytestmark = pytest.mark.anyio


def client(sandbox: AmoCRMSandbox, version: int = 4) -> AmoCRM:
    return AmoCRM(
        base_url="http://acme.amocrm.test",
        transport=sandbox.transport(),
        allow_insecure_http=True,
        rate_limit=None,
        retry=crmkit.RetryPolicy(max_retries=6),
        clock=VirtualClock(),
        **auth_for(sandbox, version),
    )


def faulty(version: int, **plan: object) -> AmoCRMSandbox:
    sandbox = AmoCRMSandbox(leads=3, rate_limit=None)
    sandbox.clock.advance(10)  # the seeded leads are older than the writes
    sandbox.set_faults(FaultPlan(paths=(f"/api/v{version}/leads",), methods=("POST",), **plan))  # type: ignore[arg-type]
    return sandbox


def names(sandbox: AmoCRMSandbox, prefix: str) -> Counter[str]:
    return Counter(
        str(lead["name"])
        for lead in sandbox.entities["leads"].values()
        if str(lead.get("name", "")).startswith(prefix)
    )


@pytest.mark.parametrize("version", [2, 4])
async def test_an_add_answered_504_after_it_committed_is_found_not_sent_again(version):
    sandbox = faulty(version, server_error_after=1.0)
    items = [{"name": f"k-{n}", "price": n} for n in range(300)]
    async with client(sandbox, version) as amo:
        result = await amo.leads.add(items, key="name")
    assert result.ok and names(sandbox, "k-") == {f"k-{n}": 1 for n in range(300)}
    by_id = sandbox.entities["leads"]
    assert [by_id[i]["name"] for i in result.ids] == [f"k-{n}" for n in range(300)]
    assert [by_id[i]["price"] for i in result.ids] == list(range(300))
    posts = [r for r in sandbox.recent_requests if r.method == "POST" and "leads" in r.path]
    assert len(posts) == 2  # one per chunk: found, not sent again


async def test_an_add_dropped_before_amocrm_saw_it_is_sent_again_once():
    sandbox = faulty(4, drop_before=0.5, seed=2)
    items = [{"name": f"d-{n}"} for n in range(600)]
    async with client(sandbox) as amo:
        result = await amo.leads.add(items, key="name")
    assert result.ok and names(sandbox, "d-") == {f"d-{n}": 1 for n in range(600)}
    assert sandbox.injected_faults["drop_before"] > 0, sandbox.injected_faults


async def test_without_a_key_an_unknown_outcome_is_reported_and_never_repeated():
    sandbox = faulty(4, server_error_after=1.0)
    async with client(sandbox) as amo:
        result = await amo.leads.add([{"name": "u-1"}, {"name": "u-2"}])
    assert result.ids == [None, None] and "outcome unknown" in str(result.errors[0])
    assert names(sandbox, "u-") == {"u-1": 1, "u-2": 1}  # made once, never twice


async def test_a_custom_field_key_and_an_older_lead_with_the_same_value():
    """A lead that had the key before the add (changed during it) is not taken for the new one."""
    sandbox = faulty(4, server_error_after=1.0)
    old = next(iter(sandbox.entities["leads"]))
    mark = [{"field_id": 77, "values": [{"value": "ext-1"}]}]
    sandbox.touch("leads", [old], custom_fields_values=mark)
    async with client(sandbox) as amo:
        result = await amo.leads.add([{"name": "new", "custom_fields_values": mark}], key=77)
    made = result.ids[0]
    assert made is not None and made != old
    assert sandbox.entities["leads"][made]["name"] == "new"


async def test_a_key_must_be_present_and_tell_items_apart():
    sandbox = AmoCRMSandbox(leads=1, rate_limit=None)
    async with client(sandbox) as amo:
        with pytest.raises(ValueError, match="item 1 has no value"):
            await amo.leads.add([{"name": "a"}, {"price": 1}], key="name")
        with pytest.raises(ValueError, match="items 0 and 2 share the key 'a'"):
            await amo.leads.add([{"name": "a"}, {"name": "b"}, {"name": "a"}], key="name")
        with pytest.raises(ValueError, match="key must name a field"):
            await amo.leads.add([{"name": "a"}], key="id")
    assert sandbox.request_count == 0  # refused before anything was sent


async def test_a_look_up_refused_leaves_the_items_outcome_unknown_and_sends_nothing_more():
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.method == "POST":
            return httpx.Response(504, headers={"content-type": "text/html"}, content=b"<html>")
        return httpx.Response(403, json={"title": "Forbidden", "status": 403, "detail": "no"})

    async with AmoCRM(
        base_url="https://acme.amocrm.ru",
        access_token="t",
        transport=httpx.MockTransport(answer),
        rate_limit=None,
        clock=VirtualClock(),
    ) as amo:
        result = await amo.leads.add([{"name": f"r-{n}"} for n in range(300)], key="name")
    assert result.ids == [None] * 300
    assert "outcome unknown" in str(result.errors[0]) and "looking it up failed" in str(
        result.errors[249]
    )
    assert "not sent" in str(result.errors[250])
    assert [r.method for r in sent] == ["POST", "GET"]  # the second chunk never went
