"""SimpleConnection against the RetailCRM sandbox, in process: what the CRM ends up holding.

The module's RetailCRM client reaches the sandbox through ``sandbox.transport()``;
the account address is the sandbox's own ``https://`` one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from crmkit.retailcrm.module import (
    AccountRef,
    ConnectedAccount,
    ModuleError,
    SimpleConnection,
    register_token,
)
from crmkit.retailcrm.sandbox import RetailCRMSandbox

from .helpers import SECRET, make_module

pytestmark = pytest.mark.anyio

CODE = "acme-delivery"


class Store:
    """The module's accounts, upserted by system_url as the docs advise."""

    def __init__(self) -> None:
        self.accounts: dict[str, ConnectedAccount] = {}
        self.calls = 0
        self.activity: list[tuple[AccountRef, bool, bool]] = []
        self.refuse_with: Exception | None = None

    async def on_connect(self, account: ConnectedAccount) -> str:
        self.calls += 1
        if self.refuse_with is not None:
            raise self.refuse_with
        self.accounts[account.system_url] = account
        return f"https://module.example/account/{len(self.accounts)}"

    async def on_activity(self, account: AccountRef, active: bool, freeze: bool) -> None:
        stored = self.accounts.get(account.system_url)
        if stored is None or stored.client_id != account.client_id:
            raise ModuleError("This RetailCRM account is not connected to Acme Delivery.")
        self.activity.append((account, active, freeze))


@pytest.fixture
def crm() -> RetailCRMSandbox:
    return RetailCRMSandbox(rate_limit=None)


@pytest.fixture
def store() -> Store:
    return Store()


def connection_for(store: Store, transport: httpx.AsyncBaseTransport) -> SimpleConnection:
    return SimpleConnection(
        code=CODE,
        secret=SECRET,
        register_url="https://module.example/register",
        module=make_module(name="Acme Delivery", integration_code=CODE),
        on_connect=store.on_connect,
        on_activity=store.on_activity,
        session_options={"transport": transport, "rate_limit": None},
    )


def register_form(api_key: str, system_url: str, shape: str = "json") -> dict[str, str]:
    fields = {"apiKey": api_key, "systemUrl": system_url, "token": register_token(api_key, SECRET)}
    if shape == "json":
        return {"register": json.dumps(fields)}
    return {f"register[{name}]": value for name, value in fields.items()}


@pytest.mark.parametrize("shape", ["json", "brackets"])
async def test_connect_registers_the_module(
    crm: RetailCRMSandbox, store: Store, shape: str
) -> None:
    account = crm.account()
    connection = connection_for(store, crm.transport())
    status, body = await connection.handle_register(
        register_form(account.api_key, account.url + "/", shape)
    )
    assert (status, body) == (
        200,
        {"success": True, "accountUrl": "https://module.example/account/1"},
    )
    stored = store.accounts[account.url]
    assert stored.api_key == account.api_key
    registered = crm.modules()[CODE]
    assert registered["clientId"] == stored.client_id
    assert registered["active"] is True
    assert registered["code"] == CODE and registered["integrationCode"] == CODE
    assert registered["name"] == "Acme Delivery"
    assert registered["actions"] == {"activity": "/activity"}


async def test_reconnect_updates_instead_of_duplicating(
    crm: RetailCRMSandbox, store: Store
) -> None:
    account = crm.account()
    connection = connection_for(store, crm.transport())
    first = await connection.handle_register(register_form(account.api_key, account.url + "/"))
    first_client_id = store.accounts[account.url].client_id
    second = await connection.handle_register(
        register_form(
            account.api_key, account.url.replace("https://retailcrm", "HTTPS://RetailCRM")
        )
    )
    assert first[1]["success"] is True and second[1]["success"] is True
    assert list(store.accounts) == [account.url]  # one account, however the address was written
    assert list(crm.modules()) == [CODE]
    assert crm.modules()[CODE]["clientId"] == store.accounts[account.url].client_id
    assert store.accounts[account.url].client_id != first_client_id


async def test_unknown_api_key_is_refused_with_no_callback(
    crm: RetailCRMSandbox, store: Store
) -> None:
    account = crm.account()
    connection = connection_for(store, crm.transport())
    status, body = await connection.handle_register(
        register_form("a-key-this-account-never-issued", account.url)
    )
    assert status == 200 and body["success"] is False
    assert "did not accept the module's API key" in body["errorMsg"]
    assert "a-key-this-account-never-issued" not in body["errorMsg"]
    assert store.calls == 0 and crm.modules() == {}
    assert crm.requests_by_path[f"/api/v5/integration-modules/{CODE}/edit"] == 1


async def test_key_without_the_integration_scope(crm: RetailCRMSandbox, store: Store) -> None:
    shop = crm.add_account("shop", api_key="read-only-key", scopes=["order_read"])
    connection = connection_for(store, crm.transport())
    status, body = await connection.handle_register(register_form("read-only-key", shop.url))
    assert status == 200 and body["success"] is False
    assert "does not allow the module to register itself" in body["errorMsg"]
    assert store.calls == 0 and crm.modules("shop") == {}


async def test_account_that_does_not_exist(crm: RetailCRMSandbox, store: Store) -> None:
    connection = connection_for(store, crm.transport())
    status, body = await connection.handle_register(
        register_form("some-key", "https://retailcrm.sandbox/no-such-shop")
    )
    assert status == 200 and body["success"] is False
    assert (
        "could not find the account at https://retailcrm.sandbox/no-such-shop" in body["errorMsg"]
    )
    assert store.calls == 0


