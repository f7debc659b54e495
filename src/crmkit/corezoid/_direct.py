"""A process's direct URL, used exactly as copied from the editor: :func:`direct`.

The editor's "Copy webhook via JSON" (``corezoid/documentation``
``en/interface/tasks/direct_url.md``) gives ``https://{host}/api/{1|2}/json/public/
{conv_id}/{hash}``: on ``www.corezoid.com`` (``en/plugins/internet-shop/auto_call_lead.md``),
``api.corezoid.com`` or a self-hosted host, API v1 or v2. The hash is the
credential: no signature, and it never appears in a repr, log line or error.

The body is a package of task creates with a ``ref`` (the form both
``auto_call_lead.md`` and the Go client of ``corezoid/corezoid-ai-plugin``,
``mcp-server/mcp_handlers_feedback.go``, send), so a create repeated after a
dropped connection or a 502/503/504 is refused as a duplicate instead of made
twice. A ref crmkit generated cannot belong to anyone else: a duplicate
answer for it means an earlier send of this call made the task, and it is
reported as made (with no ``obj_id``: the direct URL cannot show it).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from typing import Any

import attrs
import httpx

from .._session import Session
from . import _wire
from ._ops import Op, OpResult, check_ref, new_ref

__all__ = ["DirectURL", "direct", "parse_direct_url"]

_PATH = re.compile(
    r"^/api/(?P<version>[12])/json/public/"
    r"(?:(?P<conv_id>\d+)|(?P<alias>@[^/]+(?:/[^/]+){3}))/(?P<hash>[0-9a-fA-F]{32,})/?$"
)


@attrs.frozen
class DirectURLParts:
    """A direct URL taken apart: ``origin`` (scheme and host), API ``version``, the
    process (``conv_id``, or the alias path ``@alias/project/stage/company``), the hash."""

    origin: str
    version: int
    conv_id: int | None
    alias_path: str | None
    hash: str = attrs.field(repr=False)

    @property
    def path(self) -> str:
        target = str(self.conv_id) if self.conv_id is not None else self.alias_path
        return f"api/{self.version}/json/public/{target}/{self.hash}"


def parse_direct_url(url: str) -> DirectURLParts:
    """Take apart a direct URL as copied; ValueError (without the hash) when it is not one."""
    if not isinstance(url, str):
        raise ValueError(f"url must be text, not {type(url).__name__}")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ValueError("url is not a URL") from None
    match = _PATH.match(parsed.path)
    if parsed.scheme not in ("https", "http") or not parsed.host or match is None:
        raise ValueError(
            "url is not a Corezoid direct URL "
            "(https://{host}/api/{1|2}/json/public/{conv_id}/{hash})"
        )
    if parsed.query or parsed.fragment:
        raise ValueError("url is not a Corezoid direct URL: it has a query or fragment")
    port = f":{parsed.port}" if parsed.port else ""
    return DirectURLParts(
        origin=f"{parsed.scheme}://{parsed.host}{port}",
        version=int(match["version"]),
        conv_id=int(match["conv_id"]) if match["conv_id"] else None,
        alias_path=match["alias"],
        hash=match["hash"],
    )


class _NoAuth(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield request


NO_AUTH = _NoAuth()


async def create_via(
    session: Session, parts: DirectURLParts, data: Mapping[str, Any], ref: str | None
) -> OpResult:
    """Create one task through the direct URL ``parts`` (the one place it is sent).

    A duplicate answer for a ref crmkit generated is the task an earlier send made.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"data must be a mapping, not {type(data).__name__}")
    task_ref = new_ref() if ref is None else check_ref(ref)
    op = Op("create", "task", conv_id=parts.conv_id, ref=task_ref, data=dict(data))
    body, _ = _wire.build_body([op])
    response = await session.request(
        "POST",
        parts.path,
        content=body,
        headers={"Content-Type": _wire.CONTENT_TYPE},
        idempotent=True,  # a create with a ref: a repeat is refused as a duplicate
        auth=NO_AUTH,
    )
    (result,) = _wire.read_answer(response, ["1"], by_position=True)
    if ref is None and result.duplicate_ref:
        return OpResult.from_wire({"id": result.id, "proc": "ok", "obj": "task", "ref": task_ref})
    return result


class DirectURL:
    """A process's direct URL (see the module docstring); an async context manager."""

    def __init__(self, url: str, **session_options: Any) -> None:
        self.parts = parse_direct_url(url)
        session_options.setdefault("error_mapper", _wire.error_mapper)
        self.session = Session(self.parts.origin, **session_options)

    async def __aenter__(self) -> DirectURL:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.session.aclose()

    async def aclose(self) -> None:
        await self.session.aclose()

    def __repr__(self) -> str:
        where = self.parts.conv_id if self.parts.conv_id is not None else self.parts.alias_path
        return f"<DirectURL {self.parts.origin} api/{self.parts.version} process {where}>"

    async def create_task(self, data: Mapping[str, Any], *, ref: str | None = None) -> OpResult:
        """Create one task with ``data``; its :class:`OpResult` (``.ok``, ``.unwrap()``).

        Without ``ref`` one is generated, which makes a repeat after a lost answer safe.
        """
        return await create_via(self.session, self.parts, data, ref)


def direct(url: str, **session_options: Any) -> DirectURL:
    """The direct URL ``url`` exactly as copied from the editor (either API version,
    www/api or a self-hosted host); keywords go to :class:`crmkit.Session`.

    ``async with crmkit.corezoid.direct(url) as hook: await hook.create_task({...})``
    """
    return DirectURL(url, **session_options)
