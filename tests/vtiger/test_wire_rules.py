"""vtiger's wire rules without a network, and against the sandbox: UTC datetimes, every
error code typed, VTQL quoting as vtiger's lexer reads it (a property test), malformed
answers, and a change feed that does not move.

Sources (``vtiger-crm/vtigercrm``; the vtiger 7 fork ``thinkingreed-inc/F-RevoCRM``):
``include/Webservices/WebServiceErrorCode.php`` (the codes), ``VTQL_Lexer.php`` (a
literal is ``'(?:[^']|'')+'``), ``GetUpdates.php`` (``lastModifiedTime``, ``more``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.vtiger import Record, Vtiger, vtql
from crmkit.vtiger._auth import VtigerAuth
from crmkit.vtiger._errors import ERROR_CODES, envelope_error
from crmkit.vtiger._wire import SyncStrategy, VtigerId
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox
from crmkit.vtiger.sandbox._vtql import parse

pytestmark = pytest.mark.anyio

REQUEST = httpx.Request("GET", "https://crm.example.test/webservice.php?operation=query")


def client_for(sandbox: VtigerSandbox) -> Vtiger:
    return Vtiger(
        "http://crm.example.test",
        DEFAULT_USER,
        DEFAULT_ACCESS_KEY,
        transport=sandbox.transport(),
        allow_insecure_http=True,
    )


# -- datetimes -------------------------------------------------------------------


def test_vtql_datetimes_are_utc_and_naive_ones_refused():
    moscow = timezone(timedelta(hours=3))
    assert vtql.quote(datetime(2024, 5, 1, 13, 0, tzinfo=moscow)) == "'2024-05-01 10:00:00'"
    with pytest.raises(ValueError, match="aware"):
        vtql.quote(datetime(2024, 5, 1, 13, 0))


def test_record_datetimes_are_read_as_utc():
    record = Record({"id": "10x1", "modifiedtime": "2024-05-01 10:00:00", "createdtime": ""})
    assert record.datetime("modifiedtime") == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    assert record.datetime("createdtime") is None
    with pytest.raises(ValueError, match="Y-m-d H:i:s"):
        Record({"modifiedtime": "1714557600"}).datetime("modifiedtime")


@pytest.mark.parametrize(
    "raw, expected",
    [("10x1", VtigerId(10, 1)), ("12x3456", VtigerId(12, 3456)), ("", None), (None, None),
     (VtigerId(5, 6), VtigerId(5, 6)), ("\u0661x\u0662", VtigerId(1, 2))],
)  # fmt: skip
def test_a_records_id_is_checked_when_made_and_the_same_when_read(raw, expected):
    """The id is built when first read (a listing builds none), but a bad one fails at once."""
    for record in (Record({"id": raw}), Record._decoded({"id": raw})):
        assert record.id == expected and record.id is record.id
        assert record["id"] == raw


@pytest.mark.parametrize("raw", ["10", "x1", "10x", "10x1x2", "a0x1", "10 x1", 7])
def test_a_record_with_a_malformed_id_is_refused_when_made(raw):
    with pytest.raises(ValueError, match="not a vtiger id"):
        Record({"id": raw})
    with pytest.raises(ValueError, match="not a vtiger id"):
        Record._decoded({"id": raw})


@pytest.mark.parametrize(
    "query, expected",
    [
        ("operation=query&query=x", "operation=query&query=x&sessionName=s%2B1"),
        ("operation=query&sessionName=s%2B1&query=x", "operation=query&sessionName=s%2B1&query=x"),
        ("operation=query&sessionName=old&query=x", "operation=query&sessionName=s%2B1&query=x"),
        ("sessionName=s%2B10", "sessionName=s%2B1"),
        ("sessionName=s%2B1&xsessionName=1", "sessionName=s%2B1&xsessionName=1"),
        ("sessionName=old&sessionName=s%2B1", "sessionName=s%2B1"),
    ],
)
def test_a_get_carries_exactly_the_current_session(query, expected):
    """Kept when the request carries the current one, else set or replaced."""
    auth = VtigerAuth("https://crm.example.test/webservice.php", "admin", "key")
    request = httpx.Request("GET", f"https://crm.example.test/webservice.php?{query}")
    assert auth.authorize(request, "s+1").url.query.decode() == expected


async def test_the_sandbox_sends_vtiger_datetimes_and_filters_on_them():
    sandbox = VtigerSandbox(leads=3)
    sandbox.clock.advance(60)
    sandbox.touch("10x2", lastname="Later")
    cutoff = sandbox.clock.datetime() - timedelta(seconds=30)
    async with client_for(sandbox) as crm:
        lead = await crm.retrieve("10x2")
        newer = await crm.query(vtql.select("Leads", where={}) + "").to_list()
        changed = await crm.query(
            f"SELECT * FROM Leads WHERE modifiedtime > {vtql.quote(cutoff)}"
        ).to_list()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", lead["modifiedtime"])
    assert abs(lead.datetime("modifiedtime") - sandbox.clock.datetime()) < timedelta(seconds=2)
    assert len(newer) == 3 and [str(r.id) for r in changed] == ["10x2"]


# -- errors ------------------------------------------------------------------------

#: Every code of WebServiceErrorCode.php (vtiger 7) and the crmkit error it means.
EXPECTED = {
    "SESSION_EXPIRED": crmkit.AuthenticationError,
    "REFERENCE_INVALID": crmkit.ValidationError,
    "SESSION_LEFT_IDLE": crmkit.AuthenticationError,
    "INVALID_SESSIONID": crmkit.AuthenticationError,
    "INVALID_USER_CREDENTIALS": crmkit.AuthenticationError,
    "AUTHENTICATION_REQUIRED": crmkit.AuthenticationError,
    "AUTHENTICATION_FAILURE": crmkit.AuthenticationError,
    "ACCESS_DENIED": crmkit.PermissionDeniedError,
    "DATABASE_QUERY_ERROR": crmkit.ServerError,
    "MANDATORY_FIELDS_MISSING": crmkit.ValidationError,
    "INVALID_ID_ATTRIBUTE": crmkit.ValidationError,
    "QUERY_SYNTAX_ERROR": crmkit.ValidationError,
    "INVALID_AUTH_TOKEN": crmkit.AuthenticationError,
    "ACCESSKEY_UNDEFINED": crmkit.AuthenticationError,
    "RECORD_NOT_FOUND": crmkit.NotFoundError,
    "UNKNOWN_OPERATION": crmkit.NotFoundError,
    "INTERNAL_SERVER_ERROR": crmkit.ServerError,
    "OPERATION_NOT_SUPPORTED": crmkit.PermissionDeniedError,
    "UNKOWN_ENTITY": crmkit.NotFoundError,
    "INVALID_POTENTIAL_FOR_CONVERTLEAD": crmkit.ValidationError,
    "LEAD_ALREADY_CONVERTED": crmkit.ValidationError,
    "LEAD_RELATEDLIST_UPDATE_FAILED": crmkit.ServerError,
    "FAILED_TO_CREATE_RELATION": crmkit.ServerError,
    "FAILED_TO_MARK_LEAD_CONVERTED": crmkit.ServerError,
    "INVALID_OLD_PASSWORD": crmkit.ValidationError,
    "NEW_PASSWORD_MISMATCH": crmkit.ValidationError,
    "CHANGE_PASSWORD_FAILURE": crmkit.ServerError,
    "POTENTIAL_ALREADY_CONVERTED": crmkit.ValidationError,
    "FAILED_TO_MARK_POTENTIAL_CONVERTED": crmkit.ServerError,
    "POTENTIAL_RELATEDLIST_UPDATE_FAILED": crmkit.ServerError,
    "FAILED_TO_CREATE": crmkit.ServerError,
    "CURRENCY_INACTIVE": crmkit.ValidationError,
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_every_vtiger_error_code_is_the_typed_error_it_means(code):
    body = {"success": False, "error": {"code": code, "message": "from vtiger"}}
    error = envelope_error(httpx.Response(200, json=body, request=REQUEST), body)
    assert isinstance(error, EXPECTED[code]) and isinstance(error, crmkit.vtiger.VtigerError)
    assert error.code == code and "from vtiger" in str(error)


def test_no_code_is_mapped_that_vtiger_does_not_have():
    assert set(ERROR_CODES) - set(EXPECTED) == {"INVALID_PARAMETER"}  # the sandbox's own


# -- quoting -------------------------------------------------------------------------

# What vtiger's lexer would read as one literal, and what MySQL would make of it.
VTIGER_LITERAL = re.compile(r"'(?:[^']|'')+'")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_any_text_is_one_literal_that_reads_back_as_itself(text):
    literal = vtql.quote(text)
    assert VTIGER_LITERAL.fullmatch(literal) is not None
    query = parse(f"SELECT * FROM Leads WHERE lastname = {literal};")
    assert query.condition is not None and query.condition({"lastname": text})
    assert not query.condition({"lastname": text + "x"})


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1), st.sampled_from(["'", ";", "--", "/*", "#", "\\", "' OR '1'='1"]))
def test_quotes_semicolons_and_comment_markers_stay_inside_the_value(text, hostile):
    value = text + hostile
    query = parse(f"SELECT * FROM Leads WHERE lastname = {vtql.quote(value)} LIMIT 1;")
    assert query.limit == 1 and query.condition is not None
    assert query.condition({"lastname": value}) and not query.condition({"lastname": "1"})


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1), st.text(min_size=1))
def test_two_literals_in_one_query_end_where_they_should(first, second):
    # The lexer's pattern is greedy: a literal must not swallow the next one.
    where = vtql.where({"lastname": [first, second], "firstname": second})
    query = parse(f"SELECT * FROM Leads WHERE {where};")
    assert query.condition is not None
    assert query.condition({"lastname": first, "firstname": second})
    assert query.condition({"lastname": second, "firstname": second})
    assert not query.condition({"lastname": first, "firstname": second + "!"})


async def test_o_brien_can_be_searched():
    sandbox = VtigerSandbox(leads=20)
    async with client_for(sandbox) as crm:
        await crm.create("Leads", {"lastname": "O'Brien", "email": "ob@example.test"})
        found = await crm.query(vtql.select("Leads", where={"lastname": "O'Brien"})).to_list()
    assert [r["email"] for r in found] == ["ob@example.test"]
    assert vtql.quote("O'Brien") == "'O''Brien'" and vtql.quote("a\\b") == "'a\\\\b'"


def test_values_vtql_cannot_say_are_refused():
    for value in ("", None, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            vtql.quote(value)


# -- malformed answers and feeds that do not move ----------------------------------


class Answers(httpx.AsyncBaseTransport):
    """Logs in, then answers every other call with the next canned ``result``."""

    def __init__(self, *results: object) -> None:
        self.results = list(results)
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = request.url.params.get("operation") or "login"
        if operation == "getchallenge":
            return httpx.Response(200, json={"success": True, "result": {"token": "t"}})
        if operation == "login":
            return httpx.Response(200, json={"success": True, "result": {"sessionName": "s"}})
        self.calls += 1
        result = self.results[min(self.calls, len(self.results)) - 1]
        return httpx.Response(200, json={"success": True, "result": result})


def canned(*results: object) -> Vtiger:
    return Vtiger(
        "http://crm.example.test", "u", "k", transport=Answers(*results), allow_insecure_http=True
    )


@pytest.mark.parametrize(
    "call, result",
    [
        ("count", [{"total": 3}]),
        ("count", {"count": 3}),
        ("count", [{"count": "many"}]),
        ("retrieve", ["not", "a", "record"]),
        ("retrieve", {"id": "garbage"}),
        ("describe", "Leads"),
        ("describe", {"fields": "none"}),
        ("list_types", {"types": [1, 2]}),
        ("list_types", None),
    ],
)
async def test_malformed_successful_answers_are_protocol_errors(call, result):
    async with canned(result) as crm:
        method = getattr(crm, call)
        args = {"count": ("Leads",), "retrieve": ("10x1",), "describe": ("Leads",)}
        with pytest.raises(crmkit.ProtocolError, match=call.replace("_", "")):
            await method(*args.get(call, ()))


async def test_a_sync_feed_whose_time_does_not_move_stops_with_an_error():
    window = {"updated": [{"id": "10x1"}], "deleted": [], "lastModifiedTime": 100, "more": True}
    transport = Answers(window)
    crm = Vtiger("http://crm.example.test", "u", "k", transport=transport, allow_insecure_http=True)
    async with crm:
        start = datetime.fromtimestamp(50, timezone.utc)
        with pytest.raises(crmkit.ProtocolError, match="more: true"):
            await crm.sync("Leads", start, sync_type="user").to_list()
    assert transport.calls == 2  # the window, then the same one: stopped there


def test_sync_strategy_refuses_a_window_that_ends_where_it_started():
    response = httpx.Response(
        200,
        json={"success": True, "result": {"updated": [], "lastModifiedTime": 7, "more": True}},
        request=REQUEST,
    )
    with pytest.raises(crmkit.ProtocolError):
        SyncStrategy("Leads").parse(response, 7, 100)
