"""End to end: `studio run` with the real offline model (SmolLM2 via llama.cpp + litellm) on a real sandbox.

Sizes are tiny so it fits the CI budget; it checks that every table is filled consistently, that a second run
costs no model call (cache), and that the ledger recorded the calls at cost 0.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CALC_DOC = """# Galculator

## Basic arithmetic

Type a number with the digit buttons, press + and another number, then press = to see the sum in the
display. Use AC to clear everything and C to clear the current entry.
"""

SMALL = {
    'apps = ["mousepad", "galculator", "xterm", "gnumeric"]': 'apps = ["galculator"]',
    "max_tasks = 8": "max_tasks = 1",
    "tasks_per_section = 3 ": "tasks_per_section = 1 ",
    "max_steps = 8": "max_steps = 3",
    "max_len = 4 ": "max_len = 1 ",
    "max_per_trajectory = 12": "max_per_trajectory = 2",
    "max_sections_per_app = 4": "max_sections_per_app = 1",
    'policy = "model" ': 'policy = "model+explorer" ',
    # a checked call is ~5x longer than a plain one (prompt and reply; its grammar costs SmolLM2 no more per token
    # than the plain one: BENCHMARKS.md "Verified tasks") and SmolLM2 copies the example check; checked tasks have
    # their own integration test (tests/integration/test_verified_tasks.py, a scripted writer in real sandboxes)
    "write_checks = true": "write_checks = false",
}


def _studio(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    # rich tables fold long model names in a narrow terminal; a fixed thread count keeps decoding reproducible
    env = dict(os.environ, COLUMNS="200", STUDIO_LOCAL_THREADS="2")
    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.timeout(3 * 900)  # two `studio run`s of up to 900 s each (a loaded machine), plus the checks
def test_studio_run_offline_end_to_end(tmp_path: Path) -> None:
    from studio.workspace import Document, Example, Task, Trajectory, Verdict, Workspace

    ws_dir = tmp_path / "ws"
    assert _studio("init", str(ws_dir)).returncode == 0
    toml = (ws_dir / "studio.toml").read_text()
    for old, new in SMALL.items():
        assert old in toml, old
        toml = toml.replace(old, new)
    # a fixed sampling seed for every role (and a fixed thread count, below): the same output on every machine
    # of this kind, so the test does not depend on luck with a 135M model
    seed = os.environ.get("STUDIO_E2E_SEED", "3")
    # SmolLM2 proves the plumbing in seconds; the default Qwen models have their own tests
    toml = re.sub(r'model = "local/[^"]+"\n', f'model = "local/smollm2"\nseed = {seed}\n', toml)
    (ws_dir / "studio.toml").write_text(toml)
    doc = tmp_path / "galculator.md"
    doc.write_text(CALC_DOC)
    added = _studio("docs", "add", str(doc), "--app", "galculator", "-w", str(ws_dir))
    assert added.returncode == 0, added.stderr

    first = _studio("run", "-w", str(ws_dir), "--stages", "tasks,rollouts,backward,committee")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "Pipeline summary" in first.stdout
    print(first.stdout[-3000:])

    with Workspace.open(ws_dir, readonly=True) as ws:
        assert ws.count(Document) >= 1
        tasks = ws.list(Task, limit=None)
        assert len(tasks) == 1 and tasks[0].app == "galculator"
        trajs = ws.list(Trajectory, limit=None)
        assert len(trajs) == 1 and trajs[0].status in ("done", "failed") and trajs[0].n_steps >= 1
        steps = ws.steps_of(trajs[0].id)
        assert steps and all(s.screenshot for s in steps)
        assert "button\t" in steps[0].observation_text  # real a11y table of the real galculator
        # the screen after the last action (no step holds it): real a11y table + screenshot of the sandbox
        final = trajs[0]
        assert final.final_observation is not None and final.final_observation.startswith("id\trole\tname")
        assert final.final_screenshot and ws.blobs.exists(final.final_screenshot)
        assert ws.blobs.image(final.final_screenshot).size == (steps[-1].width, steps[-1].height)
        examples = ws.list(Example, limit=None)
        assert examples, "backward construction produced no example from the rollout"
        for ex in examples:
            assert ex.trajectory_id == trajs[0].id and 0 <= ex.start < ex.end <= len(steps)
        verdicts = ws.list(Verdict, limit=None)
        assert {v.example_id for v in verdicts} <= {e.id for e in examples}
        assert {v.example_id for v in verdicts} == {e.id for e in examples}

    ledger = [json.loads(line) for line in (ws_dir / "ledger.jsonl").read_text().splitlines()]
    assert ledger and all(r["cost"] == 0 for r in ledger)
    assert {r["stage"] for r in ledger} >= {"tasks"}
    calls_before = sum(1 for r in ledger if not r["cache_hit"])

    # a second run repeats no finished model call
    second = _studio("run", "-w", str(ws_dir), "--stages", "tasks,rollouts,backward,committee")
    assert second.returncode == 0, second.stderr[-2000:]
    ledger2 = [json.loads(line) for line in (ws_dir / "ledger.jsonl").read_text().splitlines()]
    assert sum(1 for r in ledger2 if not r["cache_hit"]) == calls_before

    costs = _studio("costs", str(ws_dir))
    assert costs.returncode == 0 and "local/smollm2" in costs.stdout
