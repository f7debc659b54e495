"""``SimpleConnection``: the module side of RetailCRM's "simple connection", framework-free.

Three endpoints of a marketplace module are called by the CRM:

- the **config** URL, when a user opens the module card: the module answers
  with its scopes and its register URL (:meth:`SimpleConnection.handle_config`);
- the **register** URL, when the user clicks Connect: the CRM posts the
  account's ``apiKey``, ``systemUrl`` and ``token``; the module checks the token,
  registers itself on that account through ``integration-modules/{code}/edit``
  and answers with the URL of the user's page (:meth:`~SimpleConnection.handle_register`);
- the **activity** URL (``baseUrl + actions.activity``), when the module is
  switched on or off or frozen in the account (:meth:`~SimpleConnection.handle_activity`).

Every handler takes the already parsed form and returns ``(status, body)``;
failures are HTTP 200 with ``{"success": false, "errorMsg": ...}``, the message
being a sentence the shop owner reads in the module card. The thin adapters in
:mod:`crmkit.retailcrm.module.fastapi` and :mod:`crmkit.retailcrm.module.aiohttp`
read bodies (with a size cap) and write the answers.

What it is not: a store. The application persists connected accounts in its
``on_connect`` callback (keyed by ``system_url``, so a reconnect updates the
row) and serves the account page itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from ..._log import logger, redact_text
from ...errors import CRMError
from .._client import RetailCRM
from ..models import IntegrationModule
from ._addresses import Resolver, host_problem, resolved_problem, system_resolver
from ._fields import (
    RETRY_FROM_CRM,
    Refusal,
    activity_fields,
    normalize_system_url,
    refusal_for_crm_error,
    refusal_for_form_error,
    register_fields,
)
from ._forms import FormError
from ._tokens import verify_register_token

__all__ = [
    "AccountRef",
    "ConnectedAccount",
    "ModuleAnswer",
    "ModuleError",
    "SimpleConnection",
    "normalize_system_url",
]

#: ``(HTTP status, JSON body)`` as every handler returns it.
ModuleAnswer = tuple[int, dict[str, Any]]


@attrs.frozen
class ConnectedAccount:
    """A RetailCRM account that has just connected the module (given to ``on_connect``).

    ``system_url`` is normalised (``https://``, lower-case host, no trailing
    slash): use it as the account's key, so that connecting again updates the
    stored account. ``client_id`` is the identifier the module registered; the
    CRM sends it back when the user opens the module's page and with activity
    changes. ``api_key`` and ``client_id`` are secrets and stay out of the repr.
    """

    system_url: str
    api_key: str = attrs.field(repr=False)
    client_id: str = attrs.field(repr=False)


@attrs.frozen
class AccountRef:
    """The account an activity change is about: its ``system_url`` and ``client_id``.

    The CRM sends no token with activity changes: check that ``client_id`` is
    the one stored for ``system_url`` before believing it.
    """

    system_url: str
    client_id: str = attrs.field(repr=False)


class ModuleError(Exception):
    """Raise from ``on_connect`` or ``on_activity`` to refuse with your own message.

    ``str(error)`` is shown to the shop owner in the module card, so write a
    sentence they understand ("This shop already uses another plan ...").
    """


OnConnect = Callable[[ConnectedAccount], Awaitable["str | None"]]
OnActivity = Callable[[AccountRef, bool, bool], Awaitable[None]]


#: The shop owner is waiting for the answer: fail fast rather than retry for long.
_SESSION_DEFAULTS: dict[str, Any] = {"timeout": 10.0, "max_retries": 1}


class SimpleConnection:
    """The module's side of the simple connection: config, register and activity handlers.

    - ``code``: the module's code in the partner account (``integration-modules/{code}``);
    - ``secret``: the secret string the partner account generated for the module;
    - ``register_url``: the public https URL the CRM posts the register request to;
    - ``module``: the :class:`~crmkit.retailcrm.models.IntegrationModule` to send on
      connect (name, logo, baseUrl, accountUrl, actions, integrations ...); its
      ``code``, ``clientId`` and ``active`` are filled in for each account;
    - ``on_connect(account) -> account_url | None``: persist the account
      (upsert by ``account.system_url``) and return the URL of the user's page
      (None: the module's ``accountUrl``);
    - ``on_activity(account, active, freeze)``: optional, called on activity changes;
    - ``scopes``: the API scopes the module asks for;
    - ``session_options``: passed to each :class:`crmkit.retailcrm.RetailCRM` made
      to register the module (``timeout``, default 10 s; ``max_retries``, default 1;
      ``http_client`` to share a connection pool; ``transport`` in tests ...). With
      ``allow_insecure_http=True`` an ``http://`` loopback systemUrl is accepted
      (a local sandbox); any other non-https systemUrl is always refused.
    - ``allowed_hosts``: patterns (``["*.retailcrm.ru", "*.simla.com"]``) a
      systemUrl's host must match; without it any public host is accepted, and a
      systemUrl on the loopback, a private range, a link-local address (cloud
      metadata) or a local name, as written or as resolved, is refused before
      anything is sent (see :mod:`crmkit.retailcrm.module._addresses`);
    - ``resolver``: ``async (host, port) -> addresses`` for that check (default:
      the system's), made by :meth:`register_module` just before it sends; with a
      ``transport`` in ``session_options`` and no resolver, names are not
      resolved (the transport decides where requests go).

    Requests for the same account are handled one at a time, so a double click
    on Connect cannot leave the CRM and the store with different clientIds.
    """

    def __init__(
        self,
        *,
        code: str,
        secret: str,
        register_url: str,
        module: IntegrationModule,
        on_connect: OnConnect,
        on_activity: OnActivity | None = None,
        scopes: Sequence[str] = (),
        session_options: Mapping[str, Any] | None = None,
        allowed_hosts: Sequence[str] | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        if not isinstance(code, str) or not code.strip():
            raise ValueError("code must be the module's code from the partner account")
        if not isinstance(secret, str) or not secret:
            raise ValueError("secret must be the module's secret from the partner account")
        if isinstance(scopes, str):
            raise TypeError("scopes must be a sequence of scope names, not one string")
        self.session_options: dict[str, Any] = {**_SESSION_DEFAULTS, **(session_options or {})}
        try:
            normalize_system_url(register_url, allow_insecure_loopback=True)
        except ValueError:
            raise ValueError(
                f"register_url must be an absolute https:// URL, not {register_url!r}"
            ) from None
        self.register_url = register_url
        self.code = code
        self._secret = secret
        self.module = module
        self.scopes: tuple[str, ...] = tuple(scopes)
        self.on_connect = on_connect
        self.on_activity = on_activity
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        if isinstance(allowed_hosts, str):
            raise TypeError("allowed_hosts must be a sequence of host patterns, not one string")
        self.allowed_hosts = tuple(allowed_hosts) if allowed_hosts is not None else None
        if resolver is None and "transport" not in self.session_options:
            resolver = system_resolver
        self._resolver = resolver

    def __repr__(self) -> str:
        return f"<SimpleConnection code={self.code!r} register_url={self.register_url!r}>"

    # -- handlers ------------------------------------------------------------

    def handle_config(self) -> ModuleAnswer:
        """The answer to the CRM's config request: scopes and the register URL."""
        return 200, {"success": True, "scopes": list(self.scopes), "registerUrl": self.register_url}

    async def handle_register(self, form: Mapping[str, str]) -> ModuleAnswer:
        """Connect an account from the CRM's register form; see the module docstring.

        Accepts ``register=<JSON {apiKey, systemUrl, token}>`` and
        ``register[apiKey]=..&register[systemUrl]=..&register[token]=..``.
        """
        api_key: str | None = None
        try:
            api_key, system_url, token = register_fields(form)
            if not verify_register_token(api_key, token, self._secret):
                raise Refusal(
                    "The connection request could not be verified. " + RETRY_FROM_CRM,
                    "the register token does not match the api key",
                )
            system_url = self._normalize(system_url)
            async with self._account_lock(system_url):
                account = ConnectedAccount(system_url, api_key, _new_client_id())
                try:
                    await self.register_module(account)
                except Refusal:
                    raise
                except CRMError as error:
                    raise refusal_for_crm_error(error, account.system_url) from None
                except Exception as error:  # a bug or an override's failure: still the shape
                    logger.error(
                        "RetailCRM module %r: the edit call failed: %s",
                        self.code,
                        redact_text(f"{type(error).__name__}: {error}", (api_key, self._secret)),
                    )
                    raise Refusal(
                        "The module could not register itself in RetailCRM. Please try again "
                        "in a few minutes or contact the module's support.",
                        f"register_module raised {type(error).__name__}",
                    ) from None
                try:
                    account_url = await self._call_on_connect(account)
                except Refusal:
                    await self._withdraw(account)
                    raise
        except Refusal as refusal:
            return self._refuse("register", refusal, api_key)
        logger.info("RetailCRM module %r connected to %s", self.code, system_url)
        return 200, {"success": True, "accountUrl": account_url}

    async def handle_activity(self, form: Mapping[str, str]) -> ModuleAnswer:
        """Pass an activity change (``activity``, ``clientId``, ``systemUrl``) to ``on_activity``.

        Answers ``{"success": true}``; without ``on_activity`` the change is only logged.
        """
        try:
            system_url, client_id, active, freeze = activity_fields(form)
            system_url = self._normalize(system_url)
            if self.on_activity is not None:
                async with self._account_lock(system_url):
                    await self._call_user(
                        self.on_activity(AccountRef(system_url, client_id), active, freeze),
                        "on_activity",
                        (client_id,),
                    )
        except Refusal as refusal:
            return self._refuse("activity", refusal, None)
        logger.info(
            "RetailCRM module %r on %s: active=%s freeze=%s", self.code, system_url, active, freeze
        )
        return 200, {"success": True}

    def answer_unreadable(self, error: FormError) -> ModuleAnswer:
        """The answer to a body the adapter could not read as a form (too large, not a form)."""
        return self._refuse("form", refusal_for_form_error(error), None)

    # -- the outgoing call (a seam: override to register differently) --------

    async def register_module(self, account: ConnectedAccount, *, active: bool = True) -> None:
        """Send ``integration-modules/{code}/edit`` to the account (raises ``CRMError``).

        ``active=False`` withdraws the registration (after ``on_connect`` failed).
        A host that resolves to a non-public address is refused first (nothing sent).
        """
        await self._check_resolved(account.system_url)
        module = attrs.evolve(
            self.module, code=self.code, client_id=account.client_id, active=active
        )
        async with RetailCRM(account.system_url, account.api_key, **self.session_options) as client:
            await client.integration_modules.edit(self.code, module)

    # -- internals -----------------------------------------------------------

    async def _withdraw(self, account: ConnectedAccount) -> None:
        """Best effort: switch the module off again when the account could not be saved.

        Otherwise the CRM would show an active module whose clientId nobody stored.
        """
        try:
            await self.register_module(account, active=False)
        except (CRMError, Refusal) as error:
            logger.warning(
                "RetailCRM module %r: could not withdraw the registration on %s: %s",
                self.code,
                account.system_url,
                type(error).__name__,
            )

    def _normalize(self, system_url: str) -> str:
        insecure = bool(self.session_options.get("allow_insecure_http"))
        try:
            normalized = normalize_system_url(system_url, allow_insecure_loopback=insecure)
        except ValueError as error:
            raise Refusal(str(error), "the systemUrl is not an https account URL") from None
        host = urlsplit(normalized).hostname or ""
        problem = host_problem(host, allowed_hosts=self.allowed_hosts, allow_loopback=insecure)
        if problem is not None:
            raise Refusal(_NOT_AN_ACCOUNT, f"systemUrl refused: {problem}")
        return normalized

    async def _check_resolved(self, system_url: str) -> None:
        if self._resolver is None or self.allowed_hosts is not None:
            return
        parts = urlsplit(system_url)
        problem = await resolved_problem(
            parts.hostname or "",
            parts.port or 443,
            self._resolver,
            allow_loopback=bool(self.session_options.get("allow_insecure_http")),
        )
        if problem is not None:
            raise Refusal(_NOT_AN_ACCOUNT, f"systemUrl refused: {problem}")

    async def _call_on_connect(self, account: ConnectedAccount) -> str:
        returned = await self._call_user(
            self.on_connect(account), "on_connect", (account.api_key, account.client_id)
        )
        account_url = returned if returned is not None else _module_account_url(self.module)
        if not isinstance(account_url, str) or not account_url:
            raise Refusal(
                "The module is connected but has no page to open. "
                "Please contact the module's support.",
                "on_connect returned no account URL and the module has no accountUrl",
            )
        return account_url

    async def _call_user(
        self, awaitable: Awaitable[Any], name: str, hidden: tuple[str | None, ...]
    ) -> Any:
        """Await a user callback; its failures become refusals, with ``hidden`` kept out of logs."""
        hidden = (*hidden, self._secret)
        try:
            return await awaitable
        except ModuleError as error:
            message = redact_text(str(error), hidden)
            raise Refusal(message, f"{name} refused: {message}") from None
        except Exception as error:
            if logger.isEnabledFor(logging.DEBUG):
                trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
                logger.debug(
                    "%s of RetailCRM module %r failed:\n%s",
                    name,
                    self.code,
                    redact_text(trace, hidden),
                )
            raise Refusal(
                "The module could not save the connection. Please try again in a few "
                "minutes or contact the module's support.",
                redact_text(f"{name} raised {type(error).__name__}: {error}", hidden),
            ) from None

    def _refuse(self, what: str, refusal: Refusal, api_key: str | None) -> ModuleAnswer:
        hidden = (api_key, self._secret)
        logger.warning(
            "RetailCRM module %r refused a %s request: %s",
            self.code,
            what,
            redact_text(refusal.reason, hidden),
        )
        message = redact_text(refusal.user_message, hidden)
        return 200, {"success": False, "errorMsg": message}

    @contextlib.asynccontextmanager
    async def _account_lock(self, system_url: str) -> AsyncIterator[None]:
        lock, users = self._locks.setdefault(system_url, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[system_url]


_NOT_AN_ACCOUNT = (
    "The RetailCRM account address does not point to a RetailCRM account on the internet. "
    + RETRY_FROM_CRM
)


def _new_client_id() -> str:
    return secrets.token_hex(24)


def _module_account_url(module: Any) -> str | None:
    value = getattr(module, "account_url", None)
    return value if isinstance(value, str) else None
