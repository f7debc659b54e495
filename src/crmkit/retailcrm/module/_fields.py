"""What the CRM posts to a module, read and checked, and the sentences its owner is shown.

Pure functions, no I/O: the register and activity forms into plain values, the
account URL normalised, and crmkit errors from the ``edit`` call turned into
messages a shop owner understands. Every failure is a :class:`Refusal`
carrying two texts: the one for the module card (``user_message``, never a
secret) and the one for the module's log (``reason``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..._json import loads
from ..._log import logger
from ..._tls import LOOPBACK_HOSTS
from ...errors import (
    APIError,
    AuthenticationError,
    CRMError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._forms import BodyTooLarge, FormError

__all__ = [
    "RETRY_FROM_CRM",
    "Refusal",
    "activity_fields",
    "normalize_system_url",
    "refusal_for_crm_error",
    "refusal_for_form_error",
    "register_fields",
]


RETRY_FROM_CRM = "Please open the marketplace in your RetailCRM account and click Connect again."


class Refusal(Exception):
    """A failure that becomes ``{"success": false, "errorMsg": user_message}``."""

    def __init__(self, user_message: str, reason: str) -> None:
        super().__init__(reason)
        self.user_message = user_message
        self.reason = reason


def normalize_system_url(value: object, *, allow_insecure_loopback: bool = False) -> str:
    """Return the account URL as ``https://host[:port][/path]`` without a trailing slash.

    Raises ``ValueError`` (with a message for the shop owner) for anything that
    is not an absolute https URL of a host. ``allow_insecure_loopback`` also
    lets ``http://`` through for 127.0.0.1/localhost (local sandboxes in tests).
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("The RetailCRM account address is missing. " + RETRY_FROM_CRM)
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValueError(
            "The RetailCRM account address is not a valid web address. " + RETRY_FROM_CRM
        ) from None
    scheme = parts.scheme.lower()
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(
            "The RetailCRM account address is not a valid web address. " + RETRY_FROM_CRM
        )
    if scheme != "https" and not (
        scheme == "http" and allow_insecure_loopback and host in LOOPBACK_HOSTS
    ):
        raise ValueError(
            "Your RetailCRM account address must start with https://. "
            "The module only connects to accounts over a secure connection."
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def _missing(field: str) -> Refusal:
    return Refusal(
        f"The connection request is incomplete: the {field} is missing. " + RETRY_FROM_CRM,
        f"the register request has no {field}",
    )


_REGISTER_FIELDS = (("apiKey", "API key"), ("systemUrl", "account address"), ("token", "token"))


def register_fields(form: Mapping[str, str]) -> tuple[str, str, str]:
    """``(apiKey, systemUrl, token)`` from either shape of the register form."""
    data: Any
    packed = form.get("register")
    if packed is not None:
        try:
            data = loads(packed)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Refusal(
                "The connection request could not be read. " + RETRY_FROM_CRM,
                "the register field is not a JSON object",
            )
    else:
        data = {
            name: form[f"register[{name}]"]
            for name, _ in _REGISTER_FIELDS
            if f"register[{name}]" in form
        }
        if not data:
            raise Refusal(
                "The connection request could not be read. " + RETRY_FROM_CRM,
                "the request has neither a register field nor register[...] fields",
            )
    values: list[str] = []
    for name, label in _REGISTER_FIELDS:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise _missing(label)
        values.append(value.strip())
    return values[0], values[1], values[2]


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Refusal(
        "The activity change could not be read. Please try again from your RetailCRM account.",
        f"activity {name} is not a boolean: {value!r}",
    )


def activity_fields(form: Mapping[str, str]) -> tuple[str, str, bool, bool]:
    """``(systemUrl, clientId, active, freeze)`` from the CRM's activity form."""
    unreadable = (
        "The activity change could not be read. Please try again from your RetailCRM account."
    )
    client_id = form.get("clientId", "").strip()
    system_url = form.get("systemUrl", "").strip()
    if not client_id or not system_url:
        raise Refusal(unreadable, "the activity request has no clientId or systemUrl")
    packed = form.get("activity")
    activity: Any
    if packed is not None:
        try:
            activity = loads(packed)
        except ValueError:
            activity = None
    else:
        activity = {
            key: form[f"activity[{key}]"]
            for key in ("active", "freeze")
            if f"activity[{key}]" in form
        }
    if not isinstance(activity, dict) or "active" not in activity:
        raise Refusal(unreadable, "the activity field is not a JSON object with 'active'")
    active = _flag(activity["active"], "active")
    freeze = _flag(activity.get("freeze", False), "freeze")
    return system_url, client_id, active, freeze


def refusal_for_crm_error(error: CRMError, system_url: str) -> Refusal:
    """The shop owner's sentence for a failed ``integration-modules/{code}/edit``."""
    reason = f"integration-modules edit failed: {type(error).__name__}: {error}"
    if isinstance(error, AuthenticationError):
        text = (
            "RetailCRM did not accept the module's API key. Please check that the key is "
            "active in Settings > Integration > API keys, then connect again."
        )
    elif isinstance(error, PermissionDeniedError):
        text = (
            "The API key does not allow the module to register itself. Please allow the key "
            "access to integration modules in RetailCRM, then connect again."
        )
    elif isinstance(error, PaymentRequiredError):
        text = "Your RetailCRM account needs to be paid up before modules can be connected."
    elif isinstance(error, NotFoundError):
        text = (
            f"RetailCRM could not find the account at {system_url}. "
            "Please check the address and connect again."
        )
    elif isinstance(error, (RateLimitError, ServerError, TransportError)):
        text = "RetailCRM did not answer in time. Please try connecting again in a few minutes."
    elif isinstance(error, ProtocolError):
        text = (
            f"The address {system_url} did not answer like a RetailCRM account. "
            "Please check the address and connect again."
        )
    elif isinstance(error, ValidationError):
        text = (
            f"RetailCRM refused the module's settings ({error.message}). "
            "Please contact the module's support."
        )
    elif isinstance(error, APIError):
        text = f"RetailCRM refused to connect the module: {error.message}"
    else:
        text = "The module could not reach RetailCRM. Please try connecting again later."
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("RetailCRM module edit error: %r", error)
    return Refusal(text, reason)


def refusal_for_form_error(error: FormError) -> Refusal:
    """The shop owner's sentence for a body that could not be read as a form."""
    if isinstance(error, BodyTooLarge):
        text = "The request was too large to be a RetailCRM connection request. " + RETRY_FROM_CRM
    else:
        text = "The connection request could not be read. " + RETRY_FROM_CRM
    return Refusal(text, f"unreadable form: {error}")
