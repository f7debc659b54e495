"""vtiger webservice (ABMS and other vtiger-based CRMs): ``crmkit.Vtiger``, safe VTQL, a sandbox.

The sandbox is :mod:`crmkit.vtiger.sandbox`; query building is :mod:`crmkit.vtiger.vtql`.
"""

from . import vtql
from ._client import Vtiger
from ._errors import (
    VtigerAccessDeniedError,
    VtigerAuthenticationError,
    VtigerError,
    VtigerNotFoundError,
    VtigerServerError,
    VtigerValidationError,
)
from ._sessions import MemorySessionStore, RedisSessionStore, SessionStore
from ._wire import OPERATION_METHODS, Record, SyncChange, VtigerId, access_key_digest

__all__ = [
    "OPERATION_METHODS",
    "MemorySessionStore",
    "Record",
    "RedisSessionStore",
    "SessionStore",
    "SyncChange",
    "Vtiger",
    "VtigerAccessDeniedError",
    "VtigerAuthenticationError",
    "VtigerError",
    "VtigerId",
    "VtigerNotFoundError",
    "VtigerServerError",
    "VtigerValidationError",
    "access_key_digest",
    "vtql",
]

Vtiger.__module__ = __name__