async def test_edit_answered_401_gives_the_error_shape_and_no_callback(store: Store) -> None:
    # The sandbox refuses unknown keys with 403 as the real API does; a proxy or an
    # older installation may answer 401, which must read the same to the shop owner.
    seen: list[httpx.Request] = []

    def crm_401(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"success": False, "errorMsg": 'Wrong "apiKey" value.'})

    connection = connection_for(store, httpx.MockTransport(crm_401))
    status, body = await connection.handle_register(
        register_form("expired-key", "https://shop.retailcrm.ru")
    )
    assert status == 200
    assert body == {
        "success": False,
        "errorMsg": "RetailCRM did not accept the module's API key. Please check that the key "
        "is active in Settings > Integration > API keys, then connect again.",
    }
    assert [r.url.path for r in seen] == [f"/api/v5/integration-modules/{CODE}/edit"]
    assert seen[0].headers["x-api-key"] == "expired-key"
    assert store.calls == 0


async def test_crm_down_is_a_try_again_later(crm: RetailCRMSandbox, store: Store) -> None:
    crm.set_faults("server_error=1.0")
    account = crm.account()
    connection = connection_for(store, crm.transport())
    status, body = await connection.handle_register(register_form(account.api_key, account.url))
    assert status == 200 and body["success"] is False
    assert "try connecting again in a few minutes" in body["errorMsg"]
    assert store.calls == 0


async def test_refusal_from_on_connect_withdraws_the_module(
    crm: RetailCRMSandbox, store: Store
) -> None:
    store.refuse_with = ModuleError("Your Acme plan does not include RetailCRM.")
    account = crm.account()
    connection = connection_for(store, crm.transport())
    status, body = await connection.handle_register(register_form(account.api_key, account.url))
    assert (status, body) == (
        200,
        {"success": False, "errorMsg": "Your Acme plan does not include RetailCRM."},
    )
    assert crm.modules()[CODE]["active"] is False  # not left switched on with nobody behind it


async def test_activity_reaches_the_callback_for_a_connected_account(
    crm: RetailCRMSandbox, store: Store
) -> None:
    account = crm.account()
    connection = connection_for(store, crm.transport())
    await connection.handle_register(register_form(account.api_key, account.url))
    client_id = crm.modules()[CODE]["clientId"]

    answer = await connection.handle_activity(
        {
            "activity": json.dumps({"active": True, "freeze": True}),
            "clientId": client_id,
            "systemUrl": account.url + "/",
        }
    )
    assert answer == (200, {"success": True})
    answer = await connection.handle_activity(
        {
            "activity[active]": "0",
            "activity[freeze]": "0",
            "clientId": client_id,
            "systemUrl": account.url,
        }
    )
    assert answer == (200, {"success": True})
    assert [(ref.system_url, active, freeze) for ref, active, freeze in store.activity] == [
        (account.url, True, True),
        (account.url, False, False),
    ]


@pytest.mark.parametrize(
    ("form", "words"),
    [
        (
            {
                "activity": '{"active": true}',
                "clientId": "forged",
                "systemUrl": "https://retailcrm.sandbox",
            },
            "not connected",
        ),
        (
            {
                "activity": '{"active": "maybe"}',
                "clientId": "x",
                "systemUrl": "https://retailcrm.sandbox",
            },
            "could not be read",
        ),
        (
            {"activity": "{}", "clientId": "x", "systemUrl": "https://retailcrm.sandbox"},
            "could not be read",
        ),
        (
            {"activity": '{"active": true}', "systemUrl": "https://retailcrm.sandbox"},
            "could not be read",
        ),
        (
            {
                "activity": '{"active": true}',
                "clientId": "x",
                "systemUrl": "http://retailcrm.sandbox",
            },
            "https://",
        ),
    ],
)
async def test_activity_refusals(
    crm: RetailCRMSandbox, store: Store, form: dict[str, Any], words: str
) -> None:
    connection = connection_for(store, crm.transport())
    status, body = await connection.handle_activity(form)
    assert status == 200 and body["success"] is False
    assert words in body["errorMsg"]
    assert store.activity == []


async def test_secrets_stay_out_of_logs_and_answers(
    crm: RetailCRMSandbox, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crmkit")
    account = crm.account()
    connection = connection_for(store, crm.transport())
    answers = [
        await connection.handle_register(register_form("unknown-key-1234", account.url)),
        await connection.handle_register(
            {
                "register": json.dumps(
                    {"apiKey": "tampered-key-5678", "systemUrl": account.url, "token": "0" * 64}
                )
            }
        ),
    ]
    store.refuse_with = RuntimeError(f"cannot save {account.api_key} for {account.url}")
    answers.append(await connection.handle_register(register_form(account.api_key, account.url)))
    assert all(body["success"] is False for _, body in answers)
    client_id = crm.modules()[CODE]["clientId"]
    logged = caplog.text + json.dumps([body for _, body in answers])
    assert "traceback" in logged.lower()  # the failing callback's trace is logged ...
    for secret in ("unknown-key-1234", "tampered-key-5678", account.api_key, SECRET, client_id):
        assert secret not in logged  # ... with every secret replaced
