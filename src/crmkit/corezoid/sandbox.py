"""CorezoidSandbox: an emulator of Corezoid API v2, written from the seed and api-notes.md.

- ``POST /api/2/json/{login}/{timestamp}/{signature}``: the login must exist, the
  timestamp be within ``max_clock_skew`` seconds of the sandbox clock, and the
  signature equal ``sha1(timestamp + secret + raw body + secret)``; otherwise 401;
- a body that is not ``{"ops": [...]}`` answers ``request_proc: format_error``;
  more ops than ``max_ops_per_request`` answers ``request_proc: error``;
- task ops on processes (convs): create (``ref`` unique among a process's
  tasks: a duplicate answers ``not unical ref``), modify and show by ``ref`` or
  ``obj_id``, delete by ``obj_id`` and ``node_id``;
- op answers carry the op's ``id`` (``""`` when it had none) and come back in a
  shuffled order; writes over ``op_rate_limit`` per second answer the op error
  ``Too many requests: limit is reached``;
- the Sync API (``/api/1/json/...`` with ``timeout``) answers the process's
  result in ``ops[0].data``; a process's direct URL
  (``/api/2/json/public/{conv_id}/{hash}``) takes a task with no signature;
- faults from :class:`crmkit.sandbox.FaultPlan`, dropped connections included.
"""

from __future__ import annotations

import hmac
import random
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson

from ..sandbox import Sandbox, SlidingWindowLimiter, Verdict
from ..sandbox._faults import ASGIApp
from ._wire import sign

__all__ = ["DEFAULT_LOGIN", "DEFAULT_SECRET", "CorezoidSandbox", "Process"]

DEFAULT_LOGIN = "100001"
DEFAULT_SECRET = "sandbox-corezoid-secret"
DEFAULT_CONV = 1234


@attrs.define
class Process:
    """A process (conv) and its tasks, by ref and by obj_id."""

    conv_id: int
    direct_hash: str = attrs.Factory(lambda: secrets.token_hex(20))
    tasks: dict[str, dict[str, Any]] = attrs.Factory(dict)  # obj_id -> task
    by_ref: dict[str, str] = attrs.Factory(dict)  # ref -> obj_id

    @property
    def start_node(self) -> str:
        return f"node-{self.conv_id}-start"


