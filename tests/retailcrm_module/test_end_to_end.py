"""The whole simple connection, for real: module apps served on 127.0.0.1, the CRM sandbox
on loopback, and the marketplace simulation playing the CRM between them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fastapi import FastAPI

from crmkit.retailcrm.marketplace import Marketplace
from crmkit.retailcrm.module import AccountRef, ConnectedAccount, SimpleConnection
from crmkit.retailcrm.module.aiohttp import add_module_routes
from crmkit.retailcrm.module.fastapi import module_router
from crmkit.retailcrm.sandbox import RetailCRMSandbox
from crmkit.sandbox import serve

from .helpers import SECRET, make_module

pytestmark = pytest.mark.anyio

CODE = "acme-delivery"


class Module:
    """A module's own state: its accounts (keyed by system_url) and activity changes."""

    def __init__(self) -> None:
        self.accounts: dict[str, ConnectedAccount] = {}
        self.activity: list[tuple[str, bool, bool]] = []
        self.connection = SimpleConnection(
            code=CODE,
            secret=SECRET,
            register_url="https://module.invalid/retailcrm/register",  # set once served
            module=make_module(),
            on_connect=self.on_connect,
            on_activity=self.on_activity,
            scopes=["integration_read", "integration_write"],
            session_options={"allow_insecure_http": True},  # the CRM sandbox is on loopback
        )

    def serving_at(self, base: str) -> None:
        self.connection.register_url = f"{base}/retailcrm/register"
        self.connection.module = attrs.evolve(
            self.connection.module,
            base_url=f"{base}/retailcrm",
            account_url=f"{base}/account",
        )

    async def on_connect(self, account: ConnectedAccount) -> str | None:
        self.accounts[account.system_url] = account
        return None  # the module's accountUrl, as registered

    async def on_activity(self, account: AccountRef, active: bool, freeze: bool) -> None:
        self.activity.append((account.system_url, active, freeze))


@pytest.fixture
def crm() -> RetailCRMSandbox:
    return RetailCRMSandbox(customers=3, rate_limit=None)


async def connect_and_check(
    crm: RetailCRMSandbox, module: Module, module_base: str, account_name: str = ""
) -> None:
    with crm.serve() as crm_served:
        marketplace = Marketplace(crm, crm_url=crm_served.url, allow_insecure_http=True)
        account = crm.account(account_name)
        address = crm_served.url + (f"/{account_name}" if account_name else "")
        refused = await marketplace.connect(
            account,
            config_url=f"{module_base}/retailcrm/config",
            secret=SECRET,
            code=CODE,
            wrong_token=True,
        )
        assert refused.ok, refused.problems
        assert not refused.connected and refused.edit_calls == 0
        assert CODE not in crm.modules(account_name) and module.accounts == {}

        report = await marketplace.connect(
            account, config_url=f"{module_base}/retailcrm/config", secret=SECRET, code=CODE
        )
        assert report.ok, report.problems
        assert report.connected and report.edit_calls == 1
        registered = crm.modules(account_name)[CODE]
        assert registered["accountUrl"] == report.account_url == f"{module_base}/account"
        assert registered["active"] is True
        assert registered["baseUrl"] == f"{module_base}/retailcrm"
        stored = module.accounts[address]
        assert registered["clientId"] == stored.client_id
        assert stored.api_key == account.api_key

        again = await marketplace.connect(
            account,
            config_url=f"{module_base}/retailcrm/config",
            secret=SECRET,
            code=CODE,
            shape="brackets",  # register[apiKey]=... as the vendor's article writes it
        )
        assert again.ok and again.connected, again.problems
        assert list(module.accounts) == [address]  # reconnecting updates, never duplicates
        assert list(crm.modules(account_name)) == [CODE]
        assert crm.modules(account_name)[CODE]["clientId"] == module.accounts[address].client_id
        assert module.accounts[address].client_id != stored.client_id

        activity = await marketplace.set_activity(account, code=CODE, active=False)
        assert activity.ok, activity.problems
        assert module.activity == [(address, False, False)]
        assert crm.modules(account_name)[CODE]["active"] is False


async def test_fastapi_module_served_by_uvicorn(crm: RetailCRMSandbox) -> None:
    module = Module()
    app = FastAPI()
    app.include_router(module_router(module.connection), prefix="/retailcrm")
    async with serve(app) as served:
        module.serving_at(served.url)
        await connect_and_check(crm, module, served.url)


@pytest.fixture
async def aiohttp_module() -> AsyncIterator[tuple[Module, str]]:
    module = Module()
    app = web.Application()
    add_module_routes(
        app,
        module.connection,
        config_path="/retailcrm/config",
        register_path="/retailcrm/register",
        activity_path="/retailcrm/activity",
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    module.serving_at(base)
    try:
        yield module, base
    finally:
        await server.close()


async def test_aiohttp_module_served_by_its_test_server(
    crm: RetailCRMSandbox, aiohttp_module: tuple[Module, str]
) -> None:
    module, base = aiohttp_module
    crm.add_account("shop2", api_key="shop2-key", scopes=["integration_read", "integration_write"])
    await connect_and_check(crm, module, base, account_name="shop2")
    assert crm.modules() == {}  # the default account was never touched
