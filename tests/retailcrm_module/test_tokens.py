"""The register token: vectors computed outside crmkit, and verification that never raises."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from crmkit.retailcrm.module import register_token, verify_register_token

API_KEY = "Xy9kLmN0pQrStUvWxYz1234567890ab"
SECRET = "partner-secret-7f3a"
# printf '%s' "$API_KEY" | openssl dgst -sha256 -hmac "$SECRET"
OPENSSL_HEX = "2d3470f26eee7505ae16473198cf06008dcd168400b7c616e3dec06195f2deff"
# the same for a non-ASCII key and secret (UTF-8 bytes)
OPENSSL_HEX_UTF8 = "eaa722c0a9fb8c2e985ce93e8e5c1565ce9a2f34e03dc7af7e220d9f31390d50"


def php_hash_hmac(api_key: str, secret: str) -> str:
    """PHP's hash_hmac('sha256', $apiKey, $secret), written with the standard library."""
    return hmac.new(secret.encode(), api_key.encode(), hashlib.sha256).hexdigest()


def test_token_matches_vectors_computed_outside_crmkit() -> None:
    assert register_token(API_KEY, SECRET) == OPENSSL_HEX
    assert register_token(API_KEY, SECRET) == php_hash_hmac(API_KEY, SECRET)
    assert register_token("ключ-апи", "секрет") == OPENSSL_HEX_UTF8


def test_token_is_keyed_by_the_secret_not_the_api_key() -> None:
    swapped = hmac.new(API_KEY.encode(), SECRET.encode(), hashlib.sha256).hexdigest()
    assert register_token(API_KEY, SECRET) != swapped


def test_verify_accepts_the_right_token_in_either_case() -> None:
    assert verify_register_token(API_KEY, OPENSSL_HEX, SECRET)
    assert verify_register_token(API_KEY, OPENSSL_HEX.upper(), SECRET)


@pytest.mark.parametrize(
    ("api_key", "token", "secret"),
    [
        (API_KEY + "x", OPENSSL_HEX, SECRET),  # tampered api key
        (API_KEY, OPENSSL_HEX, SECRET + "x"),  # another module's secret
        (API_KEY, OPENSSL_HEX[:-1] + "0", SECRET),  # one digit off
        (API_KEY, OPENSSL_HEX[:-2], SECRET),  # too short
        (API_KEY, OPENSSL_HEX + "00", SECRET),  # too long
        (API_KEY, "z" * 64, SECRET),  # not hex
        (API_KEY, "é" * 64, SECRET),  # not ASCII
        (API_KEY, "", SECRET),
        ("", php_hash_hmac("", SECRET), SECRET),  # an empty key is never valid
        (API_KEY, OPENSSL_HEX, ""),
        (None, OPENSSL_HEX, SECRET),
        (API_KEY, None, SECRET),
        (API_KEY, OPENSSL_HEX.encode(), SECRET),
        (API_KEY, OPENSSL_HEX, None),
        ("\ud800", OPENSSL_HEX, SECRET),  # not encodable as UTF-8
        ({"apiKey": API_KEY}, OPENSSL_HEX, SECRET),
    ],
)
def test_verify_is_false_for_anything_wrong_and_never_raises(
    api_key: object, token: object, secret: object
) -> None:
    assert verify_register_token(api_key, token, secret) is False


def test_register_token_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        register_token(API_KEY, "")
    with pytest.raises(TypeError):
        register_token(API_KEY, b"secret")  # type: ignore[arg-type]
