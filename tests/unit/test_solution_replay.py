"""Golden-solution rollouts (``[verify] replay_solutions``) and which statuses are rolled out (``[verify] rollout``),
over a real LanceDB workspace with a scripted env (no sandbox)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envs.actions import Action
from envs.base import Env
from envs.observation import A11yNode, Observation
from studio.config import TASK_CHECK_ORDER, default_config, parse_config
from studio.pipeline import run as run_mod
from studio.pipeline.run import RunContext, stage_backward, stage_rollouts
from studio.pipeline.stages import task_check as tc
from studio.workspace import Example, Task, Trajectory, Workspace

CHECK = {
    "config": [{"type": "launch_app", "parameters": {"name": "galculator"}}],
    "evaluator": {
        "func": "a11y_contains",
        "result": {"type": "accessibility_tree"},
        "expected": {"type": "rule", "rules": {"include": [{"role": "text", "text": "84"}]}},
    },
    "solution": ["pyautogui.write('12*7')", "", "# then the result", "pyautogui.press('enter')"],
}


class TypingEnv(Env):
    """Scores 1.0 once the text '12*7' was typed and enter pressed (what the written solution does)."""

    def __init__(self) -> None:
        self.typed: list[str] = []

    def _obs(self) -> Observation:
        return Observation(
            screenshot_png=b"",
            width=64,
            height=48,
            a11y_nodes=[A11yNode(1, "text", "display", "".join(self.typed), 1, 1, 5, 5)],
        )

    def reset(self, task: Any) -> Observation:
        return self._obs()

    def step(self, action: Action) -> Observation:
        self.typed.append(str(getattr(action, "text", "") or getattr(action, "keys", "") or action.kind))
        return self._obs()

    def evaluate(self, task: Any) -> float:
        return 1.0 if any("12*7" in t for t in self.typed) and len(self.typed) >= 2 else 0.0

    def close(self) -> None:
        pass


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(run_mod, "make_env", lambda job: TypingEnv())
    w = Workspace.init(tmp_path / "ws")
    w.add_tasks(
        [
            Task(id="p", instruction="Compute 12 times 7.", app="galculator", check=CHECK, check_status="proven"),
            Task(id="v", instruction="Compute 3 times 3.", app="galculator", check=CHECK, check_status="verified"),
            Task(id="u", instruction="Open the help.", app="galculator"),
        ]
    )
    yield w
    w.close()


def _ctx(ws: Workspace, **verify: Any) -> RunContext:
    cfg = default_config()
    cfg.pipeline.policy = "explorer"
    cfg.pipeline.max_steps = 2
    for k, v in verify.items():
        setattr(cfg.verify, k, v)
    return RunContext(ws=ws, cfg=cfg, client=None)


def test_replay_lines_follow_the_configured_statuses() -> None:
    proven = Task(id="p", instruction="x", check=CHECK, check_status="proven")
    # blank lines and comments dropped; a pause before the check unless the solution ends with one
    assert tc.replay_lines(proven, ["proven"]) == [
        "pyautogui.write('12*7')",
        "pyautogui.press('enter')",
        "time.sleep(1)",
    ]
    assert tc.settled(["pyautogui.press('a')", "time.sleep(2)"]) == ["pyautogui.press('a')", "time.sleep(2)"]
    assert tc.replay_lines(proven, []) == []
    assert tc.replay_lines(proven.model_copy(update={"check_status": "verified"}), ["proven"]) == []
    assert tc.replay_lines(proven.model_copy(update={"check": {"evaluator": {}}}), ["proven"]) == []


def test_a_proven_task_gets_a_scored_replay_that_becomes_a_task_check_example(ws: Workspace) -> None:
    summary = stage_rollouts(_ctx(ws, rollout=["proven", "verified"]))
    assert "1 written solution(s) replayed ([verify] replay_solutions)" in summary.notes
    trajs = ws.list(Trajectory, limit=None)
    replays = [t for t in trajs if t.policy == tc.REPLAY_POLICY]
    (replay,) = replays
    assert (replay.task_id, replay.score, replay.outcome) == ("p", 1.0, "done")
    assert replay.n_steps == 4  # two actions, the settle pause and DONE: beyond max_steps=2
    explored = sorted(t.task_id for t in trajs if t.policy == "explorer")
    assert explored == ["p", "v"]  # the replay is extra: the configured policy still rolls out the task
    assert {t.task_id: t.score for t in trajs if t.policy == "explorer"} == {"p": 0.0, "v": 0.0}

    again = stage_rollouts(_ctx(ws, rollout=["proven", "verified"]))  # idempotent: nothing new
    assert len(ws.list(Trajectory, limit=None)) == 3 and again.done == 0

    class Backward:  # only the full-run example is asked for here: sub-span writing fails quietly
        def complete_structured(self, *a: Any, **k: Any) -> Any:
            from studio.llm.structured import StructuredResult

            return StructuredResult(False, None, "", "not used")

    ctx = _ctx(ws)
    ctx.client = Backward()
    stage_backward(ctx)
    passed = [e for e in ws.list(Example, limit=None) if e.prompt_version == tc.CHECK_PROMPT_VERSION]
    assert [(e.trajectory_id, e.instruction, e.end) for e in passed] == [(replay.id, "Compute 12 times 7.", 4)]


def test_replays_can_be_switched_off_and_widened(ws: Workspace) -> None:
    stage_rollouts(_ctx(ws, rollout=["proven"], replay_solutions=[]))
    assert [(t.task_id, t.policy) for t in ws.list(Trajectory, limit=None)] == [("p", "explorer")]
    stage_rollouts(_ctx(ws, rollout=["proven"], replay_solutions=["proven", "verified"]))
    replayed = sorted(t.task_id for t in ws.list(Trajectory, limit=None) if t.policy == tc.REPLAY_POLICY)
    assert replayed == ["p", "v"]  # a replay does not need the status to be in [verify] rollout


def test_default_rolls_out_proven_then_verified_then_the_rest(ws: Workspace) -> None:
    cfg = default_config()
    assert tuple(cfg.verify.rollout) == TASK_CHECK_ORDER == ("proven", "verified", "unverified")
    assert cfg.verify.replay_solutions == ["proven"]
    order = [t.id for t in tc.rollout_order(ws.list(Task, limit=None), cfg.verify.rollout)]
    assert order == ["p", "v", "u"]
    toml = parse_config('[verify]\nrollout = ["proven", "verified"]\nreplay_solutions = []\n')
    assert toml.verify.rollout == ["proven", "verified"] and toml.verify.replay_solutions == []
    from studio.errors import ConfigError

    with pytest.raises(ConfigError, match="replay_solutions"):
        parse_config('[verify]\nreplay_solutions = ["unverified"]\n')
