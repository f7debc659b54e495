"""crmkit as a dlt source: each CRM's records in tables, merged in place, deletions applied.

Install with the extra ``dlt`` (``pip install 'crmkit[dlt]'``: dlt with DuckDB).
One source per platform, taking the platform client's own arguments::

    import dlt
    from crmkit.dlt import amocrm_source, sync

    pipeline = dlt.pipeline("acme", destination="duckdb", dataset_name="amocrm_acme")
    sync(pipeline, amocrm_source("acme", access_token=TOKEN))

Every resource merges by its primary key and keeps its position (crmkit's
paginator state, watermark or history id) in dlt's resource state, committed
with the data: run the same pipeline again and only what changed is read.
Deleted records (amoCRM's deletion events, RetailCRM history, vtiger
``sync``, Corezoid refs that are gone) are deleted in the destination through
dlt's ``hard_delete`` column ``_crmkit_deleted``. Custom fields: see each
source.

Any dlt destination works (DuckDB, Postgres, BigQuery, Snowflake, files ...)
with its credentials from the environment or dlt's config, as dlt reads them.
"""

from __future__ import annotations

from ._amocrm import AMOCRM_RESOURCES, amocrm_source
from ._base import DELETED, ORDER, OnPage, PageRead, sync
from ._corezoid import corezoid_source
from ._retailcrm import RETAILCRM_RESOURCES, retailcrm_source
from ._vtiger import vtiger_source

__all__ = [
    "AMOCRM_RESOURCES",
    "DELETED",
    "ORDER",
    "RETAILCRM_RESOURCES",
    "OnPage",
    "PageRead",
    "amocrm_source",
    "corezoid_source",
    "retailcrm_source",
    "sync",
    "vtiger_source",
]
