"""The ``crmkit`` command: ``export``, ``sync``, ``demo`` and ``sandbox serve`` (extra ``cli``).

``crmkit export PLATFORM ENTITY`` pulls every record of one account into
JSON Lines, and with ``--state FILE`` only what changed the next time;
``--config FILE.toml`` runs many exports at once, each account within its own
rate limit. ``crmkit sync PLATFORM`` loads accounts into a database (DuckDB
by default, any dlt destination) and keeps it current. ``crmkit demo`` does
all of it against the built-in sandboxes;
``crmkit sandbox serve`` serves one sandbox for your own tests.

Exit codes: 0 success; 2 bad usage; 3 authentication refused; 4 permission
denied or the account blocked; 5 rate limited beyond the retries; 6 another
API error; 7 no answer (network); 8 an answer crmkit could not read; 9 a
state, output or config file that cannot be used; 130 interrupted (run the same
command again to resume); 1 anything else (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import (
    APIError,
    AuthenticationError,
    CRMError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    TransportError,
)

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_PERMISSION = 4
EXIT_RATE_LIMITED = 5
EXIT_API = 6
EXIT_NETWORK = 7
EXIT_PROTOCOL = 8
EXIT_FILES = 9
EXIT_INTERRUPTED = 130


def exit_code_for(exc: BaseException) -> int:
    """The exit code that names what went wrong."""
    from ._export import StateError
    from ._sources import SpecError

    table: list[tuple[type[BaseException], int]] = [
        (AuthenticationError, EXIT_AUTH),
        (PermissionDeniedError, EXIT_PERMISSION),
        (RateLimitError, EXIT_RATE_LIMITED),
        (APIError, EXIT_API),
        (TransportError, EXIT_NETWORK),
        (ProtocolError, EXIT_PROTOCOL),
        (CRMError, EXIT_API),
        (StateError, EXIT_FILES),
        (SpecError, EXIT_USAGE),
        (OSError, EXIT_FILES),
        (KeyboardInterrupt, EXIT_INTERRUPTED),
    ]
    for cls, code in table:
        if isinstance(exc, cls):
            return code
    return EXIT_FAILURE


def _add_export(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="export one entity of one account (or many, with --config) to JSON Lines",
        description=(
            "Export every record of an entity to JSON Lines; with --state, resume after an "
            "interruption and, once finished, export only what changed on the next run. "
            "Credentials may come from environment variables (CRMKIT_AMOCRM_TOKEN, "
            "CRMKIT_RETAILCRM_API_KEY, CRMKIT_VTIGER_ACCESS_KEY, CRMKIT_COREZOID_SECRET ...) "
            "so that they stay out of process lists; they are never printed."
        ),
    )
    export.add_argument("platform", nargs="?", help="amocrm, retailcrm, vtiger or corezoid")
    export.add_argument(
        "entity",
        nargs="?",
        help=(
            "amocrm: leads contacts companies customers tasks notes; retailcrm: customers "
            "customers-corporate orders orders-history customers-history; vtiger: a module "
            "(Leads, Contacts ...); corezoid: tasks"
        ),
    )
    export.add_argument("--config", type=Path, help="a TOML file of [[export]] tables")
    export.add_argument("--out", type=Path, help="JSON Lines file (default: stdout)")
    export.add_argument("--state", type=Path, help="state file: resume and incremental runs")
    where = export.add_argument_group("the account")
    where.add_argument("--url", help="the account's address (or the sandbox's)")
    where.add_argument("--subdomain", help="amocrm: the account's subdomain (.amocrm.ru)")
    where.add_argument("--api-version", type=int, choices=(2, 4), help="amocrm: 4 (default) or 2")
    where.add_argument("--token", help="amocrm v4: a long-lived access token")
    where.add_argument("--login", help="amocrm v2: the user's e-mail")
    where.add_argument("--api-key", help="amocrm v2: USER_HASH; retailcrm: the API key")
    where.add_argument("--site", help="retailcrm: the site code, for multi-site keys")
    where.add_argument("--username", help="vtiger: the user name")
    where.add_argument("--access-key", help="vtiger: the user's access key")
    where.add_argument("--changes", action="store_true", help="vtiger: the sync change feed")
    where.add_argument("--api-login", help="corezoid: the API login")
    where.add_argument("--secret", help="corezoid: the API secret")
    where.add_argument("--conv-id", help="corezoid: the process id")
    where.add_argument("--refs", type=Path, help="corezoid: a file of task refs, one a line")
    where.add_argument("--node", help="corezoid: a node id: export the tasks in that node")
    where.add_argument("--company-id", help="corezoid: the workspace (company_id)")
    how = export.add_argument_group("how")
    how.add_argument("--rate-limit", type=float, help="requests/s (default: the platform's)")
    how.add_argument("--page-size", type=int, help="records a request (capped by the platform)")
    how.add_argument(
        "--transport",
        choices=("httpx", "aiohttp"),
        help="httpx or aiohttp (default: aiohttp when the aiohttp-transport extra is installed)",
    )
    how.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow http:// (loopback addresses are always allowed)",
    )
    _add_output_flags(export)


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="print nothing but errors")
    group.add_argument("--json", action="store_true", help="print a JSON summary, no progress")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    """The command line, for ``crmkit --help``."""
    parser = argparse.ArgumentParser(
        prog="crmkit", description="crmkit: bulk exports and sandboxes for four CRM platforms"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_export(commands)
    from ._sync import add_sync_parser

    add_sync_parser(commands)
    demo = commands.add_parser(
        "demo",
        help="export from all four built-in sandboxes, then again incrementally",
        description=(
            "Start the four sandboxes on 127.0.0.1 with seeded data, export from them "
            "concurrently at their real rate limits, change some records, and export again "
            "incrementally: only the changed records come back."
        ),
    )
    demo.add_argument("--out-dir", type=Path, help="where the files go (default: a new temp dir)")
    demo.add_argument("--database", type=Path, help="the DuckDB file (default: in --out-dir)")
    demo.add_argument("--jsonl", action="store_true", help="the JSON Lines export demo instead")
    demo.add_argument("--faults", action="store_true", help="inject 5xx and dropped connections")
    demo.add_argument("--amocrm-leads", type=int, default=20_000)
    demo.add_argument("--retailcrm-orders", type=int, default=10_000)
    demo.add_argument("--vtiger-leads", type=int, default=5_000)
    demo.add_argument("--corezoid-tasks", type=int, default=5_000)
    _add_output_flags(demo)
    sandbox = commands.add_parser("sandbox", help="serve a sandbox for your own tests")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = sandbox_commands.add_parser(
        "serve",
        help="serve one sandbox on 127.0.0.1 until Ctrl-C",
        description="Serve one platform's sandbox on 127.0.0.1 and print its URL and credentials.",
    )
    serve.add_argument("platform", choices=("amocrm", "retailcrm", "vtiger", "corezoid"))
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument("--records", type=int, default=1000, help="seeded records")
    serve.add_argument(
        "--rate-limit", type=float, help="the sandbox's limit (default: the platform's; 0: none)"
    )
    serve.add_argument("--faults", help="e.g. server_error=0.05,drop_after=0.02,seed=1")
    from ._jobs import add_job_commands

    add_job_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (``crmkit`` passes it to ``sys.exit``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        if args.command == "export":
            from ._commands import export_command

            return export_command(args, parser)
        if args.command in ("worker", "enqueue", "jobs"):
            from ._jobs import jobs_command

            return jobs_command(args)
        if args.command == "sync":
            from ._sync import sync_command

            return sync_command(args, parser)
        if args.command == "demo" and not args.jsonl:
            from ._demo_db import demo_db_command

            return demo_db_command(args)
        if args.command == "demo":
            from ._demo import demo_command

            return demo_command(args)
        from ._serve import serve_command

        return serve_command(args)
    except KeyboardInterrupt:
        print("crmkit: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # one clear line, the traceback only when asked
        if debug:
            traceback.print_exc()
        print(f"crmkit: error: {_describe(exc)}", file=sys.stderr)
        return exit_code_for(exc)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, CRMError):
        return f"{type(exc).__name__}: {text}"
    return text


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())
