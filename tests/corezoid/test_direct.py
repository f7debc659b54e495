"""``crmkit.corezoid.direct(url)``: a process's direct URL exactly as copied from the editor.

Sources: ``corezoid/documentation`` ``en/interface/tasks/direct_url.md`` (POST the
data to the copied URL; the answer carries the task's ``obj_id``),
``en/plugins/internet-shop/auto_call_lead.md`` (``https://www.corezoid.com/api/1/json/
public/31754/e420...`` taking ``{"ops": [{ref, type: create, obj: task, conv_id, data}]}``),
``corezoid/corezoid-ai-plugin`` ``plugins/corezoid/mcp-server/telemetry_config.go``
(``https://www.corezoid.com/api/2/json/public/{conv_id}/{hash}``) and
``skills/corezoid-alias-manager/SKILL.md`` (the alias form
``/api/2/json/public/@alias/project/stage/company/hash``).
"""

from __future__ import annotations

import httpx
import pytest

import crmkit
from crmkit.corezoid import direct
from crmkit.corezoid._direct import parse_direct_url
from crmkit.corezoid.sandbox import DEFAULT_CONV, CorezoidSandbox

from ._helpers import DropAfterProcessing

pytestmark = pytest.mark.anyio

WWW_V1 = "https://www.corezoid.com/api/1/json/public/31754/e4203ff8f55f17595a46549d35dbd00d51d0879d"
WWW_V2 = (
    "https://www.corezoid.com/api/2/json/public/1852976/5b76d006818d63730bc18a5b0e7d8d091e82d2a2"
)


def test_urls_as_copied_are_taken_apart():
    v1 = parse_direct_url(WWW_V1 + "\n")  # as pasted, with the newline
    assert (v1.origin, v1.version, v1.conv_id) == ("https://www.corezoid.com", 1, 31754)
    v2 = parse_direct_url(WWW_V2.replace("www.", "api."))
    assert (v2.origin, v2.version, v2.conv_id) == ("https://api.corezoid.com", 2, 1852976)
    alias = parse_direct_url(
        "https://corezoid.acme.local/api/2/json/public/@orders/sales/prod/i100/" + "ab" * 20
    )
    assert alias.conv_id is None and alias.alias_path == "@orders/sales/prod/i100"
    assert alias.path.startswith("api/2/json/public/@orders/")
    assert "e4203ff8" not in repr(v1)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.corezoid.com/api/2/json/100001/1700000000/" + "ab" * 20,  # a signed URL
        "https://www.corezoid.com/api/3/json/public/31754/" + "ab" * 20,
        "https://www.corezoid.com/api/1/json/public/31754/not-a-hash",
        "ftp://www.corezoid.com/api/1/json/public/31754/" + "ab" * 20,
        WWW_V1 + "?x=1",
        "",
    ],
)
def test_other_urls_are_refused_without_showing_the_hash(url):
    with pytest.raises(ValueError, match="url") as info:
        parse_direct_url(url)
    assert "abab" not in str(info.value) and "e4203ff8" not in str(info.value)


@pytest.mark.parametrize("version", [1, 2])
async def test_a_task_through_the_copied_url_over_loopback(version):
    sandbox = CorezoidSandbox()
    digest = sandbox.processes[DEFAULT_CONV].direct_hash
    with sandbox.serve() as served:
        url = f"{served.url}/api/{version}/json/public/{DEFAULT_CONV}/{digest}"
        async with direct(url, allow_insecure_http=True) as hook:
            result = await hook.create_task({"lead": 7})
            with pytest.raises(ValueError, match="data"):
                await hook.create_task(["not", "a", "mapping"])  # type: ignore[arg-type]
        async with direct(url.replace(digest, "0" * 40), allow_insecure_http=True) as bad:
            with pytest.raises(crmkit.PermissionDeniedError) as info:
                await bad.create_task({"lead": 8})
    assert result.ok and sandbox.tasks()[result.obj_id]["data"] == {"lead": 7}
    assert digest not in str(info.value) and digest not in repr(hook)
    assert len(sandbox.tasks()) == 1


async def test_a_lost_answer_is_resent_and_the_task_made_once():
    sandbox = CorezoidSandbox()
    digest = sandbox.processes[DEFAULT_CONV].direct_hash
    transport = DropAfterProcessing(sandbox.transport(), "/api/2/json/public/")
    url = f"http://corezoid.sandbox/api/2/json/public/{DEFAULT_CONV}/{digest}"
    async with direct(url, allow_insecure_http=True, transport=transport) as hook:
        hook.session.retry = crmkit.RetryPolicy(max_retries=2, backoff_base=0.0)
        result = await hook.create_task({"n": 1})
    assert result.ok and result.obj_id is None  # made by the first send, not shown
    assert len(sandbox.tasks()) == 1 and sandbox.request_count == 2


async def test_a_callers_ref_already_taken_is_reported_as_such():
    sandbox = CorezoidSandbox()
    digest = sandbox.processes[DEFAULT_CONV].direct_hash
    url = f"http://corezoid.sandbox/api/1/json/public/{DEFAULT_CONV}/{digest}"
    async with direct(url, allow_insecure_http=True, transport=sandbox.transport()) as hook:
        first = await hook.create_task({"n": 1}, ref="lead-1")
        again = await hook.create_task({"n": 2}, ref="lead-1")
    assert first.ok and not again.ok and again.duplicate_ref


async def test_the_sandbox_takes_bare_data_as_the_documentation_posts_it():
    """direct_url.md posts ``{"text": "Hello!"}`` itself as the body."""
    sandbox = CorezoidSandbox()
    digest = sandbox.processes[DEFAULT_CONV].direct_hash
    async with httpx.AsyncClient(transport=sandbox.transport()) as client:
        answer = await client.post(
            f"http://cz/api/2/json/public/{DEFAULT_CONV}/{digest}", json={"text": "Hello!"}
        )
    (op,) = answer.json()["ops"]
    assert op["proc"] == "ok" and sandbox.tasks()[op["obj_id"]]["data"] == {"text": "Hello!"}
