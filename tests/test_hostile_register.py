"""The RetailCRM module's register endpoint against hostile requests.

The register request carries an account's API key and the ``systemUrl`` the
module then posts it to. Whatever the request, the module must never send the
key to a machine of its own network (loopback, private ranges, link-local and
cloud metadata addresses, local names, names that resolve to any of those), nor
act on a request whose token does not verify, nor parse a body larger than its
cap. Every case counts the outgoing requests and the ``on_connect`` callbacks:
both must be zero. RetailCRM's register request is described in its module
documentation (docs.retailcrm.ru, "Simple connection"); the token is
HMAC-SHA256(apiKey, secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crmkit.retailcrm.module import ConnectedAccount, SimpleConnection, register_token
from crmkit.retailcrm.module import fastapi as module_fastapi
from crmkit.retailcrm.module.fastapi import module_router

from .retailcrm_module.helpers import SECRET, make_module

pytestmark = pytest.mark.anyio

API_KEY = "hostile-test-api-key-31337"
PUBLIC_IP = "93.184.216.34"  # a global unicast address, never contacted: the transport answers

#: name -> addresses the fake resolver gives (anything else: not found).
DNS: dict[str, list[str]] = {
    "shop.retailcrm.ru": [PUBLIC_IP],
    "127.0.0.1.nip.io": ["127.0.0.1"],
    "internal.example.com": ["10.1.2.3"],
    "metadata.example.com": ["169.254.169.254"],
    "mixed.example.com": [PUBLIC_IP, "192.168.1.10"],
    "v6local.example.com": ["fd12::1"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
}


class Counter:
    """Counts what the module does: requests sent, lookups made, callbacks run."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.connected: list[ConnectedAccount] = []
        self.lookups: list[str] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(200, json={"success": True, "info": {}})

        return httpx.MockTransport(handle)

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        if host not in DNS:
            raise OSError(f"{host} not found")
        return DNS[host]

    async def on_connect(self, account: ConnectedAccount) -> str:
        self.connected.append(account)
        return "https://module.example/account"

    def connection(self, **kwargs: Any) -> SimpleConnection:
        return SimpleConnection(
            code="acme-delivery",
            secret=SECRET,
            register_url="https://module.example/register",
            module=make_module(),
            on_connect=self.on_connect,
            session_options={"transport": self.transport(), "max_retries": 0},
            resolver=self.resolve,
            **kwargs,
        )


def form(system_url: str, *, api_key: str = API_KEY, token: str | None = None) -> dict[str, str]:
    token = register_token(api_key, SECRET) if token is None else token
    return {"register": json.dumps({"apiKey": api_key, "systemUrl": system_url, "token": token})}


HOSTILE_URLS = [
    "https://127.0.0.1",
    "https://127.0.0.2:8443",
    "https://127.1",
    "https://2130706433",
    "https://0x7f.0.0.1",
    "https://0177.0.0.1",
    "https://0.0.0.0",
    "https://[::1]",
    "https://[::]",
    "https://[::ffff:127.0.0.1]",
    "https://[::ffff:7f00:1]",
    "https://[2002:7f00:1::]",
    "https://[64:ff9b::a9fe:a9fe]",
    "https://10.0.0.5",
    "https://172.16.0.1",
    "https://192.168.0.10",
    "https://100.64.0.1",
    "https://169.254.169.254",
    "https://[fe80::1]",
    "https://[fd00::1]",
    "https://224.0.0.1",
    "https://255.255.255.255",
    "https://localhost",
    "https://LOCALHOST.",
    "https://shop.localhost",
    "https://metadata.google.internal",
    "https://metadata",
    "https://intranet",
    "https://printer.local",
    "http://shop.retailcrm.ru",
    "ftp://shop.retailcrm.ru",
    "https://user:pass@shop.retailcrm.ru",
    "https://127.0.0.1.nip.io",
    "https://internal.example.com",
    "https://metadata.example.com",
    "https://mixed.example.com",
    "https://v6local.example.com",
    "https://mapped.example.com",
    "https://unknown-host.example.com",
    "",
    "   ",
    "//shop.retailcrm.ru",
]


@pytest.mark.parametrize("system_url", HOSTILE_URLS)
async def test_a_key_is_never_sent_to_a_local_address(system_url: str) -> None:
    counter = Counter()
    status, body = await counter.connection().handle_register(form(system_url))
    assert status == 200 and body["success"] is False
    assert API_KEY not in body["errorMsg"]
    assert counter.requests == [] and counter.connected == []


