"""``aiohttp_transport()``, and which transport a Session uses when it is given none.

A Session sends over aiohttp when the ``aiohttp-transport`` extra is installed
(:func:`choose_transport`): httpx's own transport (httpcore on asyncio) costs
about 0.5 ms more CPU a request (``benchmarks/bench_cpu.py``), which kept a
typed listing above the vendors' synchronous clients. httpx stays the API
(requests, responses, auth flows, errors) either way.
"""

from __future__ import annotations

import os
import ssl
import sys
from typing import Literal

import httpx

__all__ = ["TransportChoice", "aiohttp_transport", "choose_transport", "is_aiohttp_transport"]

#: What a Session's ``transport=`` takes: a transport, or one named.
TransportChoice = httpx.AsyncBaseTransport | Literal["httpx", "aiohttp"] | None

#: Environment variables that send requests through a proxy (httpx's own transport honours them).
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def aiohttp_transport(
    *, ssl_context: ssl.SSLContext | None = None, max_connections: int = 100
) -> httpx.AsyncBaseTransport:
    """An httpx transport over aiohttp for a client's Session: pass it as ``transport=``.

    ``crmkit.AmoCRM(..., transport=crmkit.aiohttp_transport())`` (any client, or
    ``Session``): one transport per client; it owns an aiohttp connection pool,
    closed with the client. TLS, timeouts, retries and errors are the Session's
    as with the default transport (``ssl_context``: :func:`crmkit.make_ssl_context`'s
    by default; pass one made with ``cafile=`` to trust a private CA); it spends
    less CPU per request
    (``benchmarks/bench_cpu.py``). Needs ``pip install 'crmkit[aiohttp-transport]'``.
    """
    if max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, not {max_connections!r}")
    try:
        from ._aiohttp_impl import make_transport
    except ImportError as exc:
        raise ImportError(
            f"crmkit.aiohttp_transport() needs aiohttp and httpx-aiohttp ({exc}): "
            "pip install 'crmkit[aiohttp-transport]'"
        ) from None
    return make_transport(ssl_context, max_connections)


def is_aiohttp_transport(transport: httpx.AsyncBaseTransport) -> bool:
    """Whether ``transport`` is :func:`aiohttp_transport`'s (it reports a request's write)."""
    impl = sys.modules.get("crmkit._aiohttp_impl")
    return impl is not None and isinstance(transport, impl.Transport)


def choose_transport(transport: TransportChoice) -> httpx.AsyncBaseTransport | None:
    """The transport a Session's client gets for ``transport=`` (None: httpx's own).

    ``"httpx"``: httpx's own. ``"aiohttp"``: :func:`aiohttp_transport` (ImportError
    when the extra is missing). None: ``CRMKIT_TRANSPORT`` (``httpx`` or ``aiohttp``)
    when set, else aiohttp's when the ``aiohttp-transport`` extra is installed and
    no proxy is set in the environment (``HTTPS_PROXY`` ...: httpx's own transport
    honours it, aiohttp's would not), else httpx's own.
    """
    if transport is None:
        named = os.environ.get("CRMKIT_TRANSPORT", "").strip().lower()
        if not named:
            if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES):
                return None
            try:
                return aiohttp_transport()
            except ImportError:  # the extra is not installed
                return None
        if named not in ("httpx", "aiohttp"):
            raise ValueError(f"CRMKIT_TRANSPORT must be httpx or aiohttp, not {named!r}")
        transport = "httpx" if named == "httpx" else "aiohttp"
    if transport == "httpx":
        return None
    if transport == "aiohttp":
        return aiohttp_transport()
    if not isinstance(transport, httpx.AsyncBaseTransport):
        raise ValueError(
            f"transport must be an httpx transport, 'httpx' or 'aiohttp', not {transport!r}"
        )
    return transport
