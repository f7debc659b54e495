"""The amoCRM client: resources over one Session, in either dialect, built by ``_wire``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .._client_base import ClientBase
from .._json import response_json
from .._models import from_wire
from .._results import WriteResult
from .._session import Session
from . import _wire
from ._auth import CookieLogin, MemoryTokenStore, OAuth, OAuthCredentials, TokenStore
from .models import (
    Account,
    Catalog,
    CatalogElement,
    Company,
    ComplexResult,
    Contact,
    Customer,
    CustomerStatus,
    CustomField,
    CustomFieldGroup,
    Event,
    Lead,
    LossReason,
    Pipeline,
    Role,
    Status,
    Tag,
    Task,
    User,
)
from .resources import (
    EntityResource,
    GroupResource,
    LinksResource,
    NotesResource,
    UnsortedResource,
    WebhooksResource,
    add_complex,
    group,
)

__all__ = ["AmoCRM", "WriteResult"]

#: The vendor's current figure per account (the older brief says 1/s: pass rate_limit=1).
DEFAULT_RATE_LIMIT = 7.0
#: A DNS label: what an account's subdomain can be (``acme`` in ``acme.amocrm.ru``).
_SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
#: The entity types that have custom fields, tags and links of their own.
_OWNERS = ("leads", "contacts", "companies", "customers")


def _owner(entity: str) -> str:
    if entity not in _OWNERS:
        raise ValueError(f"entity must be one of {', '.join(_OWNERS)}, not {entity!r}")
    return entity


class AmoCRM(ClientBase):
    """An amoCRM (Kommo) account, API v4 (default) or the legacy v2.

    - v4: ``access_token`` (a long-lived token) or ``oauth=OAuthCredentials(...)``
      (optionally with ``token_store=``) for refreshable OAuth2 tokens;
    - v2: ``login`` (the user's e-mail) and ``api_key`` (``USER_HASH``).

    ``base_url`` defaults to ``https://{subdomain}.amocrm.ru``; pass it for
    ``.amocrm.com`` or ``.kommo.com`` accounts. The default rate limit is 7
    requests/s, never bursting (the vendor's current figure; the older brief
    says 1/s: pass ``rate_limit=1`` to follow it). Other keywords go to
    :class:`crmkit.Session`.
    """

    def __init__(
        self,
        subdomain: str | None = None,
        *,
        base_url: str | None = None,
        api_version: int = 4,
        access_token: str | None = None,
        oauth: OAuthCredentials | None = None,
        token_store: TokenStore | None = None,
        login: str | None = None,
        api_key: str | None = None,
        **session_options: Any,
    ) -> None:
        if base_url is None:
            if not subdomain:
                raise ValueError("AmoCRM needs a subdomain or a base_url")
            if not _SUBDOMAIN.fullmatch(subdomain):
                raise ValueError(
                    f"subdomain must be one DNS label (acme in acme.amocrm.ru), not {subdomain!r}"
                )
            base_url = f"https://{subdomain}.amocrm.ru"
        if api_version not in (2, 4):
            raise ValueError(f"api_version must be 2 or 4, not {api_version!r}")
        self.api_version = api_version
        self.base_url = base_url.rstrip("/")
        auth: httpx.Auth | None = None
        headers = dict(session_options.pop("headers", {}))
        if api_version == 2:
            if not (login and api_key):
                raise ValueError("API v2 needs login (the user's e-mail) and api_key")
            auth = self.cookie_login = CookieLogin(self.base_url, login, api_key)
        elif access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        elif oauth is not None or token_store is not None:
            auth = self.oauth = OAuth(self.base_url, token_store or MemoryTokenStore(oauth), oauth)
        else:
            raise ValueError("API v4 needs access_token, or oauth=OAuthCredentials(...)")
        if "rate_limit" not in session_options and "throttle" not in session_options:
            session_options["rate_limit"] = DEFAULT_RATE_LIMIT
        session_options.setdefault("error_mapper", _wire.ErrorMapper())
        self.session = Session(self.base_url, auth=auth, headers=headers, **session_options)
        self.leads = EntityResource(self, "leads", Lead)
        self.contacts = EntityResource(self, "contacts", Contact)
        self.companies = EntityResource(self, "companies", Company)
        self.customers = EntityResource(self, "customers", Customer)
        self.tasks = EntityResource(self, "tasks", Task)
        self.notes = NotesResource(self)

    # -- the groups around the entities (API v4) -----------------------------------

    @property
    def users(self) -> GroupResource[User]:
        """``/api/v4/users`` (needs an admin's token: others get ``PermissionDeniedError``)."""
        return GroupResource(self, group("Users"))

    @property
    def pipelines(self) -> GroupResource[Pipeline]:
        """``/api/v4/leads/pipelines``, each with its statuses."""
        return GroupResource(self, group("Pipelines"))

    def statuses(self, pipeline_id: int) -> GroupResource[Status]:
        """The statuses of one pipeline."""
        return GroupResource(self, group("Statuses"), pipeline_id=int(pipeline_id))

    @property
    def loss_reasons(self) -> GroupResource[LossReason]:
        """Why leads are lost (``/api/v4/leads/loss_reasons``)."""
        return GroupResource(self, group("Loss reasons"))

    @property
    def customer_statuses(self) -> GroupResource[CustomerStatus]:
        """The customers' segments (``/api/v4/customers/statuses``)."""
        return GroupResource(self, group("Customer statuses"))

    @property
    def roles(self) -> GroupResource[Role]:
        """The users' roles (``/api/v4/roles``; an admin's token)."""
        return GroupResource(self, group("Roles"))

    def custom_fields(self, entity: str = "leads") -> GroupResource[CustomField]:
        """The custom fields of ``leads``, ``contacts``, ``companies`` or ``customers``."""
        return GroupResource(self, group("Custom fields"), entity=_owner(entity))

    def custom_field_groups(self, entity: str = "leads") -> GroupResource[CustomFieldGroup]:
        return GroupResource(self, group("Custom field groups"), entity=_owner(entity))

    def tags(self, entity: str = "leads") -> GroupResource[Tag]:
        """The tags of one entity type."""
        return GroupResource(self, group("Tags"), entity=_owner(entity))

    def links(self, entity: str = "leads") -> LinksResource:
        """Links from entities of one type to others (contacts, companies, catalog elements)."""
        return LinksResource(self, _owner(entity))

    @property
    def events(self) -> GroupResource[Event]:
        """``/api/v4/events``, newest first, 100 a page: the account's change feed.

        Filters: ``filter={"type": ["lead_deleted"], "entity": ["lead"],
        "created_at": {"from": aware_datetime}}``.
        """
        return GroupResource(self, group("Events"))

    @property
    def catalogs(self) -> GroupResource[Catalog]:
        return GroupResource(self, group("Catalogs"))

    def catalog_elements(self, catalog_id: int) -> GroupResource[CatalogElement]:
        return GroupResource(self, group("Catalog elements"), catalog_id=int(catalog_id))

    @property
    def unsorted(self) -> UnsortedResource:
        """``/api/v4/leads/unsorted``: list, add, accept, decline, link."""
        return UnsortedResource(self, group("Unsorted"))

    @property
    def webhooks(self) -> WebhooksResource:
        return WebhooksResource(self)

    async def add_complex(self, leads: Sequence[Any]) -> list[ComplexResult]:
        """Leads, each with a new contact and company in its ``_embedded`` (50 a request)."""
        return await add_complex(self, leads)

    async def exchange_code(self, code: str) -> OAuthCredentials:
        """The first OAuth token pair, from the ``code`` amoCRM's redirect carries.

        Sent form-encoded (``grant_type=authorization_code``) as the official
        SDK's league/oauth2-client does, and saved to the token store before
        it is used. Needs ``oauth=OAuthCredentials(client_id, client_secret,
        redirect_uri)``.
        """
        flow = getattr(self, "oauth", None)
        if not isinstance(flow, OAuth):
            raise ValueError("exchange_code needs AmoCRM(..., oauth=OAuthCredentials(...))")
        if not code or not code.strip():
            raise ValueError("exchange_code: code is empty")
        content, headers = flow.token_form("authorization_code", code=code.strip())
        response = await self.session.request(
            "POST", flow.token_url, content=content, headers=headers, auth=_NoAuth()
        )
        await flow.logged_in(response)
        return await flow.credentials()

    def __repr__(self) -> str:
        return f"<AmoCRM {self.base_url} api v{self.api_version}>"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Any call crmkit has no method for, through the same Session (auth, throttle, errors).

        ``path`` is relative to the account (``"api/v4/leads/5/links"``); an
        absolute URL is refused, so the token never leaves for another host.
        A 204 comes back as it is (no body).
        """
        if "://" in path or path.startswith("//"):
            raise ValueError(f"request: path must be relative to the account, not {path!r}")
        return await self.session.request(
            method, path.lstrip("/"), params=params, json=json, data=data, headers=headers
        )

    async def account(self, *, include: Sequence[str] = ()) -> Account:
        """The account; ``include`` asks for ``with=`` parts (``users_groups``,
        ``task_types``, ``amojo_id``, ``datetime_settings`` ...), found in ``extra``."""
        path = "api/v2/account" if self.api_version == 2 else "api/v4/account"
        params = {"with": ",".join(include)} if include else None
        response = await self.session.request("GET", path, params=params)
        return from_wire(response_json(response), Account)


class _NoAuth(httpx.Auth):
    """No credentials: the token exchange carries its own."""
