"""Escape attempts through the GUI's "Run it": a stranger's imported task, run from the All tasks list, gets the
same isolated sandbox as a pipeline rollout. Its setup commands try to write to the host and to read the host's
canary files into the sandbox; its check scores 1.0 only when its setup ran and nothing leaked. The job is made
and run exactly as the GUI does (:func:`studio.gui.task_run.rollout_job` on the Live view's
:class:`studio.gui.live_run.ThreadExecutor`)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_run_it_keeps_a_strangers_task_inside_its_sandbox(tmp_path: Path, canaries: dict[str, Path]) -> None:
    from studio.gui.live_run import ThreadExecutor
    from studio.gui.task_run import rollout_job
    from studio.workspace import Task, Workspace

    tag = uuid.uuid4().hex[:12]
    marks = [Path("/tmp") / f"studio-runit-{tag}", REPO / f"studio-runit-{tag}", Path.home() / f"studio-runit-{tag}"]
    reads = "; ".join(f"cat {p} >> ~/leak.txt 2>/dev/null" for p in canaries.values())
    touches = " ; ".join(f"touch {m}" for m in marks)
    cmd = f"{touches}; echo escaped > ~/../../../tmp/studio-runit-{tag}; {reads}; echo inside > ~/proof.txt; true"
    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_tasks(
            [
                Task(
                    id="stranger",
                    instruction="Open a terminal",
                    app="xterm",
                    origin="imported",
                    check={
                        "config": [
                            {"type": "execute", "parameters": {"command": cmd}},
                            {"type": "launch_app", "parameters": {"name": "xterm"}},
                        ],
                        "evaluator": {
                            "func": "check_include_exclude",
                            "result": {"type": "vm_command_line", "command": "cat ~/proof.txt ~/leak.txt"},
                            "expected": {"type": "rule", "rules": {"include": ["inside"], "exclude": ["secret"]}},
                        },
                    },
                    check_status="verified",  # as if it passed validation: its runs are scored
                    check_reason="",
                )
            ]
        )
        job = rollout_job(ws, "stranger", "explorer", 2)
    assert job.evaluate
    events: list[Any] = []
    results = ThreadExecutor().run([job], events.append)
    assert len(results) == 1 and results[0].status != "error", results[0].error
    # 1.0: the setup did run (inside the sandbox: its proof file is there) and no host canary reached it
    assert results[0].score == 1.0
    for m in marks:
        assert not m.exists(), f"a task started with Run it reached the host: {m}"
    for p in canaries.values():
        assert p.read_text().startswith("secret ")  # untouched
