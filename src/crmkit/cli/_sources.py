"""The platforms as export sources, built on crmkit's public API only.

An :class:`ExportSpec` names a platform, an entity and the options to reach
one account (credentials kept out of every repr); :func:`make_job` turns it
into an :class:`~crmkit.cli._export.ExportJob` whose source opens the client,
picks up the saved position and pages:

- amocrm: leads, contacts, companies, customers, tasks, notes; incremental by
  the server's clock (``modified_since`` = the last run's watermark);
- retailcrm: customers, customers-corporate, orders (whole listings, resumable),
  orders-history, customers-history (the change feed by ``sinceId``);
- vtiger: any module by VTQL query, or with ``changes`` its ``sync`` feed;
- corezoid: tasks of a process, those in one node (``--node``, paged by the node
  listing) or shown by a list of refs (no change feed there).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from .. import (
    AmoCRM,
    AsyncPaginator,
    Corezoid,
    PaginatorState,
    RetailCRM,
    SessionStats,
    Vtiger,
    aiohttp_transport,
)
from .._log import redact_url
from .._models import Wire
from .._tls import LOOPBACK_HOSTS
from ..amocrm._wire import V2ListStrategy, V4ListStrategy
from ..corezoid import Op, OpResult
from ..retailcrm._paging import ListStrategy as RetailListStrategy
from ..vtiger._query import QueryStrategy as VtigerQueryStrategy
from ._export import ExportJob, Source

__all__ = ["ENTITIES", "ENV", "ExportSpec", "SpecError", "make_job"]

ENTITIES: dict[str, tuple[str, ...]] = {
    "amocrm": ("leads", "contacts", "companies", "customers", "tasks", "notes"),
    "retailcrm": (
        "customers",
        "customers-corporate",
        "orders",
        "orders-history",
        "customers-history",
    ),
    "vtiger": (),  # any module name
    "corezoid": ("tasks",),
}

#: Option -> environment variable, per platform; options left unset are read from these.
ENV: dict[str, dict[str, str]] = {
    "amocrm": {
        "url": "CRMKIT_AMOCRM_URL",
        "subdomain": "CRMKIT_AMOCRM_SUBDOMAIN",
        "token": "CRMKIT_AMOCRM_TOKEN",
        "login": "CRMKIT_AMOCRM_LOGIN",
        "api_key": "CRMKIT_AMOCRM_API_KEY",
    },
    "retailcrm": {"url": "CRMKIT_RETAILCRM_URL", "api_key": "CRMKIT_RETAILCRM_API_KEY"},
    "vtiger": {
        "url": "CRMKIT_VTIGER_URL",
        "username": "CRMKIT_VTIGER_USERNAME",
        "access_key": "CRMKIT_VTIGER_ACCESS_KEY",
    },
    "corezoid": {
        "url": "CRMKIT_COREZOID_URL",
        "api_login": "CRMKIT_COREZOID_API_LOGIN",
        "secret": "CRMKIT_COREZOID_SECRET",
    },
}
_COREZOID_CHUNK = 100


class SpecError(ValueError):
    """An export that cannot be set up as given (a missing option, an unknown entity)."""


@attrs.frozen
class ExportSpec:
    """One export as the user asked for it; ``options`` (credentials included) never shown."""

    platform: str
    entity: str
    options: Mapping[str, Any] = attrs.field(repr=False, factory=dict)
    out: Path | None = None
    state: Path | None = None

    def option(self, name: str, default: Any = None) -> Any:
        """An option, or the environment variable it falls back to, or ``default``."""
        value = self.options.get(name)
        if value is None and f"{name}_env" in self.options:
            value = os.environ.get(str(self.options[f"{name}_env"]))
        if value is None:
            variable = ENV.get(self.platform, {}).get(name)
            value = os.environ.get(variable) if variable else None
        return default if value is None else value

    def need(self, name: str, what: str) -> Any:
        value = self.option(name)
        if value in (None, ""):
            variable = ENV.get(self.platform, {}).get(name)
            hint = f" (or set {variable})" if variable else ""
            flag = "--" + name.replace("_", "-")
            raise SpecError(f"{self.platform}: {what} is missing: pass {flag}{hint}")
        return value


def make_job(spec: ExportSpec, *, client_options: Mapping[str, Any] | None = None) -> ExportJob:
    """The engine's job for ``spec``; :class:`SpecError` for what is missing or unknown.

    ``client_options`` go to the client as they are (``throttle=`` from the workers).
    """
    if spec.platform not in ENTITIES:
        raise SpecError(f"unknown platform {spec.platform!r}: one of {', '.join(sorted(ENTITIES))}")
    known = ENTITIES[spec.platform]
    if known and spec.entity not in known:
        raise SpecError(f"{spec.platform} has no entity {spec.entity!r}: one of {', '.join(known)}")
    opener = _OPENERS[spec.platform]
    where = _where(spec)
    changes = spec.platform == "vtiger" and bool(spec.option("changes"))
    entity = spec.entity + (" changes" if changes else "")
    # Read the options now, so a mistake is reported before anything runs.
    options = {**_client_options(spec), **(client_options or {})}

    def open_source(
        position: dict[str, Any] | None, finished: bool
    ) -> AbstractAsyncContextManager[Source]:
        return opener(spec, options, position, finished)

    parts = urlsplit(where)
    account = parts.hostname or where
    if account in LOOPBACK_HOSTS and parts.port:
        account = f"{account}:{parts.port}"
    return ExportJob(
        name=f"{spec.platform} {entity}",
        account=account,
        key=f"{spec.platform}:{entity}:{redact_url(where)}",  # no credential in the state file
        open_source=open_source,
        out=spec.out,
        state=spec.state,
    )


def _where(spec: ExportSpec) -> str:
    url = spec.option("url")
    if spec.platform == "amocrm" and not url:
        url = f"https://{spec.need('subdomain', 'the account (--url or --subdomain)')}.amocrm.ru"
    if spec.platform == "corezoid" and not url:
        url = "https://api.corezoid.com"
    if not url:
        spec.need("url", "the account's address")
    return str(url).rstrip("/")


def _session_options(spec: ExportSpec, url: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    rate = spec.option("rate_limit")
    if rate is not None:
        options["rate_limit"] = None if float(rate) <= 0 else float(rate)
    insecure = bool(spec.option("allow_insecure_http")) or urlsplit(url).hostname in LOOPBACK_HOSTS
    options["allow_insecure_http"] = insecure
    transport = spec.option("transport")  # None: the Session's default
    if transport == "aiohttp":
        try:
            options["transport"] = aiohttp_transport()
        except ImportError as exc:
            raise SpecError(str(exc)) from None
    elif transport == "httpx":
        options["transport"] = "httpx"
    elif transport is not None:
        raise SpecError(f"transport must be httpx or aiohttp, not {transport!r}")
    return options


def _client_options(spec: ExportSpec) -> dict[str, Any]:
    url = _where(spec)
    options = _session_options(spec, url)
    if spec.platform == "amocrm":
        version = int(spec.option("api_version", 4))
        if version == 2:
            options.update(
                api_version=2,
                login=spec.need("login", "the user's e-mail (API v2)"),
                api_key=spec.need("api_key", "the user's API key (API v2)"),
            )
        elif not spec.option("oauth"):  # with oauth, the caller passes token_store=
            options["access_token"] = spec.need("token", "the access token")
        options["base_url"] = url
    elif spec.platform == "retailcrm":
        options.update(url=url, api_key=spec.need("api_key", "the API key"))
        if spec.option("site"):
            options["site"] = spec.option("site")
    elif spec.platform == "vtiger":
        options.update(
            url=url,
            username=spec.need("username", "the user name"),
            access_key=spec.need("access_key", "the user's access key"),
        )
    else:
        options.update(
            base_url=url,
            api_login=spec.need("api_login", "the API login"),
            secret=spec.need("secret", "the API secret"),
        )
        if spec.option("company_id"):
            options["company_id"] = str(spec.option("company_id"))
        spec.need("conv_id", "the process id")
        if not spec.option("node"):
            spec.need("refs", "the node (--node) or the file of task refs")
    return options


# -- sources -------------------------------------------------------------------


def _rate(client: Any) -> float | None:
    rate = getattr(client.session.throttle, "rate", None)
    return float(rate) if rate else None


#: Makes the paginator for a run: ``make(resume_from, modified_since)``.
MakePaginator = Callable[[PaginatorState | None, datetime | None], AsyncPaginator[Any]]


class PaginatorSource:
    """A crmkit paginator as an export source: resumes, or reads what changed."""

    def __init__(
        self,
        client: Any,
        make: MakePaginator,
        position: dict[str, Any] | None,
        finished: bool,
        *,
        by_time: bool,
    ) -> None:
        saved = (
            PaginatorState.from_dict(position["paginator"])
            if position and position.get("paginator")
            else None
        )
        resume: PaginatorState | None = None
        since: datetime | None = None
        if saved is not None and not saved.done:
            resume = saved  # an interrupted run, or a feed that goes on from its last item
        elif saved is not None and finished and by_time:
            since = saved.watermark
        self.incremental = finished and (resume is not None or since is not None)
        # Stopped after its last page's checkpoint, before it was marked finished: the
        # listing is read to its end; starting it over would repeat every record.
        self._read_to_end = saved if saved is not None and saved.done and not finished else None
        self.paginator = _as_wire(make(resume, since))
        self.rate_limit = _rate(client)
        self._stats: SessionStats = client.session.stats

    async def pages(self) -> AsyncIterator[tuple[list[Any], int | None]]:
        if self._read_to_end is not None:
            return
        async for page in self.paginator.pages():
            yield list(page.items), page.total

    def position(self) -> dict[str, Any]:
        state = self._read_to_end or self.paginator.state
        return {"paginator": state.to_dict()}

    def session_stats(self) -> SessionStats:
        return self._stats


_WIRE_READY = (V4ListStrategy, V2ListStrategy, RetailListStrategy)


def _as_wire(paginator: AsyncPaginator[Any]) -> AsyncPaginator[Any]:
    """A list's records as the platform sent them: no model to build and unstructure.

    Only for strategies that read nothing back from their models (page-numbered
    and offset lists, vtiger's queries: their cursors read the rows' ids); feeds
    that take their next cursor from the items keep them.
    """
    strategy = paginator.strategy
    if isinstance(strategy, _WIRE_READY) and strategy.model is not Wire:
        paginator.strategy = attrs.evolve(strategy, model=Wire)
    elif isinstance(strategy, VtigerQueryStrategy) and not strategy.raw:
        paginator.strategy = attrs.evolve(strategy, raw=True)
    return paginator


def _amocrm_pages(spec: ExportSpec, amo: Any) -> tuple[MakePaginator, bool]:
    resource = amo.notes.of("leads") if spec.entity == "notes" else getattr(amo, spec.entity)
    page_size = _page_size(spec)

    def make(resume: PaginatorState | None, since: datetime | None) -> AsyncPaginator[Any]:
        paginator: AsyncPaginator[Any] = resource.list(
            modified_since=since, resume_from=resume, page_size=page_size
        )
        return paginator

    return make, True


def _retailcrm_pages(spec: ExportSpec, crm: Any) -> tuple[MakePaginator, bool]:
    kind, history = spec.entity.removesuffix("-history"), spec.entity.endswith("-history")
    resource = {
        "customers": crm.customers,
        "customers-corporate": crm.customers_corporate,
        "orders": crm.orders,
    }[kind]
    page_size = _page_size(spec)

    def make(resume: PaginatorState | None, since: datetime | None) -> AsyncPaginator[Any]:
        read = resource.history if history else resource.list
        paginator: AsyncPaginator[Any] = read(resume_from=resume, page_size=page_size)
        return paginator

    # The history feed goes on from its last id; whole listings start over.
    return make, False


def _vtiger_pages(spec: ExportSpec, crm: Any) -> tuple[MakePaginator, bool]:
    from ..vtiger import vtql

    module = vtql.identifier(spec.entity)
    changes = bool(spec.option("changes"))

    def make(resume: PaginatorState | None, since: datetime | None) -> AsyncPaginator[Any]:
        paginator: AsyncPaginator[Any]
        if changes:
            paginator = crm.sync(module, modified_since=since, resume_from=resume)
        else:
            paginator = crm.query(f"SELECT * FROM {module}", resume_from=resume)
        return paginator

    return make, changes  # a query has no "since": each finished run starts over


_PAGED: dict[str, tuple[type[Any], Callable[[ExportSpec, Any], tuple[MakePaginator, bool]]]] = {
    "amocrm": (AmoCRM, _amocrm_pages),
    "retailcrm": (RetailCRM, _retailcrm_pages),
    "vtiger": (Vtiger, _vtiger_pages),
}


@asynccontextmanager
async def _paged(
    spec: ExportSpec, options: dict[str, Any], position: dict[str, Any] | None, finished: bool
) -> AsyncIterator[Source]:
    client_class, pages = _PAGED[spec.platform]
    async with client_class(**options) as client:
        make, by_time = pages(spec, client)
        yield PaginatorSource(client, make, position, finished, by_time=by_time)


class CorezoidSource:
    """Tasks of one process, shown by ref, 100 refs a request; starts over each run."""

    incremental = False

    def __init__(
        self, cz: Corezoid, conv_id: str, refs: list[str], position: dict[str, Any] | None
    ) -> None:
        self._cz = cz
        self._conv_id = conv_id
        self._refs = refs
        self._next = int(position.get("next", 0)) if position else 0
        self.rate_limit = _rate(cz)

    async def pages(self) -> AsyncIterator[tuple[list[Any], int | None]]:
        while self._next < len(self._refs):
            chunk = self._refs[self._next : self._next + _COREZOID_CHUNK]
            results = await self._cz.ops([Op.show_task(self._conv_id, ref=ref) for ref in chunk])
            self._next += len(chunk)
            yield (
                [_task_record(ref, r) for ref, r in zip(chunk, results, strict=True)],
                len(self._refs),
            )

    def position(self) -> dict[str, Any]:
        return {"next": self._next}

    def session_stats(self) -> SessionStats:
        return self._cz.session.stats


def _task_record(ref: str, result: OpResult) -> dict[str, Any]:
    return {
        "ref": ref,
        "obj_id": result.obj_id,
        "found": result.ok,
        "data": result.data if result.ok else None,
        "proc": result.proc,
        "description": result.description,
    }


@asynccontextmanager
async def _corezoid(
    spec: ExportSpec, options: dict[str, Any], position: dict[str, Any] | None, finished: bool
) -> AsyncIterator[Source]:
    conv_id, node = str(spec.need("conv_id", "the process id")), spec.option("node")
    if node:  # the node's listing: paged by limit/offset, resumable, starts over when done
        page_size = _page_size(spec)
        async with Corezoid(**options) as cz:

            def make(resume: PaginatorState | None, since: datetime | None) -> AsyncPaginator[Any]:
                return cz.list_tasks(conv_id, str(node), resume_from=resume, page_size=page_size)

            yield PaginatorSource(cz, make, position, finished, by_time=False)
        return
    refs_path = Path(spec.need("refs", "the file of task refs"))
    try:
        text = await asyncio.to_thread(refs_path.read_text)
        refs = [line.strip() for line in text.splitlines() if line.strip()]
    except OSError as exc:
        raise SpecError(f"corezoid: cannot read the refs file {refs_path}: {exc}") from None
    async with Corezoid(**options) as cz:
        start = None if finished else position
        yield CorezoidSource(cz, conv_id, refs, start)


def _page_size(spec: ExportSpec) -> int | None:
    size = spec.option("page_size")
    return int(size) if size else None


_OPENERS: dict[
    str,
    Callable[
        [ExportSpec, dict[str, Any], dict[str, Any] | None, bool],
        AbstractAsyncContextManager[Source],
    ],
] = {
    "amocrm": _paged,
    "retailcrm": _paged,
    "vtiger": _paged,
    "corezoid": _corezoid,
}
