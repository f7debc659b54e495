"""ASGI middleware answering a share of requests with an HTML 502 gateway page."""

from __future__ import annotations

import random
from typing import Any

PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>"
)


class HtmlGateway:
    def __init__(self, app: Any, share: float, seed: int) -> None:
        self.app = app
        self.share = share
        self.rng = random.Random(seed)
        self.sent = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.rng.random() < self.share:
            self.sent += 1
            headers = [
                (b"content-type", b"text/html"),
                (b"content-length", str(len(PAGE)).encode()),
            ]
            await send({"type": "http.response.start", "status": 502, "headers": headers})
            await send({"type": "http.response.body", "body": PAGE})
            return
        await self.app(scope, receive, send)
