"""How a job ends: blocked accounts stop without a retry; transport errors back off, then fail.

An arq worker runs in this process in burst mode (it stops when the queue is empty).
"""

from __future__ import annotations

import socket
import time

import pytest

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.cli._jobs import parse_every
from crmkit.cli._sources import SpecError
from crmkit.jobs import StatusBoard, enqueue_accounts, load_accounts, worker_settings

from ._accounts import toml_table

pytestmark = pytest.mark.anyio


async def _run_burst(redis_url: str, config, out, before=None, **options) -> StatusBoard:
    from arq import Worker, create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    await pool.flushdb()
    if before is not None:
        await before
    await enqueue_accounts(pool, load_accounts(config))
    settings = worker_settings(config, redis_url, out, burst=True, poll_delay=0.05, **options)
    worker = Worker(**settings, handle_signals=False)
    await worker.main()
    await worker.close()
    return StatusBoard(pool)


async def test_a_blocked_account_stops_at_once_and_is_not_retried(redis_url, tmp_path):
    sandbox = AmoCRMSandbox(leads=30)
    sandbox.limiter.block()  # amoCRM's block: a 403 HTML page to every call
    config = tmp_path / "accounts.toml"
    with sandbox.serve() as served:
        config.write_text(
            toml_table(
                name="acme",
                platform="amocrm",
                url=served.url,
                entities=["leads"],
                token=sandbox.credentials.access_token,
            )
        )
        board = await _run_burst(redis_url, config, tmp_path / "out")
    row = (await board.rows())[0]
    assert row.state == "blocked" and "AccountBlockedError" in (row.error or "")
    assert sandbox.request_count == 1  # the Session fails fast after a block; arq retries nothing
    await board.redis.aclose()


async def test_transport_errors_back_off_then_fail_for_good(redis_url, tmp_path):
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "accounts.toml"
    config.write_text(
        toml_table(
            name="gone",
            platform="retailcrm",
            url=f"http://127.0.0.1:{port}",
            entities=["orders"],
            api_key="k",
            max_retries=0,
        )
    )
    started = time.monotonic()
    board = await _run_burst(redis_url, config, tmp_path / "out", max_failures=2, backoff=0.2)
    row = (await board.rows())[0]
    assert row.state == "failed" and "TransportError" in (row.error or "")
    assert row.attempt == 3  # two retries after backoff, then given up
    assert time.monotonic() - started >= 0.2 * 0.5 + 0.4 * 0.5  # the backoffs were waited
    await board.redis.aclose()


def test_accounts_file_mistakes_are_named(tmp_path):
    config = tmp_path / "accounts.toml"
    config.write_text(toml_table(name="x", platform="amocrm", entities=["deals"]))
    with pytest.raises(SpecError, match="amocrm has no entity 'deals'"):
        load_accounts(config)
    config.write_text(toml_table(name="a b", platform="amocrm", entities=["leads"]))
    with pytest.raises(SpecError, match="needs a name"):
        load_accounts(config)
    config.write_text(
        toml_table(name="a", platform="amocrm", entities=["leads"])
        + toml_table(name="a", platform="retailcrm", entities=["orders"])
    )
    with pytest.raises(SpecError, match="two accounts are named 'a'"):
        load_accounts(config)


def test_periods():
    assert [parse_every(t) for t in ("90s", "10m", "2h", "1d", "5")] == [90, 600, 7200, 86400, 5]
    with pytest.raises(Exception, match="not a period"):
        parse_every("10 minutes")


async def test_an_oauth_account_refreshes_once_for_all_its_jobs(redis_url, tmp_path):
    from crmkit.amocrm import OAuthCredentials
    from crmkit.redis_stores import RedisTokenStore

    sandbox = AmoCRMSandbox(leads=30, contacts=20, rate_limit=None)
    c = sandbox.credentials
    config = tmp_path / "accounts.toml"
    with sandbox.serve() as served:
        config.write_text(
            toml_table(
                name="oauthco",
                platform="amocrm",
                url=served.url,
                oauth=True,
                entities=["leads", "contacts"],
                page_size=10,
            )
        )
        store = RedisTokenStore(redis_url, key="amocrm:oauthco")
        expired = OAuthCredentials(
            c.client_id, c.client_secret, c.redirect_uri, c.refresh_token, "old", time.time() - 5
        )
        board = await _run_burst(redis_url, config, tmp_path / "out", before=store.save(expired))
        rows = await board.rows()
        saved = await store.load()
    assert [(r.entity, r.state, r.records) for r in rows] == [
        ("contacts", "done", 20),
        ("leads", "done", 30),
    ]
    assert sandbox.refresh_attempts == 1
    assert saved is not None and saved.refresh_token in sandbox.refresh_tokens
    await board.redis.aclose()
    await store.aclose()


async def test_an_account_missing_its_credentials_fails_once_and_says_what_is_missing(
    redis_url, tmp_path
):
    config = tmp_path / "accounts.toml"
    config.write_text(
        toml_table(name="notoken", platform="amocrm", url="http://127.0.0.1:9", entities=["leads"])
    )
    board = await _run_burst(redis_url, config, tmp_path / "out")
    row = (await board.rows())[0]
    assert row.state == "failed" and "the access token is missing" in (row.error or "")
    assert row.attempt is None  # it failed before it ran: nothing was sent, nothing retried
    await board.redis.aclose()
