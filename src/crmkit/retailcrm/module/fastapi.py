"""Serve a :class:`~crmkit.retailcrm.module.SimpleConnection` from FastAPI or Starlette.

``module_router(connection)`` returns a FastAPI ``APIRouter`` with the config,
register and activity endpoints; ``app.include_router(router)`` mounts it (a
``prefix=`` works, the CRM just has to be given the full URLs).
``module_routes(connection)`` returns the same endpoints as plain Starlette
routes, for applications without FastAPI: ``Starlette(routes=module_routes(...))``.

Bodies are read as a stream and refused with the error shape as soon as they
pass ``max_body_size``; the framework's own form parsing is not used.
Needs the ``fastapi`` extra (or just Starlette for :func:`module_routes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._json import dumps
from ._connection import ModuleAnswer, SimpleConnection
from ._forms import (
    DEFAULT_MAX_BODY_SIZE,
    FormError,
    check_declared_length,
    parse_form,
    read_limited,
)

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

__all__ = ["module_router", "module_routes"]


def module_routes(
    connection: SimpleConnection,
    *,
    config_path: str = "/config",
    register_path: str = "/register",
    activity_path: str = "/activity",
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
) -> list[Route]:
    """Starlette routes for the module's config (GET/POST), register and activity (POST) URLs."""
    from starlette.responses import Response
    from starlette.routing import Route

    if max_body_size < 1:
        raise ValueError("max_body_size must be a positive number of bytes")

    def respond(answer: ModuleAnswer) -> Response:
        status, body = answer
        return Response(dumps(body), status_code=status, media_type="application/json")

    async def read_form(request: Request) -> dict[str, str]:
        check_declared_length(request.headers.get("content-length"), max_body_size)
        body = await read_limited(request.stream(), max_body_size)
        return parse_form(body, request.headers.get("content-type"))

    async def config(request: Request) -> Response:
        return respond(connection.handle_config())

    async def register(request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormError as error:
            return respond(connection.answer_unreadable(error))
        return respond(await connection.handle_register(form))

    async def activity(request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormError as error:
            return respond(connection.answer_unreadable(error))
        return respond(await connection.handle_activity(form))

    return [
        Route(config_path, config, methods=["GET", "POST"], name="retailcrm_module_config"),
        Route(register_path, register, methods=["POST"], name="retailcrm_module_register"),
        Route(activity_path, activity, methods=["POST"], name="retailcrm_module_activity"),
    ]


def module_router(
    connection: SimpleConnection,
    *,
    config_path: str = "/config",
    register_path: str = "/register",
    activity_path: str = "/activity",
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
) -> APIRouter:
    """A FastAPI ``APIRouter`` serving ``connection``; see :func:`module_routes`."""
    from fastapi import APIRouter

    routes = module_routes(
        connection,
        config_path=config_path,
        register_path=register_path,
        activity_path=activity_path,
        max_body_size=max_body_size,
    )
    router = APIRouter(tags=["retailcrm-module"])
    for route in routes:
        router.add_route(
            route.path,
            route.endpoint,
            methods=list(route.methods or ()),
            name=route.name,
            include_in_schema=False,
        )
    return router
