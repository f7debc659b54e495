"""Krukov's ``amocrm-api`` (PyPI; import ``amocrm.v2``), unchanged, against the sandbox.

The library is used as its README shows: ``tokens.default_token_manager(...)``
with the account's subdomain, then ``Lead.objects.all()`` and friends. It
builds ``https://{subdomain}.amocrm.ru/api/v4/...`` itself (``interaction.py``
``_get_url``; ``tokens.py`` for ``/oauth2/access_token``) and has no setting
for the host, so the test gives ``requests`` its standard proxy and CA
settings: a loopback proxy speaks TLS for ``sandbox.amocrm.ru`` with a test
CA and passes the requests on to the served sandbox (real sockets both ways).
Nothing in the library is patched or subclassed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt  # PyJWT, which amocrm-api uses to read exp
import pytest
import trustme
from amocrm.v2 import Company, Contact, Event, Lead, User, tokens

from crmkit.amocrm.sandbox import AmoCRMSandbox, make_jwt

from ._tls_proxy import TLSInterceptingProxy

SUBDOMAIN = "sandbox"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AmoCRMSandbox, Any, Any]]:
    sandbox = AmoCRMSandbox(leads=260, contacts=4, companies=3, notes=5, rate_limit=None)
    sandbox.clock.advance(10)
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert = ca.issue_cert(f"{SUBDOMAIN}.amocrm.ru")
    with sandbox.serve() as server, TLSInterceptingProxy(cert, server.port) as proxy:
        patch = pytest.MonkeyPatch()
        for name in ("HTTPS_PROXY", "https_proxy"):
            patch.setenv(name, proxy.url)
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "CURL_CA_BUNDLE"):
            patch.delenv(name, raising=False)
        patch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
        c = sandbox.credentials
        storage = tokens.MemoryTokensStorage()
        tokens.default_token_manager(  # the module-wide manager, as its README shows
            client_id=c.client_id,
            client_secret=c.client_secret,
            subdomain=SUBDOMAIN,
            redirect_url=c.redirect_uri,
            storage=storage,
        )
        try:
            yield sandbox, proxy, storage
        finally:
            patch.undo()


@pytest.fixture
def admin(served: tuple[AmoCRMSandbox, Any, Any]) -> AmoCRMSandbox:
    sandbox, _, storage = served
    c = sandbox.credentials
    storage.save_tokens(c.access_token, c.refresh_token)
    return sandbox


def test_it_lists_all_leads_over_https_through_the_proxy(admin: AmoCRMSandbox, served: Any):
    leads = list(Lead.objects.all())
    assert len(leads) == 260 and len({lead.id for lead in leads}) == 260
    assert leads[0].name.startswith("Deal with")
    assert admin.requests_by_path["/api/v4/leads"] == 2  # 250 + 10: its page size is 250
    assert set(served[1].connects) == {"sandbox.amocrm.ru:443"}


def test_a_leads_pipeline_and_status(admin: AmoCRMSandbox):
    lead = Lead.objects.get(object_id=3)
    assert lead.pipeline.name == "Воронка"
    assert lead.status.id == 142 and lead.status.name == "Успешно реализовано"
    assert admin.requests_by_path["/api/v4/leads/pipelines/1"] >= 1


def test_contacts_companies_users_and_events(admin: AmoCRMSandbox):
    contacts = list(Contact.objects.all())
    companies = list(Company.objects.all())
    users = list(User.objects.all())
    assert len(contacts) == 4 and len(companies) == 3
    assert {u.email: u.is_admin for u in users} == {
        "admin@example.test": True,
        "manager@example.test": False,
    }
    Lead.objects.update(5, name="Seen in the events")
    events = list(Event.objects.all())
    assert any(e.type == "name_field_changed" and e.entity_id == 5 for e in events)
    assert all(
        r.query.count("limit=100") == 1 for r in admin.recent_requests if r.path.endswith("events")
    )


def test_the_notes_of_a_lead_and_an_update_of_one_lead(admin: AmoCRMSandbox):
    lead = Lead.objects.get(object_id=1)
    notes = list(lead.notes.objects.all())
    assert len(notes) == 5 and all(note.text.startswith("Spoke with") for note in notes)
    lead.name = "Renamed by amocrm-api"
    lead.price = 4242
    lead.save()
    again = Lead.objects.get(object_id=1)
    assert (again.name, again.price) == ("Renamed by amocrm-api", 4242)
    assert any(r.method == "PATCH" and r.path == "/api/v4/leads/1" for r in admin.recent_requests)
    assert admin.entities["leads"][1]["name"] == "Renamed by amocrm-api"


def test_its_token_manager_sees_the_jwt_expired_and_refreshes(served: Any):
    sandbox, _, storage = served
    c = sandbox.credentials
    expired = make_jwt({"sub": "1", "account_id": 1, "exp": int(time.time()) - 60})
    storage.save_tokens(expired, c.refresh_token)
    before = sandbox.refreshes
    leads = list(Lead.objects.all())
    assert len(leads) == 260 and sandbox.refreshes == before + 1
    fresh = storage.get_access_token()
    claims = jwt.decode(fresh, options={"verify_signature": False})
    assert fresh != expired and claims["exp"] > time.time() + 3600
    list(Contact.objects.all())  # the fresh token is used as is: no second refresh
    assert sandbox.refreshes == before + 1
