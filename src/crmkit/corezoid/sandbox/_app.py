"""CorezoidSandbox: the app, its routes, the Sync API and the dispatch of ops."""

from __future__ import annotations

import asyncio
import hmac
import random
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ...sandbox import Sandbox, SlidingWindowLimiter, Verdict
from ...sandbox._faults import ASGIApp
from .._wire import sign
from ._objects import ObjectOps, _wrong_company
from ._state import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, Folder, Process
from ._tasks import TaskOps

__all__ = ["CorezoidSandbox"]

Answer = dict[str, Any]

#: The ops on a process (named by ``conv_id``/``obj_alias``, or a conv's ``obj_id``).
_PROCESS_OPS: dict[tuple[str, str], Callable[[Any, Process, Answer, Answer], Answer]] = {
    ("create", "task"): TaskOps._task_create,
    ("modify", "task"): TaskOps._task_modify,
    ("show", "task"): TaskOps._task_show,
    ("delete", "task"): TaskOps._task_delete,
    ("list", "task_history"): TaskOps._task_history,
    ("list", "conv"): ObjectOps._conv_list,
    ("show", "conv"): ObjectOps._conv_show,
    ("list", "node"): ObjectOps._node_list,
}


class CorezoidSandbox(TaskOps, ObjectOps, Sandbox):
    """Corezoid API keys, folders and processes in memory (see the package docstring)."""

    def __init__(
        self,
        *,
        logins: Mapping[str, str] | None = None,
        convs: tuple[int, ...] = (DEFAULT_CONV,),
        max_ops_per_request: int | None = None,
        op_rate_limit: int | None = None,
        max_clock_skew: float = 300.0,
        rate_limit: int | None = None,
        overloaded: float = 0.0,
        overload_retry_after: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        sync_handler: Callable[[int, dict[str, Any]], Any] | None = None,
        sync_delay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.logins = dict(logins or {DEFAULT_LOGIN: DEFAULT_SECRET})
        self.folders: dict[int, Folder] = {0: Folder(0, "Root folder")}
        self.processes: dict[int, Process] = {}
        self.aliases: dict[str, int] = {}
        for conv_id in convs:
            self.add_process(conv_id)
        self.max_ops_per_request = max_ops_per_request
        self.op_limiter = SlidingWindowLimiter(op_rate_limit) if op_rate_limit else None
        self.limiter = SlidingWindowLimiter(rate_limit) if rate_limit else None
        self.overloaded = overloaded
        self.overload_retry_after = overload_retry_after
        self.max_clock_skew = max_clock_skew
        self.shuffle = shuffle
        self._rng = random.Random(seed)
        self.sync_handler = sync_handler or (lambda conv_id, data: {**data, "processed": True})
        self.sync_delay = sync_delay
        self.ops_seen = 0
        self.http_429 = 0
        self.http_503 = 0

    # -- seeding -------------------------------------------------------------

    def add_folder(
        self, title: str, *, parent_id: int = 0, company_id: str | None = None
    ) -> Folder:
        """A new folder in ``parent_id`` (0: the root)."""
        folder = Folder(max(self.folders) + 1, title, parent_id, company_id, self.clock.now_int())
        self.folders[folder.folder_id] = folder
        return folder

    def add_process(
        self,
        conv_id: int,
        title: str = "",
        *,
        folder_id: int = 0,
        company_id: str | None = None,
        alias: str | None = None,
        project_id: int = 0,
        stage_id: int = 0,
    ) -> Process:
        """A new process (start and final nodes); ``alias`` names it for ``obj_alias``."""
        process = Process(
            conv_id,
            title,
            folder_id=folder_id,
            company_id=company_id,
            project_id=project_id,
            stage_id=stage_id,
            create_time=self.clock.now_int(),
        )
        self.processes[conv_id] = process
        if alias is not None:
            self.aliases[alias] = conv_id
        return process

    def add_task(
        self,
        conv_id: int = DEFAULT_CONV,
        data: Mapping[str, Any] | None = None,
        ref: str | None = None,
    ) -> dict[str, Any]:
        """Seed a task as a create op would make it (in the final node); the task."""
        answer = self._task_create(
            self.processes[conv_id], {"ref": ref, "data": dict(data or {})}, {}
        )
        if answer["proc"] != "ok":
            raise ValueError(f"cannot seed the task: {answer.get('description')}")
        return self.processes[conv_id].tasks[answer["obj_id"]]

    def tasks(self, conv_id: int = DEFAULT_CONV) -> dict[str, dict[str, Any]]:
        """The tasks of a process, by obj_id."""
        return self.processes[conv_id].tasks

    # -- HTTP --------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        def reply(body: Answer, status: int = 200) -> Response:
            return Response(orjson.dumps(body), status, media_type="application/json")

        def refuse(description: str) -> Response:
            return reply({"request_proc": "error", "description": description}, 401)

        def read_package(body: bytes) -> Any:
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                return None

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
            if self.overloaded and self._rng.random() < self.overloaded:
                self.http_503 += 1
                headers = {"Retry-After": str(self.overload_retry_after)}
                return Response(b"Service Unavailable", 503, headers, media_type="text/html")
            package = read_package(body)
            if not isinstance(package, dict) or not isinstance(package.get("ops"), list):
                return reply({"request_proc": "format_error", "ops": []})
            ops = package["ops"]
            if self.max_ops_per_request is not None and len(ops) > self.max_ops_per_request:
                limit = self.max_ops_per_request
                message = f"Too many ops in one request: limit is {limit}"
                return reply({"request_proc": "error", "description": message, "ops": []})
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
            package = read_package(await request.body())
            if not isinstance(package, dict):
                return reply({"request_proc": "format_error", "ops": []})
            if not isinstance(package.get("ops"), list):  # the body is the task's data
                package = {"ops": [{"type": "create", "obj": "task", "data": package}]}
            answers = [self._direct_op(process, op) for op in package["ops"]]
            return reply({"request_proc": "ok", "ops": answers})

        signed_path = "/api/{version:int}/json/{login}/{timestamp}/{signature}"
        return Starlette(
            routes=[
                Route("/api/{version:int}/json/public/{conv_id}/{hash}", direct, methods=["POST"]),
                Route(signed_path, signed, methods=["POST"]),
                Route("/sync-api" + signed_path, signed, methods=["POST"]),
            ]
        )

    def _direct_op(self, process: Process, op: Any) -> Answer:
        """One op posted to a process's direct URL: a task create in that process."""
        if not isinstance(op, dict) or op.get("type") != "create" or op.get("obj") != "task":
            base = {"id": op.get("id", "") if isinstance(op, dict) else ""}
            return {**base, "proc": "error", "description": "a direct URL takes task creates"}
        if str(op.get("conv_id", process.conv_id)) != str(process.conv_id):
            description = "conv_id does not match the direct URL"
            return {"id": op.get("id", ""), "proc": "error", "description": description}
        create = {**op, "conv_id": process.conv_id, "company_id": process.company_id}
        return self._run(create)

    async def _sync(self, package: Answer, login: str) -> Answer:
        """The Sync API (``en/api/sync-api.md``): one task create, answered with the
        process's reply and no op ``id``; "Timeout for create task" after ``timeout``."""
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
        conv_id = self._process_for(op)
        data = dict(op.get("data") or {})
        answer = self.sync_handler(conv_id.conv_id if conv_id else 0, data)
        return {"request_proc": "ok", "ops": [{"proc": "ok", "data": answer}]}

    # -- ops ---------------------------------------------------------------

    def _process_for(self, op: Answer) -> Process | None:
        """The process an op names (``conv_id`` or ``obj_alias``), in the stage it names."""
        if op.get("obj_alias") is not None:
            conv_id = self.aliases.get(str(op["obj_alias"]))
            process = self.processes.get(conv_id) if conv_id is not None else None
        else:
            try:
                process = self.processes.get(int(op.get("conv_id", "")))
            except (TypeError, ValueError):
                return None
        for key in ("project_id", "stage_id"):
            given = op.get(key)
            if (
                process is not None
                and given is not None
                and str(given) != str(getattr(process, key))
            ):
                return None
        return process

    def _run(self, op: Any, login: str = "") -> Answer:
        self.ops_seen += 1
        if not isinstance(op, dict):
            return {"id": "", "proc": "error", "description": "an op must be an object"}
        base = {"id": op.get("id", ""), "obj": op.get("obj")}
        kind, obj = op.get("type"), op.get("obj")
        company = op.get("company_id")
        if obj == "folder" and kind == "list":
            return self._folder_list(op, base, company)
        limiter = self.op_limiter if obj == "task" and kind in ("create", "modify") else None
        if limiter is not None and limiter.hit(login) is not Verdict.ALLOWED:
            return {
                **base,
                "proc": "error",
                "description": "Too many requests: limit is reached",
            }
        handler = _PROCESS_OPS.get((str(kind), str(obj)))
        if handler is None:
            return {**base, "proc": "error", "description": f"unsupported op {kind!r} on {obj!r}"}
        where = op if obj != "conv" else {**op, "conv_id": op.get("obj_id")}
        process = self._process_for(where)
        if process is None:
            found = "obj_alias" if where.get("obj_alias") is not None else "conv_id"
            return {**base, "proc": "error", "description": f"{found} not found"}
        if process.company_id != company:
            return {**base, **_wrong_company()}
        return handler(self, process, op, base)
