"""Verified tasks end to end in real sandboxes, with a scripted (fake) task writer: the writer's checks are
validated in a real sandbox (proven / unverified with the reason), the proven task's rollout is scored by its
evaluator, the full run that scored 1.0 becomes an example with the original instruction, and the committee
reads the score. Imported bundled task files are validated the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from studio.config import ModelSpec, default_config
from studio.llm.structured import StructuredResult
from studio.pipeline import run as run_mod
from studio.pipeline.agent.policies import ScriptedPolicy
from studio.pipeline.run import RunContext, add_documents, run_pipeline
from studio.pipeline.stages import task_check as tc
from studio.workspace import Example, Task, Trajectory, Workspace

pytestmark = pytest.mark.integration

SOLUTION = ["pyautogui.write('echo verified > ~/out.txt')", "pyautogui.press('enter')", "time.sleep(1)"]
WRITTEN: list[dict[str, Any]] = [
    {  # proven: the solution typed into xterm writes the file the check reads
        "instruction": "In the terminal, write the word verified into the file out.txt in your home folder.",
        "config": [{"type": "launch_app", "parameters": {"name": "xterm"}}],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": "cat ~/out.txt"},
            "expected": {"type": "rule", "rules": {"include": ["verified"], "exclude": []}},
        },
        "solution": SOLUTION,
    },
    {  # rejected: the untouched desktop already passes
        "instruction": "In the terminal, print the word ready so that it shows on the screen.",
        "config": [{"type": "execute", "parameters": {"command": "printf 'ready\\n' > ~/state.txt"}}],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": "cat ~/state.txt"},
            "expected": {"type": "rule", "rules": {"include": ["ready"], "exclude": []}},
        },
        "solution": [],
    },
    {  # rejected: the setup names an app profile that does not exist
        "instruction": "Open the notes application and type a short grocery list into it.",
        "config": [{"type": "launch_app", "parameters": {"name": "no-such-app"}}],
        "evaluator": {
            "func": "file_contains",
            "result": {"type": "vm_file", "path": "~/list.txt"},
            "expected": {"type": "rule", "rules": {"include": ["milk"], "exclude": []}},
        },
        "solution": [],
    },
]


class ScriptedWriterClient:
    """The model client: the task writer replies with WRITTEN; backward and committee give fixed answers."""

    use_cache = True

    def __init__(self) -> None:
        self.prompts: list[tuple[str, str]] = []

    def complete_structured(
        self, schema: Any, role: str, spec: ModelSpec, messages: list[dict], *, stage: str = "", **_: Any
    ) -> StructuredResult[Any]:
        self.prompts.append((stage, "\n".join(str(m.get("content", "")) for m in messages)))
        name = schema.__name__
        if name == "CheckedTaskList":
            value: dict[str, Any] = {"tasks": WRITTEN}
        elif name == "InstructionReply":
            value = {"instruction": "Type a command into the terminal"}
        elif name == "ReplicateReply":
            value = {"steps": ["Type the command", "Press Enter"]}
        elif name == "JudgeReply":
            value = {c: {"vote": True, "rationale": "fine"} for c in ("aligned", "coherent", "natural", "reasonable")}
        else:  # pragma: no cover
            raise AssertionError(name)
        return StructuredResult(True, schema.model_validate(value), json.dumps(value))


@pytest.fixture
def ws(tmp_path: Path):
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def test_scripted_writer_checks_are_validated_scored_and_become_examples(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "xterm.md"
    doc.write_text("# xterm\n\n## Redirection\n\n" + "Use echo WORD > FILE to write a word into a file. " * 5)
    add_documents(ws, [str(doc)], app="xterm")
    cfg = default_config()
    cfg.sandbox.apps = ["xterm"]
    cfg.pipeline.max_tasks = 3
    cfg.pipeline.max_steps = len(SOLUTION) + 2
    cfg.pipeline.spans.max_len = 1
    cfg.pipeline.spans.max_per_trajectory = 1
    cfg.verify.rollout = ["proven"]  # only the proven task is rolled out
    client = ScriptedWriterClient()
    ctx = RunContext(ws=ws, cfg=cfg, client=client)

    run_pipeline(ctx, ["tasks", "verify"])
    tasks = {t.instruction: t for t in ws.list(Task, limit=None)}
    proven, noop, broken = (tasks[w["instruction"]] for w in WRITTEN)
    assert (proven.check_status, proven.check_info["noop_score"], proven.check_info["solution_score"]) == (
        "proven",
        0.0,
        1.0,
    )
    assert proven.check_info["sandbox_s"] > 0
    assert (noop.check_status, noop.check_reason) == ("unverified", "no-op already scores 1")
    assert broken.check_status == "unverified" and broken.check_reason.startswith("setup failed:")
    assert "no-such-app" in broken.check_reason

    monkeypatch.setattr(run_mod, "make_policy", lambda spec: ScriptedPolicy(SOLUTION))  # the agent solves it
    run_pipeline(ctx, ["rollouts", "backward", "committee"])
    (traj,) = ws.list(Trajectory, limit=None)
    assert (traj.task_id, traj.score, traj.outcome) == (proven.id, 1.0, "done")
    passed = [e for e in ws.list(Example, limit=None) if e.prompt_version == tc.CHECK_PROMPT_VERSION]
    assert len(passed) == 1 and passed[0].instruction == proven.instruction
    assert (passed[0].start, passed[0].end) == (0, traj.n_steps)
    judged = [text for stage, text in client.prompts if stage == "committee"]
    assert judged and all("score 1 (PASSED)" in text for text in judged)


def test_imported_bundled_tasks_are_validated_like_written_ones(ws: Workspace) -> None:
    from envs.tasks import BUNDLED_TASKS_DIR

    files = [BUNDLED_TASKS_DIR / "xterm" / f"{name}.json" for name in ("xterm-count-lines", "xterm-mkdir")]
    result = tc.import_tasks(ws, files)
    assert len(result.added) == 2
    cfg = default_config()
    run_pipeline(RunContext(ws=ws, cfg=cfg, client=ScriptedWriterClient()), ["verify"])
    for tid in result.added:
        rec = ws.get(Task, tid)
        assert rec.check_status == "proven", (tid, rec.check_reason)  # bundled solutions score 1.0, no-op 0.0
