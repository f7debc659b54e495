"""The register token of RetailCRM's "simple connection": make one, check one.

When a user clicks Connect, the CRM posts the account's API key together with
``token = hex(HMAC-SHA256(key=secret, message=api_key))`` (PHP's
``hash_hmac('sha256', $apiKey, $secret)``), where ``secret`` is the string the
partner account generated for the module. A module that recomputes the token
and compares it in constant time knows the request came from the CRM.

This module is pure functions with no I/O; it does not parse requests (see
``_connection``).
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["register_token", "verify_register_token"]


def register_token(api_key: str, secret: str) -> str:
    """The token the CRM sends with ``api_key``: lowercase hex HMAC-SHA256 keyed by ``secret``.

    Both strings are encoded as UTF-8. Raises ``TypeError`` for non-strings and
    ``ValueError`` for an empty secret (a module without a secret cannot check anything).
    """
    if not isinstance(api_key, str) or not isinstance(secret, str):
        raise TypeError("register_token takes the api key and the secret as str")
    if not secret:
        raise ValueError("the module secret is empty: copy it from the partner account")
    return hmac.new(secret.encode("utf-8"), api_key.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_register_token(api_key: object, token: object, secret: object) -> bool:
    """True when ``token`` is the register token of ``api_key`` under ``secret``.

    The comparison takes the same time wherever the first difference is. Any
    malformed input (not a string, empty, not encodable, a token that is not
    64 hex digits) gives False; this function never raises.
    """
    try:
        if not (isinstance(api_key, str) and isinstance(token, str) and isinstance(secret, str)):
            return False
        if not api_key or not secret or len(token) != 64:
            return False
        expected = register_token(api_key, secret).encode("ascii")
        given = token.lower().encode("ascii")
        return hmac.compare_digest(expected, given)
    except Exception:  # by contract: False, never an exception
        return False
