"""The RetailCRM sandbox's app: accounts, keys, limits, and routing to the handlers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from ..._params import BadParameters as BadBrackets
from ..._params import parse_brackets
from ...sandbox import FakeData, Sandbox, SlidingWindowLimiter, Verdict
from ...sandbox._faults import ASGIApp
from ._common import BadEntity, BadParameters, Missing
from ._filters import FilterError
from ._misc import UNVERSIONED as _UNVERSIONED
from ._misc import unversioned
from ._routes import route as route_for
from ._state import SCOPES, Account

__all__ = ["DEFAULT_API_KEY", "RetailCRMSandbox"]

DEFAULT_API_KEY = "sandbox-retailcrm-key"
MAX_FORM_BYTES = 2 * 1024 * 1024
TELEPHONY_FACTOR = 4
_HTML_MISSING = (
    b"<!DOCTYPE html><html><head><title>Account does not exist</title></head>"
    b"<body><h1>Account does not exist</h1></body></html>"
)


class RetailCRMSandbox(Sandbox):
    """A RetailCRM account (or several) in memory, speaking API v5."""

    def __init__(
        self,
        *,
        customers: int = 0,
        orders: int = 0,
        corporate: int = 0,
        api_key: str = DEFAULT_API_KEY,
        rate_limit: int | None = 10,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fake = FakeData(seed)
        self.accounts: dict[str, Account] = {}
        self.limiter = SlidingWindowLimiter(rate_limit) if rate_limit else None
        # /telephony* has its own window, four times the rest (rate.go: 40/s beside 10/s).
        self.telephony_limiter = (
            SlidingWindowLimiter(rate_limit * TELEPHONY_FACTOR) if rate_limit else None
        )
        self.rate_limited = 0
        default = self.add_account("", api_key=api_key)
        default.seed("customers", customers, self.fake)
        default.seed("orders", orders, self.fake)
        default.seed("customers-corporate", corporate, self.fake)

    # -- set-up and inspection ---------------------------------------------

    def add_account(
        self, name: str, *, api_key: str | None = None, scopes: Iterable[str] | None = None
    ) -> Account:
        """Add an account reached at ``{base}/{name}`` (``""``: the base itself)."""
        if "/" in name:
            raise ValueError("an account name is one path segment")
        account = Account(name, self.clock)
        account.add_key(api_key, frozenset(scopes) if scopes is not None else None)
        self.accounts[name] = account
        return account

    def account(self, name: str = "") -> Account:
        return self.accounts[name]

    def modules(self, name: str = "") -> dict[str, dict[str, Any]]:
        """The integration modules registered on an account, by code, as sent."""
        return self.accounts[name].modules

    # -- HTTP --------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        def reply(status: int, body: dict[str, Any]) -> Response:
            return Response(orjson.dumps(body), status, media_type="application/json")

        def fail(status: int, message: str, errors: Any = None) -> Response:
            body: dict[str, Any] = {"success": False, "errorMsg": message}
            if errors is not None:
                body["errors"] = errors
            return reply(status, body)

        async def dispatch(request: Request) -> Response:
            # Route on the raw path, one unquoted segment at a time: an id
            # holding "/" or ".." stays one segment, as a caller encoded it.
            raw = request.scope.get("raw_path") or request.url.path.encode()
            raw_path = raw.decode("latin-1").split("?", 1)[0]
            prefix, marker, rest = raw_path.partition("/api/")
            account = self.accounts.get(unquote(prefix).strip("/")) if marker else None
            if account is None:
                # AccountNotFoundHandler.php: a 405 text/html to a non-GET.
                status = 404 if request.method == "GET" else 405
                return Response(_HTML_MISSING, status, media_type="text/html")
            segments = [unquote(part) for part in rest.split("/")]
            if segments[0] in _UNVERSIONED:
                version, parts = "", segments
            else:
                version, parts = segments[0], segments[1:]
            if version not in ("v5", "") or not parts or parts == [""]:
                return fail(404, "Method not found")
            try:
                query = parse_brackets(parse_qsl(request.url.query, keep_blank_values=True))
            except BadBrackets as exc:
                return fail(400, "Errors in the input parameters", {"query": str(exc)})
            form: dict[str, Any] = {}
            if request.method == "POST":
                if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
                    return fail(400, "Request body is too large")
                body = await request.body()
                try:
                    form = parse_brackets(parse_qsl(body.decode(), keep_blank_values=True))
                except (BadBrackets, UnicodeDecodeError) as exc:
                    return fail(400, "Errors in the input parameters", {"body": str(exc)})
            key = request.headers.get("x-api-key") or query.get("apiKey") or form.get("apiKey")
            if not key:
                return fail(403, '"apiKey" is missing.')
            if key not in account.keys:
                return fail(403, 'Wrong "apiKey" value.')
            limiter = self.telephony_limiter if parts[0] == "telephony" else self.limiter
            if limiter is not None and limiter.hit(key) is not Verdict.ALLOWED:
                self.rate_limited += 1
                return fail(503, "Rate limit exceeded")
            if not version:
                if len(parts) != 1 or request.method != "GET":
                    return fail(404, "Method not found")
                return reply(200, {"success": True, **unversioned(account, key, parts[0])})
            handler = route_for(account, request.method, parts)
            if handler is None:
                return fail(404, "Method not found")
            read_scope, write_scope = SCOPES.get(parts[0], ("", ""))
            scopes = account.keys[key]
            need = read_scope if request.method == "GET" else write_scope
            if scopes is not None and need not in scopes:
                return fail(403, "Access denied.")
            try:
                status, answer = handler(query, form)
            except BadEntity as exc:
                return fail(400, "Errors in the entity format", exc.errors)
            except FilterError as exc:
                return fail(400, "Errors in the input parameters", exc.errors)
            except BadParameters as exc:
                return fail(400, "Errors in the input parameters", {"query": str(exc)})
            except Missing as exc:
                return fail(400, f"Parameter '{exc.args[0]}' is missing")
            if status >= 400:
                return reply(status, {"success": False, **answer})
            return reply(status, {"success": True, **answer})

        return Starlette(routes=[Route("/{path:path}", dispatch, methods=["GET", "POST"])])
