"""Models are built without cattrs' detailed validation; a bad answer still names its path."""

from __future__ import annotations

import pytest

import crmkit
from crmkit._models import from_wire
from crmkit.amocrm.models import Lead


def test_a_good_answer_builds_the_model_and_keeps_unknown_fields():
    lead = from_wire({"id": "7", "name": "Deal", "price": 100, "surprise": 1}, Lead)
    assert lead.id == 7 and lead.price == 100 and lead.extra == {"surprise": 1}


def test_a_bad_value_is_a_protocol_error_naming_its_path():
    with pytest.raises(crmkit.ProtocolError) as info:
        from_wire({"id": 1, "name": "Deal", "price": "a lot"}, Lead)
    assert "Lead.price" in str(info.value)