class CorezoidSandbox(Sandbox):
    """Corezoid API keys and processes in memory."""

    def __init__(
        self,
        *,
        logins: Mapping[str, str] | None = None,
        convs: tuple[int, ...] = (DEFAULT_CONV,),
        max_ops_per_request: int | None = None,
        op_rate_limit: int | None = None,
        max_clock_skew: float = 300.0,
        rate_limit: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        sync_handler: Callable[[int, dict[str, Any]], Any] | None = None,
        sync_delay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.logins = dict(logins or {DEFAULT_LOGIN: DEFAULT_SECRET})
        self.processes = {conv_id: Process(conv_id) for conv_id in convs}
        self.max_ops_per_request = max_ops_per_request
        self.op_limiter = SlidingWindowLimiter(op_rate_limit) if op_rate_limit else None
        self.limiter = SlidingWindowLimiter(rate_limit) if rate_limit else None
        self.max_clock_skew = max_clock_skew
        self.shuffle = shuffle
        self._rng = random.Random(seed)
        self.sync_handler = sync_handler or (lambda conv_id, data: {**data, "processed": True})
        self.sync_delay = sync_delay
        self.ops_seen = 0
        self.http_429 = 0

    def tasks(self, conv_id: int = DEFAULT_CONV) -> dict[str, dict[str, Any]]:
        """The tasks of a process, by obj_id."""
        return self.processes[conv_id].tasks

    # -- HTTP --------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        def reply(body: dict[str, Any], status: int = 200) -> Response:
            return Response(orjson.dumps(body), status, media_type="application/json")

        def refuse(description: str) -> Response:
            return reply({"request_proc": "error", "description": description}, 401)

        async def signed(request: Request) -> Response:
            params = request.path_params
            login, stamp, signature = params["login"], params["timestamp"], params["signature"]
            body = await request.body()
            secret = self.logins.get(login)
            if secret is None:
                return refuse("Unknown API login")
            try:
                timestamp = int(stamp)
            except ValueError:
                return refuse("Timestamp must be integer unix seconds")
            if abs(timestamp - self.clock.now()) > self.max_clock_skew:
                return refuse("Timestamp is too far from the server's time")
            if not hmac.compare_digest(sign(timestamp, secret, body), signature.lower()):
                return refuse("Bad signature")
            if self.limiter is not None and self.limiter.hit(login) is not Verdict.ALLOWED:
                self.http_429 += 1
                return Response(b"Too Many Requests", 429, media_type="text/plain")
            try:
                package = orjson.loads(body)
            except orjson.JSONDecodeError:
                package = None
            if not isinstance(package, dict) or not isinstance(package.get("ops"), list):
                return reply({"request_proc": "format_error", "ops": []})
            ops = package["ops"]
            if self.max_ops_per_request is not None and len(ops) > self.max_ops_per_request:
                return reply(
                    {
                        "request_proc": "error",
                        "description": f"Too many ops in one request: limit is "
                        f"{self.max_ops_per_request}",
                        "ops": [],
                    }
                )
            if is_sync(request):
                return reply(await self._sync(package, login))
            answers = [self._run(op, login) for op in ops]
            if self.shuffle:
                self._rng.shuffle(answers)
            return reply({"request_proc": "ok", "ops": answers})

        def is_sync(request: Request) -> bool:
            host = request.headers.get("host", "")
            return request.url.path.startswith("/sync-api/") or host.startswith("sync-api.")

        async def direct(request: Request) -> Response:
            try:
                conv_id = int(request.path_params["conv_id"])
            except ValueError:
                conv_id = -1
            process = self.processes.get(conv_id)
            if process is None or not hmac.compare_digest(
                process.direct_hash, request.path_params["hash"]
            ):
                return reply({"request_proc": "error", "description": "Bad direct URL"}, 403)
            try:
                data = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                data = None
            if not isinstance(data, dict):
                return reply({"request_proc": "format_error", "ops": []})
            answer = self._run({"type": "create", "obj": "task", "conv_id": conv_id, "data": data})
            return reply({"request_proc": "ok", "ops": [answer]})

        return Starlette(
            routes=[
                Route("/api/2/json/public/{conv_id}/{hash}", direct, methods=["POST"]),
                Route(
                    "/api/{version:int}/json/{login}/{timestamp}/{signature}",
                    signed,
                    methods=["POST"],
                ),
                Route(
                    "/sync-api/api/1/json/{login}/{timestamp}/{signature}",
                    signed,
                    methods=["POST"],
                ),
            ]
        )

    async def _sync(self, package: dict[str, Any], login: str) -> dict[str, Any]:
        """The Sync API (``en/api/sync-api.md``): one task create, answered with the
        process's reply and no op ``id``; "Timeout for create task" after ``timeout``."""
        import asyncio

        op = package["ops"][0] if package["ops"] else {}
        if not isinstance(op, dict) or op.get("type") != "create" or op.get("obj") != "task":
            return {"request_proc": "ok", "ops": [{"proc": "error", "description": "bad op"}]}
        created = self._run({k: v for k, v in op.items() if k != "id"}, login)
        if created["proc"] != "ok":
            return {"request_proc": "ok", "ops": [created]}
        timeout = package.get("timeout", 60)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            timeout = 60
        if self.sync_delay > timeout:
            await asyncio.sleep(timeout)
            failed = {"proc": "error", "description": "Timeout for create task"}
            return {"request_proc": "ok", "ops": [failed]}
        await asyncio.sleep(self.sync_delay)
        reply = self.sync_handler(int(op.get("conv_id", 0)), dict(op.get("data") or {}))
        return {"request_proc": "ok", "ops": [{"proc": "ok", "data": reply}]}

    # -- ops ---------------------------------------------------------------

    def _run(self, op: Any, login: str = "") -> dict[str, Any]:
        self.ops_seen += 1
        if not isinstance(op, dict):
            return {"id": "", "proc": "error", "description": "an op must be an object"}
        base = {"id": op.get("id", ""), "obj": op.get("obj")}
        if op.get("obj") != "task":
            return {**base, "proc": "error", "description": f"unsupported obj {op.get('obj')!r}"}
        kind = op.get("type")
        limiter = self.op_limiter if kind in ("create", "modify") else None
        if limiter is not None and limiter.hit(login) is not Verdict.ALLOWED:
            return {
                **base,
                "proc": "error",
                "description": "Too many requests: limit is reached",
            }
        try:
            process = self.processes.get(int(op.get("conv_id", "")))
        except (TypeError, ValueError):
            process = None
        if process is None:
            return {**base, "proc": "error", "description": "conv_id not found"}
        handler = {"create": self._create, "modify": self._modify, "show": self._show}
        if kind == "delete":
            return self._delete(process, op, base)
        if kind not in handler:
            return {**base, "proc": "error", "description": f"unsupported type {kind!r}"}
        return handler[kind](process, op, base)

    def _create(self, process: Process, op: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        ref = op.get("ref")
        if ref is not None:
            ref = str(ref)
            if not 1 <= len(ref) <= 255:
                return {**base, "proc": "error", "description": "ref must be 1 to 255 characters"}
            if ref in process.by_ref:
                return {**base, "ref": ref, "proc": "error", "description": "not unical ref"}
        data = op.get("data")
        if data is not None and not isinstance(data, dict):
            return {**base, "proc": "error", "description": "data must be an object"}
        obj_id = secrets.token_hex(12)
        task = {
            "obj_id": obj_id,
            "ref": ref,
            "data": dict(data or {}),
            "node_id": process.start_node,
            "create_time": int(self.clock.now()),
        }
        process.tasks[obj_id] = task
        if ref is not None:
            process.by_ref[ref] = obj_id
        return {**base, "obj_id": obj_id, "ref": ref or "", "proc": "ok"}

    def _find(self, process: Process, op: dict[str, Any]) -> dict[str, Any] | None:
        if op.get("obj_id") is not None:
            return process.tasks.get(str(op["obj_id"]))
        if op.get("ref") is not None:
            obj_id = process.by_ref.get(str(op["ref"]))
            return process.tasks.get(obj_id) if obj_id else None
        return None

    def _modify(self, process: Process, op: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        task = self._find(process, op)
        if task is None:
            return {**base, "proc": "obj_id_not_found"}
        if not isinstance(op.get("data"), dict):
            return {**base, "proc": "error", "description": "data must be an object"}
        task["data"].update(op["data"])
        return {**base, "obj_id": task["obj_id"], "ref": task["ref"] or "", "proc": "ok"}

    def _show(self, process: Process, op: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        task = self._find(process, op)
        if task is None:
            return {**base, "proc": "obj_id_not_found"}
        return {
            **base,
            "obj_id": task["obj_id"],
            "ref": task["ref"] or "",
            "data": task["data"],
            "node_id": task["node_id"],
            "proc": "ok",
        }

    def _delete(self, process: Process, op: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        if op.get("obj_id") is None or op.get("node_id") is None:
            return {**base, "proc": "error", "description": "delete needs obj_id and node_id"}
        task = process.tasks.get(str(op["obj_id"]))
        if task is None or task["node_id"] != op["node_id"]:
            return {**base, "proc": "obj_id_not_found"}
        del process.tasks[task["obj_id"]]
        if task["ref"] is not None:
            process.by_ref.pop(task["ref"], None)
        return {**base, "obj_id": task["obj_id"], "proc": "ok"}
