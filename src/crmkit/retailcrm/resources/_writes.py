"""Creates and uploads that land exactly once, whatever the network does.

RetailCRM keeps ``externalId`` unique per kind (orders, customers, corporate
customers): a second create or upload with a taken one is refused with
"Order with externalId=X already exists." (the vendor's own PrestaShop module,
``retailcrm/prestashop-module`` ``lib/api/middleware/RetailcrmExportOrdersMiddleware.php``,
reads that message out of an upload's ``errors`` and then finds the orders with
``orders?filter[externalIds][]=``). That makes the ``externalId`` the
caller's idempotency key, and crmkit uses it the same way:

- a write whose outcome is unknown (a 5xx: a gateway's 502/504 often comes
  after the order was made; a connection lost on the way; an answer cut short
  or unreadable) is followed by a look-up of its items by ``externalId``
  (``filter[externalIds][]``, one request per upload chunk); the items found
  were made (their ids are taken), the others are sent again, up to the
  Session's ``max_retries`` times;
- after such an unknown outcome, "already exists" for one of the call's own
  items means an earlier attempt of this call made it: it is looked up and
  counted as made. Without an unknown outcome in the call, "already exists"
  stays an error: the ``externalId`` named another order before the call;
- an item without ``externalId`` is never sent again after an unknown outcome
  (a second one would be made): it is reported "outcome unknown";
- an upload goes on after a chunk fails and keeps every item's outcome in the
  :class:`~crmkit.WriteResult`; after a refusal that ends every request (keys,
  rights, the account, the rate limit) the rest are reported not sent.

Give every order its own ``externalId`` and never reuse one for another
order: an order that already had the ``externalId`` before the call is, after
an unknown outcome, indistinguishable from the one the call made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..._results import WriteResult, outcome_unknown
from ...errors import (
    AuthenticationError,
    CRMError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
)
from .. import _wire
from ..models import Saved

if TYPE_CHECKING:
    from .._client import RetailCRM

__all__ = ["ExactlyOnceWrites", "names_existing"]

M = TypeVar("M")
#: Refusals after which an upload sends nothing more.
_STOPPING = (
    AuthenticationError,
    PermissionDeniedError,
    PaymentRequiredError,
    NotFoundError,
    RateLimitError,
)


def names_existing(error: Any, external: str) -> bool:
    """Whether a refusal says the entity with this ``externalId`` already exists."""
    pattern = r"externalId\s*=?\s*" + re.escape(external) + r"\s+already exists"
    return re.search(pattern, str(error), flags=re.IGNORECASE) is not None


def _external(item: Mapping[str, Any]) -> str | None:
    value = item.get("externalId")
    return None if value in (None, "") else str(value)


class ExactlyOnceWrites(Generic[M]):
    """``create`` and ``upload`` of an entity kind (mixed into its resource)."""

    _client: RetailCRM
    _path: str
    _key: str
    _one: str
    _uploaded: str
    _failed: str

    def _site(self, site: str | None) -> str | None:
        raise NotImplementedError

    def _saved(self, body: Mapping[str, Any]) -> Saved[M]:
        raise NotImplementedError

    async def _existing(self, externals: Sequence[str], site: str | None) -> dict[str, M]:
        """The entities that carry these ``externalId`` values, by ``externalId``."""
        raise NotImplementedError

    async def create(self, entity: Mapping[str, Any] | Any, *, site: str | None = None) -> Saved[M]:
        """Create one entity: its new ``id``, and the entity when the service sends it back.

        With an ``externalId`` it is made exactly once: after an unknown outcome
        it is looked up, and sent again only if it was not made (see the module
        docstring). Without one it is sent once; an unknown outcome is raised.
        """
        wired = _wire.entity_dict(entity)
        external = _external(wired)
        form = {self._one: wired, "site": self._site(site)}
        path = f"{self._path}/create"
        if external is None:
            return self._saved(await self._client.request("POST", path, form=form))
        unknown: CRMError | None = None
        for _ in range(self._client.session.retry.max_retries + 1):
            refused: CRMError | None = None
            try:
                return self._saved(await self._client.request("POST", path, form=form))
            except ValidationError as exc:
                if unknown is None or not names_existing(exc.details or exc, external):
                    raise
                refused = exc  # an earlier attempt of this call made it
            except CRMError as exc:
                if not outcome_unknown(exc):
                    raise
                unknown = exc
            found = (await self._existing([external], site)).get(external)
            if found is not None:
                return Saved(getattr(found, "id", None), found)
            if refused is not None:
                raise refused  # "already exists", yet not found: the refusal stands
        assert unknown is not None
        raise unknown

    async def upload(
        self, entities: Sequence[Mapping[str, Any] | Any], *, site: str | None = None
    ) -> WriteResult:
        """Create many, in requests of 50 (the API's limit), each item exactly once.

        Returns ``ids`` in input order (None where an item was not made) and
        ``errors`` by input index; a partial upload (HTTP 460) loses nothing,
        and neither does a chunk that fails: see the module docstring.
        """
        items = [_wire.entity_dict(e) for e in entities]
        ids: list[int | None] = [None] * len(items)
        errors: dict[int, Any] = {}
        stopped: CRMError | None = None
        for start in range(0, len(items), _wire.UPLOAD_CHUNK):
            indices = list(range(start, min(start + _wire.UPLOAD_CHUNK, len(items))))
            if stopped is not None:
                for i in indices:
                    errors[i] = f"not sent: an earlier request ended the upload ({stopped})"
                continue
            try:
                await self._upload_chunk(items, indices, ids, errors, site)
            except CRMError as exc:
                for i in indices:
                    if ids[i] is None:
                        errors.setdefault(i, getattr(exc, "details", None) or str(exc))
                if isinstance(exc, _STOPPING):
                    stopped = exc
        return WriteResult(ids=ids, errors=errors)

    async def _upload_chunk(
        self,
        items: list[dict[str, Any]],
        indices: list[int],
        ids: list[int | None],
        errors: dict[int, Any],
        site: str | None,
    ) -> None:
        pending = indices
        unknown: CRMError | None = None
        for _ in range(self._client.session.retry.max_retries + 1):
            chunk = [items[i] for i in pending]
            refused: dict[int, Any] = {}
            try:
                body = await self._client.request(
                    "POST",
                    f"{self._path}/upload",
                    form={self._key: chunk, "site": self._site(site)},
                )
                result = _wire.read_upload(chunk, body, self._uploaded, self._failed)
            except ValidationError as exc:  # the whole chunk refused
                refused = {i: exc.details or str(exc) for i in pending}
            except CRMError as exc:
                if not outcome_unknown(exc):
                    raise
                unknown = exc
            else:
                for n, i in enumerate(pending):
                    if result.ids[n] is not None:
                        ids[i] = result.ids[n]
                    elif n in result.errors:
                        refused[i] = result.errors[n]
                if unknown is None or not refused:
                    errors.update(refused)
                    return
            if refused and unknown is None:
                errors.update(refused)
                return
            # The outcome of ``pending`` is unknown, or they were refused after an
            # unknown outcome: what exists now was made by this call.
            if refused:
                mine = [i for i in refused if names_existing(refused[i], _external(items[i]) or "")]
                errors.update({i: why for i, why in refused.items() if i not in mine})
                pending = mine
            missing = await self._look_up(items, pending, ids, errors, site, unknown)
            if refused:
                errors.update({i: refused[i] for i in missing})  # "exists", yet not found
                return
            pending = missing  # not made: send them again
            if not pending:
                return
        for i in pending:
            errors[i] = (
                f"not made: every attempt ended with an unknown outcome (the last: {unknown}) "
                "and looking it up found nothing"
            )

    async def _look_up(
        self,
        items: list[dict[str, Any]],
        pending: list[int],
        ids: list[int | None],
        errors: dict[int, Any],
        site: str | None,
        unknown: CRMError | None,
    ) -> list[int]:
        """Take the ids of the ``pending`` items that exist; return those that do not."""
        for i in pending:
            if _external(items[i]) is None:
                errors[i] = (
                    f"outcome unknown ({unknown}): RetailCRM may have made this item; it has no "
                    "externalId to look it up by, so crmkit did not send it again"
                )
        named = [i for i in pending if _external(items[i]) is not None]
        if not named:
            return []
        try:
            found = await self._existing([_external(items[i]) or "" for i in named], site)
        except CRMError as exc:
            for i in named:
                errors[i] = f"outcome unknown ({unknown}); looking it up failed: {exc}"
            raise
        missing = []
        for i in named:
            entity = found.get(_external(items[i]) or "")
            if entity is None:
                missing.append(i)
            else:
                ids[i] = getattr(entity, "id", None)
        return missing
