"""TLS with real certificates (trustme) over loopback: crmkit's context refuses what it must.

A tiny HTTPS server on 127.0.0.1 (asyncio + ``ssl``) is offered with different
protocol versions and certificates; the client is a crmkit Session whose
``httpx.AsyncClient`` uses :func:`crmkit.make_ssl_context` with the test CA
added, which is how an application trusts a private CA. Each refusal is shown
to be the client's doing: a permissive client reaches the same server.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trustme

import crmkit
from crmkit.retailcrm import RetailCRM

pytestmark = [pytest.mark.anyio, pytest.mark.network]

BODY = b'{"success": true}'


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(
    ca: trustme.CA,
    *,
    names: tuple[str, ...] = ("127.0.0.1", "localhost"),
    maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
    minimum: ssl.TLSVersion = ssl.TLSVersion.MINIMUM_SUPPORTED,
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if maximum < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 needs this to offer TLS 1.0/1.1
    context.minimum_version = minimum
    context.maximum_version = maximum
    ca.issue_cert(*names).configure_cert(context)
    return context


@asynccontextmanager
async def https_server(context: ssl.SSLContext) -> AsyncIterator[tuple[str, list[str]]]:
    """Serve one fixed JSON answer per request; yields the base URL and the versions seen."""
    versions: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            tls = writer.get_extra_info("ssl_object")
            versions.append(tls.version() if tls else "none")
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(BODY), BODY)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    # In debug mode asyncio hands each failed incoming handshake to the loop's exception
    # handler; here the server's side of a refused handshake (an SSL error, or the client
    # hanging up) is expected, anything else not.
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def on_error(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        refused = str(context.get("message", "")).startswith("Error on transport creation")
        if refused and isinstance(context.get("exception"), (ssl.SSLError, ConnectionError)):
            return
        if previous is None:
            loop.default_exception_handler(context)
        else:
            previous(loop, context)

    loop.set_exception_handler(on_error)
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", versions
    finally:
        server.close()
        await server.wait_closed()
        # on_error stays: a refused handshake can still be reported after the server
        # closed, and on_error hands anything else to the handler it replaced.


def crmkit_client(ca: trustme.CA) -> httpx.AsyncClient:
    with ca.cert_pem.tempfile() as path:
        context = crmkit.make_ssl_context(cafile=path)
    return httpx.AsyncClient(verify=context)


async def get(
    base: str, client: httpx.AsyncClient, attempts: list[int] | None = None
) -> httpx.Response:
    retry = crmkit.RetryPolicy(max_retries=2, backoff_base=0.01)
    async with crmkit.Session(base, http_client=client, retry=retry) as session:
        try:
            return await session.request("GET", "ping")
        finally:
            await client.aclose()
            if attempts is not None:
                attempts.append(session.stats.requests)


def permissive_client(ca: trustme.CA) -> httpx.AsyncClient:
    """What an old client would do: TLS 1.0+, any security level, no host name check."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.check_hostname = False
    return httpx.AsyncClient(verify=context)


@pytest.fixture(autouse=True)
def _old_tls_names_are_deprecated_but_needed_here():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ssl.TLSVersion.TLSv1", DeprecationWarning)
        yield


def test_the_context_refuses_anything_older_than_tls_1_2():
    context = crmkit.make_ssl_context()
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


async def test_a_server_offering_at_most_tls_1_1_is_refused_and_tls_1_2_accepted(ca):
    old = server_context(ca, maximum=ssl.TLSVersion.TLSv1_1)
    async with https_server(old) as (base, versions):
        # The server really speaks TLS 1.1: an old client gets its answer ...
        try:
            reached = await get(base, permissive_client(ca))
        except crmkit.TransportError:  # pragma: no cover - depends on the OpenSSL build
            pytest.skip(
                "this OpenSSL cannot serve TLS 1.1 even at SECLEVEL=0; the context's "
                "minimum_version is checked by test_the_context_refuses_anything_older_than_tls_1_2"
            )
        assert reached.status_code == 200 and versions == ["TLSv1.1"]
        # ... crmkit does not (the server cuts the handshake: an EOF, which is retried).
        with pytest.raises(crmkit.TransportError, match="TLS handshake failed"):
            await get(base, crmkit_client(ca))
    assert versions == ["TLSv1.1"]  # no handshake of crmkit's ever completed
    for newest in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = server_context(ca, minimum=newest, maximum=newest)
        async with https_server(context) as (base, versions):
            answer = await get(base, crmkit_client(ca))
        assert answer.json() == {"success": True}
        assert versions == [newest.name.replace("v1_", "v1.")]


async def test_an_untrusted_certificate_is_refused(ca):
    stranger = trustme.CA()  # a valid certificate for the right name, from a CA nobody trusts
    attempts: list[int] = []
    async with https_server(server_context(stranger)) as (base, _):
        with pytest.raises(crmkit.TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            await get(base, crmkit_client(ca), attempts)
        # The system's own trust store (the default Session) refuses it too.
        async with crmkit.Session(base) as session:
            with pytest.raises(crmkit.TransportError, match="CERTIFICATE_VERIFY_FAILED"):
                await session.request("GET", "ping")
    assert attempts == [1]  # a certificate failure is not retried


async def test_a_certificate_for_another_host_name_is_refused(ca):
    wrong_name = server_context(ca, names=("crm.example.com",))
    async with https_server(wrong_name) as (base, _):
        with pytest.raises(crmkit.TransportError, match="CERTIFICATE_VERIFY_FAILED") as info:
            await get(base, crmkit_client(ca))
        assert "match" in str(info.value).lower()
        # without the host name check the same server answers: the name was the reason
        assert (await get(base, permissive_client(ca))).status_code == 200


async def test_plain_http_is_refused_unless_allowed():
    with pytest.raises(ValueError, match="https"):
        crmkit.Session("http://crm.example.com")
    with pytest.raises(ValueError, match="https"):
        RetailCRM("http://demo.retailcrm.ru", "key-1234")

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    async with crmkit.Session(
        "https://crm.example.com", transport=httpx.MockTransport(answer)
    ) as session:
        with pytest.raises(ValueError, match="https"):
            await session.request("GET", "http://crm.example.com/api")  # absolute, downgraded
        assert session.stats.requests == 0
    async with crmkit.Session(
        "http://127.0.0.1:9", transport=httpx.MockTransport(answer), allow_insecure_http=True
    ) as session:
        assert (await session.request("GET", "ping")).json() == {"ok": True}
