"""The agent loop above the env: parsing, termination, loop detection, error recording, the screen a run ended
on (fake and replay envs, no X)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from envs.actions import Action, Click, TypeText
from envs.base import Env
from envs.observation import A11yNode, Observation
from envs.replay import ReplayEnv
from studio.errors import ActionError, SandboxError
from studio.pipeline.agent.policies import (
    Decision,
    ExplorerPolicy,
    ScriptedPolicy,
    StepContext,
    build_actor_prompt,
    parse_agent_output,
)
from studio.pipeline.rollout.episode import EpisodeResult, EpisodeStart, StepEvent, run_episode


def _obs(tag: bytes = b"a", nodes: list[A11yNode] | None = None) -> Observation:
    return Observation(screenshot_png=b"png-" + tag, width=100, height=80, a11y_nodes=nodes or [])


class FakeEnv(Env):
    """Each step changes the 'screen' unless ``static``; records the actions it got."""

    def __init__(self, static: bool = False, fail_on: int | None = None) -> None:
        self.actions: list[Action] = []
        self.static = static
        self.fail_on = fail_on
        self.closed = False

    def reset(self, task: object) -> Observation:
        return _obs(
            b"0",
            [A11yNode(1, "push button", "OK", "", 10, 10, 20, 10), A11yNode(2, "text", "Name", "", 40, 10, 50, 12)],
        )

    def step(self, action: Action) -> Observation:
        self.actions.append(action)
        if self.fail_on is not None and len(self.actions) == self.fail_on:
            from studio.errors import ActionError

            raise ActionError("boom")
        tag = b"0" if self.static else str(len(self.actions)).encode()
        return _obs(tag, [A11yNode(1, "push button", "OK", "", 10, 10, 20, 10)])

    def evaluate(self, task: object) -> float:
        return 1.0

    def close(self) -> None:
        self.closed = True


@dataclass
class _Task:
    id: str = "t1"
    instruction: str = "do it"


def _run(env: Env, policy: object, max_steps: int = 5, **kw: object) -> tuple[EpisodeResult, list[object]]:
    events: list[object] = []
    result = run_episode(
        env,
        _Task(),
        policy,
        trajectory_id="tr",
        max_steps=max_steps,  # type: ignore[arg-type]
        emit=events.append,
        **kw,
    )  # type: ignore[arg-type]
    return result, events


def test_parse_reason_and_action() -> None:
    d = parse_agent_output("REASON: open the menu\nACTION: pyautogui.click(10, 20)")
    assert d.reason == "open the menu"
    assert d.actions == [Click(10, 20)]
    assert d.error == ""


def test_parse_fenced_action_and_done() -> None:
    d = parse_agent_output("REASON: type\nACTION:\n```python\npyautogui.write('hi')\n```")
    assert d.actions == [TypeText("hi")]
    assert parse_agent_output("REASON: finished\nACTION: DONE").actions[0].kind == "done"


def test_malformed_output_is_recorded_not_raised() -> None:
    d = parse_agent_output("I think we should click somewhere")
    assert d.actions == [] and "ACTION" in d.error
    d2 = parse_agent_output("REASON: x\nACTION: __import__('os').system('rm -rf /')")
    assert d2.actions == [] and d2.error


def test_scripted_episode_emits_every_step_and_ends_done() -> None:
    env = FakeEnv()
    result, events = _run(
        env, ScriptedPolicy(["pyautogui.click(1, 2)", "# comment", "pyautogui.write('x')"]), evaluate=True
    )
    assert isinstance(events[0], EpisodeStart)
    steps = [e.step for e in events if isinstance(e, StepEvent)]
    assert [s.index for s in steps] == [0, 1, 2]
    assert steps[0].actions == [{"kind": "click", "x": 1, "y": 2, "button": "left", "clicks": 1}]
    assert result.status == "done" and result.score == 1.0 and result.n_steps == 3
    assert isinstance(events[-1], EpisodeResult)


def test_loop_detection_stops_same_action_on_unchanged_screen() -> None:
    env = FakeEnv(static=True)
    result, _ = _run(env, ScriptedPolicy(["pyautogui.click(1, 2)"] * 10), max_steps=10)
    assert result.status == "loop"
    assert result.n_steps == 4  # the first click changed the a11y table (the Name field went), then 3 did nothing


def test_malformed_model_output_feeds_back_and_continues() -> None:
    answers = iter(["no action here", "REASON: ok\nACTION: DONE"])
    seen_feedback: list[str] = []

    class Fake:
        name = "fake"

        def decide(self, ctx: StepContext) -> Decision:
            seen_feedback.append(ctx.feedback)
            return parse_agent_output(next(answers))

    result, events = _run(FakeEnv(), Fake())
    steps = [e.step for e in events if isinstance(e, StepEvent)]
    assert steps[0].error and result.status == "done"
    assert seen_feedback[1] == steps[0].error


def test_env_error_is_recorded_and_stop_event_halts() -> None:
    result, events = _run(FakeEnv(fail_on=1), ScriptedPolicy(["pyautogui.click(1, 2)", "DONE"]))
    steps = [e.step for e in events if isinstance(e, StepEvent)]
    assert "ActionError" in steps[0].error and result.status == "done"
    stop = threading.Event()
    stop.set()
    result2, _ = _run(FakeEnv(), ScriptedPolicy(["pyautogui.click(1, 2)"]), stop=stop)
    assert result2.status == "stopped" and result2.n_steps == 0


def test_explorer_is_reproducible_and_uses_elements() -> None:
    ctx = StepContext("explore", FakeEnv().reset(None))
    a = [ExplorerPolicy(seed=7).decide(ctx).action_code for _ in range(1)]
    b = [ExplorerPolicy(seed=7).decide(ctx).action_code for _ in range(1)]
    assert a == b
    decisions = [ExplorerPolicy(seed=s).decide(ctx) for s in range(20)]
    assert all(d.actions for d in decisions)
    assert any("click" in d.action_code for d in decisions)


def test_actor_prompt_holds_instruction_history_and_table() -> None:
    ctx = StepContext("Save the file", FakeEnv().reset(None), feedback="bad")
    prompt = build_actor_prompt(ctx)
    assert "Save the file" in prompt and "push button\tOK" in prompt and "bad" in prompt


def test_fail_reaches_the_env_so_infeasible_tasks_can_score() -> None:
    env = FakeEnv()
    result, _ = _run(env, ScriptedPolicy(["FAIL"]))
    assert result.status == "fail"
    assert [a.kind for a in env.actions] == ["fail"]


def test_fallback_policy_acts_and_feeds_the_model_error_back_without_failing_the_step() -> None:
    from studio.pipeline.agent.policies import FallbackPolicy

    seen: list[str] = []

    class Weak:
        name = "model"

        def decide(self, ctx: StepContext) -> Decision:
            seen.append(ctx.feedback)
            return parse_agent_output("I would like to click")

    result, events = _run(FakeEnv(), FallbackPolicy(Weak(), ExplorerPolicy(seed=1)), max_steps=2)
    steps = [e.step for e in events if isinstance(e, StepEvent)]
    assert len(steps) == 2 and all(s.actions and not s.error for s in steps)
    assert "explorer acted" in steps[0].reason
    assert seen[1] and "ACTION" in seen[1]


# ---------------------------------------------------------------------------------------------- final screen


def _replay(n: int) -> ReplayEnv:
    """Frames 0..n-1, each a different screenshot with a label naming it."""
    return ReplayEnv([_obs(str(i).encode(), [A11yNode(1, "label", f"frame {i}", "", 1, 1, 9, 9)]) for i in range(n)])


def test_max_steps_run_keeps_the_screen_after_the_last_action() -> None:
    env = _replay(5)
    result, events = _run(env, ScriptedPolicy(["pyautogui.click(1, 2)"] * 9), max_steps=2)
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert result.status == "max_steps" and [s.screenshot_png for s in steps] == [b"png-0", b"png-1"]
    # the steps hold the screens before their actions; the result holds the one the second click left
    assert result.final_observation is not None and "frame 2" in result.final_observation
    assert result.final_screenshot_png == b"png-2"
    assert events[-1] is result


def test_final_screen_for_done_loop_stop_and_policy_error() -> None:
    done, _ = _run(_replay(5), ScriptedPolicy(["pyautogui.click(1, 2)", "DONE"]))
    assert done.status == "done" and done.final_screenshot_png == b"png-1"  # DONE itself changes nothing
    loop, _ = _run(FakeEnv(static=True), ScriptedPolicy(["pyautogui.click(1, 2)"] * 9), max_steps=9)
    assert loop.status == "loop" and loop.final_screenshot_png == b"png-0"
    stop = threading.Event()

    class StopAfterOne:
        name = "stopper"

        def decide(self, ctx: StepContext) -> Decision:
            stop.set()
            return parse_agent_output("REASON: go\nACTION: pyautogui.click(1, 2)")

    stopped, _ = _run(_replay(5), StopAfterOne(), stop=stop)
    assert stopped.status == "stopped" and stopped.final_screenshot_png == b"png-1"

    class Broken:
        name = "broken"

        def decide(self, ctx: StepContext) -> Decision:
            raise RuntimeError("provider down")

    failed, _ = _run(_replay(5), Broken())
    assert failed.status == "error" and failed.final_screenshot_png == b"png-0"  # nothing was done


def test_final_screen_is_read_again_after_a_failed_action_and_before_evaluate() -> None:
    class FailingReplay(ReplayEnv):
        evaluated_after: list[int] = []

        def step(self, action: Action) -> Observation:
            obs = super().step(action)
            if len(self.actions) == 2:
                raise ActionError("the click half happened")
            return obs

        def evaluate(self, task: object) -> float:
            self.evaluated_after.append(self._i)
            self._i = 4  # an evaluator may change the desktop: the final screen was read before it
            return 0.5

    env = FailingReplay([_obs(str(i).encode()) for i in range(5)])
    result, events = _run(env, ScriptedPolicy(["pyautogui.click(1, 2)"] * 2), max_steps=2, evaluate=True)
    assert "ActionError" in [e.step for e in events if isinstance(e, StepEvent)][1].error
    assert result.final_screenshot_png == b"png-2" and result.score == 0.5  # observe(), not the stale frame

    # a stop that interrupts an action is not delayed by reading the screen again: the final screen is unknown
    stop = threading.Event()

    class Interrupted(ReplayEnv):
        observed = 0

        def step(self, action: Action) -> Observation:
            stop.set()
            raise ActionError("interrupted by stop")

        def observe(self) -> Observation:
            self.observed += 1
            return super().observe()

    env2 = Interrupted([_obs()])
    stopped, _ = _run(env2, ScriptedPolicy(["pyautogui.click(1, 2)"] * 3), stop=stop)
    assert stopped.status == "stopped" and stopped.final_observation is None and env2.observed == 0

    # an env that cannot observe without acting: the final screen after a failed action is unknown
    result2, _ = _run(FakeEnv(fail_on=2), ScriptedPolicy(["pyautogui.click(1, 2)"] * 2), max_steps=2)
    assert result2.final_observation is None and result2.final_screenshot_png == b""


def test_no_final_screen_when_the_env_never_started() -> None:
    class NoStart(FakeEnv):
        def reset(self, task: object) -> Observation:
            raise SandboxError("Xvfb did not start")

    result, _ = _run(NoStart(), ScriptedPolicy(["DONE"]))
    assert result.status == "error" and result.final_observation is None and result.final_screenshot_png == b""
