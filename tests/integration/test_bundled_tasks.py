"""Every bundled task in assets/tasks/: its solution file scores 1.0 and doing nothing scores 0.0.

Real sandboxes (Xvfb + openbox + the isolated sandbox + the real apps); each run starts a fresh sandbox, except
the LibreOffice and Chromium tasks: one sandbox each, evaluated untouched and then after the solution.
Also checks ``studio task run`` end to end as a subprocess (one JSON object on stdout, exit 0).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envs.tasks import BUNDLED_TASKS_DIR, REPO_ROOT
from studio.commands.task import run_task

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None:  # pragma: no cover - setup problem
    pytest.skip("needs Xvfb and util-linux nsenter (run `make test` to install them)", allow_module_level=True)

TASK_FILES = sorted(BUNDLED_TASKS_DIR.rglob("*.json"))
#: Apps whose start dominates a run (LibreOffice 9-17 s, Chromium 3-4 s): their tasks are checked in ONE sandbox,
#: untouched first (must score 0.0) and then after the solution (1.0), as the evaluation suite does.
ONE_SANDBOX_APPS = ("libreoffice-calc", "libreoffice-writer", "libreoffice-impress", "chromium")
SLOW = [p for p in TASK_FILES if p.parent.name in ONE_SANDBOX_APPS]
FAST = [p for p in TASK_FILES if p not in SLOW]


@pytest.mark.parametrize("task_file", SLOW, ids=[p.stem for p in SLOW])
def test_untouched_scores_zero_then_solution_scores_one(task_file: Path) -> None:
    from studio.pipeline.eval.runner import check_solvable

    r = check_solvable(task_file)
    assert r.error == "", r
    assert r.noop_score == 0.0, r
    assert r.solution_score == 1.0, r
    assert r.steps > 0


@pytest.mark.parametrize("task_file", FAST, ids=[p.stem for p in FAST])
def test_solution_scores_one_and_noop_scores_zero(task_file: Path) -> None:
    solution = task_file.with_suffix(".actions")
    solved = run_task(task_file, solution)
    assert solved["error"] is None, solved
    assert solved["score"] == 1.0, solved
    assert solved["steps"] > 0
    noop = run_task(task_file, None)
    assert noop["error"] is None, noop
    assert noop["score"] == 0.0, noop
    assert noop["steps"] == 0


def _studio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180
    )


def test_cli_task_run_prints_one_json_object(tmp_path: Path) -> None:
    task = BUNDLED_TASKS_DIR / "xterm" / "xterm-mkdir.json"
    proc = _studio("task", "run", str(task), "--actions", str(task.with_suffix(".actions")))
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stdout
    out = json.loads(lines[0])
    assert set(out) >= {"task_id", "score", "steps", "error", "elapsed_s"}
    assert out["task_id"] == "xterm-mkdir" and out["score"] == 1.0 and out["steps"] == 3


def test_cli_bad_action_line_is_reported_not_crashed(tmp_path: Path) -> None:
    actions = tmp_path / "bad.actions"
    actions.write_text("# fine\npyautogui.press('enter')\n\n__import__('os').system('true')\n")
    task = BUNDLED_TASKS_DIR / "xterm" / "xterm-mkdir.json"
    proc = _studio("task", "run", str(task), "--actions", str(actions))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert "line 4" in out["error"] and out["score"] == 0.0 and out["steps"] == 0


def test_cli_unreadable_task_file_exits_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = _studio("task", "run", str(bad))
    assert proc.returncode != 0
    assert "line 1" in proc.stderr and proc.stdout == ""
