"""A throwaway PostgreSQL server on 127.0.0.1, started from the installed binaries.

Shared by ``tests/dlt`` and ``tests/jobs`` (their conftests import :func:`postgres_url`).

``initdb`` into a temporary directory, then ``postgres`` on a free port with its
unix socket in that directory too. PostgreSQL refuses to run as root: when the
tests run as root, both run as ``nobody`` (``setpriv``). The binaries are found
on PATH or in Debian's ``/usr/lib/postgresql/<version>/bin``; ``.ci/run``
installs the ``postgresql`` package where they are missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["find_binary", "postgres_url", "running_postgres"]

_UNPRIVILEGED = "nobody"


def find_binary(name: str) -> str | None:
    """``name`` on PATH, else the newest of Debian's versioned directories."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0
    )
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user() -> tuple[list[str], int | None, int | None]:
    """The command prefix that drops root, and the uid/gid to give the directory to."""
    if os.geteuid() != 0:
        return [], None, None
    user = pwd.getpwnam(_UNPRIVILEGED)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("running as root and setpriv is missing: cannot drop to nobody")
    prefix = [
        setpriv,
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--clear-groups",
        "--",
    ]
    return prefix, user.pw_uid, user.pw_gid


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """Start PostgreSQL; yields its URL (user ``postgres`` with a new password)."""
    initdb, postgres = find_binary("initdb"), find_binary("postgres")
    if initdb is None or postgres is None:
        raise RuntimeError(
            "PostgreSQL binaries not found (initdb, postgres): apt-get install -y postgresql "
            "(.ci/run does)"
        )
    prefix, uid, gid = _as_user()
    root = Path(tempfile.mkdtemp(prefix="crmkit-pg-"))
    data = root / "data"
    env = {**os.environ, "HOME": str(root), "LC_ALL": "C"}
    proc: subprocess.Popen[bytes] | None = None
    stack = contextlib.ExitStack()
    try:
        password = secrets.token_hex(8)
        (root / "password").write_text(password)
        if uid is not None and gid is not None:
            os.chown(root, uid, gid)
            os.chown(root / "password", uid, gid)
        subprocess.run(
            [
                *prefix,
                initdb,
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={root / 'password'}",
                "--no-sync",
                "-E",
                "UTF8",
                "--no-locale",
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        port = _free_port()
        log = stack.enter_context((root / "postgres.log").open("wb"))
        proc = subprocess.Popen(
            [
                *prefix,
                postgres,
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
        _wait_for(url, proc, root / "postgres.log")
        yield url
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stack.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of the tests' own on 127.0.0.1 (see :func:`running_postgres`)."""
    with running_postgres() as url:
        yield url


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import psycopg2

    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            err = log.read_text(errors="replace")
            raise RuntimeError(f"postgres exited with {proc.returncode}: {err[-2000:]}")
        try:
            psycopg2.connect(url).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
