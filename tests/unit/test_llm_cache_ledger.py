"""Cache and ledger: atomic writes under concurrent threads and processes, summaries, the costs command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from typer.testing import CliRunner

from studio.llm.cache import ResponseCache, cache_key
from studio.llm.ledger import JsonlLedger, LedgerRecord, read_ledger, summarize

ROOT = Path(__file__).resolve().parents[2]


def test_cache_key_is_canonical():
    a = cache_key({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0})
    b = cache_key({"temperature": 0, "messages": [{"content": "x", "role": "user"}], "model": "m"})
    assert a == b and len(a) == 64
    assert a != cache_key({"model": "m2", "messages": [{"role": "user", "content": "x"}], "temperature": 0})


def test_cache_roundtrip_and_miss(tmp_path):
    cache = ResponseCache(tmp_path)
    assert cache.get("ab" * 32) is None
    cache.put("ab" * 32, {"text": "hi"})
    assert cache.get("ab" * 32) == {"text": "hi"} and len(cache) == 1


def test_corrupt_entry_is_a_miss(tmp_path):
    cache = ResponseCache(tmp_path)
    cache.put("cd" * 32, {"text": "hi"})
    (tmp_path / "cd" / f"{'cd' * 32}.json").write_text("{torn", encoding="utf-8")
    assert cache.get("cd" * 32) is None


def test_concurrent_thread_writers(tmp_path):
    cache = ResponseCache(tmp_path)
    key = cache_key({"k": "same"})
    big = "x" * 200_000

    def writer(i: int) -> None:
        for j in range(20):
            cache.put(key, {"text": big, "writer": i})
            cache.put(cache_key({"k": i, "j": j}), {"text": str(j)})
            got = cache.get(key)
            assert got is None or got["text"] == big

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get(key)["text"] == big
    assert len(cache) == 1 + 8 * 20
    assert not list(tmp_path.rglob(".tmp-*"))


WRITER = textwrap.dedent(
    """
    import sys
    from studio.llm.cache import ResponseCache, cache_key
    from studio.llm.ledger import JsonlLedger, LedgerRecord
    root, ledger_path, wid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cache = ResponseCache(root)
    ledger = JsonlLedger(ledger_path)
    for j in range(50):
        cache.put(cache_key({"shared": True}), {"text": "y" * 100_000, "writer": wid})
        cache.put(cache_key({"w": wid, "j": j}), {"text": str(j)})
        got = cache.get(cache_key({"shared": True}))
        assert got is None or len(got["text"]) == 100_000
        rec = LedgerRecord(stage="s%d" % wid, role="actor", model="m", prompt_tokens=j, error="e" * 500)
        ledger.append(rec)
    """
)


def test_concurrent_process_writers(tmp_path):
    ledger_path = tmp_path / "ledger.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "cache"), str(ledger_path), str(i)], cwd=ROOT)
        for i in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    cache = ResponseCache(tmp_path / "cache")
    assert len(cache.get(cache_key({"shared": True}))["text"]) == 100_000
    assert len(cache) == 1 + 4 * 50
    lines = ledger_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200 and all(json.loads(line)["role"] == "actor" for line in lines)
    assert len(read_ledger(ledger_path)) == 200


def test_summarize_groups_by_stage_and_model():
    records = [
        LedgerRecord(stage="tasks", role="task_writer", model="a", prompt_tokens=10, completion_tokens=5, cost=0.1),
        LedgerRecord(stage="tasks", role="task_writer", model="a", cache_hit=True),
        LedgerRecord(stage="judge", role="judge", model="b", error="Timeout", latency_s=2.0),
    ]
    s = summarize(records)
    assert s.by_stage_model[("tasks", "a")].calls == 2
    assert s.by_stage_model[("tasks", "a")].cache_hits == 1
    assert s.by_stage_model[("judge", "b")].errors == 1
    assert s.total.prompt_tokens == 10 and abs(s.total.cost - 0.1) < 1e-12 and s.total.calls == 3


def test_read_ledger_skips_torn_line(tmp_path):
    path = tmp_path / "ledger.jsonl"
    JsonlLedger(path).append(LedgerRecord(stage="s", role="r", model="m"))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"stage": "s", "ro')
    assert len(read_ledger(path)) == 1
    assert read_ledger(tmp_path / "missing.jsonl") == []


def test_costs_command_prints_totals(tmp_path):
    import typer

    from studio.commands import costs

    app = typer.Typer()
    costs.register(app)

    @app.command("noop")
    def noop() -> None:  # a second command so typer keeps `costs` as a subcommand
        pass

    ledger = JsonlLedger(tmp_path / "ledger.jsonl")
    ledger.append(LedgerRecord(stage="committee", role="judge", model="openai/gpt-4o-mini", cost=0.25))
    ledger.append(LedgerRecord(stage="rollout", role="actor", model="local/smollm2", prompt_tokens=1234))
    runner = CliRunner()
    result = runner.invoke(app, ["costs", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "committee" in result.output and "local/smollm2" in result.output
    assert "0.2500" in result.output and "1,234" in result.output
    empty = runner.invoke(app, ["costs", str(tmp_path / "nothing")], env={"COLUMNS": "200"})
    assert empty.exit_code == 0 and "No model calls" in empty.output
