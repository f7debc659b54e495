"""Reading the CRM's form bodies: both encodings, and the size cap that stops reading early."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from crmkit.retailcrm.module import BodyTooLarge, FormError, parse_form, read_limited


def test_urlencoded_form_with_json_field() -> None:
    body = b"register=%7B%22apiKey%22%3A%22k%C3%A9y%22%7D&clientId=abc"
    assert parse_form(body, "application/x-www-form-urlencoded; charset=utf-8") == {
        "register": '{"apiKey":"kéy"}',
        "clientId": "abc",
    }


def test_multipart_form_as_httpx_builds_it() -> None:
    request = httpx.Request(
        "POST",
        "https://module.example/register",
        data={"register[apiKey]": "key", "register[token]": "тoken"},
        files={"unused": ("a.txt", b"x")},
    )
    fields = parse_form(request.read(), request.headers["content-type"])
    assert fields["register[apiKey]"] == "key"
    assert fields["register[token]"] == "тoken"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"register": {}}', "application/json"),
        (b"register=%FF%FE", "application/x-www-form-urlencoded"),
        (b"no parts here", "multipart/form-data; boundary=xyz"),
    ],
)
def test_unreadable_bodies_are_form_errors(body: bytes, content_type: str) -> None:
    with pytest.raises(FormError):
        parse_form(body, content_type)


@pytest.mark.anyio
async def test_read_limited_stops_at_the_first_chunk_past_the_cap() -> None:
    pulled: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for index in range(1_000_000):
            pulled.append(index)
            yield b"x" * 1024

    with pytest.raises(BodyTooLarge) as caught:
        await read_limited(endless(), 4096)
    assert caught.value.limit == 4096
    assert len(pulled) == 5  # four chunks fit, the fifth passes the cap: nothing more is read


@pytest.mark.anyio
async def test_read_limited_joins_a_body_under_the_cap() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a=1"
        yield b"&b=2"

    assert await read_limited(chunks(), 7) == b"a=1&b=2"
