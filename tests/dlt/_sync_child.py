"""Run by test_killed_run in a child process: sync amoCRM leads into DuckDB, a load per page.

Arguments: the sandbox's URL, its access token, the working directory. Prints
``page N`` for each page read (ahead of dlt) and ``load`` after each committed load.
"""

from __future__ import annotations

import sys

import dlt

from crmkit.dlt import PageRead, amocrm_source, sync


def main() -> None:
    url, token, workdir = sys.argv[1:4]
    pipeline = dlt.pipeline(
        pipeline_name="killed",
        pipelines_dir=f"{workdir}/pipelines",
        destination=dlt.destinations.duckdb(f"{workdir}/killed.duckdb"),
        dataset_name="acme",
    )

    def on_page(page: PageRead) -> None:
        print(f"page {page.records}", flush=True)

    source = amocrm_source(
        base_url=url,
        access_token=token,
        allow_insecure_http=True,
        resources=("leads",),
        page_size=50,
        pages_per_load=1,
        on_page=on_page,
    )
    sync(pipeline, source, on_load=lambda info: print("load", flush=True))
    print("done", flush=True)


if __name__ == "__main__":
    main()
