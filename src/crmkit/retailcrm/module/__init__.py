"""RetailCRM marketplace modules: the "simple connection" toolkit.

- :func:`register_token` / :func:`verify_register_token`: the HMAC-SHA256 token
  the CRM sends with an account's API key;
- :class:`SimpleConnection`: the config, register and activity endpoints as
  framework-free handlers returning ``(status, body)``;
- :mod:`crmkit.retailcrm.module.fastapi` (``crmkit[fastapi]``) and
  :mod:`crmkit.retailcrm.module.aiohttp` (``crmkit[aiohttp]``): mount them in a
  web application;
- :class:`crmkit.retailcrm.marketplace.Marketplace`: the CRM's side, to connect
  your module to a :class:`~crmkit.retailcrm.sandbox.RetailCRMSandbox` account in tests.
"""

from ._connection import (
    AccountRef,
    ConnectedAccount,
    ModuleAnswer,
    ModuleError,
    SimpleConnection,
    normalize_system_url,
)
from ._forms import DEFAULT_MAX_BODY_SIZE, BodyTooLarge, FormError, parse_form, read_limited
from ._tokens import register_token, verify_register_token

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "AccountRef",
    "BodyTooLarge",
    "ConnectedAccount",
    "FormError",
    "ModuleAnswer",
    "ModuleError",
    "SimpleConnection",
    "normalize_system_url",
    "parse_form",
    "read_limited",
    "register_token",
    "verify_register_token",
]
