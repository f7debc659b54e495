"""CorezoidSandbox: an emulator of Corezoid's API v1/v2, Sync API and direct URLs.

Written from ``corezoid/documentation`` (``en/api/v2/spec.md``, ``en/api/v1/spec.md``,
``en/api/v2/tasks.md``, ``en/api/sync-api.md``, ``en/interface/tasks/direct_url.md``,
``en/api/node/list.md``) and ``corezoid/corezoid-ai-plugin``
``docs/corezoid-swagger.json``, never from crmkit's client:

- ``POST /api/{1|2}/json/{login}/{timestamp}/{signature}``: the login must
  exist, the timestamp be within ``max_clock_skew`` seconds of the sandbox
  clock, and the signature equal ``sha1(timestamp + secret + raw body +
  secret)``; otherwise 401. Both versions take many ops;
- a body that is not ``{"ops": [...]}`` answers ``request_proc: format_error``;
  more ops than ``max_ops_per_request`` answers ``request_proc: error``;
- task ops: create by ``conv_id`` or ``obj_alias`` (``ref`` unique among a
  process's tasks: a duplicate answers ``not unical ref``), modify and show
  by ``ref`` or ``obj_id``, delete by ``obj_id`` and ``node_id``; a task's
  ``task_history``; ``company_id`` must be the process's workspace
  ("Company of object do not matches companyId of request");
- listings: ``list folder`` (filter, sort, order), ``list``/``show conv``
  (nodes, details), ``list node`` (tasks, ``limit``/``offset``, ``count``);
- op answers carry the op's ``id`` (``""`` when it had none) and come back in a
  shuffled order; writes over ``op_rate_limit`` per second answer the op error
  ``Too many requests: limit is reached``; requests over ``rate_limit`` a 429;
  a share ``overloaded`` of requests a 503 with ``Retry-After``;
- the Sync API on its own path (``/sync-api/api/1/json/...``) or host
  (``sync-api.*``): ``{"timeout": s, "ops": [create]}`` answers the process's
  reply (``sync_handler``, after ``sync_delay`` seconds) as ``ops[0].data``
  with no op ``id``, or ``Timeout for create task`` once ``timeout`` passes;
- a process's direct URL (``/api/{1|2}/json/public/{conv_id}/{hash}``, no
  signature) takes a package of task creates or, as a bare object, one
  task's data;
- faults from :class:`crmkit.sandbox.FaultPlan`, dropped connections included.
"""

from ._app import CorezoidSandbox
from ._state import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, Folder, Node, Process

__all__ = [
    "DEFAULT_CONV",
    "DEFAULT_LOGIN",
    "DEFAULT_SECRET",
    "CorezoidSandbox",
    "Folder",
    "Node",
    "Process",
]
