"""RetailCRMSandbox: an emulator of RetailCRM API v5, written from the vendor's documents and SDKs.

What it does as the real service does (sources: ``shared/api-notes.md``,
``retailcrm/api-client-php`` and ``retailcrm/api-client-go``):

- accounts addressed by path: the default account at ``{base}/api/v5/...``,
  others at ``{base}/{name}/api/v5/...``; an unknown account answers the HTML
  "Account does not exist" page: 404 to a GET, 405 to anything else
  (``Handler/Response/AccountNotFoundHandler.php``);
- a method the service does not have, or the sandbox does not emulate,
  answers 404 ``{"success": false, "errorMsg": "Method not found"}``; a path's
  segments are read one by one (an id holding ``/`` stays one id), and names
  that are methods (``orders/statuses``, ``orders/packs``) are never read as ids;
- ``X-API-KEY`` header or ``apiKey`` parameter; keys carry scopes;
  ``"apiKey" is missing.`` / ``Wrong "apiKey" value.`` / ``Access denied.``;
- ``/api/api-versions``, ``/api/credentials``, ``/api/system-info``,
  ``/api/v5/settings`` (the account's time zone; datetimes are written in it);
- GET parameters in nested brackets (``filter[ids][]=1``), parsed here
  independently of the client; a malformed one is a 400 with ``errorMsg``;
- lists with ``limit`` of 20, 50 or 100 and a ``pagination`` object; every
  documented filter applied or refused with 400 naming it (``_filters.py``);
- history with ``filter[sinceId]``, ``startDate``/``endDate`` and the entity
  filters, and 400 when ``page`` comes with ``sinceId``;
- create (orders answer ``{id, order}``), edit (``by=externalId`` or ``id``),
  upload of at most 50 with HTTP 460 on partial success, fix-external-ids,
  ``orders/statuses``, ``site`` on writes;
- integration modules: get, edit (stored per account as sent), update-scopes
  (issues a new key); every reference book;
- a sliding-window limit per key (10/s) answering ``503 Rate limit exceeded``;
- faults from :class:`crmkit.sandbox.FaultPlan`.

``sandbox.account(name)`` gives an account's records and modules for tests.
"""

from ._app import DEFAULT_API_KEY, RetailCRMSandbox
from ._state import Account

__all__ = ["DEFAULT_API_KEY", "Account", "RetailCRMSandbox"]
