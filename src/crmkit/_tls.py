"""The TLS context every Session uses: TLS 1.2 or newer, certificates and host names checked.

amoCRM's rules ask for TLS 1.2 and SSLv3 is long refused everywhere; nothing
older than 1.2 is offered. This module does not pin certificates or ciphers:
the system's defaults (through ``ssl.create_default_context``) apply.
"""

from __future__ import annotations

import functools
import ssl

__all__ = ["LOOPBACK_HOSTS", "make_ssl_context", "shared_ssl_context"]

#: Host names that never leave the machine: where plain http may be allowed
#: (sandboxes, local tests) and the only places sandboxes are served.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def make_ssl_context(cafile: str | None = None) -> ssl.SSLContext:
    """Return a client ``SSLContext`` with ``minimum_version`` TLS 1.2 and full verification.

    ``cafile`` adds a CA bundle (a corporate proxy's root, say) to the system's.
    """
    try:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with httpx
        context = ssl.create_default_context()
    if cafile is not None:
        context.load_verify_locations(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One :func:`make_ssl_context` for every Session of the process.

    Loading the CA bundle costs ~30 ms of CPU; an app with 200 accounts would
    pay it 200 times. A context is safe to share between clients; do not change
    this one (make your own with :func:`make_ssl_context` and pass an
    ``http_client``).
    """
    return make_ssl_context()
