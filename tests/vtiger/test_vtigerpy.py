"""The published ``vtigerpy`` client (PyPI ``vtigerpy`` 0.0.1, ``vtigerpy/core.py``), unchanged,
against the sandbox served on 127.0.0.1 over real HTTP.

vtigerpy logs in with ``POST webservice.php?operation=getchallenge&username=...`` (the
inputs in the query string of a POST), then ``POST`` form ``operation=login``; after
that ``get(operation, **params)`` sends a GET with the parameters in the query string
and ``post(operation, **params)`` a form POST, both with ``sessionName``. It has no
helpers of its own for the operations: a caller gives the operation's name and
inputs (``element`` as JSON text), which is how every operation below is made. Each
works with vtigerpy as it is; none needed a change.
"""

from __future__ import annotations

import json

import pytest
from vtigerpy.core import Vtiger as VtigerPy

from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox


@pytest.fixture
def served():
    sandbox = VtigerSandbox(leads=5, contacts=2)
    with sandbox.serve() as app:
        yield sandbox, app.url


def result(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True, body
    return body["result"]


def test_vtigerpy_login_and_every_operation_it_can_make(served):
    sandbox, url = served
    since = int(sandbox.clock.now())
    sandbox.clock.advance(5)

    crm = VtigerPy(url, DEFAULT_USER, DEFAULT_ACCESS_KEY)  # login: challenge, then login
    assert crm.sessionName and crm.sessionName in sandbox.sessions
    assert sandbox.operations["getchallenge"] == 1 and sandbox.operations["login"] == 1

    types = result(crm.get("listtypes"))
    assert "Leads" in types["types"]
    described = result(crm.get("describe", elementType="Leads"))
    assert described["name"] == "Leads" and described["fields"]

    created = result(
        crm.post(
            "create",
            elementType="Leads",
            element=json.dumps({"lastname": "O'Brien", "email": "ob@example.test"}),
        )
    )
    lead_id = created["id"]
    found = result(crm.get("query", query="SELECT * FROM Leads WHERE lastname = 'O''Brien';"))
    assert [row["id"] for row in found] == [lead_id]
    fetched = result(crm.get("retrieve", id=lead_id))
    assert fetched["email"] == "ob@example.test"

    revised = result(crm.post("revise", element=json.dumps({"id": lead_id, "phone": "+7000"})))
    assert revised["phone"] == "+7000" and revised["email"] == "ob@example.test"
    whole = {**revised, "firstname": "Pat"}
    updated = result(crm.post("update", element=json.dumps(whole)))
    assert updated["firstname"] == "Pat"

    changes = result(
        crm.get("sync", modifiedTime=since, elementType="Leads", syncType="application")
    )
    assert [row["id"] for row in changes["updated"]] == [lead_id]
    assert changes["more"] is False

    assert result(crm.post("delete", id=lead_id)) == {"status": "successful"}
    gone = crm.get("retrieve", id=lead_id).json()
    assert gone["error"]["code"] == "RECORD_NOT_FOUND"
    deleted = result(crm.get("sync", modifiedTime=since, elementType="Leads"))
    assert deleted["deleted"] == [lead_id]

    result(crm.post("logout"))
    after = crm.get("listtypes").json()
    assert after["success"] is False and after["error"]["code"] == "INVALID_SESSIONID"
