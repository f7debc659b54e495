"""The ``crmkit`` command, run as a subprocess against sandboxes served on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.cli import main
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox

TOKEN = AmoCRMSandbox().credentials.access_token


def crmkit(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "crmkit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def ids_in(path: Path) -> list[int]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


@pytest.fixture
def amocrm():
    sandbox = AmoCRMSandbox(leads=3000, rate_limit=None)
    sandbox.clock.advance(10)  # the seeded leads are older than any run
    with sandbox.serve() as served:
        yield sandbox, served.url


def test_export_writes_every_record_once_and_json_parses(amocrm, tmp_path):
    _, url = amocrm
    out = tmp_path / "leads.jsonl"
    done = crmkit(
        "export", "amocrm", "leads", "--url", url, "--out", str(out), "--json",
        env={"CRMKIT_AMOCRM_TOKEN": TOKEN},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(ids_in(out)) == list(range(1, 3001))
    summary = json.loads(done.stdout)["exports"][0]
    assert summary["records"] == 3000 and summary["status"] == "done"
    assert summary["requests"] == 12 and summary["rate_limited"] == 0
    assert TOKEN not in done.stdout + done.stderr


def test_export_over_the_aiohttp_transport_writes_the_same_lines(amocrm, tmp_path):
    _, url = amocrm
    outs = [tmp_path / "httpx.jsonl", tmp_path / "aiohttp.jsonl"]
    for out, transport in zip(outs, ("httpx", "aiohttp"), strict=True):
        done = crmkit(
            "export", "amocrm", "leads", "--url", url, "--out", str(out), "--quiet",
            "--transport", transport, env={"CRMKIT_AMOCRM_TOKEN": TOKEN},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert len(ids_in(outs[1])) == 3000


def test_rate_limit_0_exports_with_no_limit(amocrm, tmp_path, capsys, monkeypatch):
    """``--rate-limit 0`` is no limit (0.0 was dropped with the unset options: 7/s)."""
    _, url = amocrm
    monkeypatch.setenv("CRMKIT_AMOCRM_TOKEN", TOKEN)
    for rate, expected in (("0", None), ("15", 15.0)):
        out = tmp_path / f"leads-{rate}.jsonl"
        argv = ["export", "amocrm", "leads", "--url", url, "--out", str(out), "--json"]
        assert main([*argv, "--rate-limit", rate]) == 0
        summary = json.loads(capsys.readouterr().out)["exports"][0]
        assert summary["rate_limit"] == expected and summary["records"] == 3000


def test_interrupted_export_resumes_with_every_record_exactly_once(amocrm, tmp_path):
    _, url = amocrm
    out, state = tmp_path / "leads.jsonl", tmp_path / "leads.state"
    args = [
        "export", "amocrm", "leads", "--url", url, "--token", TOKEN, "--out", str(out),
        "--state", str(state), "--page-size", "50", "--rate-limit", "15", "--quiet",
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["records"] >= 600:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "resume" in err
    saved = json.loads(state.read_text())
    assert not saved["complete"] and 600 <= saved["records"] < 3000
    with out.open("ab") as f:  # as if the process had died half-way through a page
        f.write(b'{"id": 99999, "name": "half a rec')
    again = crmkit(*args)
    assert again.returncode == 0, again.stderr
    assert sorted(ids_in(out)) == list(range(1, 3001))
    assert json.loads(state.read_text())["complete"]


def test_incremental_rerun_returns_only_changed_records(amocrm, tmp_path):
    sandbox, url = amocrm
    out, state = tmp_path / "leads.jsonl", tmp_path / "leads.state"
    args = ["export", "amocrm", "leads", "--url", url, "--out", str(out), "--state", str(state)]
    env = {"CRMKIT_AMOCRM_TOKEN": TOKEN}
    assert crmkit(*args, "--quiet", env=env).returncode == 0
    assert len(ids_in(out)) == 3000
    sandbox.clock.advance(5)
    sandbox.touch("leads", [7, 1500, 2999], name="changed")
    second = crmkit(*args, "--json", env=env)
    assert second.returncode == 0, second.stderr
    assert sorted(ids_in(out)) == [7, 1500, 2999]
    summary = json.loads(second.stdout)["exports"][0]
    assert summary["incremental"] and summary["requests"] == 1


def test_bad_token_is_one_line_without_the_secret(amocrm, tmp_path):
    _, url = amocrm
    secret = "wrong-token-0123456789"
    done = crmkit("export", "amocrm", "leads", "--url", url, "--token", secret, "--quiet")
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crmkit: error: AuthenticationError")
    assert secret not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_usage_errors_name_the_problem(tmp_path, capsys):
    assert main(["export", "amocrm", "deals", "--url", "https://a.amocrm.ru"]) == 2
    assert "amocrm has no entity 'deals'" in capsys.readouterr().err
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMKIT_")}
    done = subprocess.run(
        [sys.executable, "-m", "crmkit", "export", "retailcrm", "orders", "--url", "https://x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2 and "CRMKIT_RETAILCRM_API_KEY" in done.stderr
    with pytest.raises(SystemExit) as info:
        main(["export", "--bogus-flag"])
    assert info.value.code == 2


def test_a_state_file_of_another_export_is_refused(amocrm, tmp_path, capsys):
    _, url = amocrm
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"version": 1, "key": "retailcrm:orders:https://x"}))
    code = main(
        ["export", "amocrm", "leads", "--url", url, "--token", TOKEN, "--state", str(state),
         "--out", str(tmp_path / "o.jsonl"), "--quiet"]
    )  # fmt: skip
    assert code == 9 and "belongs to another export" in capsys.readouterr().err


def test_retailcrm_history_feed_and_many_accounts_from_a_config(tmp_path):
    shop = RetailCRMSandbox(orders=450, rate_limit=10)
    other = AmoCRMSandbox(leads=700, rate_limit=7)
    other.clock.advance(10)
    with shop.serve() as a, other.serve() as b:
        config = tmp_path / "accounts.toml"
        config.write_text(
            f"""
