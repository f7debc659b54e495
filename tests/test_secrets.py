"""Secrets never leave crmkit: not in logs (crmkit's, httpx's, httpcore's), errors, reprs,
the CLI's output and ``--debug`` tracebacks, nor state files.

Each platform runs a whole flow against its sandbox served on loopback (so httpx
and httpcore log as they do in production) at DEBUG, with faults injected so
that retries happen, and with every kind of secret the platform has set; then
every log record, exception (with its chained causes and traceback), repr and
file is searched for each secret. A credential with a trailing newline (read
from a file) is stripped; one with a newline inside is refused by name.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
import pytest

import crmkit
from crmkit.amocrm import AmoCRM, MemoryTokenStore, OAuthCredentials
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.cli import main as cli_main
from crmkit.corezoid import Corezoid, Op
from crmkit.corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox
from crmkit.retailcrm import RetailCRM
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox
from crmkit.sandbox import FaultPlan
from crmkit.vtiger import Vtiger
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

pytestmark = [pytest.mark.anyio, pytest.mark.network]

# Faults on every path: 5xx and 429 make the Session retry (and log why).
FAULTS = FaultPlan(server_error=0.15, rate_limited=0.15, seed=19)
# Backoff and 429 pauses run on the virtual clock (conftest): retries cost no real time.
RETRY = crmkit.RetryPolicy(max_retries=6)


class Evidence:
    """Everything a flow shows the world: log text, errors, reprs."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.errors = 0

    def add(self, *items: object) -> None:
        self.texts.extend(str(item) for item in items)

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        self.add(str(exc), repr(exc), "".join(traceback.format_exception(exc)))

    async def step(self, action: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await action()
        except crmkit.CRMError as exc:  # typed errors are expected under faults
            self.error(exc)
            return None


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(f"{record.name} {record.getMessage()}")
        if record.exc_info and record.exc_info[1] is not None:
            lines.append("".join(traceback.format_exception(record.exc_info[1])))
    return "\n".join(lines)


def assert_hidden(secrets: Iterable[str], texts: Iterable[str]) -> None:
    whole = "\n".join(texts)
    for secret in {s for s in secrets if s}:
        assert secret not in whole, f"a secret ({secret[:3]}...) leaked"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root: crmkit, httpx, httpcore alike
    return caplog


async def test_amocrm_v4_oauth_and_v2_cookie_flows_leak_nothing(debug_logs, clock):
    sandbox = AmoCRMSandbox(leads=120, rate_limit=None, faults=FAULTS)
    c = sandbox.credentials
    issued: set[str] = set()
    evidence = Evidence()
    with sandbox.serve() as served:
        expired = OAuthCredentials(
            client_id=c.client_id,
            client_secret=c.client_secret,
            redirect_uri=c.redirect_uri,
            refresh_token=c.refresh_token,
            access_token="expired-access-token-0001",
            expires_at=time.time() - 10,
        )
        amo = AmoCRM(
            base_url=served.url,
            oauth=expired,
            token_store=MemoryTokenStore(expired),
            allow_insecure_http=True,
            rate_limit=None,
            retry=RETRY,
            clock=clock,
        )
        async with amo:
            leads = await evidence.step(lambda: amo.leads.list(page_size=50).to_list())
            issued |= set(sandbox.tokens) | set(sandbox.refresh_tokens)
            sandbox.expire_access_tokens()  # the next call refreshes again
            await evidence.step(lambda: amo.leads.add([{"name": f"d{n}"} for n in range(30)]))
            issued |= set(sandbox.tokens) | set(sandbox.refresh_tokens)
            await evidence.step(lambda: amo.leads.get(987654))  # 404
            evidence.add(repr(amo), repr(amo.session), repr(amo.oauth), amo.session.stats)
            stats = amo.session.stats
        v2 = AmoCRM(
            base_url=served.url,
            api_version=2,
            login=c.login,
            api_key=c.api_key,
            allow_insecure_http=True,
            rate_limit=None,
            retry=RETRY,
            clock=clock,
        )
        async with v2:
            await evidence.step(lambda: v2.leads.list(page_size=50).to_list())
            issued |= set(sandbox.sessions)
            sandbox.expire_sessions()
            await evidence.step(lambda: v2.leads.get(1))
            issued |= set(sandbox.sessions)
            await evidence.step(lambda: v2.leads.get(987654))
            evidence.add(repr(v2), repr(v2.cookie_login))
        bad = AmoCRM(
            base_url=served.url,
            api_version=2,
            login=c.login,
            api_key="wrong-user-hash-4242",
            allow_insecure_http=True,
            rate_limit=None,
            clock=clock,
        )
        async with bad:
            await evidence.step(lambda: bad.account())
    assert leads is not None and len(leads) == 120
    assert stats.retries > 0 and sandbox.refreshes >= 2 and evidence.errors >= 2
    assert len(issued) >= 4
    secrets = [
        *issued,
        c.client_secret,
        c.refresh_token,
        c.access_token,
        c.api_key,
        "expired-access-token-0001",
        "wrong-user-hash-4242",
    ]
    assert_hidden(secrets, [*evidence.texts, log_text(debug_logs)])
    assert "HTTP Request" in log_text(debug_logs)  # httpx's own logger was captured


async def test_retailcrm_flow_leaks_nothing_and_strips_a_trailing_newline(debug_logs, clock):
    sandbox = RetailCRMSandbox(customers=60, orders=40, rate_limit=None, faults=FAULTS)
    evidence = Evidence()
    with sandbox.serve() as served:
        crm = RetailCRM(
            served.url,
            DEFAULT_API_KEY + "\n",  # as read from a file
            allow_insecure_http=True,
            rate_limit=None,
            retry=RETRY,
            clock=clock,
        )
        async with crm:
            customers = await evidence.step(lambda: crm.customers.list(page_size=20).to_list())
            await evidence.step(lambda: crm.orders.list(page_size=20).to_list())
            await evidence.step(lambda: crm.orders.create({"externalId": "o-1", "number": "1"}))
            await evidence.step(lambda: crm.orders.get("no-such-order"))
            evidence.add(repr(crm), repr(crm.session), crm.session.stats)
            stats = crm.session.stats
        wrong = RetailCRM(served.url, "wrong-api-key-5555", allow_insecure_http=True, clock=clock)
        async with wrong:
            await evidence.step(lambda: wrong.customers.list().to_list())
    assert customers is not None and len(customers) == 60
    assert stats.retries > 0 and evidence.errors >= 2
    assert_hidden([DEFAULT_API_KEY, "wrong-api-key-5555"], [*evidence.texts, log_text(debug_logs)])


async def test_vtiger_flow_leaks_no_access_key_or_session_name(debug_logs, clock):
    sandbox = VtigerSandbox(leads=150, faults=FAULTS)
    evidence = Evidence()
    sessions: set[str] = set()
    with sandbox.serve() as served:
        crm = Vtiger(
            served.url,
            DEFAULT_USER,
            DEFAULT_ACCESS_KEY,
            allow_insecure_http=True,
            retry=RETRY,
            clock=clock,
        )
        async with crm:
            rows = await evidence.step(lambda: crm.query("SELECT * FROM Leads").to_list())
            sessions |= set(sandbox.sessions)
            sandbox.expire_sessions()
            await evidence.step(lambda: crm.count("Leads"))
            sessions |= set(sandbox.sessions)
            await evidence.step(lambda: crm.create("Leads", {"lastname": "Secretless"}))
            await evidence.step(lambda: crm.retrieve("10x999999"))
            sessions |= set(sandbox.sessions)
            evidence.add(repr(crm), repr(crm.auth), repr(crm.session), crm.session.stats)
            stats = crm.session.stats
        wrong = Vtiger(
            served.url, DEFAULT_USER, "wrong-access-key-6666", allow_insecure_http=True, clock=clock
        )
        async with wrong:
            await evidence.step(lambda: wrong.count("Leads"))
    assert rows is not None and len(rows) == 150
    assert stats.retries > 0 and evidence.errors >= 2 and len(sessions) >= 2
    logs = log_text(debug_logs)
    assert "sessionName=***" in logs  # httpx printed the URL, redacted
    assert_hidden([*sessions, DEFAULT_ACCESS_KEY, "wrong-access-key-6666"], [*evidence.texts, logs])


async def test_corezoid_flow_leaks_no_secret_or_path_signature(debug_logs, clock):
    sandbox = CorezoidSandbox(faults=FAULTS)
    evidence = Evidence()
    with sandbox.serve() as served:
        cz = Corezoid(
            DEFAULT_LOGIN,
            DEFAULT_SECRET,
            base_url=served.url,
            sync_url=served.url,
            allow_insecure_http=True,
            retry=RETRY,
            clock=clock,
        )
        async with cz:
            for n in range(6):
                await evidence.step(
                    lambda n=n: cz.ops([Op.create_task(DEFAULT_CONV, {"n": n}, ref=f"r-{n}")])
                )
            async with cz.batch(max_delay=0.01) as batch:
                for n in range(5):
                    await evidence.step(
                        lambda n=n: batch.create_task(DEFAULT_CONV, {"n": n}, ref=f"b-{n}")
                    )
            await evidence.step(lambda: cz.ops([Op.show_task(DEFAULT_CONV, ref="missing-ref")]))
            evidence.add(repr(cz), repr(cz.session), cz.session.stats)
            stats = cz.session.stats
        wrong = Corezoid(
            DEFAULT_LOGIN,
            "wrong-secret-7777",
            base_url=served.url,
            allow_insecure_http=True,
            clock=clock,
        )
        async with wrong:
            await evidence.step(lambda: wrong.ops([Op.create_task(DEFAULT_CONV, {}, ref="w")]))
    signatures = {
        part
        for request in sandbox.recent_requests
        for part in request.path.split("/")
        if len(part) == 40
    }
    assert signatures and stats.retries > 0 and evidence.errors >= 1
    logs = log_text(debug_logs)
    assert "/***" in logs  # httpx printed the signed URL, redacted
    assert_hidden([*signatures, DEFAULT_SECRET, "wrong-secret-7777"], [*evidence.texts, logs])


# -- credentials that cannot be headers ----------------------------------------------


def test_a_newline_inside_a_credential_is_refused_by_name_without_the_value():
    with pytest.raises(ValueError, match="X-API-KEY") as info:
        RetailCRM("https://demo.retailcrm.test", "first-half\nsecond-half")
    assert "first-half" not in str(info.value) and "second-half" not in str(info.value)
    with pytest.raises(ValueError, match="Authorization"):
        AmoCRM("acme", access_token="tok\r\nX-Evil: 1")


async def test_a_header_h11_refuses_is_one_unretried_error_that_never_shows_the_value(
    debug_logs,
):
    """A token from a store that went bad (a newline inside) reaches h11 through an auth flow."""

    class BadToken(httpx.Auth):
        def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
            request.headers["Authorization"] = "Bearer tok-9999\nsecond"
            yield request

    sandbox = RetailCRMSandbox(rate_limit=None)
    with sandbox.serve() as served:
        async with crmkit.Session(
            served.url, auth=BadToken(), allow_insecure_http=True, max_retries=3
        ) as session:
            with pytest.raises(crmkit.TransportError) as info:
                await session.request("GET", "api/v5/customers")
            attempts = session.stats.requests
    shown = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert "could not be sent" in shown
    assert attempts == 1 and sandbox.request_count == 0
    assert_hidden(["tok-9999", "second"], [shown, log_text(debug_logs)])


def test_the_redacting_filter_covers_any_handler():
    record = logging.LogRecord(
        "other.lib",
        logging.INFO,
        __file__,
        1,
        "GET %s -> %s",
        (
            "https://x.test/webservice.php?operation=query&sessionName=abc123456",
            [(b"set-cookie", b"session_id=cookie-7777; path=/")],
        ),
        None,
    )
    assert crmkit.RedactingFilter().filter(record)
    message = record.getMessage()
    assert "abc123456" not in message and "cookie-7777" not in message
    assert "operation=query" in message and "set-cookie" in message


# -- the CLI ------------------------------------------------------------------------


def test_cli_debug_traceback_output_and_state_hold_no_secret(tmp_path, capsys, monkeypatch):
    sandbox = RetailCRMSandbox(customers=30, rate_limit=None)
    out, state = tmp_path / "c.jsonl", tmp_path / "c.state"
    with sandbox.serve() as served:
        host = served.url.split("://", 1)[1]
        url = f"http://user:url-password-3333@{host}?apiKey=url-key-3333"
        monkeypatch.setenv("CRMKIT_RETAILCRM_API_KEY", DEFAULT_API_KEY)
        code = cli_main(
            ["export", "retailcrm", "customers", "--url", url, "--out", str(out),
             "--state", str(state), "--json"]
        )  # fmt: skip
        ok = capsys.readouterr()
        monkeypatch.setenv("CRMKIT_RETAILCRM_API_KEY", "wrong-cli-key-8888")
        failed = cli_main(
            ["export", "retailcrm", "customers", "--url", served.url,
             "--out", str(tmp_path / "x.jsonl"), "--debug"]
        )  # fmt: skip
        bad = capsys.readouterr()
    assert code == 0, ok.err
    assert failed != 0 and "Traceback" in bad.err and "AuthenticationError" in bad.err
    assert len(out.read_text().splitlines()) == 30
    assert_hidden(
        ["url-password-3333", "url-key-3333", DEFAULT_API_KEY, "wrong-cli-key-8888"],
        [ok.out, ok.err, bad.out, bad.err, state.read_text()],
    )
