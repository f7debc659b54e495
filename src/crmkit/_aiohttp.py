"""``aiohttp_transport()``: the opt-in transport, imported only when asked for."""

from __future__ import annotations

import ssl

import httpx

__all__ = ["aiohttp_transport"]


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
