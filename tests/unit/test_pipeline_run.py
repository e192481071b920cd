"""The pipeline stages over a real (LanceDB) workspace with a fake model client and a fake env.

Covers: malformed model output, a judge that errors, an empty document, a task for an app that is not
installed, resume after a kill in the middle of rollouts, and idempotent re-runs (no repeated model call).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envs.actions import Action
from envs.base import Env
from envs.observation import A11yNode, Observation
from studio.config import JudgeSpec, ModelSpec, default_config
from studio.errors import AppNotInstalledError, ModelCallError
from studio.llm.structured import StructuredResult
from studio.pipeline import run as run_mod
from studio.pipeline.run import RunContext, add_documents, run_pipeline
from studio.workspace import Document, Example, Step, Task, Trajectory, Verdict, Workspace


class FakeClient:
    """Answers by schema name; counts calls. ``judge_error`` models make the judge's provider fail."""

    use_cache = True

    def __init__(self, *, malformed_tasks: bool = False, judge_error: str = "") -> None:
        self.calls: list[str] = []
        self.prompts: list[tuple[str, str]] = []  # (stage, text of the messages)
        self.malformed_tasks = malformed_tasks
        self.judge_error = judge_error

    def complete_structured(
        self, schema: Any, role: str, spec: ModelSpec, messages: list[dict], *, stage: str = "", **_: Any
    ) -> StructuredResult[Any]:
        self.calls.append(f"{stage}:{schema.__name__}:{spec.model}")
        self.prompts.append((stage, "\n".join(str(m.get("content", "")) for m in messages)))
        name = schema.__name__
        if name == "TaskList":
            if self.malformed_tasks:
                return StructuredResult(False, None, "Sure! here are tasks: blah", "not JSON")
            value = {
                "tasks": [
                    "Add 12 and 30 using the calculator buttons",
                    "Clear the display with the AC key",
                    "Switch the calculator to scientific mode from the View menu",
                ]
            }
        elif name == "CheckedTaskList":
            if self.malformed_tasks:
                return StructuredResult(False, None, "Sure! here are tasks: blah", "not JSON")
            check = {
                "config": [{"type": "launch_app", "parameters": {"name": "galculator"}}],
                "evaluator": {
                    "func": "a11y_contains",
                    "result": {"type": "accessibility_tree"},
                    "expected": {"type": "rule", "rules": {"include": [{"text": "42"}]}},
                },
                "solution": ["pyautogui.write('12+30=')"],
            }
            value = {
                "tasks": [
                    {"instruction": i, **check}
                    for i in (
                        "Add 12 and 30 using the calculator buttons",
                        "Clear the display with the AC key",
                        "Switch the calculator to scientific mode from the View menu",
                    )
                ]
            }
        elif name == "InstructionReply":
            value = {"instruction": "Click the first button of the calculator"}
        elif name == "ReplicateReply":
            value = {"steps": ["Click the first button", "Watch the display change"]}
        elif name == "JudgeReply":
            if self.judge_error and spec.model == self.judge_error:
                raise ModelCallError("provider down", model=spec.model, role=role)
            vote = {"vote": True, "rationale": "looks right"}
            value = {c: vote for c in ("aligned", "coherent", "natural", "reasonable")}
        else:  # pragma: no cover - a new schema must be added here
            raise AssertionError(name)
        return StructuredResult(True, schema.model_validate(value), json.dumps(value))


def _obs(tag: int) -> Observation:
    return Observation(
        screenshot_png=_png(tag),
        width=64,
        height=48,
        a11y_nodes=[
            A11yNode(1, "push button", "7", "", 5, 5, 10, 10),
            A11yNode(2, "text", "display", str(tag), 20, 5, 30, 10),
        ],
    )


