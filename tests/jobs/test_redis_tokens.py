"""RedisTokenStore: one OAuth refresh across many processes, against the amoCRM sandbox on loopback.

amoCRM's refresh tokens are single use (www.amocrm.ru/developers/content/oauth/step-by-step:
each exchange returns a new pair; no grace period for the old refresh token is
documented), which the sandbox's token endpoint models.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

import crmkit
from crmkit.amocrm import AmoCRM, OAuthCredentials
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.redis_stores import RedisTokenStore

pytestmark = pytest.mark.anyio

#: One process: ``tasks`` clients (each its own OAuth flow, as separate workers
#: would have) calling the account at once. argv: url redis key tasks mode
REFRESHER = """
import asyncio, sys, time
from crmkit.amocrm import AmoCRM
from crmkit.redis_stores import RedisTokenStore

url, redis_url, key, tasks, mode = sys.argv[1:6]
tasks = int(tasks)

async def main():
    store = RedisTokenStore(redis_url, key=key, lease=1.0)
    if mode == "hold":  # take the lease, then wait to be killed before calling anyone
        async with store.refreshing():
            print("HELD", flush=True)
            await asyncio.sleep(3600)
    if mode == "die-before-save":  # the sandbox rotates the pair; this process never saves it
        async def never(credentials):
            print("ROTATED", flush=True)
            await asyncio.sleep(3600)
        store.save = never
    print("READY", flush=True)
    sys.stdin.readline()  # every process starts together
    async def one():
        async with AmoCRM(base_url=url, token_store=store, allow_insecure_http=True) as amo:
            return (await amo.account()).id
    ids = await asyncio.gather(*(one() for _ in range(tasks)))
    print("OK", len(ids), flush=True)

asyncio.run(main())
"""


def _start(
    url: str, redis_url: str, key: str, tasks: int, mode: str = "call"
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", REFRESHER, url, redis_url, key, str(tasks), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc


def _expired(sandbox: AmoCRMSandbox, refresh_token: str | None = None) -> OAuthCredentials:
    c = sandbox.credentials
    return OAuthCredentials(
        client_id=c.client_id,
        client_secret=c.client_secret,
        redirect_uri=c.redirect_uri,
        refresh_token=refresh_token or c.refresh_token,
        access_token="expired-access-token",
        expires_at=time.time() - 10,
    )


async def _account_id(url: str, store: RedisTokenStore[OAuthCredentials]) -> int:
    async with AmoCRM(base_url=url, token_store=store, allow_insecure_http=True) as amo:
        return (await amo.account()).id


async def test_50_refreshers_in_5_processes_make_one_refresh(redis_url):
    sandbox = AmoCRMSandbox(rate_limit=None)
    key = f"amocrm:{uuid.uuid4().hex}"
    store: RedisTokenStore[OAuthCredentials] = RedisTokenStore(redis_url, key=key)
    await store.save(_expired(sandbox))
    with sandbox.serve() as served:
        procs = [_start(served.url, redis_url, key, 10) for _ in range(5)]
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outs = [await asyncio.to_thread(proc.communicate, timeout=60) for proc in procs]
    assert [p.returncode for p in procs] == [0] * 5, [err for _, err in outs]
    assert all(out.strip().endswith("OK 10") for out, _ in outs)
    assert sandbox.refresh_attempts == 1 and sandbox.refreshes == 1
    saved = await store.load()
    assert saved is not None and saved.refresh_token in sandbox.refresh_tokens
    assert saved.access_token in sandbox.tokens and saved.access_token != "expired-access-token"
    await store.aclose()


async def test_a_lease_holder_killed_before_its_call_delays_the_others_by_one_lease(redis_url):
    sandbox = AmoCRMSandbox(rate_limit=None)
    key = f"amocrm:{uuid.uuid4().hex}"
    store: RedisTokenStore[OAuthCredentials] = RedisTokenStore(redis_url, key=key, lease=1.0)
    await store.save(_expired(sandbox))
    with sandbox.serve() as served:
        holder = _start(served.url, redis_url, key, 1, mode="hold")
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        os.kill(holder.pid, signal.SIGKILL)
        holder.communicate(timeout=30)  # waits, and closes its pipes
        started = time.monotonic()

        ids = await asyncio.gather(*(_account_id(served.url, store) for _ in range(20)))
    assert ids == [1] * 20
    assert time.monotonic() - started < 5  # the dead holder's lease ran out; nobody waits for ever
    assert sandbox.refresh_attempts == 1
    await store.aclose()


async def test_a_refresher_killed_after_the_rotation_costs_one_refused_call_then_fails_fast(
    redis_url,
):
    """The rotated pair died with its process; amoCRM refuses the old refresh token.

    The next lease holder sends it once, gets the 401, records the refusal; every
    other process then fails at once with AuthenticationError (no call). Saving a
    newly authorized pair clears it.
    """
    sandbox = AmoCRMSandbox(rate_limit=None)
    key = f"amocrm:{uuid.uuid4().hex}"
    store: RedisTokenStore[OAuthCredentials] = RedisTokenStore(redis_url, key=key, lease=1.0)
    await store.save(_expired(sandbox))
    with sandbox.serve() as served:
        doomed = _start(served.url, redis_url, key, 1, mode="die-before-save")
        assert doomed.stdout is not None and doomed.stdin is not None
        assert doomed.stdout.readline().strip() == "READY"
        doomed.stdin.write("go\n")
        doomed.stdin.flush()
        assert doomed.stdout.readline().strip() == "ROTATED"
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.communicate(timeout=30)  # waits, and closes its pipes
        assert sandbox.refreshes == 1  # rotated on the server, saved nowhere

        async def one() -> BaseException | int:
            try:
                return await _account_id(served.url, store)
            except crmkit.AuthenticationError as exc:
                return exc

        errors = await asyncio.gather(*(one() for _ in range(20)))
        assert all(isinstance(e, crmkit.AuthenticationError) for e in errors)
        assert sandbox.refresh_attempts == 2  # the rotation, then one refused call: no more
        assert await store.refused()
        assert all(sandbox.credentials.client_secret not in str(e) for e in errors)
        # The integration is authorized again (a new pair from the authorization code).
        sandbox.refresh_tokens.add("reauthorized-refresh-token")
        await store.save(_expired(sandbox, "reauthorized-refresh-token"))
        assert not await store.refused()
        assert (await one()) == 1
    assert sandbox.refresh_attempts == 3
    await store.aclose()
