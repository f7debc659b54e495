"""VtigerSandbox: an emulator of the vtiger webservice (as vtiger 7 and ABMS serve it).

- ``webservice.php`` with vtiger's operation table: each operation reads its
  inputs from the query string (GET type) or the form body (POST type), whatever
  the HTTP method; errors as HTTP 200 ``success: false``;
- challenges that last 300 s, a new one deleting the user's previous token;
  ``accessKey = md5(token + access key)``; sessions with an idle life (1,800 s)
  and a maximum life (86,400 s) on the sandbox clock;
- users (admins or not) and groups; records owned by users and groups, with
  ``createdtime`` / ``modifiedtime`` as ``Y-m-d H:i:s`` UTC;
- a VTQL subset with vtiger's quoting (a quote is doubled), the required ``;``,
  the row clamp (100 by default) and ``QUERY_SYNTAX_ERROR``; CRUD, revise,
  describe, listtypes; ``sync`` in windows of 100 honouring ``syncType``;
  ``relatedtypes``, ``retrieve_related`` and ``query_related``;
- an IP allow-list (HTTP 403 for other addresses); seeded Leads, Contacts and
  Accounts; faults from the foundation machinery.

The app and sessions are in ``_app.py``, the operations in ``_ops.py``, the data
in ``_state.py``, the query language in ``_vtql.py``.
"""

from ._app import OPERATIONS, VtigerSandbox
from ._state import DEFAULT_ACCESS_KEY, DEFAULT_USER, MODULES, SandboxUser, vtiger_datetime

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_USER",
    "MODULES",
    "OPERATIONS",
    "SandboxUser",
    "VtigerSandbox",
    "vtiger_datetime",
]
