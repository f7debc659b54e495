"""Register and activity requests the module must refuse without calling the CRM.

The module's RetailCRM client gets a transport that records every request:
for a bad token, a missing field or an http:// systemUrl nothing may be sent
and ``on_connect`` must not run, and the answer is HTTP 200 with a sentence.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from crmkit.retailcrm.module import (
    ConnectedAccount,
    SimpleConnection,
    register_token,
)

from .helpers import SECRET, make_module

API_KEY = "apikey-0123456789abcdef"
SYSTEM_URL = "https://shop.retailcrm.ru"


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.connected: list[ConnectedAccount] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(500, json={"success": False, "errorMsg": "unexpected"})

        return httpx.MockTransport(handle)

    async def on_connect(self, account: ConnectedAccount) -> str:
        self.connected.append(account)
        return "https://module.example/account"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def connection(recorder: Recorder) -> SimpleConnection:
    return SimpleConnection(
        code="acme-delivery",
        secret=SECRET,
        register_url="https://module.example/register",
        module=make_module(),
        on_connect=recorder.on_connect,
        scopes=["integration_read", "integration_write"],
        session_options={"transport": recorder.transport(), "max_retries": 0},
    )


def packed(**fields: Any) -> dict[str, str]:
    return {"register": json.dumps(fields)}


def assert_refused(answer: tuple[int, dict[str, Any]], recorder: Recorder, *words: str) -> str:
    status, body = answer
    assert status == 200
    assert body["success"] is False
    message = body["errorMsg"]
    assert isinstance(message, str) and message.endswith(".")
    for word in words:
        assert word in message
    assert recorder.requests == []
    assert recorder.connected == []
    return message


def test_config_answer(connection: SimpleConnection) -> None:
    assert connection.handle_config() == (
        200,
        {
            "success": True,
            "scopes": ["integration_read", "integration_write"],
            "registerUrl": "https://module.example/register",
        },
    )


@pytest.mark.anyio
async def test_wrong_token(connection: SimpleConnection, recorder: Recorder) -> None:
    token = register_token(API_KEY, "another module's secret")
    answer = await connection.handle_register(
        packed(apiKey=API_KEY, systemUrl=SYSTEM_URL, token=token)
    )
    message = assert_refused(answer, recorder, "could not be verified")
    assert API_KEY not in message and SECRET not in message


@pytest.mark.anyio
async def test_tampered_api_key(connection: SimpleConnection, recorder: Recorder) -> None:
    token = register_token(API_KEY, SECRET)
    form = {
        "register[apiKey]": API_KEY[:-1] + "X",
        "register[systemUrl]": SYSTEM_URL,
        "register[token]": token,
    }
    assert_refused(await connection.handle_register(form), recorder, "could not be verified")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"systemUrl": SYSTEM_URL, "token": "t" * 64}, "API key"),
        ({"apiKey": API_KEY, "token": "t" * 64}, "account address"),
        ({"apiKey": API_KEY, "systemUrl": SYSTEM_URL}, "token"),
        ({"apiKey": API_KEY, "systemUrl": SYSTEM_URL, "token": ""}, "token"),
        ({"apiKey": 12345, "systemUrl": SYSTEM_URL, "token": "t" * 64}, "API key"),
    ],
)
async def test_missing_field(
    connection: SimpleConnection, recorder: Recorder, fields: dict[str, Any], named: str
) -> None:
    answer = await connection.handle_register(packed(**fields))
    assert_refused(answer, recorder, f"the {named} is missing")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "form",
    [
        {},
        {"register": "not json"},
        {"register": '["apiKey"]'},
        {"apiKey": API_KEY, "systemUrl": SYSTEM_URL},
    ],
)
async def test_unreadable_register_form(
    connection: SimpleConnection, recorder: Recorder, form: dict[str, str]
) -> None:
    assert_refused(await connection.handle_register(form), recorder, "could not be read")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("system_url", "words"),
    [
        ("http://shop.retailcrm.ru", "must start with https://"),
        ("http://127.0.0.1:8000", "must start with https://"),  # loopback needs the opt-in
        ("ftp://shop.retailcrm.ru", "must start with https://"),
        ("shop.retailcrm.ru", "not a valid web address"),
        ("https://user:pw@shop.retailcrm.ru", "not a valid web address"),
        ("https://shop.retailcrm.ru/?x=1", "not a valid web address"),
        ("https://shop.retailcrm.ru:99999", "not a valid web address"),
    ],
)
async def test_bad_system_url(
    connection: SimpleConnection, recorder: Recorder, system_url: str, words: str
) -> None:
    token = register_token(API_KEY, SECRET)
    answer = await connection.handle_register(
        packed(apiKey=API_KEY, systemUrl=system_url, token=token)
    )
    assert_refused(answer, recorder, words)


@pytest.mark.anyio
async def test_on_connect_failure_becomes_the_error_shape(recorder: Recorder) -> None:
    async def broken(account: ConnectedAccount) -> str:
        raise RuntimeError(f"database down while saving {account.api_key}")

    edits: list[bool] = []

    class CRMAlwaysAccepts(SimpleConnection):
        """The outgoing edit call replaced at its seam: this test is about the callback."""

        async def register_module(self, account: ConnectedAccount, *, active: bool = True) -> None:
            edits.append(active)

    connection = CRMAlwaysAccepts(
        code="acme-delivery",
        secret=SECRET,
        register_url="https://module.example/register",
        module=make_module(),
        on_connect=broken,
    )
    token = register_token(API_KEY, SECRET)
    status, body = await connection.handle_register(
        packed(apiKey=API_KEY, systemUrl=SYSTEM_URL, token=token)
    )
    assert status == 200
    assert body == {
        "success": False,
        "errorMsg": "The module could not save the connection. Please try again in a few "
        "minutes or contact the module's support.",
    }
    assert edits == [True, False]  # registered, then withdrawn since nothing was saved


def test_constructor_checks() -> None:
    async def on_connect(account: ConnectedAccount) -> None:
        return None

    common: dict[str, Any] = {"module": make_module(), "on_connect": on_connect}
    with pytest.raises(ValueError, match="register_url"):
        SimpleConnection(code="c", secret="s", register_url="http://module.example/r", **common)
    with pytest.raises(ValueError, match="secret"):
        SimpleConnection(code="c", secret="", register_url="https://m.example/r", **common)
    with pytest.raises(TypeError, match="scopes"):
        SimpleConnection(
            code="c", secret="s", register_url="https://m.example/r", scopes="x", **common
        )
    connection = SimpleConnection(
        code="c", secret="very-secret", register_url="https://m.example/r", **common
    )
    assert "very-secret" not in repr(connection)
    account = ConnectedAccount("https://shop.retailcrm.ru", "the-api-key", "the-client-id")
    assert "the-api-key" not in repr(account) and "the-client-id" not in repr(account)


@pytest.mark.anyio
async def test_an_unexpected_failure_of_the_edit_call_still_answers_the_shape() -> None:
    class Broken(SimpleConnection):
        async def register_module(self, account: ConnectedAccount, *, active: bool = True) -> None:
            raise KeyError("a bug")

    saved: list[ConnectedAccount] = []

    async def on_connect(account: ConnectedAccount) -> None:
        saved.append(account)

    connection = Broken(
        code="acme-delivery",
        secret=SECRET,
        register_url="https://module.example/register",
        module=make_module(),
        on_connect=on_connect,
    )
    token = register_token(API_KEY, SECRET)
    status, body = await connection.handle_register(
        packed(apiKey=API_KEY, systemUrl=SYSTEM_URL, token=token)
    )
    assert status == 200 and body["success"] is False
    assert "could not register itself in RetailCRM" in body["errorMsg"]
    assert saved == []
