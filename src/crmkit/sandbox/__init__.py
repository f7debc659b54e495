"""crmkit.sandbox: the machinery every platform emulator shares.

- :class:`Sandbox`, the base of ``AmoCRMSandbox``, ``RetailCRMSandbox``,
  ``CorezoidSandbox`` and ``VtigerSandbox``: an ASGI app with in-memory state,
  reachable in-process (``sandbox.transport()``) or on loopback
  (``sandbox.serve()``);
- :class:`SlidingWindowLimiter`: a strict per-account rate limit that can
  block for good after repeated violations;
- :class:`FaultPlan` / :class:`FaultInjector`: seeded 5xx, 429, dropped
  connections (before or after processing), a gateway's HTML 502/504 after
  processing (a write that committed), truncated bodies and latency;
- :class:`FakeData`: seeded fake records; :class:`SandboxClock`: a clock tests
  can advance;
- :mod:`crmkit.sandbox.demo`: a tiny generic sandbox that pages numbered items.

Needs the ``sandbox`` extra (``pip install 'crmkit[sandbox]'``) for Starlette
and uvicorn.
"""

from ._base import RecordedRequest, Sandbox
from ._clock import SandboxClock
from ._fake import FakeData
from ._faults import DroppedConnection, FaultInjector, FaultPlan
from ._limits import SlidingWindowLimiter, Verdict
from ._serve import ServedApp, sandbox_transport, serve

__all__ = [
    "DroppedConnection",
    "FakeData",
    "FaultInjector",
    "FaultPlan",
    "RecordedRequest",
    "Sandbox",
    "SandboxClock",
    "ServedApp",
    "SlidingWindowLimiter",
    "Verdict",
    "sandbox_transport",
    "serve",
]
