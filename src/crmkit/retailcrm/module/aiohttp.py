"""Serve a :class:`~crmkit.retailcrm.module.SimpleConnection` from an aiohttp application.

``add_module_routes(app, connection)`` adds the config, register and activity
endpoints to an ``aiohttp.web.Application``; :func:`module_routes` returns them
as route definitions for ``app.add_routes`` or a sub-application.

Bodies are read from the stream and refused with the error shape as soon as
they pass ``max_body_size`` (aiohttp's ``client_max_size`` answers 413 instead,
which the CRM would show as a broken module). Needs the ``aiohttp`` extra.
"""

from __future__ import annotations

from aiohttp import web

from ..._json import dumps
from ._connection import ModuleAnswer, SimpleConnection
from ._forms import (
    DEFAULT_MAX_BODY_SIZE,
    FormError,
    check_declared_length,
    parse_form,
    read_limited,
)

__all__ = ["add_module_routes", "module_routes"]

_CHUNK = 16 * 1024


def module_routes(
    connection: SimpleConnection,
    *,
    config_path: str = "/config",
    register_path: str = "/register",
    activity_path: str = "/activity",
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
) -> list[web.RouteDef]:
    """Route definitions for the module's config (GET/POST), register and activity (POST) URLs."""
    if max_body_size < 1:
        raise ValueError("max_body_size must be a positive number of bytes")

    def respond(answer: ModuleAnswer) -> web.Response:
        status, body = answer
        return web.Response(body=dumps(body), status=status, content_type="application/json")

    async def read_form(request: web.Request) -> dict[str, str]:
        check_declared_length(request.headers.get("Content-Length"), max_body_size)
        body = await read_limited(request.content.iter_chunked(_CHUNK), max_body_size)
        return parse_form(body, request.headers.get("Content-Type"))

    async def config(request: web.Request) -> web.Response:
        return respond(connection.handle_config())

    async def register(request: web.Request) -> web.Response:
        try:
            form = await read_form(request)
        except FormError as error:
            return respond(connection.answer_unreadable(error))
        return respond(await connection.handle_register(form))

    async def activity(request: web.Request) -> web.Response:
        try:
            form = await read_form(request)
        except FormError as error:
            return respond(connection.answer_unreadable(error))
        return respond(await connection.handle_activity(form))

    return [
        web.get(config_path, config, name="retailcrm_module_config", allow_head=False),
        web.post(config_path, config),
        web.post(register_path, register, name="retailcrm_module_register"),
        web.post(activity_path, activity, name="retailcrm_module_activity"),
    ]


def add_module_routes(
    app: web.Application,
    connection: SimpleConnection,
    *,
    config_path: str = "/config",
    register_path: str = "/register",
    activity_path: str = "/activity",
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
) -> None:
    """Add the module's endpoints to ``app``; see :func:`module_routes`."""
    app.router.add_routes(
        module_routes(
            connection,
            config_path=config_path,
            register_path=register_path,
            activity_path=activity_path,
            max_body_size=max_body_size,
        )
    )