[[export]]
platform = "retailcrm"
entity = "orders-history"
url = "{a.url}"
api_key_env = "SHOP_KEY"
out = "shop.jsonl"
state = "shop.state"

[[export]]
platform = "amocrm"
entity = "leads"
url = "{b.url}"
token = "{TOKEN}"
out = "amo.jsonl"
state = "amo.state"
"""
        )
        env = {"SHOP_KEY": DEFAULT_API_KEY}
        first = crmkit("export", "--config", str(config), "--json", env=env)
        assert first.returncode == 0, first.stderr
        account = shop.account()
        for order_id in (3, 4):
            account.edit("orders", account.stores["orders"].records[order_id], {"status": "done"})
        second = crmkit("export", "--config", str(config), "--json", env=env)
    assert second.returncode == 0, second.stderr
    runs = [json.loads(r.stdout)["exports"] for r in (first, second)]
    assert [e["records"] for e in runs[0]] == [450, 700]
    assert [e["records"] for e in runs[1]] == [2, 0]
    changes = [json.loads(line) for line in (tmp_path / "shop.jsonl").read_text().splitlines()]
    assert sorted(c["order"]["id"] for c in changes) == [3, 4]
    # each account within its own limit: neither sandbox answered a 429
    assert shop.rate_limited == 0 and other.limiter is not None
    assert other.limiter.violations() == 0


@contextlib.contextmanager
def served_from_cli(platform: str, records: int) -> Iterator[list[str]]:
    """``crmkit sandbox serve``: yields its lines up to the "try" line; Ctrl-C at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmkit", "sandbox", "serve", platform, "--records", str(records)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].lstrip().startswith("try:"):
            lines.append(proc.stdout.readline())
            assert lines[-1], "".join(lines)
        yield lines
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_sandbox_serve_prints_a_url_an_export_can_use(tmp_path):
    with served_from_cli("retailcrm", 120) as lines:
        url = lines[0].strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:"), lines[0]
        out = tmp_path / "orders.jsonl"
        done = crmkit(
            "export", "retailcrm", "orders", "--url", url, "--api-key", DEFAULT_API_KEY,
            "--out", str(out), "--quiet",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert len(out.read_text().splitlines()) == 120


def test_sandbox_serve_corezoid_prints_an_export_that_runs(tmp_path):
    """The "try" line of a served Corezoid sandbox names the node its tasks rest in."""
    with served_from_cli("corezoid", 30) as lines:
        command = lines[-1].split("try: crmkit ", 1)[1].split()
        assert "--node" in command and "--refs" not in command
        out = tmp_path / "tasks.jsonl"
        done = crmkit(*command, "--out", str(out), "--quiet")
        assert done.returncode == 0, done.stderr
        refs = sorted(json.loads(line)["ref"] for line in out.read_text().splitlines())
        assert refs == sorted(f"sandbox-task-{n}" for n in range(30))


def test_jsonl_demo_runs_start_to_finish(tmp_path):
    done = crmkit(
        "demo", "--jsonl", "--json", "--out-dir", str(tmp_path),
        "--amocrm-leads", "3000", "--retailcrm-orders", "1000",
        "--vtiger-leads", "1000", "--corezoid-tasks", "1000", "--faults",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    records = {
        e["name"].split()[0] + str(e["incremental"]): e["records"] for e in summary["exports"]
    }
    assert records == {
        "amocrmFalse": 3000,
        "retailcrmFalse": 1000,
        "vtigerFalse": 1000,
        "corezoidFalse": 1000,
        "amocrmTrue": 25,
        "retailcrmTrue": 40,
        "vtigerTrue": 15,
    }
    # RetailCRM reads any 503 (the injected ones too) as its rate limit, as the
    # vendor's Go client does; the others met no rate limit.
    assert all(e["rate_limited"] == 0 for e in summary["exports"] if "retailcrm" not in e["name"])
    assert sum(e["retries"] for e in summary["exports"]) > 0  # the faults were met, and survived
    assert (tmp_path / "amocrm.state.json").exists()


def test_demo_syncs_into_duckdb_then_applies_changes_and_deletions(tmp_path):
    done = crmkit(
        "demo", "--json", "--out-dir", str(tmp_path),
        "--amocrm-leads", "600", "--retailcrm-orders", "300",
        "--vtiger-leads", "300", "--corezoid-tasks", "300", "--faults",
        env={"DLT_DATA_DIR": str(tmp_path / "dlt-data")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    # 5 records deleted in each platform
    rows = summary["rows"]
    assert rows["amocrm.leads"] == 595 and rows["retailcrm.orders"] == 295
    assert rows["vtiger.leads"] == 295 and rows["corezoid.tasks"] == 295
    runs = {e["name"].split()[0] + str(e["incremental"]): e["records"] for e in summary["exports"]}
    assert runs["amocrmFalse"] == 600 + 60  # leads and contacts
    assert runs["amocrmTrue"] == 5 + 25  # the deletion events, then the changed leads
    assert runs["retailcrmTrue"] == 40 + 5  # changes read from the history
    # --faults injects 503s, which RetailCRM answers for its rate limit (api-notes; the
    # vendor's Go client retries them as such): only the other platforms must see none.
    assert all(e["rate_limited"] == 0 for e in summary["exports"] if "retailcrm" not in e["name"])
    assert sum(e["retries"] for e in summary["exports"]) > 0  # the faults were met, and survived
    with duckdb.connect(summary["database"], read_only=True) as db:
        changed = db.execute("SELECT count(*) FROM vtiger.leads WHERE lastname = 'Changed'")
        assert changed.fetchone() == (15,)
