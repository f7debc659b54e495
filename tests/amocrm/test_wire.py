"""amoCRM's wire rules without I/O: list parameters, v2 <-> v4 fields, path segments, 403s."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

import crmkit
from crmkit.amocrm import _v2_fields, _wire


def test_list_params_send_dates_as_unix_seconds_and_objects_by_position():
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    params = _wire.list_params(
        "leads",
        4,
        filter={
            "updated_at": {"from": when, "to": when + timedelta(days=1)},
            "statuses": [{"pipeline_id": 1, "status_id": 142}],
            "id": [1, 2],
        },
        order=None,
        query="Acme",
        params={},
    )
    assert params == {
        "filter[updated_at][from]": ["1704067200"],
        "filter[updated_at][to]": ["1704153600"],
        "filter[statuses][0][pipeline_id]": ["1"],
        "filter[statuses][0][status_id]": ["142"],
        "filter[id][]": ["1", "2"],
        "query": "Acme",
        "order[updated_at]": "asc",
    }


def test_list_params_order_and_dialects():
    given = _wire.list_params("leads", 4, filter=None, order={"id": "desc"}, query=None, params={})
    tasks = _wire.list_params("tasks", 4, filter=None, order=None, query=None, params={})
    legacy = _wire.list_params("leads", 2, filter=None, order=None, query=None, params={})
    assert given == {"order[id]": ["desc"]} and tasks == {} and legacy == {}


@pytest.mark.parametrize(
    "value",
    [
        {"created_at": {"from": datetime(2024, 1, 1)}},
        {"updated_at": datetime(2024, 1, 1)},
        {"statuses": [{"since": datetime(2024, 1, 1)}]},
    ],
)
def test_a_naive_datetime_anywhere_in_a_filter_is_a_value_error(value):
    with pytest.raises(ValueError, match="naive"):
        _wire.list_params("leads", 4, filter=value, order=None, query=None, params={})


def test_v2_tasks_and_notes_fields_round_trip():
    task = {
        "text": "Call",
        "entity_id": 7,
        "entity_type": "contacts",
        "complete_till": 1700,
        "task_type_id": 2,
    }
    wired = _v2_fields.v4_to_v2(task, "tasks")
    assert wired == {
        "text": "Call",
        "element_id": 7,
        "element_type": 1,
        "complete_till_at": 1700,
        "task_type": 2,
    }
    assert _v2_fields.v2_to_v4(wired, "tasks") == task
    note = {"entity_id": 5, "note_type": "call_in", "params": {"text": "hi"}}
    wired_note = _v2_fields.v4_to_v2(note, "notes", parent="companies")
    assert wired_note == {"element_id": 5, "element_type": 3, "note_type": 10, "text": "hi"}
    assert _v2_fields.v2_to_v4({**wired_note, "element_type": "3"}, "notes") == {
        **note,
        "entity_type": "companies",
    }
    lead = {"price": 5, "custom_fields_values": [{"field_id": 1, "values": [{"value": "x"}]}]}
    assert _v2_fields.v4_to_v2(lead) == {
        "sale": 5,
        "custom_fields": [{"id": 1, "values": [{"value": "x"}]}],
    }


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_path_segments_are_encoded_and_dot_segments_refused(bad):
    assert _wire.segment("a/b?c") == "a%2Fb%3Fc"
    with pytest.raises(ValueError):
        _wire.segment(bad)


def _response(status: int, body: bytes, kind: str, path: str = "/api/v4/leads/5") -> httpx.Response:
    request = httpx.Request("GET", f"https://acme.amocrm.ru{path}")
    return httpx.Response(status, content=body, headers={"content-type": kind}, request=request)


def test_the_error_mapper_tells_a_refusal_from_the_block():
    now = [1000.0]
    mapper = _wire.ErrorMapper(now=lambda: now[0])
    problem = b'{"title": "Forbidden", "status": 403}'
    html = _response(403, b"<html>403</html>", "text/html")
    assert isinstance(mapper(html), crmkit.AccountBlockedError)
    json_403 = _response(403, problem, "application/problem+json")
    assert type(mapper(json_403)) is crmkit.PermissionDeniedError  # never worked, no 429
    assert mapper(_response(200, b"{}", "application/json", "/api/v4/leads/6")) is None
    assert type(mapper(json_403)) is crmkit.PermissionDeniedError  # worked, but no 429
    assert isinstance(mapper(_response(429, b"", "text/plain")), crmkit.RateLimitError)
    assert isinstance(mapper(json_403), crmkit.AccountBlockedError)  # worked, 429 just now
    users = _response(403, problem, "application/problem+json", "/api/v4/users")
    assert type(mapper(users)) is crmkit.PermissionDeniedError  # /users never worked
    now[0] += 61
    assert type(mapper(json_403)) is crmkit.PermissionDeniedError  # the 429 is old
