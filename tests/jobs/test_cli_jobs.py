"""`crmkit enqueue`, `crmkit worker --burst` and `crmkit jobs status` as a user runs them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import redis
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.cli import main

from ._accounts import toml_table


def test_enqueue_run_and_status(redis_url, tmp_path, capsys):
    redis.Redis.from_url(redis_url).flushdb()
    sandbox = AmoCRMSandbox(leads=25, contacts=5)
    config = tmp_path / "accounts.toml"
    with sandbox.serve() as served:
        token = sandbox.credentials.access_token
        config.write_text(
            toml_table(
                name="acme",
                platform="amocrm",
                url=served.url,
                token=token,
                entities=["leads", "contacts"],
                page_size=10,
            )
        )
        assert main(["enqueue", "--config", str(config), "--redis", redis_url]) == 0
        assert "queued 2 job(s); 0 already" in capsys.readouterr().err
        assert main(["enqueue", "--config", str(config), "--redis", redis_url]) == 0
        assert "queued 0 job(s); 2 already" in capsys.readouterr().err
        assert main(["jobs", "status", "--redis", redis_url, "--json"]) == 0
        queued = json.loads(capsys.readouterr().out)
        assert [(j["entity"], j["state"]) for j in queued["jobs"]] == [
            ("contacts", "queued"),
            ("leads", "queued"),
        ]
        worker = subprocess.run(
            [
                sys.executable,
                "-m",
                "crmkit",
                "worker",
                "--config",
                str(config),
                "--out",
                str(tmp_path / "out"),
                "--redis",
                redis_url,
                "--burst",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert worker.returncode == 0, worker.stderr
    events = [json.loads(line) for line in worker.stderr.splitlines() if line.startswith("{")]
    assert {(e["event"], e["entity"]) for e in events} >= {
        ("job.start", "leads"),
        ("job.done", "leads"),
        ("job.done", "contacts"),
    }
    assert token not in worker.stderr
    assert main(["jobs", "status", "--redis", redis_url, "--config", str(config)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:3] == ["ACCOUNT", "ENTITY", "STATE"]
    rows = {line.split()[1]: line.split() for line in table[2:]}
    assert rows["leads"][2] == "done" and rows["leads"][4] == "25"
    assert rows["contacts"][2] == "done" and rows["contacts"][4] == "5"
    assert rows["leads"][-1].startswith("20")  # the watermark, an ISO instant


def _unreachable_account(redis_url: str, tmp_path: Path) -> Path:
    """An empty Redis and one RetailCRM account on a port nobody serves (no job runs)."""
    redis.Redis.from_url(redis_url).flushdb()
    config = tmp_path / "accounts.toml"
    config.write_text(
        toml_table(
            name="acme",
            platform="retailcrm",
            url="http://127.0.0.1:9",
            api_key="k",
            entities=["orders"],
        )
    )
    return config


def test_enqueue_every_keeps_queueing_without_doubling_a_job(redis_url, tmp_path):
    config = _unreachable_account(redis_url, tmp_path)
    lines: list[str] = []
    with subprocess.Popen(  # leaving the block closes its pipe and waits for it
        [
            sys.executable,
            "-m",
            "crmkit",
            "enqueue",
            "--config",
            str(config),
            "--redis",
            redis_url,
            "--every",
            "0.5s",
        ],
        stderr=subprocess.PIPE,
        text=True,
    ) as scheduler:
        assert scheduler.stderr is not None
        try:
            while len(lines) < 3:  # a line each period; the job stays queued (no worker runs)
                line = scheduler.stderr.readline()
                assert line, "the scheduler stopped"
                if "crmkit: queued" in line:
                    lines.append(line)
        finally:
            scheduler.terminate()
    assert "queued 1 job(s); 0 already" in lines[0]
    assert all("queued 0 job(s); 1 already" in line for line in lines[1:3])


def test_worker_closes_its_event_loop(redis_url, tmp_path, monkeypatch):
    """arq's Worker.run() leaves its loop open; ``crmkit worker`` closes it when done."""
    config = _unreachable_account(redis_url, tmp_path)
    made: list[asyncio.AbstractEventLoop] = []
    new_event_loop = asyncio.new_event_loop
    monkeypatch.setattr(
        asyncio, "new_event_loop", lambda: made.append(new_event_loop()) or made[-1]
    )
    command = ["worker", "--config", str(config), "--redis", redis_url, "--out", str(tmp_path)]
    assert main([*command, "--burst"]) == 0  # an empty queue: burst mode ends at once
    assert len(made) == 1 and made[0].is_closed()
