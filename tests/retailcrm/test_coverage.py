"""The README's RetailCRM coverage table is the one the code generates, and names real calls.

``PHP_GROUPS`` is read from ``retailcrm/api-client-php`` ``src/ResourceGroup/*.php``
(each group's public methods).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crmkit.retailcrm import RetailCRM
from crmkit.retailcrm._coverage import PHP_GROUPS, coverage_markdown, covered

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- retailcrm-coverage:start -->", "<!-- retailcrm-coverage:end -->"


def test_readme_table_is_the_generated_one():
    text = README.read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == coverage_markdown()


@pytest.mark.parametrize(("where", "call"), sorted(covered().items()))
def test_every_covered_method_is_a_real_call(where, call):
    group, method = where
    assert method in PHP_GROUPS[group]
    target = RetailCRM("https://demo.retailcrm.test", "k")
    for part in call.split("."):
        target = getattr(target, part)
    assert callable(target), call