async def test_a_public_account_is_connected_with_one_call_and_one_callback() -> None:
    counter = Counter()
    status, body = await counter.connection().handle_register(form("https://shop.retailcrm.ru/"))
    assert (status, body["success"]) == (200, True)
    assert len(counter.requests) == 1 and len(counter.connected) == 1
    assert counter.requests[0].url.host == "shop.retailcrm.ru"
    assert counter.requests[0].headers["X-API-KEY"] == API_KEY
    assert counter.lookups == ["shop.retailcrm.ru"]


async def test_an_allow_list_admits_only_its_hosts() -> None:
    counter = Counter()
    connection = counter.connection(allowed_hosts=["*.retailcrm.ru", "*.simla.com"])
    refused = await connection.handle_register(form("https://attacker.example.org"))
    assert refused[1]["success"] is False and counter.requests == []
    accepted = await connection.handle_register(form("https://Shop.RetailCRM.ru"))
    assert accepted[1]["success"] is True and len(counter.requests) == 1


async def test_loopback_only_for_a_declared_local_sandbox() -> None:
    counter = Counter()
    connection = SimpleConnection(
        code="acme-delivery",
        secret=SECRET,
        register_url="https://module.example/register",
        module=make_module(),
        on_connect=counter.on_connect,
        session_options={"transport": counter.transport(), "allow_insecure_http": True},
        resolver=counter.resolve,
    )
    local = await connection.handle_register(form("http://127.0.0.1:8000"))
    private = await connection.handle_register(form("https://10.0.0.5"))
    assert local[1]["success"] is True and private[1]["success"] is False
    assert len(counter.requests) == 1 and len(counter.connected) == 1


def _forged_tokens() -> list[tuple[str, dict[str, str]]]:
    other_secret = hmac.new(b"another-secret", API_KEY.encode(), hashlib.sha256).hexdigest()
    good = register_token(API_KEY, SECRET)
    url = "https://shop.retailcrm.ru"
    return [
        ("random", form(url, token="0" * 64)),
        ("another module's secret", form(url, token=other_secret)),
        ("token of another key", form(url, api_key="other-key-1", token=good)),
        ("truncated", form(url, token=good[:-1])),
        ("empty", form(url, token="")),
        ("missing", {"register": json.dumps({"apiKey": API_KEY, "systemUrl": url})}),
        ("a number", {"register": json.dumps({"apiKey": API_KEY, "systemUrl": url, "token": 7})}),
        ("not JSON", {"register": "{apiKey: 1"}),
        ("a list", {"register": "[]"}),
        ("no form", {}),
    ]


@pytest.mark.parametrize("case", _forged_tokens(), ids=lambda case: case[0])
async def test_a_forged_or_missing_token_sends_nothing_and_calls_nothing(
    case: tuple[str, dict[str, str]],
) -> None:
    counter = Counter()
    status, body = await counter.connection().handle_register(case[1])
    assert status == 200 and body["success"] is False
    assert counter.requests == [] and counter.connected == [] and counter.lookups == []


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the bodies the FastAPI adapter hands to the form parser."""
    calls: list[int] = []
    real = module_fastapi.parse_form

    def counting(body: bytes, content_type: str | None) -> dict[str, str]:
        calls.append(len(body))
        return real(body, content_type)

    monkeypatch.setattr(module_fastapi, "parse_form", counting)
    return calls


async def test_oversized_bodies_are_refused_before_parsing(parsed: list[int]) -> None:
    counter = Counter()
    app = FastAPI()
    app.include_router(module_router(counter.connection(), max_body_size=1024))
    big = form("https://shop.retailcrm.ru")["register"] + " " * 5000

    async def chunks():  # no Content-Length: the cap must hold while streaming
        for _ in range(64):
            yield b"x" * 512

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://module.test"
    ) as client:
        declared = await client.post("/register", data={"register": big})
        streamed = await client.post(
            "/register",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        lying = await client.post(
            "/register",
            content=b"register=" + b"y" * 4096,
            headers={"content-type": "application/x-www-form-urlencoded", "content-length": "10"},
        )
        fine = await client.post("/register", data=form("https://shop.retailcrm.ru"))
    for answer in (declared, streamed):
        assert answer.status_code == 200 and answer.json()["success"] is False
    assert lying.json()["success"] is False  # a body longer than it declared is not a form
    assert fine.json()["success"] is True
    assert all(size <= 1024 for size in parsed)  # nothing larger ever reached the parser
    assert len(counter.requests) == 1 and len(counter.connected) == 1  # only the fine one
