"""Reading the small forms the CRM posts to a module: size-capped, framework-free.

The CRM posts ``application/x-www-form-urlencoded`` bodies (``multipart/form-data``
is accepted too) of a few hundred bytes. :func:`read_limited` reads a body from
any async byte stream and stops as soon as it passes the cap, so an oversized
body is refused without being held in memory; :func:`parse_form` turns the
bytes into ``{name: value}`` (the last value wins when a name repeats, as in PHP).

What it is not: a general form library. File uploads, nested structures and
character sets other than UTF-8 are not supported, because the CRM sends none.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import AsyncIterable
from urllib.parse import parse_qsl

__all__ = ["DEFAULT_MAX_BODY_SIZE", "BodyTooLarge", "FormError", "parse_form", "read_limited"]

#: Bodies above this many bytes are refused (a real register request is well under 1 KiB).
DEFAULT_MAX_BODY_SIZE = 64 * 1024


class FormError(ValueError):
    """The body is not a form this module can read."""


class BodyTooLarge(FormError):
    """The body is larger than the cap; it was not read in full."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


def check_declared_length(content_length: str | None, limit: int) -> None:
    """Refuse a body whose ``Content-Length`` already says it is too large."""
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise FormError("the Content-Length header is not a number") from None
    if declared > limit:
        raise BodyTooLarge(limit)


async def read_limited(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """Join ``chunks`` into one body, raising :class:`BodyTooLarge` once it passes ``limit``."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


def parse_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """Parse a urlencoded or multipart form body into ``{name: value}``.

    Raises :class:`FormError` for any other content type or an unreadable body.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise FormError("the form is not valid UTF-8 urlencoded text") from None
        return dict(pairs)
    if media == "multipart/form-data":
        return _parse_multipart(body, content_type or "")
    raise FormError(f"expected a form, got {media!r}")


def _parse_multipart(body: bytes, content_type: str) -> dict[str, str]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise FormError("the multipart form has no parts (is the boundary right?)")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        try:
            fields[name] = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError(f"form field {name!r} is not UTF-8 text") from None
    return fields
