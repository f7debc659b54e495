"""The ``crmkit`` logger and the redaction of secrets.

Every line crmkit logs and every URL an exception carries passes through
:func:`redact_url` first. Secret query values and form fields (API keys, hashes,
access keys, session names, tokens) become ``***``, and so do long hexadecimal
path segments (Corezoid's request signatures and direct-URL hashes). Secret
headers (``X-API-KEY``, ``Authorization``, ``Cookie``) are never logged at all.

``CRMKIT_LOG=debug`` (or ``info``) in the environment attaches a stderr handler
to the ``crmkit`` logger when crmkit is imported. Otherwise crmkit only emits
records; configuring handlers is the application's business.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

__all__ = ["SECRET_NAMES", "logger", "redact_mapping", "redact_text", "redact_url"]

logger = logging.getLogger("crmkit")

REDACTED = "***"

#: Lower-cased names of query parameters, form fields and headers whose values are secret.
SECRET_NAMES: frozenset[str] = frozenset(
    {
        "apikey",
        "api_key",
        "x-api-key",
        "user_hash",
        "accesskey",
        "access_key",
        "sessionname",
        "session_name",
        "sessionid",
        "session_id",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "hash",
        "secret",
        "client_secret",
        "password",
        "code",
        "authorization",
        "cookie",
        "set-cookie",
        "signature",
    }
)

_HEX_SEGMENT = re.compile(r"^[0-9a-fA-F]{32,}$")


def _is_secret(name: str) -> bool:
    low = name.lower()
    if low in SECRET_NAMES:
        return True
    # register[token], register[apiKey], filter[apiKey] ...
    inner = re.findall(r"\[([^\]]*)\]", low)
    return any(part in SECRET_NAMES for part in inner)


def redact_url(url: str | httpx.URL) -> str:
    """Return ``url`` as text with secret query values and signature-like path segments hidden."""
    text = str(url)
    parts = urlsplit(text)
    path = "/".join(
        REDACTED if _HEX_SEGMENT.match(segment) else segment for segment in parts.path.split("/")
    )
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if _is_secret(k) else v) for k, v in pairs], safe="[]*")
    netloc = parts.netloc
    if "@" in netloc:  # user:password@host
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def redact_mapping(
    values: Mapping[str, object] | Iterable[tuple[str, object]],
) -> dict[str, object]:
    """Copy form fields or headers with every secret value replaced by ``***``."""
    items = values.items() if isinstance(values, Mapping) else values
    return {k: (REDACTED if _is_secret(k) else v) for k, v in items}


def redact_text(text: str, secrets: Iterable[str | None]) -> str:
    """Replace each known secret value inside free text (an error message) with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def _configure_from_environment() -> None:
    level = os.environ.get("CRMKIT_LOG", "").strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING"}:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


_configure_from_environment()
