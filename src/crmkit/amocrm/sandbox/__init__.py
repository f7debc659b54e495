"""crmkit.amocrm.sandbox: an emulator of one amoCRM (Kommo) account, both API dialects.

``AmoCRMSandbox(leads=1000)`` is an ASGI app: ``sandbox.transport()`` for
in-process tests, ``sandbox.serve()`` on loopback for any HTTP client
(including other people's amoCRM libraries). The modules: ``_app`` (the
account, its auth and routing), ``_v2`` (the legacy API), ``_v4`` (entities),
``_groups`` (the other v4 groups), ``_data`` (what it is seeded with).
"""

from ._app import AmoCRMSandbox, SandboxCredentials
from ._data import make_jwt

__all__ = ["AmoCRMSandbox", "SandboxCredentials", "make_jwt"]
