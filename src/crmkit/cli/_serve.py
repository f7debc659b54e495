"""``crmkit sandbox serve``: one platform's sandbox on 127.0.0.1, for your own tests.

Also the one place the command line makes sandboxes (:func:`make_sandbox`),
which the demo uses too.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

import attrs

from ..sandbox import FaultPlan, Sandbox

__all__ = ["SandboxSetup", "make_sandbox", "serve_command"]

#: The platforms' own limits, requests per second (vtiger and Corezoid publish none).
REAL_RATE_LIMITS: dict[str, int | None] = {
    "amocrm": 7,
    "retailcrm": 10,
    "vtiger": None,
    "corezoid": None,
}


@attrs.frozen
class SandboxSetup:
    """A sandbox, the export options that reach it (test credentials), and how to say so."""

    platform: str
    sandbox: Sandbox
    #: ``crmkit export`` options, the URL excepted (known once served).
    options: dict[str, Any]
    entity: str


def make_sandbox(
    platform: str,
    *,
    records: int,
    rate_limit: float | None = None,
    faults: FaultPlan | str | None = None,
) -> SandboxSetup:
    """A seeded sandbox of ``platform``: its own rate limit unless ``rate_limit`` (0: none)."""
    limit = REAL_RATE_LIMITS[platform] if rate_limit is None else rate_limit
    limit_int = int(limit) if limit else None
    if platform == "amocrm":
        from ..amocrm.sandbox import AmoCRMSandbox

        amo = AmoCRMSandbox(
            leads=records, contacts=records // 10, rate_limit=limit_int, faults=faults
        )
        c = amo.credentials
        return SandboxSetup(platform, amo, {"token": c.access_token}, "leads")
    if platform == "retailcrm":
        from ..retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox

        crm = RetailCRMSandbox(
            orders=records, customers=records // 10, rate_limit=limit_int, faults=faults
        )
        return SandboxSetup(platform, crm, {"api_key": DEFAULT_API_KEY}, "orders")
    if platform == "vtiger":
        from ..vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

        vt = VtigerSandbox(leads=records, contacts=records // 10, faults=faults)
        options = {"username": DEFAULT_USER, "access_key": DEFAULT_ACCESS_KEY}
        return SandboxSetup(platform, vt, options, "Leads")
    if platform == "corezoid":
        from ..corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox

        cz = CorezoidSandbox(rate_limit=limit_int, faults=faults)
        options = {
            "api_login": DEFAULT_LOGIN,
            "secret": DEFAULT_SECRET,
            "conv_id": str(DEFAULT_CONV),
        }
        return SandboxSetup(platform, cz, options, "tasks")
    raise ValueError(f"unknown platform {platform!r}")


def serve_command(args: argparse.Namespace) -> int:
    setup = make_sandbox(
        args.platform, records=args.records, rate_limit=args.rate_limit, faults=args.faults
    )
    options = dict(setup.options)
    if args.platform == "corezoid":
        # Tasks to export, and the node they rest in: `export corezoid tasks` lists a node.
        from ..corezoid.sandbox import DEFAULT_CONV, CorezoidSandbox

        assert isinstance(setup.sandbox, CorezoidSandbox)
        for n in range(args.records):
            setup.sandbox.add_task(data={"n": n}, ref=f"sandbox-task-{n}")
        options["node"] = setup.sandbox.processes[DEFAULT_CONV].final_node
    served = setup.sandbox.serve(port=args.port)
    try:
        flags = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in options.items())
        limit = getattr(getattr(setup.sandbox, "limiter", None), "limit", None)
        print(f"{args.platform} sandbox serving at {served.url}")
        print(f"  rate limit: {limit or 'none'}; records: {args.records}")
        for key, value in options.items():
            print(f"  {key}: {value}")
        print(f"  try: crmkit export {args.platform} {setup.entity} --url {served.url} {flags}")
        print("Ctrl-C stops it.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        served.stop()
    return 0
