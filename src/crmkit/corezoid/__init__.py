"""Corezoid: ``crmkit.Corezoid`` (signed op packages, the ops batcher, listings, the
Sync API), ``direct(url)`` for a process's direct URL, ``verify_callback`` for the
signature on a process's own API calls.

The sandbox is :mod:`crmkit.corezoid.sandbox`.
"""

from ._batch import OpsBatcher
from ._callback import verify_callback
from ._client import Corezoid, Signer
from ._direct import DirectURL, direct
from ._errors import (
    CallbackSignatureError,
    OpError,
    RequestError,
    ServiceUnavailableError,
    SyncTimeoutError,
)
from ._ops import Op, OpResult
from ._wire import sign
from .models import CorezoidObject, Task, TaskHistoryEntry

__all__ = [
    "CallbackSignatureError",
    "Corezoid",
    "CorezoidObject",
    "DirectURL",
    "Op",
    "OpError",
    "OpResult",
    "OpsBatcher",
    "RequestError",
    "ServiceUnavailableError",
    "Signer",
    "SyncTimeoutError",
    "Task",
    "TaskHistoryEntry",
    "direct",
    "sign",
    "verify_callback",
]

Corezoid.__module__ = __name__
