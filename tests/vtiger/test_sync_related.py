"""vtiger: the change feed's ``syncType``, the three related-record operations, methods by table.

Built to vtiger's own code (``vtiger-crm/vtigercrm`` and the vtiger 7 fork
``thinkingreed-inc/F-RevoCRM``): ``include/Webservices/GetUpdates.php`` (``syncType``:
``application`` for admins, ``userandgroup``, else the user's own records),
``RelatedTypes.php``, ``QueryRelated.php``, ``RetrieveRelated.php``,
``OperationManager.php`` (inputs read by the operation's type) and the
``vtiger_ws_operation`` rows of ``setup/sql/dump_firstinstall.sql``.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest

import crmkit
from crmkit.cli import main
from crmkit.vtiger import Vtiger
from crmkit.vtiger._wire import OPERATION_METHODS
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, OPERATIONS, VtigerSandbox

pytestmark = pytest.mark.anyio

ANN, BOB = "ann@example.test", "bob@example.test"
KEYS = {DEFAULT_USER: DEFAULT_ACCESS_KEY, ANN: "annKey123", BOB: "bobKey123"}


def team(**kwargs):
    """40 leads owned in turn by the admin, Ann, Bob and the group Sales (Ann is in it)."""
    return VtigerSandbox(
        users=KEYS,
        groups={"Sales": [ANN]},
        owners=[DEFAULT_USER, ANN, BOB, "Sales"],
        leads=40,
        **kwargs,
    )


def client_for(sandbox: VtigerSandbox, user: str = DEFAULT_USER) -> Vtiger:
    return Vtiger(
        "http://crm.example.test",
        user,
        KEYS[user],
        transport=sandbox.transport(),
        allow_insecure_http=True,
    )


def owners_of(changes, sandbox: VtigerSandbox) -> set[str]:
    by_id = {v: k for k, v in {**{u.name: u.id for u in sandbox.users.values()}}.items()}
    by_id.update({v: k for k, v in sandbox.group_ids.items()})
    return {by_id[c.record["assigned_user_id"]] for c in changes}


def sync_types_sent(sandbox: VtigerSandbox) -> list[str | None]:
    return [
        httpx.QueryParams(r.query).get("syncType")
        for r in sandbox.recent_requests
        if "operation=sync" in r.query
    ]


async def test_an_admin_gets_every_owner_with_an_application_sync():
    sandbox = team()
    async with client_for(sandbox) as crm:
        changes = await crm.sync("Leads").to_list()
    assert len(changes) == 40
    assert owners_of(changes, sandbox) == {DEFAULT_USER, ANN, BOB, "Sales"}
    assert sync_types_sent(sandbox) == ["application"]


async def test_a_user_gets_own_and_group_records_with_userandgroup():
    sandbox = team()
    async with client_for(sandbox, ANN) as crm:
        changes = await crm.sync("Leads").to_list()
    assert len(changes) == 20 and owners_of(changes, sandbox) == {ANN, "Sales"}
    assert sync_types_sent(sandbox) == ["userandgroup"]  # the login said: not an admin


async def test_refused_application_sync_falls_back_with_a_log_line(caplog):
    # ABMS's login answer does not say whether the user is an admin: ask, then fall back.
    sandbox = team(session_field="sessionId")
    caplog.set_level(logging.WARNING, logger="crmkit")
    async with client_for(sandbox, ANN) as crm:
        changes = await crm.sync("Leads").to_list()
        again = await crm.sync("Leads").to_list()  # the answer is remembered
    assert len(changes) == len(again) == 20
    assert sync_types_sent(sandbox) == ["application", "userandgroup", "userandgroup"]
    lines = [r.getMessage() for r in caplog.records if "falling back" in r.getMessage()]
    assert len(lines) == 1 and "syncType=userandgroup" in lines[0]
    assert "annKey123" not in lines[0]


async def test_an_explicit_sync_type_is_sent_as_is():
    sandbox = team()
    async with client_for(sandbox, ANN) as crm:
        own = await crm.sync("Leads", sync_type="user").to_list()
        with pytest.raises(crmkit.PermissionDeniedError, match="Only admin"):
            await crm.sync("Leads", sync_type="application").to_list()
        with pytest.raises(ValueError, match="sync_type"):
            crm.sync("Leads", sync_type="everyone")
    assert len(own) == 10 and owners_of(own, sandbox) == {ANN}


async def test_deletions_follow_the_same_owners():
    sandbox = team()
    since = sandbox.clock.datetime()
    sandbox.clock.advance(2)
    for record_id in ("10x1", "10x2", "10x3", "10x4"):  # one of each owner
        sandbox.remove(record_id)
    async with client_for(sandbox, ANN) as crm:
        changes = await crm.sync("Leads", since).to_list()
    assert sorted(str(c.id) for c in changes if c.kind == "deleted") == ["10x2", "10x4"]


def test_cli_changes_export_has_records_of_every_owner(tmp_path):
    sandbox = team()
    out = tmp_path / "changes.jsonl"
    with sandbox.serve() as served:
        code = main(
            [
                "export", "vtiger", "Leads", "--changes", "--quiet", "--url", served.url,
                "--username", DEFAULT_USER, "--access-key", DEFAULT_ACCESS_KEY,
                "--out", str(out),
            ]
        )  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 40 and len({r["record"]["assigned_user_id"] for r in rows}) == 4


# -- related records ---------------------------------------------------------------


def accounts_with_contacts() -> VtigerSandbox:
    """3 accounts; contact n belongs to account (n-1) % 3 + 1: 11x1 has 12x1, 12x4, 12x7."""
    return VtigerSandbox(accounts=3, contacts=9)


async def test_related_types_lists_labels_and_modules():
    async with client_for(accounts_with_contacts()) as crm:
        types = await crm.related_types("Accounts")
        none = await crm.related_types("Leads")
    assert types["types"] == ["Contacts"]
    assert types["information"]["Contacts"]["name"] == "Contacts"
    assert none["types"] == []


async def test_retrieve_related_gives_the_related_records():
    sandbox = accounts_with_contacts()
    async with client_for(sandbox) as crm:
        contacts = await crm.retrieve_related("11x1", "Contacts")
        with pytest.raises(crmkit.NotFoundError) as wrong:
            await crm.retrieve_related("11x1", "Contacts", "Friends")
    assert sorted(str(c.id) for c in contacts) == ["12x1", "12x4", "12x7"]
    assert all(c["account_id"] == "11x1" for c in contacts)
    assert wrong.value.code == "UNKOWN_ENTITY"
    assert sandbox.operations["retrieve_related"] == 2


async def test_query_related_filters_among_the_related_records():
    sandbox = accounts_with_contacts()
    async with client_for(sandbox) as crm:
        target = await crm.retrieve("12x4")
        query = f"SELECT * FROM Contacts WHERE lastname = '{target['lastname']}';"
        found = await crm.query_related(query, "11x1", "Contacts")
        other = await crm.query_related(query, "11x2", "Contacts")
    assert [str(r.id) for r in found] == ["12x4"] and other == []


async def test_related_operations_are_sent_as_get_with_their_inputs_in_the_query():
    sandbox = accounts_with_contacts()
    async with client_for(sandbox) as crm:
        await crm.related_types("Accounts")
        await crm.retrieve_related("11x1", "Contacts")
        await crm.query_related("SELECT * FROM Contacts", "11x1", "Contacts")
    sent = [r for r in sandbox.recent_requests if "related" in r.query]
    assert [r.method for r in sent] == ["GET", "GET", "GET"]


async def test_post_for_a_get_operation_loses_its_inputs_as_on_vtiger():
    # What crmkit used to do: vtiger reads retrieve_related's inputs from $_GET only.
    async with client_for(accounts_with_contacts()) as crm:
        with pytest.raises(crmkit.ValidationError) as refused:
            await crm.call(
                "retrieve_related",
                "POST",
                id="11x1",
                relatedType="Contacts",
                relatedLabel="Contacts",
            )
    assert refused.value.code == "INVALID_ID_ATTRIBUTE"


def test_the_client_method_table_agrees_with_vtigers_operation_table():
    for name, (kind, _, _) in OPERATIONS.items():
        assert OPERATION_METHODS[name] == kind, name


async def test_a_run_stopped_in_its_first_window_resumes_from_its_modified_since():
    sandbox = team()
    since = sandbox.clock.datetime()
    sandbox.clock.advance(2)
    for n in range(1, 6):
        sandbox.touch(f"10x{n}", lastname="Changed")
    async with client_for(sandbox) as crm:
        first = crm.sync("Leads", since)
        async for _ in first:
            break  # one of five, in the first window
        rest = await crm.sync("Leads", resume_from=first.state).to_list()
    assert first.state.cursor == int(since.timestamp())
    assert len(rest) == 5  # the window again (at least once), not all 40 records


async def test_listtypes_honours_field_type_list_and_describe_gives_field_types():
    # include/Webservices/ModuleTypes.php: fieldTypeList keeps the modules with such fields.
    async with client_for(accounts_with_contacts()) as crm:
        with_reference = await crm.call("listtypes", fieldTypeList=["reference"])
        with_email = await crm.call("listtypes", fieldTypeList=["email"])
        described = await crm.describe("Contacts")
    assert with_reference["types"] == ["Contacts"]
    assert with_email["types"] == ["Contacts", "Leads"]
    types = {f["name"]: f["type"]["name"] for f in described["fields"]}
    assert types["account_id"] == "reference" and types["modifiedtime"] == "datetime"


async def test_logout_alone_checks_its_method():
    # include/Webservices/Logout.php compares $_SERVER['REQUEST_METHOD'] with its type.
    sandbox = accounts_with_contacts()
    async with client_for(sandbox) as crm:
        await crm.list_types()
        with pytest.raises(crmkit.PermissionDeniedError) as refused:
            await crm.call("logout", "GET", sessionName=crm.auth.session)
        assert await crm.list_types()  # still logged in
    assert refused.value.code == "OPERATION_NOT_SUPPORTED"
    assert sandbox.sessions == {}  # the client's own logout on close (POST) worked
