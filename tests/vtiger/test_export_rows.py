"""The vtiger query export writes the rows as vtiger sent them, checked page by page.

The CLI's export pages a query with ``QueryStrategy(raw=True)``: the decoded rows
are written as they came, with no :class:`Record` per row, yet refused exactly
where records would be (a row that is no object, an id that is not ``12x34``), and
the cursors (built when read) resume where the typed listing would. Ids as vtiger
writes them: ``include/Webservices/Utils.php`` ``vtws_getId`` (``vtigercrm``).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from datetime import datetime, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.cli import main
from crmkit.cli._export import JobStats, lines, run_export, to_record
from crmkit.cli._sources import ExportSpec, make_job
from crmkit.vtiger import Record
from crmkit.vtiger._query import QueryStrategy, _Cursors, shape_query
from crmkit.vtiger._wire import VtigerId, checked_rows, records_of
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

from .test_query_paging import client_for

pytestmark = pytest.mark.anyio

CREDENTIALS = ["--username", DEFAULT_USER, "--access-key", DEFAULT_ACCESS_KEY]


def test_the_export_writes_each_record_once_as_the_typed_listing_reads_it(tmp_path):
    sandbox = VtigerSandbox(leads=250)

    async def typed_listing() -> list[Record]:
        async with client_for(sandbox) as crm:
            return await crm.query("SELECT * FROM Leads").to_list()

    typed = asyncio.run(typed_listing())
    out = tmp_path / "leads.jsonl"
    with sandbox.serve() as served:
        argv = ["export", "vtiger", "Leads", "--quiet", "--url", served.url, "--out", str(out)]
        assert main([*argv, *CREDENTIALS, "--rate-limit", "0"]) == 0
    expected = b"".join(
        orjson.dumps(r.to_record(), option=orjson.OPT_APPEND_NEWLINE) for r in typed
    )
    assert out.read_bytes() == expected
    assert len(typed) == 250 and len({r.id for r in typed}) == 250


async def test_an_export_stopped_after_a_page_resumes_after_it_by_id(tmp_path):
    sandbox = VtigerSandbox(leads=250)
    out, state = tmp_path / "leads.jsonl", tmp_path / "leads.state"
    spec = ExportSpec(
        "vtiger",
        "Leads",
        {"url": "http://crm.example.test", "username": DEFAULT_USER,
         "access_key": DEFAULT_ACCESS_KEY},
        out=out,
        state=state,
    )  # fmt: skip
    client_options = {"transport": sandbox.transport(), "allow_insecure_http": True}
    job = make_job(spec, client_options=client_options)

    class Stop(Exception):
        pass

    def stop_after_two(stats: JobStats) -> None:
        if stats.pages == 2:
            raise Stop

    with pytest.raises(Stop):
        await run_export(job, JobStats(job.name), stop_after_two)
    saved = json.loads(state.read_text())
    assert saved["records"] == 200 and saved["position"]["paginator"]["cursor"]["after"] == "10x200"
    for n in range(1, 21):  # deleted meanwhile: an offset would now skip 20
        sandbox.remove(f"10x{n}")
    await run_export(job, JobStats(job.name))
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == [f"10x{n}" for n in range(1, 251)]


# -- rows checked page by page, as records are ----------------------------------------

IDS = st.one_of(
    st.builds(lambda m, r: f"{m}x{r}", st.integers(0, 99), st.integers(0, 10**6)),
    st.sampled_from(["", None, "10", "x1", "10x", "10x1x2", "10x1,10x2", ",", "10 x1", 7, 1.5]),
    st.sampled_from(["\u0661x\u0662", "10x1\n", "10x1,", ",10x1", "\u0661\u0660x\u0663"]),
    st.text(max_size=6),
)


def rows_of(rows, operation):
    """The rows as the raw query strategy keeps them."""
    return checked_rows(rows, operation)[0]


def outcome(call, *args):
    try:
        return call(*args)
    except crmkit.ProtocolError:
        return "refused"


@settings(max_examples=300, deadline=None)
@given(st.lists(IDS, max_size=8))
def test_a_page_is_refused_exactly_when_one_of_its_records_would_be(ids):
    rows = [{"id": raw, "n": i} for i, raw in enumerate(ids)]
    one_by_one = []
    for row in rows:
        try:
            one_by_one.append(Record(row).id)
        except ValueError:
            one_by_one = "refused"
            break
    records = outcome(records_of, rows, "query")
    raw = outcome(rows_of, rows, "query")
    if one_by_one == "refused":
        assert records == raw == "refused"
    else:
        assert [r.id for r in records] == one_by_one
        assert [r.to_record() for r in records] == rows and raw == rows


def test_rows_are_kept_as_decoded_and_other_mappings_copied():
    decoded = [{"id": "10x1"}, {"id": "10x2"}]
    assert all(a is b for a, b in zip(rows_of(decoded, "query"), decoded, strict=True))
    other = [OrderedDict(id="10x3")]
    copied = rows_of(other, "query")
    assert copied == [{"id": "10x3"}] and type(copied[0]) is dict
    _, ids, parsed = checked_rows([{"id": "\u0661x\u0662"}, {"id": "10x5"}], "query")
    assert ids == ["\u0661x\u0662", "10x5"] and parsed == [VtigerId(1, 2), None]
    for bad in ([{"id": "10x1"}, "10x2"], {"id": "10x1"}, [{"id": "10x1,10x2"}]):
        with pytest.raises(crmkit.ProtocolError, match="query answer is malformed"):
            rows_of(bad, "query")


# -- cursors, built when read ---------------------------------------------------------


def cursors_as_built_before(floor, wanted, key, values):
    """Every cursor of a page built at once, as the strategy did before they were lazy."""
    got = len(values)
    lefts = [None] * got if wanted is None else range(wanted - 1, wanted - 1 - got, -1)
    return [{"floor": floor, "left": left, key: v} for left, v in zip(lefts, values, strict=True)]


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 1000),
    st.one_of(st.none(), st.integers(0, 500)),
    st.sampled_from(["after", "offset"]),
    st.integers(0, 12),
    st.integers(-15, 15),
    st.integers(-15, 15),
)
def test_lazy_cursors_are_the_cursors_built_at_once(floor, wanted, key, got, i, j):
    values = [f"10x{n}" for n in range(got)] if key == "after" else range(1, got + 1)
    lazy = _Cursors(floor, wanted, key, values)
    built = cursors_as_built_before(floor, wanted, key, list(values))
    assert len(lazy) == len(built) and list(lazy) == built
    assert lazy[i:j] == built[i:j] and lazy[i:] == built[i:]
    if -got <= i < got:
        assert lazy[i] == built[i]
    else:
        with pytest.raises(IndexError):
            lazy[i]


async def test_a_raw_query_pages_and_resumes_as_the_typed_one():
    sandbox = VtigerSandbox(leads=230)
    async with client_for(sandbox) as crm:
        typed = crm.query("SELECT * FROM Leads LIMIT 0, 150;")
        raw = crm.query("SELECT * FROM Leads LIMIT 0, 150;")
        raw.strategy = QueryStrategy(shape_query("SELECT * FROM Leads LIMIT 0, 150;"), raw=True)
        states = []
        for paginator in (typed, raw):
            seen = 0
            async for _ in paginator:
                seen += 1
                if seen == 120:
                    break
            states.append(paginator.state.to_dict())
        rest = await crm.query("SELECT * FROM Leads", resume_from=states[1]).to_list()
    assert states[0] == states[1]
    assert states[1]["cursor"] == {"floor": 100, "left": 30, "after": "10x120"}
    assert [str(r.id) for r in rest] == [f"10x{n}" for n in range(121, 151)]


def test_lines_are_one_json_document_per_item_whatever_the_item():
    moment = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)
    items = [{"id": "10x1", "at": moment}, Record({"id": "10x2"}), {"b": b"x".decode(), "n": 1}]
    written = lines(items).splitlines()
    assert [json.loads(line) for line in written] == [
        {"id": "10x1", "at": "2026-11-29T12:00:00+00:00"},
        {"id": "10x2"},
        {"b": "x", "n": 1},
    ]
    assert lines(items) == b"".join(
        orjson.dumps(to_record(i), default=str, option=orjson.OPT_APPEND_NEWLINE) for i in items
    )
    assert lines([]) == b""
