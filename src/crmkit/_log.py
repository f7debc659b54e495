"""The ``crmkit`` logger and the redaction of secrets.

Every line crmkit logs and every URL an exception carries passes through
:func:`redact_url` first. Secret query values and form fields (API keys, hashes,
access keys, session names, tokens) become ``***``, and so do long hexadecimal
path segments (Corezoid's request signatures and direct-URL hashes). Secret
headers (``X-API-KEY``, ``Authorization``, ``Cookie``) are never logged at all.

httpx and httpcore log too, outside crmkit's control: httpx prints every
request URL at INFO (vtiger's ``sessionName``, Corezoid's path signature),
httpcore every response header at DEBUG (amoCRM's ``Set-Cookie: session_id``)
and h11's refusals with the header value. Importing crmkit installs a
:class:`RedactingFilter` on those loggers (:func:`install_log_redaction`); add
one to your own handlers too (``handler.addFilter(crmkit.RedactingFilter())``)
to cover records from any other library.

Credentials become headers only through :func:`clean_header_value`: surrounding
whitespace (a trailing newline from a file or an environment variable) is
stripped and a control character inside is refused, naming the header, never
showing the value.

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

__all__ = [
    "SECRET_NAMES",
    "RedactingFilter",
    "clean_header_value",
    "clean_headers",
    "install_log_redaction",
    "logger",
    "redact_log_text",
    "redact_mapping",
    "redact_text",
    "redact_url",
    "secret_values",
]

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


def secret_values(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[str]:
    """The values of the secret-named headers or fields among ``pairs``."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [value for name, value in items if _is_secret(name)]


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


_URL_IN_TEXT = re.compile(r"""https?://[^\s'"<>]+""")
# httpcore's traces print header lists as ``(b'name', b'value')`` pairs.
_HEADER_PAIR = re.compile(r"""\((b?)(['"])([^'"]+)\2, b?(['"])(.*?)\4\)""")
# h11's refusal of a header quotes the value: ``Illegal header value b'key\n'``.
_ILLEGAL_HEADER = re.compile(r"(Illegal header (?:value|name) ).*", re.DOTALL)
_BEARER = re.compile(r"(Bearer )[^\s'\",)]+", re.IGNORECASE)
# ``session_id=...`` or ``sessionName=...`` wherever it appears (a cookie, a form body).
_SECRET_ASSIGNMENT = re.compile(r"\b([A-Za-z_][\w\[\]-]*)=([^\s&;,'\")]+)")


def redact_log_text(text: str) -> str:
    """Hide what looks secret in free text: URLs' secrets, secret headers, Bearer tokens."""
    text = _ILLEGAL_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    text = _HEADER_PAIR.sub(
        lambda m: (
            f"({m.group(1)}{m.group(2)}{m.group(3)}{m.group(2)}, "
            f"{m.group(1)}{m.group(4)}{REDACTED}{m.group(4)})"
            if _is_secret(m.group(3))
            else m.group(0)
        ),
        text,
    )
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_ASSIGNMENT.sub(
        lambda m: f"{m.group(1)}={REDACTED}" if _is_secret(m.group(1)) else m.group(0), text
    )


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that rewrites each record's message through :func:`redact_log_text`.

    Installed on httpx's and httpcore's loggers when crmkit is imported; add it to
    a handler to cover every logger that handler serves. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: leave it to logging
            return True
        redacted = redact_log_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


#: Loggers of the libraries under crmkit that print URLs or headers.
THIRD_PARTY_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack.hpack",
    "hpack.table",
)


def install_log_redaction(names: Iterable[str] = THIRD_PARTY_LOGGERS) -> None:
    """Put a :class:`RedactingFilter` on each named logger (once; idempotent).

    A logger's filters see only the records logged to that very logger, not its
    children's, hence the explicit list.
    """
    for name in names:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


def clean_header_value(name: str, value: str) -> str:
    """``value`` without surrounding whitespace; ValueError naming ``name`` if it cannot be sent.

    A credential read from a file or an environment variable often ends in a
    newline; h11 would refuse the header and quote the value in its error.
    The message never contains the value.
    """
    if not isinstance(value, str):
        raise TypeError(f"header {name!r} must be text, not {type(value).__name__}")
    cleaned = value.strip()
    what = f"header {name!r}" + (" (a credential)" if _is_secret(name) else "")
    if not cleaned and value:
        raise ValueError(f"{what} is only whitespace")
    for char in cleaned:
        code = ord(char)
        if (code < 0x20 and char != "\t") or code == 0x7F:
            raise ValueError(f"{what} holds a line break or another control character")
        if code > 0xFF:
            raise ValueError(f"{what} holds a character HTTP headers cannot carry (not Latin-1)")
    return cleaned


def clean_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Every value through :func:`clean_header_value`."""
    return {name: clean_header_value(name, value) for name, value in (headers or {}).items()}


def _configure_from_environment() -> None:
    level = os.environ.get("CRMKIT_LOG", "").strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING"}:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


_configure_from_environment()
install_log_redaction()
