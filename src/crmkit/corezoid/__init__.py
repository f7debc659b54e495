"""Corezoid API v2: ``crmkit.Corezoid``, signed op packages, the ops batcher, the sandbox.

The sandbox is :mod:`crmkit.corezoid.sandbox`.
"""

from ._batch import OpsBatcher
from ._client import Corezoid, Signer
from ._direct import DirectURL, direct
from ._errors import OpError, RequestError, ServiceUnavailableError, SyncTimeoutError
from ._ops import Op, OpResult
from ._wire import sign
from .models import CorezoidObject, Task, TaskHistoryEntry

__all__ = [
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
]

Corezoid.__module__ = __name__
