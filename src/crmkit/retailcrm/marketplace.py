"""The CRM's side of a module's "simple connection", played against a RetailCRM sandbox.

:class:`Marketplace` does over HTTP what RetailCRM does when a shop owner
connects a marketplace module:

1. ``GET configUrl`` (the owner opens the module card) and reads ``registerUrl``
   and ``scopes``;
2. ``POST registerUrl`` with ``register={"apiKey", "systemUrl", "token"}`` for a
   :class:`~crmkit.retailcrm.sandbox.RetailCRMSandbox` account (the owner clicks
   Connect), with the right token or, to test the refusal, a wrong one;
3. watches the sandbox for the module's ``integration-modules/{code}/edit``
   call and reads the answer;
4. later, ``POST baseUrl + actions.activity`` (the owner switches the module
   off, or the account is frozen).

Each step returns a report saying what happened and listing every way the
module broke the protocol (``report.problems``; ``report.ok`` when there are
none). Users run it in their own tests against their module; crmkit's tests
run it against the FastAPI and aiohttp adapters.

What it is not: a client for modules in production, nor a load generator.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs
import httpx

from .._json import dumps_text, loads
from .._tls import LOOPBACK_HOSTS
from .module._tokens import register_token

if TYPE_CHECKING:
    from .sandbox import RetailCRMSandbox
    from .sandbox._state import Account

__all__ = ["ActivityReport", "ConnectReport", "Marketplace"]


@attrs.frozen
class ConnectReport:
    """What happened when the marketplace connected a module to an account.

    ``connected`` is the module's own verdict (``success: true``);
    ``problems`` are the protocol violations the marketplace saw (an error
    answered with HTTP 500, success without an edit call, a wrong token
    accepted ...); ``ok`` means there were none.
    """

    config_status: int | None
    config: Mapping[str, Any] | None
    register_url: str | None
    scopes: tuple[str, ...]
    register_status: int | None
    answer: Mapping[str, Any] | None
    token_was_valid: bool
    edit_calls: int
    module: Any
    problems: tuple[str, ...]

    @property
    def connected(self) -> bool:
        return bool(self.answer and self.answer.get("success") is True)

    @property
    def account_url(self) -> str | None:
        value = self.answer.get("accountUrl") if self.answer else None
        return value if isinstance(value, str) else None

    @property
    def error_message(self) -> str | None:
        value = self.answer.get("errorMsg") if self.answer else None
        return value if isinstance(value, str) else None

    @property
    def ok(self) -> bool:
        return not self.problems


@attrs.frozen
class ActivityReport:
    """What happened when the marketplace told the module about an activity change."""

    url: str | None
    status: int | None
    answer: Mapping[str, Any] | None
    active: bool
    freeze: bool
    problems: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return bool(self.answer and self.answer.get("success") is True)

    @property
    def ok(self) -> bool:
        return not self.problems


class Marketplace:
    """RetailCRM's marketplace, connecting modules to accounts of ``sandbox``.

    - ``crm_url``: where the sandbox is served (``sandbox.serve().url``): each
      account's address is then ``crm_url`` plus its name, so that the module's
      edit call reaches it over the network. Without it the address is the
      account's in-process one (``account.url``, ``https://retailcrm.sandbox/...``),
      for modules whose client uses ``transport=sandbox.transport()``;
    - ``system_url``: send exactly this address for every account instead;
    - ``transport`` / ``http_client``: how to reach the module (default: the
      network, as the real CRM does);
    - ``allow_insecure_http``: accept ``http://`` module URLs on loopback
      (the real CRM only calls https).
    """

    def __init__(
        self,
        sandbox: RetailCRMSandbox,
        *,
        crm_url: str | None = None,
        system_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
        timeout: float = 10.0,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        self.sandbox = sandbox
        self.crm_url = crm_url.rstrip("/") if crm_url else None
        self.system_url = system_url.rstrip("/") if system_url else None
        self.allow_insecure_http = allow_insecure_http
        self._transport = transport
        self._http_client = http_client
        self._timeout = timeout

    # -- the steps -------------------------------------------------------------

    async def connect(
        self,
        account: Account,
        *,
        config_url: str,
        secret: str,
        code: str,
        wrong_token: bool = False,
        shape: str = "json",
    ) -> ConnectReport:
        """Open the module card and click Connect for ``account``; report what happened.

        ``wrong_token=True`` sends a token made with another secret (the module
        must refuse it without calling the CRM). ``shape`` is ``"json"`` (one
        ``register`` field holding JSON, as the CRM sends it) or ``"brackets"``
        (``register[apiKey]=...``, as the vendor's article writes it).
        """
        if shape not in ("json", "brackets"):
            raise ValueError("shape must be 'json' or 'brackets'")
        problems: list[str] = []
        async with self._client() as client:
            config_status, config = await self._exchange(
                client, "GET", config_url, None, "config", problems
            )
            register_url, scopes = self._read_config(config_status, config, problems)
            if register_url is None:
                return ConnectReport(
                    config_status=config_status,
                    config=config,
                    register_url=None,
                    scopes=scopes,
                    register_status=None,
                    answer=None,
                    token_was_valid=not wrong_token,
                    edit_calls=0,
                    module=None,
                    problems=tuple(problems),
                )
            api_key = _account_api_key(account)
            token = register_token(api_key, secret + "-wrong" if wrong_token else secret)
            fields = {
                "apiKey": api_key,
                "systemUrl": self._system_url_of(account),
                "token": token,
            }
            form = (
                {"register": dumps_text(fields)}
                if shape == "json"
                else {f"register[{name}]": value for name, value in fields.items()}
            )
            edits_before = self._edit_calls(account, code)
            register_status, answer = await self._exchange(
                client, "POST", register_url, form, "register", problems
            )
            edit_calls = self._edit_calls(account, code) - edits_before
        module = _registered_module(self.sandbox, account, code)
        self._check_answer(answer, code, wrong_token, edit_calls, module, problems)
        return ConnectReport(
            config_status=config_status,
            config=config,
            register_url=register_url,
            scopes=scopes,
            register_status=register_status,
            answer=answer,
            token_was_valid=not wrong_token,
            edit_calls=edit_calls,
            module=module,
            problems=tuple(problems),
        )

    async def set_activity(
        self, account: Account, *, code: str, active: bool, freeze: bool = False
    ) -> ActivityReport:
        """Tell the module registered as ``code`` in ``account`` that it was switched or frozen.

        The URL is ``baseUrl + actions.activity`` of the module as the sandbox
        holds it; the form carries ``activity``, ``clientId`` and ``systemUrl``.
        """
        problems: list[str] = []
        module = _registered_module(self.sandbox, account, code)
        if module is None:
            problems.append(f"no module {code!r} is registered in this account")
            return ActivityReport(None, None, None, active, freeze, tuple(problems))
        url = _activity_url(module)
        client_id = _module_field(module, "client_id", "clientId")
        if url is None or not client_id:
            problems.append("the registered module has no baseUrl, actions.activity or clientId")
            return ActivityReport(url, None, None, active, freeze, tuple(problems))
        if isinstance(module, dict):  # the CRM's own record changes first: the owner switched it
            module["active"] = active
            module["freeze"] = freeze
        form = {
            "activity": dumps_text({"active": active, "freeze": freeze}),
            "clientId": str(client_id),
            "systemUrl": self._system_url_of(account),
        }
        async with self._client() as client:
            status, answer = await self._exchange(client, "POST", url, form, "activity", problems)
        if answer is not None and answer.get("success") is not True:
            message = answer.get("errorMsg")
            problems.append(f"the module did not accept the activity change: {message!r}")
        return ActivityReport(url, status, answer, active, freeze, tuple(problems))

    # -- helpers ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._http_client is not None:
            yield self._http_client
            return
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
            yield client

    def _system_url_of(self, account: Any) -> str:
        if self.system_url is not None:
            return self.system_url
        if self.crm_url is not None:
            return self.crm_url + _account_path(account)
        return _account_url(account)

    def _edit_calls(self, account: Any, code: str) -> int:
        path = f"{_account_path(account)}/api/v5/integration-modules/{code}/edit"
        counted: int = self.sandbox.requests_by_path[path]
        return counted

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        form: Mapping[str, str] | None,
        step: str,
        problems: list[str],
    ) -> tuple[int | None, dict[str, Any] | None]:
        if not self._url_allowed(url):
            problems.append(f"the {step} URL {url!r} is not https (the CRM only calls https)")
            return None, None
        try:
            response = await client.request(method, url, data=form)
        except httpx.HTTPError as error:
            problems.append(f"the {step} URL {url!r} could not be reached: {error!r}")
            return None, None
        if response.status_code != 200:
            problems.append(
                f"the {step} answer is HTTP {response.status_code}; the CRM expects 200, "
                "errors included"
            )
        try:
            body = loads(response.content)
        except ValueError:
            problems.append(f"the {step} answer is not JSON")
            return response.status_code, None
        if not isinstance(body, dict):
            problems.append(f"the {step} answer is not a JSON object")
            return response.status_code, None
        return response.status_code, body

    def _url_allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return True
        return (
            self.allow_insecure_http and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        )

    def _read_config(
        self, status: int | None, config: Mapping[str, Any] | None, problems: list[str]
    ) -> tuple[str | None, tuple[str, ...]]:
        if config is None:
            return None, ()
        if config.get("success") is not True:
            problems.append("the config answer does not say success: true")
        scopes = config.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            problems.append("the config answer's scopes is not a list of strings")
            scopes = []
        register_url = config.get("registerUrl")
        if not isinstance(register_url, str) or not register_url:
            problems.append("the config answer has no registerUrl")
            return None, tuple(scopes)
        return register_url, tuple(scopes)

    def _check_answer(
        self,
        answer: Mapping[str, Any] | None,
        code: str,
        wrong_token: bool,
        edit_calls: int,
        module: Any,
        problems: list[str],
    ) -> None:
        if answer is None:
            return
        success = answer.get("success")
        if not isinstance(success, bool):
            problems.append("the register answer has no boolean success")
            return
        if wrong_token:
            if success:
                problems.append("the module accepted a register request with a wrong token")
            if edit_calls:
                problems.append("the module called the CRM although the token was wrong")
        if success:
            account_url = answer.get("accountUrl")
            if not isinstance(account_url, str) or not self._url_allowed(account_url):
                problems.append("the register answer has no https accountUrl")
            if edit_calls == 0:
                problems.append(
                    f"the module answered success without calling integration-modules/{code}/edit"
                )
            elif module is None or not _module_field(module, "active", "active"):
                problems.append("the module answered success but is not active in the CRM")
        else:
            message = answer.get("errorMsg")
            if not isinstance(message, str) or not message.strip():
                problems.append("the register answer is a failure without an errorMsg")


# -- the sandbox's side: how accounts and registered modules are read ----------


def _account_api_key(account: Any) -> str:
    key: str = account.api_key
    return key


def _account_url(account: Any) -> str:
    url: str = account.url
    return url.rstrip("/")


def _account_path(account: Any) -> str:
    name: str = account.name
    return f"/{name}" if name else ""


def _registered_module(sandbox: Any, account: Any, code: str) -> Any:
    modules = getattr(account, "modules", {})
    return modules.get(code)


def _module_field(module: Any, attribute: str, key: str) -> Any:
    if isinstance(module, Mapping):
        return module.get(key)
    return getattr(module, attribute, None)


def _activity_url(module: Any) -> str | None:
    base = _module_field(module, "base_url", "baseUrl")
    actions = _module_field(module, "actions", "actions") or {}
    path = actions.get("activity") if isinstance(actions, Mapping) else None
    if not isinstance(base, str) or not isinstance(path, str):
        return None
    return base.rstrip("/") + "/" + path.lstrip("/")
