"""Verified tasks end to end in real sandboxes, with a scripted (fake) task writer: the writer's checks are
validated in a real sandbox (proven / unverified with the reason; a check that cannot tell done from not done is
refused before any sandbox), the proven task's written solution is replayed as a rollout and scored by its
evaluator, the full run that scored 1.0 becomes an example with the original instruction, and the committee
reads the score. Imported bundled task files are validated the same way, and every built-in example the writer
is shown is proven here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from studio.config import ModelSpec, default_config
from studio.llm.structured import StructuredResult
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
    {  # rejected in the sandbox: the untouched desktop already passes
        "instruction": "In the terminal, create an empty file named ready.txt in the home folder.",
        "config": [{"type": "execute", "parameters": {"command": "touch ~/ready.txt"}}],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": "ls ~"},
            "expected": {"type": "rule", "rules": {"include": ["ready.txt"], "exclude": []}},
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
    {  # rejected before any sandbox: the "check" starts the app itself (a measured failure of the 1.5B writer)
        "instruction": "Open a new terminal window and list the files of the home folder.",
        "config": [{"type": "launch_app", "parameters": {"name": "xterm"}}],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": "xterm -e ls"},
            "expected": {"type": "rule", "rules": {"include": ["Desktop"], "exclude": []}},
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


def test_scripted_writer_checks_are_validated_scored_and_become_examples(ws: Workspace, tmp_path: Path) -> None:
    doc = tmp_path / "xterm.md"
    doc.write_text("# xterm\n\n## Redirection\n\n" + "Use echo WORD > FILE to write a word into a file. " * 5)
    add_documents(ws, [str(doc)], app="xterm")
    cfg = default_config()
    cfg.sandbox.apps = ["xterm"]
    cfg.pipeline.max_tasks = len(WRITTEN)
    cfg.pipeline.max_steps = len(SOLUTION) + 2
    cfg.pipeline.spans.max_len = 1
    cfg.pipeline.spans.max_per_trajectory = 1
    cfg.verify.rollout = []  # no policy rollouts: only the proven task's solution replay ([verify] replay_solutions)
    client = ScriptedWriterClient()
    ctx = RunContext(ws=ws, cfg=cfg, client=client)

    run_pipeline(ctx, ["tasks", "verify"])
    tasks = {t.instruction: t for t in ws.list(Task, limit=None)}
    proven, noop, broken, runs_app = (tasks[w["instruction"]] for w in WRITTEN)
    assert (proven.check_status, proven.check_info["noop_score"], proven.check_info["solution_score"]) == (
        "proven",
        0.0,
        1.0,
    )
    assert proven.check_info["sandbox_s"] > 0
    assert (noop.check_status, noop.check_reason) == ("unverified", "no-op already scores 1")
    assert broken.check_status == "unverified" and broken.check_reason.startswith("setup failure:")
    assert "no-such-app" in broken.check_reason
    assert runs_app.check_status == "unverified" and runs_app.check_reason.startswith("bad check: the check runs")
    assert "sandbox_s" not in runs_app.check_info  # refused by the writer: never validated in a sandbox

    run_pipeline(ctx, ["rollouts", "backward", "committee"])
    (traj,) = ws.list(Trajectory, limit=None)
    assert (traj.task_id, traj.policy, traj.score, traj.outcome) == (proven.id, tc.REPLAY_POLICY, 1.0, "done")
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


@pytest.mark.parametrize("app", ["xterm", "mousepad", "galculator", "gnumeric"])
def test_every_built_in_example_is_proven_in_a_real_sandbox(app: str) -> None:
    """The examples the writer is shown (``checked_examples.json``) are what they claim: set up, no-op 0.0, their
    solution 1.0, through the same static checks as a model-written task."""
    from types import SimpleNamespace

    from envs.task_schema import parse_written
    from studio.pipeline.agent.factory import make_env
    from studio.pipeline.stages.checked_tasks import app_examples

    size = SimpleNamespace(width=1280, height=800)
    for i, item in enumerate(app_examples(app)):
        written = parse_written(item, task_id=f"{app}-example-{i}", app=app)
        res = tc.validate_task(written.task, written.solution, env_factory=lambda: make_env(size), written=True)
        assert (res.status, res.noop_score, res.solution_score) == ("proven", 0.0, 1.0), (item["instruction"], res)


def test_a_setup_command_that_fails_in_a_real_sandbox_is_a_setup_failure() -> None:
    """A written setup ``execute`` that exits non-zero (``false``) makes validation say ``setup failure`` with the
    step, the exit status and the end of stderr; the same command ending in ``|| true`` (the fix the reason
    names) validates."""
    from envs.desktop import DesktopEnv
    from envs.task_schema import parse_written

    def written(command: str) -> Any:
        item = {
            "instruction": "In the terminal, write the word done into the file out.txt in your home folder.",
            "config": [
                {"type": "execute", "parameters": {"command": "mkdir -p ~/work"}},
                {"type": "execute", "parameters": {"command": command}},
            ],
            "evaluator": {
                "func": "file_contains",
                "result": {"type": "vm_file", "path": "~/out.txt"},
                "expected": {"type": "rule", "rules": {"include": ["done"], "exclude": []}},
            },
        }
        return parse_written(item, task_id="setup-fails", app="xterm").task

    def env() -> DesktopEnv:
        return DesktopEnv(width=640, height=480)

    failing = "ls ~/no-such-input; false"
    res = tc.validate_task(written(failing), env_factory=env, written=True)
    assert res.status == "unverified" and res.noop_score is None, res
    assert res.reason.startswith(
        f"setup failure: config step 2/2 ('execute') ran {failing!r}, which exited with status 1; stderr: ls: "
    ), res.reason
    assert "no-such-input" in res.reason and "|| true" in res.reason
    fixed = tc.validate_task(written(failing + " || true"), env_factory=env, written=True)
    assert (fixed.status, fixed.noop_score) == ("verified", 0.0), fixed
