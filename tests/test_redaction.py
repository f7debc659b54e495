"""Secrets never reach logs, reprs or error messages."""

from __future__ import annotations

import logging

import httpx
import pytest

import crmkit

pytestmark = pytest.mark.anyio

SECRETS = {
    "apiKey": "rk_live_0123456789",
    "USER_HASH": "uh_abcdef123456",
    "accessKey": "ak_9876543210",
    "sessionName": "sess_1a2b3c4d5e",
    "access_token": "at_qwertyuiop",
    "refresh_token": "rt_asdfghjkl",
    "register[token]": "tok_zxcvbnm123",
}
SIGNATURE = "a" * 40  # Corezoid puts a sha1 hex signature in the path


async def test_debug_log_and_errors_hold_no_secret(caplog):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="nope")

    caplog.set_level(logging.DEBUG, logger="crmkit")
    headers = {"X-API-KEY": "hdr_key_777777", "Authorization": "Bearer bearer_888888"}
    async with crmkit.Session(
        "https://acme.example.test", transport=httpx.MockTransport(handler), headers=headers
    ) as session:
        with pytest.raises(crmkit.NotFoundError) as info:
            await session.request(
                "GET",
                f"/api/2/json/login/1700000000/{SIGNATURE}",
                params=SECRETS,
                headers={"Cookie": "session_id=cookie_999999"},
            )
    error_text = str(info.value) + repr(info.value)
    log_text = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET" in log_text and "404" in log_text  # the attempt was logged at DEBUG
    for text in (error_text, log_text):
        for secret in [
            *SECRETS.values(),
            SIGNATURE,
            "hdr_key_777777",
            "bearer_888888",
            "cookie_999999",
        ]:
            assert secret not in text
        assert "***" in text


def test_redact_url_keeps_what_is_not_secret():
    url = "https://a.example.test/api/v5/orders?limit=20&apiKey=k123456&filter[ids][]=5"
    redacted = crmkit.redact_url(url)
    assert "k123456" not in redacted
    assert "limit=20" in redacted and "filter[ids][]=5" in redacted
