"""The bundled evaluation suite (assets/eval) is solvable, and ``studio eval`` works end to end.

Every task runs ONCE in a fresh real sandbox (Xvfb + openbox + the isolated sandbox + the real app): evaluated untouched
it must score 0.0 (the no-op agent's score), then its ``.actions`` solution is replayed and it must score 1.0.
Two sandboxes run at once (spawned worker processes) to keep the whole suite inside a CI budget.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envs.tasks import REPO_ROOT
from studio.pipeline.eval.runner import EVAL_SUITE_DIR, Solvability, check_suite

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None:  # pragma: no cover - setup problem
    pytest.skip("needs Xvfb and util-linux nsenter (run `make test` to install them)", allow_module_level=True)

TASK_FILES = sorted(EVAL_SUITE_DIR.rglob("*.json"))


@pytest.fixture(scope="module")
def solvability() -> dict[str, Solvability]:
    t0 = time.monotonic()
    results = check_suite(EVAL_SUITE_DIR, workers=2)
    wall = time.monotonic() - t0
    print(f"\n[eval suite] {len(results)} tasks checked (no-op + solution) in {wall:.1f} s with 2 sandboxes")
    return {r.task_id: r for r in results}


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("task_file", TASK_FILES, ids=[p.stem for p in TASK_FILES])
def test_task_noop_scores_zero_and_solution_scores_one(task_file: Path, solvability: dict[str, Solvability]) -> None:
    r = solvability[task_file.stem]
    assert r.error == "", r
    assert r.noop_score == 0.0, r
    assert r.solution_score == 1.0, r
    assert r.steps > 0


@pytest.mark.timeout(600)
def test_cli_eval_on_a_three_task_sub_suite(tmp_path: Path) -> None:
    out = tmp_path / "eval"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "studio.cli",
            "eval",
            "--suite",
            str(EVAL_SUITE_DIR / "galculator"),
            "--limit",
            "3",
            "--agent",
            "solution",
            "--agent",
            "noop",
            "--parallel",
            "2",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 6
    by_agent: dict[str, list[dict]] = {}
    for row in rows:
        by_agent.setdefault(row["agent"], []).append(row)
    assert [r["score"] for r in by_agent["solution"]] == [1.0, 1.0, 1.0], by_agent["solution"]
    assert [r["score"] for r in by_agent["noop"]] == [0.0, 0.0, 0.0], by_agent["noop"]
    assert all(r["error"] == "" for r in rows), rows
    assert "solution: success 100.0% (3/3 solved)" in proc.stdout
    assert "noop: success 0.0% (0/3 solved)" in proc.stdout
    report = (out / "report.md").read_text()
    assert "| solution | 100.0 | 100.0 | 3/3 |" in report
    assert "| noop | 0.0 | 0.0 | 0/3 |" in report
    for png in ("success_rate.png", "tokens_per_task.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
        assert f"]({png})" in report
