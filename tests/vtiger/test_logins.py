"""vtiger logins shared by many workers: the token-deletion rule, retried logins, session stores.

vtiger's side (``vtiger-crm/vtigercrm`` and ``thinkingreed-inc/F-RevoCRM``):
``include/Webservices/AuthToken.php`` deletes the user's previous token on every
``getchallenge``; ``Login.php`` compares ``md5(token + access key)`` with the user's
live token (``INVALID_USER_CREDENTIALS`` when it differs) and leaves the token in place.
The Redis store is tested against a real redis-server on a free 127.0.0.1 port.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest

import crmkit
from crmkit.vtiger import MemorySessionStore, RedisSessionStore, Vtiger, access_key_digest
from crmkit.vtiger._auth import LOGIN_ATTEMPTS
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox
from tests.redis.test_redis_throttle import redis_url  # noqa: F401  (the fixture)

pytestmark = pytest.mark.anyio


def client_for(sandbox: VtigerSandbox, transport=None, **kwargs) -> Vtiger:
    return Vtiger(
        "http://crm.example.test",
        DEFAULT_USER,
        kwargs.pop("key", DEFAULT_ACCESS_KEY),
        transport=transport or sandbox.transport(),
        allow_insecure_http=True,
        **kwargs,
    )


async def test_a_new_challenge_deletes_the_previous_token():
    sandbox = VtigerSandbox()
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://crm.example.test"
    ) as http:

        async def challenge() -> str:
            params = {"operation": "getchallenge", "username": DEFAULT_USER}
            answer = await http.get("/webservice.php", params=params)
            return str(answer.json()["result"]["token"])

        async def login(token: str) -> dict:
            key = access_key_digest(token, DEFAULT_ACCESS_KEY)
            form = {"operation": "login", "username": DEFAULT_USER, "accessKey": key}
            return (await http.post("/webservice.php", data=form)).json()

        first = await challenge()
        second = await challenge()
        refused = await login(first)
        taken = await login(second)
        again = await login(second)  # a login leaves the token in place
    assert refused["error"]["code"] == "INVALID_USER_CREDENTIALS"
    assert taken["success"] and again["success"]


class AnotherWorker(httpx.AsyncBaseTransport):
    """Between this client's challenge and its login, another worker asks for a challenge."""

    def __init__(self, sandbox: VtigerSandbox, times: int = 1) -> None:
        self.inner = sandbox.transport()
        self.times = times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.times and request.url.params.get("operation") == "getchallenge":
            self.times -= 1
            await response.aread()
            intruder = httpx.Request(
                "GET",
                "http://crm.example.test/webservice.php",
                params={"operation": "getchallenge", "username": DEFAULT_USER},
            )
            await (await self.inner.handle_async_request(intruder)).aread()
        return response


async def test_a_login_broken_by_another_workers_challenge_is_retried():
    sandbox = VtigerSandbox(leads=3)
    async with client_for(sandbox, AnotherWorker(sandbox, times=2)) as crm:
        assert await crm.count("Leads") == 3
    # ours, theirs, ours (refused), theirs, ours (refused), ours: logged in
    assert sandbox.operations["getchallenge"] == 5 and sandbox.operations["login"] == 3


async def test_a_wrong_key_is_reported_after_the_bounded_retries():
    sandbox = VtigerSandbox()
    async with client_for(sandbox, key="wrongAccessKey999") as crm:
        with pytest.raises(crmkit.AuthenticationError, match="wrong username or access key"):
            await crm.count("Leads")
    assert sandbox.operations["login"] == LOGIN_ATTEMPTS
    assert sandbox.operations["getchallenge"] == LOGIN_ATTEMPTS


async def test_workers_without_a_shared_store_still_all_log_in():
    sandbox = VtigerSandbox(leads=2)
    clients = [client_for(sandbox) for _ in range(3)]
    counts = await asyncio.gather(*(c.count("Leads") for c in clients))
    for client in clients:
        await client.aclose()
    assert counts == [2, 2, 2]


async def test_workers_sharing_a_memory_store_log_in_once():
    sandbox = VtigerSandbox(leads=2)
    store = MemorySessionStore()
    clients = [client_for(sandbox, session_store=store) for _ in range(8)]
    counts = await asyncio.gather(*(c.count("Leads") for c in clients))
    for client in clients:
        await client.aclose()
    assert counts == [2] * 8
    assert (sandbox.operations["getchallenge"], sandbox.operations["login"]) == (1, 1)
    assert "logout" not in sandbox.operations  # a shared session is not logged out on close


async def test_an_expired_shared_session_is_replaced_once_for_everyone():
    sandbox = VtigerSandbox(leads=2)
    store = MemorySessionStore()
    first, second = (
        client_for(sandbox, session_store=store),
        client_for(sandbox, session_store=store),
    )
    await first.count("Leads")
    await second.count("Leads")
    sandbox.expire_sessions()
    await second.count("Leads")  # refused: logs in again, and stores the new session
    await first.count("Leads")  # refused: takes the stored one
    await first.aclose()
    await second.aclose()
    assert sandbox.operations["login"] == 2 and first.auth.session == second.auth.session


async def test_workers_sharing_a_redis_store_log_in_once(redis_url):  # noqa: F811
    sandbox = VtigerSandbox(leads=2)
    stores = [RedisSessionStore(redis_url, prefix="test-a") for _ in range(3)]
    clients = [client_for(sandbox, session_store=s) for s in stores]
    counts = await asyncio.gather(*(c.count("Leads") for c in clients))
    for client, store in zip(clients, stores, strict=True):
        await client.aclose()
        await store.aclose()
    assert counts == [2, 2, 2]
    assert (sandbox.operations["getchallenge"], sandbox.operations["login"]) == (1, 1)


WORKER = """
import asyncio, sys
from crmkit.vtiger import RedisSessionStore, Vtiger

async def main(url, redis_url):
    async with RedisSessionStore(redis_url, prefix="test-procs") as store:
        async with Vtiger(url, sys.argv[3], sys.argv[4], session_store=store,
                          allow_insecure_http=True) as crm:
            print(await crm.count("Leads"))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_processes_sharing_a_redis_store_log_in_once(redis_url):  # noqa: F811
    sandbox = VtigerSandbox(leads=7)
    with sandbox.serve() as served:
        args = [sys.executable, "-c", WORKER, served.url, redis_url, DEFAULT_USER]
        procs = [
            subprocess.Popen([*args, DEFAULT_ACCESS_KEY], stdout=subprocess.PIPE, text=True)
            for _ in range(2)  # two processes: each import of crmkit costs a second of CPU
        ]
        outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert outputs == ["7", "7"], outputs
    assert (sandbox.operations["getchallenge"], sandbox.operations["login"]) == (1, 1)
