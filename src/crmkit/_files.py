"""Files crmkit writes for its users (token stores, export states): replaced atomically.

A reader sees the old content or the new, never half of either, and a crash
leaves no temporary file behind. ``in_thread`` runs such blocking writes (and
their fsyncs) off the event loop. No other I/O here.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["in_thread", "write_json_atomic"]

T = TypeVar("T")


async def in_thread(fn: Callable[[], T], *, on_cancel: Callable[[], None] | None = None) -> T:
    """``fn()`` in a worker thread, the event loop free meanwhile.

    Cancelling the caller does not abandon the thread: ``on_cancel`` is called
    (to ask ``fn`` to stop early, if it can), and the call ends only when ``fn``
    has returned, then ``CancelledError`` propagates; so nothing closes or
    rewrites a file, or starts the same work again, while the thread is at it.
    """
    thread = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(thread)
    except asyncio.CancelledError:
        if on_cancel is not None:
            on_cancel()
        await asyncio.wait([thread])
        if not thread.cancelled():
            thread.exception()  # retrieved: the cancellation is what propagates
        raise


def write_json_atomic(path: Path, data: Any, *, mode: int | None = None) -> None:
    """Write ``data`` as JSON to a temporary file beside ``path``, fsync it, rename it over.

    ``mode`` sets the file's permissions before it takes the name (0o600 for secrets).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
