"""The RetailCRM client: resources over one Session, built by the rules in ``_wire``.

The resource classes live in ``resources/``; this module holds the client,
its time zone (for datetimes in filters) and the ``/telephony*`` Session with
its own 40/s limit (``rate.go`` in ``retailcrm/api-client-go``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from .._client_base import ClientBase
from .._json import reading
from .._models import from_wire
from .._pagination import PageRequest
from .._session import Session
from ..errors import ProtocolError
from . import _wire
from .models import (
    CorporateCustomer,
    Credentials,
    Customer,
    CustomerNote,
    Loyalty,
    Order,
    Pack,
    SystemInfo,
    UserGroup,
)
from .resources import (
    RECORD_KINDS,
    Costs,
    Customers,
    CustomFields,
    IntegrationModules,
    Listing,
    Loyalties,
    LoyaltyAccounts,
    Orders,
    Payments,
    RecordResource,
    References,
    Store,
    Tasks,
    Telephony,
    Users,
)

__all__ = ["RetailCRM"]

#: The vendor's limit per API key, outside ``/telephony*``.
DEFAULT_RATE_LIMIT = 10.0
#: The vendor's limit per API key for ``/telephony*`` methods.
TELEPHONY_RATE_LIMIT = 40.0


class RetailCRM(ClientBase):
    """A RetailCRM (Simla) account, API v5.

    ``url`` is the account's address (``https://demo.retailcrm.ru``; a trailing
    slash or ``/api/v5`` is fine). ``site`` is the store sent where the API
    takes one (keys that span several stores), overridable per call.
    ``timezone`` is the account's time zone (a name or a ``tzinfo``); when not
    given it is read once from ``/api/v5/settings`` the first time a datetime
    is sent. Other keywords go to :class:`crmkit.Session`; the default rate
    limit is 10 requests/s (40/s for ``/telephony*``), never bursting.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        site: str | None = None,
        timezone: str | tzinfo | None = None,
        **session_options: Any,
    ) -> None:
        if not api_key:
            raise ValueError("RetailCRM needs an api_key")
        if "rate_limit" not in session_options and "throttle" not in session_options:
            session_options["rate_limit"] = DEFAULT_RATE_LIMIT
        headers = {**session_options.pop("headers", {}), "X-API-KEY": api_key}
        self.url = _wire.api_base_url(url)
        self.site = site
        self._tz: tzinfo | None = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self._tz_lock = asyncio.Lock()
        self.session = Session(
            self.url, headers=headers, error_mapper=_wire.error_mapper, **session_options
        )
        telephony_options = {
            k: v for k, v in session_options.items() if k not in ("rate_limit", "throttle")
        }
        self._telephony_options = {"headers": headers, **telephony_options}
        self._telephony: Session | None = None
        self.customers: Customers[Customer] = Customers(
            self,
            "customers",
            "customers",
            "customer",
            Customer,
            ("uploadedCustomers", "failedCustomers"),
        )
        self.customers_corporate: Customers[CorporateCustomer] = Customers(
            self,
            "customers-corporate",
            "customersCorporate",
            "customerCorporate",
            CorporateCustomer,
            ("uploadedCustomers", "failedCustomers"),
        )
        self.orders = Orders(
            self, "orders", "orders", "order", Order, ("uploadedOrders", "failedOrders")
        )
        self.integration_modules = IntegrationModules(self)
        self.reference = References(self)
        self.users = Users(self, RECORD_KINDS["users"])
        self.tasks = Tasks(self, RECORD_KINDS["tasks"])
        self.payments = Payments(self, RECORD_KINDS["payments"])
        self.customer_notes: RecordResource[CustomerNote] = RecordResource(
            self, RECORD_KINDS["customer_notes"]
        )
        self.corporate_notes: RecordResource[CustomerNote] = RecordResource(
            self, RECORD_KINDS["corporate_notes"]
        )
        self.user_groups = Listing(self, "user-groups", "groups", UserGroup)
        self.packs: RecordResource[Pack] = RecordResource(self, RECORD_KINDS["packs"])
        self.costs = Costs(self, RECORD_KINDS["costs"])
        self.loyalties = Loyalties(self, "loyalty/loyalties", "loyalties", Loyalty)
        self.loyalty_accounts = LoyaltyAccounts(self, RECORD_KINDS["loyalty_accounts"])
        self.custom_fields = CustomFields(self)
        self.store = Store(self)
        self.telephony = Telephony(self)

    @property
    def telephony_session(self) -> Session:
        """The Session ``/telephony*`` calls go through: same account, its own 40/s limit."""
        if self._telephony is None:
            self._telephony = Session(
                self.url,
                rate_limit=TELEPHONY_RATE_LIMIT,
                error_mapper=_wire.error_mapper,
                **self._telephony_options,
            )
        return self._telephony

    async def timezone(self) -> tzinfo:
        """The account's time zone: ``timezone=`` if given, else read once from ``settings``."""
        if self._tz is not None:
            return self._tz
        async with self._tz_lock:
            if self._tz is None:
                settings = await self.settings()
                with reading("the settings answer"):
                    value = (settings.get("timezone") or {}).get("value")
                try:
                    self._tz = ZoneInfo(str(value))
                except (ZoneInfoNotFoundError, ValueError):
                    raise ProtocolError(
                        f"/api/v5/settings names no known time zone ({value!r}); "
                        "pass timezone= to RetailCRM",
                        method="GET",
                        url=self.url + "settings",
                    ) from None
            return self._tz

    async def _localized(self, params: Any) -> Any:
        if isinstance(params, list) and any(not isinstance(v, str) for _, v in params):
            return _wire.localize(params, await self.timezone())
        return params

    async def _fetch(self, page: PageRequest) -> httpx.Response:
        """A paginator's page request, its datetimes in the account's zone."""
        return await self.session.request(
            page.method, page.url, params=await self._localized(page.params), headers=page.headers
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        form: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Call any endpoint: ``path`` under ``/api/v5/``; ``params`` nested, ``form`` JSON-encoded.

        Datetimes in ``params`` must be aware; they are sent in the account's
        time zone. ``idempotent=True`` lets a POST be repeated after a 502/504.
        Returns the decoded answer (a partial upload's 460 included);
        failures raise crmkit errors.
        """
        telephony = path.lstrip("/").startswith("telephony")
        session = self.telephony_session if telephony else self.session
        query = await self._localized(_wire.encode_params(params)) if params else None
        response = await session.request(
            method,
            path,
            params=query,
            data=_wire.encode_form(form) if form else None,
            idempotent=idempotent,
        )
        return _wire.read_body(response)

    async def api_versions(self) -> list[str]:
        """``/api/api-versions``: the API versions the account speaks (``["4.0", "5.0"]``)."""
        body = await self.request("GET", self._outside_v5("api-versions"))
        return [str(v) for v in _wire.listed(body, "versions", "the api-versions answer")]

    async def credentials(self) -> Credentials:
        """``/api/credentials``: the methods, scopes and stores this API key may use."""
        body = await self.request("GET", self._outside_v5("credentials"))
        return from_wire(body, Credentials, what="credentials")

    async def system_info(self) -> SystemInfo:
        """``/api/system-info``: the system's version and addresses."""
        return from_wire(await self.request("GET", self._outside_v5("system-info")), SystemInfo)

    async def settings(self) -> dict[str, Any]:
        """``/api/v5/settings``: currency, language, time zone, working hours (as sent)."""
        settings = (await self.request("GET", "settings")).get("settings")
        return dict(settings) if isinstance(settings, Mapping) else {}

    def _outside_v5(self, method: str) -> str:
        return self.url.removesuffix("v5/") + method

    async def aclose(self) -> None:
        """Close the client's Sessions (and their connections)."""
        if self._telephony is not None:
            await self._telephony.aclose()
        await self.session.aclose()

    def __repr__(self) -> str:
        return f"<RetailCRM {self.url}>"
