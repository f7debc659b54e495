"""CPU per request: crmkit Session vs bare httpx, same loopback server, JSON decoded on both sides.

Figure to beat (design.md): crmkit within 1.25x of bare httpx. Also shows what
the JSON decode costs with the standard library and with orjson, which is why
crmkit decodes with orjson.

    python benchmarks/bench_overhead.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
import crmkit
from _common import served_in_subprocess, table
from crmkit._json import response_json

# A static JSON answer of a realistic page size (50 records of ~20 fields).
SERVER = """
import json, socket, uvicorn
record = {f"field_{i}": (f"value {i}" if i % 2 else i) for i in range(20)}
body = json.dumps({"items": [dict(record, id=n) for n in range(50)], "next": None}).encode()
headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off")
uvicorn.Server(config).run(sockets=[sock])
"""


async def bare_httpx(url: str, n: int, decode) -> float:
    async with httpx.AsyncClient(base_url=url) as client:
        await client.get("/items")  # warm the connection
        start = time.process_time()
        for _ in range(n):
            response = await client.get("/items", params={"page": 1})
            response.raise_for_status()
            decode(response.content)
        return (time.process_time() - start) / n


async def through_crmkit(url: str, n: int) -> float:
    async with crmkit.Session(url, allow_insecure_http=True) as session:
        await session.request("GET", "/items")
        start = time.process_time()
        for _ in range(n):
            response = await session.request("GET", "/items", params={"page": 1})
            response_json(response)
        return (time.process_time() - start) / n


async def main(n: int) -> None:
    with served_in_subprocess(SERVER) as url:
        # Interleave the runs so that drift in machine load hits both sides alike.
        results: dict[str, list[float]] = {"httpx+json": [], "httpx+orjson": [], "crmkit": []}
        for _ in range(3):
            results["httpx+json"].append(await bare_httpx(url, n, json.loads))
            results["httpx+orjson"].append(await bare_httpx(url, n, orjson.loads))
            results["crmkit"].append(await through_crmkit(url, n))
    best = {name: min(values) * 1e6 for name, values in results.items()}
    base = best["httpx+json"]
    rows = [("client", "CPU us/request (best of 3)", "ratio to bare httpx + json.loads")]
    for name, value in best.items():
        rows.append((name, f"{value:.0f}", f"{value / base:.2f}x"))
    print(f"\nOverhead: {n} sequential GETs of a 50-record JSON page over loopback\n")
    print(table(rows))
    ratio = best["crmkit"] / base
    print(
        f"\ncrmkit / bare httpx (stdlib json): {ratio:.2f}x  (target <= 1.25x: "
        f"{'met' if ratio <= 1.25 else 'NOT met'})"
    )
    print(f"crmkit / bare httpx (orjson):      {best['crmkit'] / best['httpx+orjson']:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
