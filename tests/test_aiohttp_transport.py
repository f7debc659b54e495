"""``crmkit.aiohttp_transport()``: the Session's behaviour over aiohttp, on real loopback sockets.

TLS with real certificates (trustme, as ``test_tls.py``), a server that never
answers (the read timeout), one that hangs up after reading a POST (a dropped
answer is not "never sent", so the POST is not repeated: ``httpx-aiohttp``'s own
mapping calls it ``ConnectTimeout``, which the Session would repeat), and a
sandbox listed over it with the same records as the default transport.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import trustme

import crmkit
from crmkit._aiohttp_impl import Transport
from crmkit.amocrm.sandbox import AmoCRMSandbox, SandboxCredentials

from .test_tls import https_server, server_context

pytestmark = [pytest.mark.anyio, pytest.mark.network]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    with ca.cert_pem.tempfile() as path:
        return crmkit.make_ssl_context(cafile=path)


@asynccontextmanager
async def tcp_server(handle: Handler) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A plain HTTP server on a free port running ``handle``; yields its URL and requests seen."""
    seen: list[bytes] = []
    handlers: set[asyncio.Task[object]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        try:
            seen.append(await reader.readuntil(b"\r\n\r\n"))
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(run, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen
    finally:
        server.close()
        await server.wait_closed()
        if handlers:  # each ends when its client hangs up: none is left running
            await asyncio.wait(handlers, timeout=5)


def session(base: str, **options: object) -> crmkit.Session:
    retry = crmkit.RetryPolicy(max_retries=2, backoff_base=0.01)
    return crmkit.Session(
        base,
        transport=crmkit.aiohttp_transport(**options),  # type: ignore[arg-type]
        retry=retry,
        allow_insecure_http=base.startswith("http://"),
    )


async def test_tls_goes_through_crmkits_context_refusing_untrusted_certificates_and_tls_1_1(ca):
    async with (
        https_server(server_context(ca)) as (base, _),
        session(base, ssl_context=trusting(ca)) as ok,
    ):
        assert (await ok.request("GET", "ping")).json() == {"success": True}
    async with https_server(server_context(trustme.CA())) as (base, _):
        async with session(base, ssl_context=trusting(ca)) as refused:
            with pytest.raises(crmkit.TransportError, match="CERTIFICATE_VERIFY_FAILED"):
                await refused.request("GET", "ping")
            assert refused.stats.requests == 1  # a certificate failure is not retried
        async with session(base) as system:  # the system's trust store: refused too
            with pytest.raises(crmkit.TransportError, match="CERTIFICATE_VERIFY_FAILED"):
                await system.request("GET", "ping")
    old = server_context(ca, maximum=ssl.TLSVersion.TLSv1_1)
    async with (
        https_server(old) as (base, versions),
        session(base, ssl_context=trusting(ca)) as modern,
    ):
        with pytest.raises(crmkit.TransportError):
            await modern.request("GET", "ping")
    assert "TLSv1.1" not in versions  # no TLS 1.1 handshake of ours completed


async def test_a_server_that_never_answers_is_a_read_timeout():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; ends when the client hangs up

    async with tcp_server(silent) as (base, seen):
        transport = crmkit.aiohttp_transport()
        async with crmkit.Session(
            base, transport=transport, timeout=0.3, max_retries=0, allow_insecure_http=True
        ) as quiet:
            with pytest.raises(crmkit.TransportError, match="ReadTimeout"):
                await quiet.request("GET", "ping")
    assert len(seen) == 1


async def test_a_post_whose_answer_is_dropped_is_not_sent_again_and_keeps_its_key_out():
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(2)  # the body arrived: the server may have acted on it

    async with tcp_server(hang_up) as (base, seen), session(base) as client:
        with pytest.raises(crmkit.TransportError) as info:
            await client.request(
                "POST", "orders", json={"a": 1}, headers={"X-API-KEY": "s3cret-key"}
            )
    assert len(seen) == 1, "a POST that may have been acted on was sent again"
    assert "Connect" not in str(info.value) and "s3cret-key" not in str(info.value)


async def test_a_header_aiohttp_refuses_is_one_unretried_error_that_never_shows_the_value():
    """As h11's refusal over the default transport (``test_secrets.py``): nothing is sent."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()

    async with tcp_server(answer) as (base, seen), session(base) as client:
        with pytest.raises(crmkit.TransportError, match="could not be sent") as info:
            await client.request("GET", "ping", headers={"X-API-KEY": "tok-9999\nsecond"})
        assert client.stats.requests == 1 and client.stats.retries == 0
    assert seen == [] and "tok-9999" not in str(info.value)


async def test_a_url_with_a_user_and_password_sends_them_as_basic_auth_once():
    """httpx turns a URL's userinfo into the Authorization header; aiohttp gets the URL without."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()

    async with tcp_server(answer) as (base, seen):
        with_user = base.replace("http://", "http://user:pa55word@")
        async with session(with_user) as client:
            response = await client.request("GET", "ping")
    assert response.status_code == 200 and str(response.request.url).startswith(with_user)
    head = seen[0].decode("latin-1").lower()
    assert head.startswith("get /ping ") and head.count("authorization: basic ") == 1


async def test_a_sandbox_lists_the_same_records_over_aiohttp():
    sandbox = AmoCRMSandbox(leads=120, rate_limit=None, block_after=None)
    sandbox.clock.advance(10)
    token = SandboxCredentials().access_token
    with sandbox.serve() as served:
        names = []
        for transport in (None, crmkit.aiohttp_transport()):
            options = {"transport": transport} if transport else {}
            async with crmkit.AmoCRM(
                base_url=served.url,
                access_token=token,
                rate_limit=None,
                allow_insecure_http=True,
                **options,
            ) as amo:
                names.append([lead.name async for lead in amo.leads.list(page_size=50)])
    assert len(names[0]) == 120 and names[0] == names[1]


async def test_traced_and_untraced_requests_share_one_pool_and_only_traced_ones_report():
    """A request without httpx's ``trace`` goes through an aiohttp session with no trace
    config (its signals cost CPU on every request), over the same connections."""
    connections: list[int] = []

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")  # the next request on this connection
            connections[-1] += 1

    events: list[str] = []

    async def trace(event: str, info: object) -> None:
        events.append(event)

    transport = crmkit.aiohttp_transport(max_connections=1)
    async with tcp_server(keep_alive) as (url, _):
        for traced in (True, False, True, False):
            extensions = {"trace": trace} if traced else {}
            request = httpx.Request("GET", f"{url}/ping", extensions=extensions)
            response = await transport.handle_async_request(request)
            assert response.status_code == 200 and await response.aread() == b"{}"
            await response.aclose()
            expected = [
                "http11.send_request_headers.started",
                "http11.receive_response_headers.complete",
            ]
            assert events == (expected if traced else []), traced
            events.clear()
        pool = transport._connector  # type: ignore[attr-defined]
        plain, traced = transport._plain.client, transport._traced.client  # type: ignore[attr-defined]
        assert not plain._trace_configs and len(traced._trace_configs) == 1
        await transport.aclose()
    assert connections == [4]  # one connection served all four
    assert pool is not None and pool.closed and plain.closed and traced.closed


@pytest.fixture
def no_choice(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment that names no transport and no proxy."""
    for name in ("CRMKIT_TRANSPORT", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def over_aiohttp(session: crmkit.Session) -> bool:
    return isinstance(session._client._transport, Transport)  # type: ignore[attr-defined]


async def test_a_session_sends_over_aiohttp_by_default_and_over_httpx_when_told(no_choice):
    sandbox = AmoCRMSandbox(leads=60, rate_limit=None, block_after=None)
    sandbox.clock.advance(10)
    token = SandboxCredentials().access_token
    with sandbox.serve() as served:
        ids = []
        for transport, aiohttp in ((None, True), ("httpx", False), ("aiohttp", True)):
            async with crmkit.AmoCRM(
                base_url=served.url,
                access_token=token,
                rate_limit=None,
                allow_insecure_http=True,
                transport=transport,
            ) as amo:
                assert over_aiohttp(amo.session) is aiohttp
                ids.append([lead.id async for lead in amo.leads.list(page_size=25)])
    assert ids[0] == list(range(1, 61)) and ids[0] == ids[1] == ids[2]


async def test_the_environment_chooses_the_default_transport(no_choice):
    base = "https://acme.example.test"
    no_choice.setenv("CRMKIT_TRANSPORT", "httpx")
    async with (
        crmkit.Session(base) as told_httpx,
        crmkit.Session(base, transport="aiohttp") as told,
    ):
        assert not over_aiohttp(told_httpx) and over_aiohttp(told)  # the argument wins
    no_choice.setenv("CRMKIT_TRANSPORT", "Aiohttp")
    async with crmkit.Session(base) as told_aiohttp:
        assert over_aiohttp(told_aiohttp)
    no_choice.setenv("CRMKIT_TRANSPORT", "curl")
    with pytest.raises(ValueError, match="CRMKIT_TRANSPORT must be httpx or aiohttp"):
        crmkit.Session(base)
    no_choice.delenv("CRMKIT_TRANSPORT")
    no_choice.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    async with crmkit.Session(base) as proxied:  # httpx's transport honours the proxy
        assert not over_aiohttp(proxied)


async def test_without_the_extra_the_default_is_httpx(no_choice):
    no_choice.setitem(sys.modules, "crmkit._aiohttp_impl", None)  # as if aiohttp were missing
    async with crmkit.Session("https://acme.example.test") as session:
        assert not over_aiohttp(session)
    with pytest.raises(ImportError, match="aiohttp-transport"):
        crmkit.Session("https://acme.example.test", transport="aiohttp")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="max_connections"):
        crmkit.aiohttp_transport(max_connections=0)
    with pytest.raises(ValueError, match="'httpx' or 'aiohttp'"):
        crmkit.Session("https://acme.example.test", transport="curl")  # type: ignore[arg-type]
