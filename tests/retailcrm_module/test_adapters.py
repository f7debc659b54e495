"""The FastAPI, Starlette and aiohttp adapters: routes, both form encodings, the body cap.

The outgoing ``edit`` call is replaced at its seam (``register_module``): these
tests are about reading requests and writing answers. The whole sequence with
the CRM sandbox is in ``test_end_to_end.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fastapi import FastAPI
from starlette.applications import Starlette

from crmkit.retailcrm.module import AccountRef, ConnectedAccount, SimpleConnection, register_token
from crmkit.retailcrm.module.aiohttp import add_module_routes
from crmkit.retailcrm.module.fastapi import module_router, module_routes

from .helpers import SECRET, make_module

API_KEY = "apikey-adapters-42"
LIMIT = 2048


class AcceptingConnection(SimpleConnection):
    """A SimpleConnection whose CRM always accepts the edit call."""

    def __init__(self) -> None:
        self.connected: list[ConnectedAccount] = []
        self.activity: list[tuple[AccountRef, bool, bool]] = []
        self.edits: list[ConnectedAccount] = []

        async def on_connect(account: ConnectedAccount) -> str:
            self.connected.append(account)
            return f"https://module.example/account?shop={len(self.connected)}"

        async def on_activity(account: AccountRef, active: bool, freeze: bool) -> None:
            self.activity.append((account, active, freeze))

        super().__init__(
            code="acme-delivery",
            secret=SECRET,
            register_url="https://module.example/retailcrm/register",
            module=make_module(),
            on_connect=on_connect,
            on_activity=on_activity,
            scopes=["integration_read"],
        )

    async def register_module(self, account: ConnectedAccount, *, active: bool = True) -> None:
        self.edits.append(account)


class Served(NamedTuple):
    client: httpx.AsyncClient
    connection: AcceptingConnection
    kind: str


@pytest.fixture(params=["fastapi", "starlette", "aiohttp"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    connection = AcceptingConnection()
    kind = request.param
    if kind == "aiohttp":
        app = web.Application()
        add_module_routes(app, connection, max_body_size=LIMIT)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            async with httpx.AsyncClient(base_url=str(server.make_url(""))) as client:
                yield Served(client, connection, kind)
        finally:
            await server.close()
        return
    if kind == "fastapi":
        fastapi_app = FastAPI()
        fastapi_app.include_router(module_router(connection, max_body_size=LIMIT))
        asgi: Any = fastapi_app
    else:
        asgi = Starlette(routes=module_routes(connection, max_body_size=LIMIT))
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://module.test") as client:
        yield Served(client, connection, kind)


def register_fields(shape: str, system_url: str = "https://shop.retailcrm.ru/") -> dict[str, str]:
    values = {"apiKey": API_KEY, "systemUrl": system_url, "token": register_token(API_KEY, SECRET)}
    if shape == "json":
        return {"register": json.dumps(values)}
    return {f"register[{name}]": value for name, value in values.items()}


@pytest.mark.anyio
async def test_config_on_get_and_post(served: Served) -> None:
    client, _, _ = served
    for method in ("GET", "POST"):
        response = await client.request(method, "/config")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {
            "success": True,
            "scopes": ["integration_read"],
            "registerUrl": "https://module.example/retailcrm/register",
        }


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["json", "brackets"])
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
async def test_register_both_shapes_and_encodings(
    served: Served, shape: str, encoding: str
) -> None:
    client, connection, _ = served
    fields = register_fields(shape)
    files = {"ignored": ("a.txt", b"x")} if encoding == "multipart" else None
    response = await client.post("/register", data=fields, files=files)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "accountUrl": "https://module.example/account?shop=1",
    }
    (account,) = connection.connected
    assert account.system_url == "https://shop.retailcrm.ru"
    assert account.api_key == API_KEY
    assert len(account.client_id) >= 32
    assert connection.edits == [account]


@pytest.mark.anyio
async def test_oversized_body_with_content_length_is_refused(
    served: Served,
) -> None:
    client, connection, _ = served
    fields = register_fields("json")
    fields["padding"] = "x" * (LIMIT + 1)
    response = await client.post("/register", data=fields)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert "too large" in body["errorMsg"]
    assert connection.connected == [] and connection.edits == []


@pytest.mark.anyio
async def test_oversized_streamed_body_is_refused_without_reading_it_all(
    served: Served,
) -> None:
    client, connection, _ = served
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"register=" + json.dumps({"apiKey": API_KEY}).encode() + b"&padding="
        for index in range(200):
            sent.append(index)
            yield b"x" * 512

    response = await client.post(
        "/register",
        content=body(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert response.json()["success"] is False
    assert "too large" in response.json()["errorMsg"]
    assert connection.connected == []
    if served.kind != "aiohttp":
        # in-process the app pulls the body chunk by chunk: it stopped just past the cap
        assert len(sent) <= LIMIT // 512 + 1


@pytest.mark.anyio
async def test_json_body_is_not_a_form(served: Served) -> None:
    client, connection, _ = served
    response = await client.post("/register", json={"register": {"apiKey": API_KEY}})
    assert response.status_code == 200
    assert response.json()["success"] is False
    assert "could not be read" in response.json()["errorMsg"]
    assert connection.edits == []


@pytest.mark.anyio
async def test_activity_reaches_the_callback(served: Served) -> None:
    client, connection, _ = served
    response = await client.post(
        "/activity",
        data={
            "activity": json.dumps({"active": False, "freeze": True}),
            "clientId": "client-123",
            "systemUrl": "https://Shop.RetailCRM.ru/",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"success": True}
    ((account, active, freeze),) = connection.activity
    assert account == AccountRef("https://shop.retailcrm.ru", "client-123")
    assert (active, freeze) == (False, True)
