"""``verify_callback``: the ``conv_signature``/``conv_time`` Corezoid puts on its API calls.

Sources: ``corezoid/documentation`` ``en/api/upload_data/format_post_json.md``
(``http://my.api.com/getData?conv_signature={SIGNATURE}&conv_time={GMT_UNIXTIME}``,
the body with its ``sys`` block), ``en/interface/nodes/api/README.md`` (``conv_signature``
"formed according to" ``en/api/v1/spec.md``: ``hex(sha1(TIME + SECRET + CONTENT +
SECRET))``) and the shell recipe of ``en/api/v1/upload-modify.md`` (``echo -n
"${TIME}${CONV_USER_PASS}${JSON}${CONV_USER_PASS}" | openssl dgst -sha1``). The
documentation gives no worked example with values, so the known answer here is that
recipe run by ``sh`` and ``openssl`` over the documented body.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from fastapi import FastAPI, HTTPException, Request

from crmkit.corezoid import CallbackSignatureError, verify_callback

pytestmark = pytest.mark.anyio

SECRET = "node-key-5tT"
TIME = 1700000000
BODY = (
    '{"param1":"Value","param2":"Value","sys":{"ref":"130605",'
    '"obj_id":"53c29d228245aa58be013acf","conv_id":672,"node_id":"53c01daa8245aa58be00e889"}}'
)


def documented_recipe(time: int, secret: str, content: str) -> str:
    """upload-modify.md's shell line, run as written (with values instead of variables)."""
    script = "echo -n \"${TIME}${SECRET}${JSON}${SECRET}\" | openssl dgst -sha1 | awk '{print $NF}'"
    env = {"TIME": str(time), "SECRET": secret, "JSON": content, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_known_answer_from_the_documented_recipe():
    signature = documented_recipe(TIME, SECRET, BODY)
    assert len(signature) == 40
    query = {"conv_signature": signature, "conv_time": str(TIME)}
    verify_callback(BODY.encode(), query, SECRET, now=TIME + 5)
    with pytest.raises(CallbackSignatureError):
        verify_callback(BODY.replace("130605", "130606").encode(), query, SECRET, now=TIME)


def test_hand_computed_vector_and_every_way_it_fails():
    signature = hashlib.sha1(f"{TIME}{SECRET}{BODY}{SECRET}".encode()).hexdigest()
    good = {"conv_signature": signature, "conv_time": str(TIME), "conv_id": "672"}
    verify_callback(BODY, good, SECRET, now=TIME)
    verify_callback(BODY, {**good, "conv_signature": signature.upper()}, SECRET, now=TIME)
    verify_callback(BODY, {"Conv-Signature": signature, "Conv-Time": str(TIME)}, SECRET, now=TIME)
    failures = [
        (BODY + " ", good, SECRET, "does not match"),
        (BODY, good, "another-key", "does not match"),
        (BODY, {"conv_time": str(TIME)}, SECRET, "missing"),
        (BODY, {**good, "conv_time": "soon"}, SECRET, "unix seconds"),
    ]
    for body, query, secret, why in failures:
        with pytest.raises(CallbackSignatureError, match=why) as info:
            verify_callback(body, query, secret, now=TIME)
        assert signature not in str(info.value)
    with pytest.raises(CallbackSignatureError, match="away"):
        verify_callback(BODY, good, SECRET, now=TIME + 301)
    verify_callback(BODY, good, SECRET, now=TIME + 10**6, max_age=None)
    with pytest.raises(ValueError, match="secret"):
        verify_callback(BODY, good, "")


def test_a_get_call_is_signed_over_an_empty_body():
    signature = hashlib.sha1(f"{TIME}{SECRET}{SECRET}".encode()).hexdigest()
    verify_callback(b"", {"conv_signature": signature, "conv_time": str(TIME)}, SECRET, now=TIME)


def signed_url(path: str, body: str, now: int) -> str:
    signature = hashlib.sha1(f"{now}{SECRET}{body}{SECRET}".encode()).hexdigest()
    return f"{path}?conv_signature={signature}&conv_time={now}&conv_id=672"


async def test_the_readmes_fastapi_example():
    app = FastAPI()

    @app.post("/corezoid/hook")
    async def hook(request: Request) -> dict[str, str]:
        body = await request.body()
        try:
            verify_callback(body, request.query_params, SECRET)
        except CallbackSignatureError:
            raise HTTPException(status_code=401, detail="bad signature") from None
        return {"answerParam": "ok"}

    now = int(time.time())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        good = await client.post(signed_url("/corezoid/hook", BODY, now), content=BODY)
        forged = await client.post(signed_url("/corezoid/hook", BODY, now), content=BODY + "x")
    assert good.status_code == 200 and good.json() == {"answerParam": "ok"}
    assert forged.status_code == 401


async def test_the_readmes_aiohttp_example():
    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify_callback(body, request.query, SECRET)
        except CallbackSignatureError:
            raise web.HTTPUnauthorized() from None
        return web.json_response({"answerParam": "ok"})

    app = web.Application()
    app.router.add_post("/corezoid/hook", hook)
    now = int(time.time())
    async with TestClient(TestServer(app)) as client:
        good = await client.post(signed_url("/corezoid/hook", BODY, now), data=BODY)
        stale = await client.post(signed_url("/corezoid/hook", BODY, now - 3600), data=BODY)
        assert good.status == 200 and await good.json() == {"answerParam": "ok"}
        assert stale.status == 401