def _png(tag: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (tag * 40 % 256, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


class FakeEnv(Env):
    def __init__(self, missing_app: str = "") -> None:
        self.n = 0
        self.missing_app = missing_app

    def reset(self, task: Any) -> Observation:
        if self.missing_app and self.missing_app in task.related_apps:
            raise AppNotInstalledError(f"app {self.missing_app!r} is not installed; apt-get install it")
        return _obs(0)

    def step(self, action: Action) -> Observation:
        self.n += 1
        return _obs(self.n)

    def evaluate(self, task: Any) -> float:
        return 0.0

    def close(self) -> None:
        pass


@pytest.fixture
def ws(tmp_path: Path):
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def _ctx(ws: Workspace, client: FakeClient, **pipeline: Any) -> RunContext:
    cfg = default_config()
    cfg.roles.judges = [JudgeSpec()]  # one `ask` judge the fake client answers (the default compares in-process)
    cfg.sandbox.apps = ["galculator"]
    cfg.pipeline.max_tasks = 2
    cfg.pipeline.max_steps = 3
    cfg.pipeline.policy = "explorer"
    cfg.pipeline.spans.max_len = 2
    cfg.pipeline.spans.max_per_trajectory = 2
    for k, v in pipeline.items():
        setattr(cfg.pipeline, k, v)
    return RunContext(ws=ws, cfg=cfg, client=client)


CALC_MD = (
    "# Calc\n\n## Adding\n\nType the first number with the digit buttons, press + to add a second number, "
    "then press = to see the sum on the display. AC clears everything; C clears the current entry.\n"
)


def _docs(ws: Workspace, tmp_path: Path, text: str = CALC_MD) -> None:
    doc = tmp_path / "calc.md"
    doc.write_text(text)
    add_documents(ws, [str(doc)], app="galculator")


@pytest.fixture(autouse=True)
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_mod, "make_env", lambda job: FakeEnv())


def test_full_pipeline_fills_every_table_consistently(ws: Workspace, tmp_path: Path) -> None:
    _docs(ws, tmp_path)
    client = FakeClient()
    summaries = run_pipeline(_ctx(ws, client), ["tasks", "rollouts", "backward", "committee"])
    assert [s.stage for s in summaries] == ["tasks", "rollouts", "backward", "committee"]
    tasks = ws.list(Task, limit=None)
    trajs = ws.list(Trajectory, limit=None)
    examples = ws.list(Example, limit=None)
    verdicts = ws.list(Verdict, limit=None)
    assert len(tasks) == 2 and len(trajs) == 2
    assert all(t.status in ("done", "failed") and t.n_steps > 0 for t in trajs)
    assert examples and verdicts
    steps = {t.id: ws.steps_of(t.id) for t in trajs}
    for ex in examples:  # every example points at an existing trajectory span
        idx = {s.index for s in steps[ex.trajectory_id]}
        assert set(range(ex.start, ex.end)) <= idx
    ex_ids = {e.id for e in examples}
    assert {v.example_id for v in verdicts} == ex_ids  # every verdict at an example, every example judged
    assert all(s.screenshot for ss in steps.values() for s in ss)
    # idempotent: a second run asks no model again and adds nothing
    before = len(client.calls)
    again = run_pipeline(_ctx(ws, client), ["tasks", "rollouts", "backward", "committee"])
    assert len(client.calls) == before
    assert all(s.done == 0 for s in again)


def test_final_screen_is_stored_and_reaches_backward_and_committee_prompts(ws: Workspace) -> None:
    ws.add_tasks([Task(instruction="Press seven three times", app="galculator")])
    client = FakeClient()
    ctx = _ctx(ws, client)  # explorer, max_steps=3: ends on max_steps, the last click's screen is in no step
    ctx.cfg.pipeline.spans.max_len = 1
    ctx.cfg.pipeline.spans.max_per_trajectory = 3
    run_pipeline(ctx, ["rollouts"])
    (traj,) = ws.list(Trajectory, limit=None)
    steps = ws.steps_of(traj.id)
    assert traj.outcome == "max_steps" and len(steps) == 3
    n_actions = sum(len(s.actions) for s in steps)
    assert traj.final_observation == _obs(n_actions).a11y_table  # FakeEnv's screen after the last action
    assert traj.final_observation not in {s.observation_text for s in steps}
    assert traj.final_screenshot and ws.blobs.exists(traj.final_screenshot)
    assert traj.final_screenshot not in {s.screenshot for s in steps}

    run_pipeline(ctx, ["backward", "committee"])
    last_display = traj.final_observation.splitlines()[-1].split("\t")[3]  # the display after the last click
    last = [e for e in ws.list(Example, limit=None) if e.end == steps[-1].index + 1]
    assert {e.kind for e in last} == {"instruction", "replicate"}
    backward = [text for stage, text in client.prompts if stage == "backward"]
    judged = [text for stage, text in client.prompts if stage == "committee"]
    assert len(backward) == 6 and len(judged) == len(ws.list(Example, limit=None))
    # the last span's prompts (and only those) show what the last action did to the final screen (the state
    # changes stored with the step); earlier spans show their own steps' changes
    with_final = [t for t in backward if f"-> '{last_display}'" in t]
    assert len(with_final) == 2 and all("What changed:" in t for t in with_final)
    assert sum(f"-> '{last_display}'" in t for t in judged) == len(last) == 2


def test_trajectory_without_a_final_screen_still_constructs(ws: Workspace) -> None:
    """Trajectories recorded before schema 2 (or killed) have final_observation None: the last span has no
    "after" screen, as before."""
    ws.start_trajectory(Trajectory(id="old", instruction="x", app="galculator"))
    for i in range(2):
        ws.add_step(
            Step(
                trajectory_id="old",
                index=i,
                observation_text=_obs(i).a11y_table,
                action_code=f"pyautogui.click({i}, 1)",
            ),
            screenshot=_png(i),
        )
    ws.finish_trajectory("old", status="failed", outcome="max_steps")
    client = FakeClient()
    ctx = _ctx(ws, client)
    ctx.cfg.pipeline.spans.max_len = 1
    run_pipeline(ctx, ["backward", "committee"])
    backward = [text for stage, text in client.prompts if stage == "backward"]
    assert len(backward) == 4
    assert sum("What changed:" in t for t in backward) == 2  # only the first span, via the next step
    assert ws.count(Verdict) > 0


def test_malformed_task_output_keeps_going(ws: Workspace, tmp_path: Path) -> None:
    _docs(ws, tmp_path)
    s = run_pipeline(_ctx(ws, FakeClient(malformed_tasks=True)), ["tasks"])[0]
    assert s.done == 0 and s.failed >= 1
    assert ws.count(Task) == 0


def test_empty_document_gives_no_tasks_and_no_crash(ws: Workspace, tmp_path: Path) -> None:
    ws.add_documents([Document(source="empty.md", section="Empty", text="", app="galculator")])
    s = run_pipeline(_ctx(ws, FakeClient()), ["tasks"])[0]
    assert s.done == 0


def test_judge_that_errors_abstains_and_example_not_accepted(ws: Workspace, tmp_path: Path) -> None:
    _docs(ws, tmp_path)
    ctx = _ctx(ws, FakeClient(judge_error="openai/broken"))
    ctx.cfg.roles.judges = [ModelSpec(), ModelSpec(model="openai/broken")]
    run_pipeline(ctx, ["tasks", "rollouts", "backward", "committee"])
    verdicts = ws.list(Verdict, limit=None)
    broken = [v for v in verdicts if v.judge == "openai/broken"]
    assert broken and all(v.vote is None and v.error for v in broken)
    statuses = ws.example_statuses()
    assert statuses and "accepted" not in statuses.values()


def test_task_for_missing_app_is_recorded_not_raised(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_mod, "make_env", lambda job: FakeEnv(missing_app="nosuchapp"))
    ws.add_tasks([Task(instruction="Open the thing", app="nosuchapp")])
    s = run_pipeline(_ctx(ws, FakeClient()), ["rollouts"])[0]
    assert s.failed == 1 and "not installed" in s.notes[0]
    traj = ws.list(Trajectory, limit=None)[0]
    assert traj.status == "failed" and "not installed" in traj.error


def test_resume_after_kill_mid_rollout(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    ws = Workspace.init(path)
    task = Task(instruction="Compute 2+2", app="galculator")
    ws.add_tasks([task])
    # a rollout that was killed after two steps: trajectory left running, no finish
    ws.start_trajectory(Trajectory(id="killed", task_id=task.id, instruction=task.instruction, app="galculator"))
    for i in range(2):
        ws.add_step(
            Step(trajectory_id="killed", index=i, observation_text="x", action_code="pyautogui.click(1, 1)"),
            screenshot=_png(i),
        )
    ws._lock.release() if hasattr(ws, "_lock") else None  # noqa: SLF001 - simulate the dead writer's lock
    del ws
    ws2 = Workspace.open(path)
    try:
        killed = ws2.get(Trajectory, "killed")
        assert killed.status == "interrupted"
        assert len(ws2.steps_of("killed")) == 2  # nothing finished was lost
        s = run_pipeline(_ctx(ws2, FakeClient()), ["rollouts"])[0]
        assert s.done == 1
        trajs = ws2.list(Trajectory, limit=None)
        assert sorted(t.status for t in trajs) in (["done", "interrupted"], ["failed", "interrupted"])
        # and once finished, a further run does not roll it out again
        assert run_pipeline(_ctx(ws2, FakeClient()), ["rollouts"])[0].done == 0
    finally:
        ws2.close()


class _StopAfter(run_mod.RunObserver):
    """Requests a stop once ``n`` items of any stage are finished (Ctrl-C in the middle of a stage)."""

    def __init__(self, ctx: RunContext, n: int) -> None:
        self.ctx, self.n, self.seen = ctx, n, 0

    def advanced(self, stage: str, n: int = 1, *, detail: str = "") -> None:
        self.seen += n
        if self.seen >= self.n:
            self.ctx.stop.set()


def test_a_stop_mid_committee_resumes_without_asking_a_judge_twice(ws: Workspace, tmp_path: Path) -> None:
    """The generic stage runner over a real stage: stop after one example, run again, every example judged once."""
    _docs(ws, tmp_path)
    client = FakeClient()
    run_pipeline(_ctx(ws, client), ["tasks", "rollouts", "backward"])
    examples = ws.list(Example, limit=None)
    assert len(examples) >= 2
    ctx = _ctx(ws, client)
    ctx.observer = _StopAfter(ctx, 1)
    first = run_mod.stage_committee(ctx)
    assert (first.done, first.skipped) == (1, 0)
    judged = {v.example_id for v in ws.list(Verdict, limit=None)}
    assert len(judged) == 1
    asked = len(client.calls)
    second = run_mod.stage_committee(_ctx(ws, client))
    assert (second.done, second.skipped) == (len(examples) - 1, 1)
    assert len(client.calls) - asked == len(examples) - 1  # one call per example and judge; none for the first
    verdicts = ws.list(Verdict, limit=None)
    keys = [(v.example_id, v.judge, v.criterion) for v in verdicts]
    assert len(keys) == len(set(keys)) and {v.example_id for v in verdicts} == {e.id for e in examples}
    third = run_mod.stage_committee(_ctx(ws, client))
    assert (third.done, third.skipped) == (0, len(examples))  # idempotent


def test_tasks_stage_skips_sections_that_already_gave_tasks(ws: Workspace, tmp_path: Path) -> None:
    _docs(ws, tmp_path)
    client = FakeClient()
    first = run_mod.stage_tasks(_ctx(ws, client))
    assert first.done == 2 and first.skipped == 0
    asked = len(client.calls)
    again = run_mod.stage_tasks(_ctx(ws, client, max_tasks=10))  # room for more, but the one section is used
    assert again.done == 0 and again.skipped == 1 and len(client.calls) == asked
