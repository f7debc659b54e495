"""Corezoid API v2: ``crmkit.Corezoid``, signed op packages, the ops batcher, the sandbox.

The sandbox is :mod:`crmkit.corezoid.sandbox`.
"""

from ._batch import OpsBatcher
from ._client import Corezoid, Signer, SyncTimeoutError
from ._wire import Op, OpError, OpResult, RequestError, sign

__all__ = [
    "Corezoid",
    "Op",
    "OpError",
    "OpResult",
    "OpsBatcher",
    "RequestError",
    "Signer",
    "SyncTimeoutError",
    "sign",
]

Corezoid.__module__ = __name__
