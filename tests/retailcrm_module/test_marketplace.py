"""The marketplace simulation: it passes a correct module and names what a broken one does wrong.

Everything is in process: modules are Starlette apps reached through
``httpx.ASGITransport``, and the module's RetailCRM client reaches the sandbox
through ``sandbox.transport()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crmkit.retailcrm.marketplace import Marketplace
from crmkit.retailcrm.module import AccountRef, ConnectedAccount, SimpleConnection
from crmkit.retailcrm.module.fastapi import module_routes
from crmkit.retailcrm.sandbox import RetailCRMSandbox

from .helpers import SECRET, make_module

pytestmark = pytest.mark.anyio

CODE = "acme-delivery"
CONFIG = "https://module.test/config"


def good_module(crm: RetailCRMSandbox, activity: list[tuple[str, bool, bool]]) -> Starlette:
    async def on_connect(account: ConnectedAccount) -> None:
        return None

    async def on_activity(account: AccountRef, active: bool, freeze: bool) -> None:
        activity.append((account.system_url, active, freeze))

    connection = SimpleConnection(
        code=CODE,
        secret=SECRET,
        register_url="https://module.test/register",
        module=make_module(base_url="https://module.test"),
        on_connect=on_connect,
        on_activity=on_activity,
        session_options={"transport": crm.transport(), "rate_limit": None},
    )
    return Starlette(routes=module_routes(connection))


def marketplace_for(crm: RetailCRMSandbox, app: Any) -> Marketplace:
    return Marketplace(crm, transport=httpx.ASGITransport(app=app))


async def test_a_correct_module_in_process(crm: RetailCRMSandbox) -> None:
    activity: list[tuple[str, bool, bool]] = []
    shop = crm.add_account("shop", api_key="shop-key")
    market = marketplace_for(crm, good_module(crm, activity))

    refused = await market.connect(
        shop, config_url=CONFIG, secret=SECRET, code=CODE, wrong_token=True
    )
    assert refused.ok, refused.problems
    assert not refused.connected and refused.edit_calls == 0
    assert refused.error_message and "could not be verified" in refused.error_message

    report = await market.connect(
        shop, config_url=CONFIG, secret=SECRET, code=CODE, shape="brackets"
    )
    assert report.ok, report.problems
    assert report.connected and report.edit_calls == 1
    assert report.register_url == "https://module.test/register"
    assert report.account_url == "https://module.example/account"
    assert report.module is crm.modules("shop")[CODE]
    assert crm.modules() == {}  # the default account is another account

    off = await market.set_activity(shop, code=CODE, active=True, freeze=True)
    assert off.ok and off.accepted
    assert off.url == "https://module.test/activity"
    assert activity == [("https://retailcrm.sandbox/shop", True, True)]
    assert crm.modules("shop")[CODE]["freeze"] is True


def bad_module(
    register: Callable[[Request], Awaitable[Response]],
    config: dict[str, Any] | None = None,
) -> Starlette:
    async def config_endpoint(request: Request) -> Response:
        return JSONResponse(
            config
            if config is not None
            else {
                "success": True,
                "scopes": ["integration_write"],
                "registerUrl": "https://module.test/register",
            }
        )

    return Starlette(
        routes=[
            Route("/config", config_endpoint, methods=["GET"]),
            Route("/register", register, methods=["POST"]),
        ]
    )


async def says_yes(request: Request) -> Response:
    return JSONResponse({"success": True, "accountUrl": "https://module.test/account"})


async def fails_with_500(request: Request) -> Response:
    return JSONResponse({"success": False, "errorMsg": "boom"}, status_code=500)


async def fails_silently(request: Request) -> Response:
    return JSONResponse({"success": False})


async def answers_html(request: Request) -> Response:
    return Response("<html>oops</html>", media_type="text/html")


@pytest.mark.parametrize(
    ("register", "wrong_token", "expected"),
    [
        (says_yes, True, "accepted a register request with a wrong token"),
        (says_yes, False, f"without calling integration-modules/{CODE}/edit"),
        (fails_with_500, False, "HTTP 500"),
        (fails_silently, False, "failure without an errorMsg"),
        (answers_html, False, "register answer is not JSON"),
    ],
)
async def test_broken_modules_are_reported(
    crm: RetailCRMSandbox,
    register: Callable[[Request], Awaitable[Response]],
    wrong_token: bool,
    expected: str,
) -> None:
    market = marketplace_for(crm, bad_module(register))
    report = await market.connect(
        crm.account(), config_url=CONFIG, secret=SECRET, code=CODE, wrong_token=wrong_token
    )
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"success": True, "scopes": []}, "no registerUrl"),
        (
            {"success": True, "scopes": "all", "registerUrl": "https://module.test/register"},
            "scopes",
        ),
        ({"success": True, "registerUrl": "http://module.test/register"}, "not https"),
    ],
)
async def test_broken_config_is_reported(
    crm: RetailCRMSandbox, config: dict[str, Any], expected: str
) -> None:
    market = marketplace_for(crm, bad_module(says_yes, config))
    report = await market.connect(crm.account(), config_url=CONFIG, secret=SECRET, code=CODE)
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems


async def test_activity_for_a_module_never_registered(crm: RetailCRMSandbox) -> None:
    market = marketplace_for(crm, bad_module(says_yes))
    report = await market.set_activity(crm.account(), code=CODE, active=False)
    assert not report.ok and report.status is None
    assert report.problems == (f"no module {CODE!r} is registered in this account",)


@pytest.fixture
def crm() -> RetailCRMSandbox:
    return RetailCRMSandbox(rate_limit=None)
