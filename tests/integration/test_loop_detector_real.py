"""The loop detector on a real galculator in a real sandbox: pressing ``=`` again and again redraws the button
(the screenshot changes on the first presses) but not the display, and the episode ends as a loop after three
presses; pressing a digit again and again changes the display and is not a loop."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _presses(label: str, times: int) -> tuple[str, int]:
    from envs.desktop import DesktopEnv
    from envs.tasks import parse_task
    from studio.pipeline.agent.policies import Decision, StepContext
    from studio.pipeline.rollout.episode import run_episode

    class PressButton:
        """Clicks the centre of galculator's button ``label`` (found in the a11y table) every step."""

        name = "press-button"

        def decide(self, ctx: StepContext) -> Decision:
            from envs.actions import Click

            node = next(n for n in ctx.observation.a11y_nodes if n.name == label and "button" in n.role)
            x, y = node.center
            return Decision([Click(x, y)], action_code=f"pyautogui.click({x}, {y})")

    task = parse_task(
        {
            "id": "calc",
            "instruction": f"press {label}",
            "related_apps": ["galculator"],
            "evaluator": {"func": "infeasible"},
        }
    )
    env = DesktopEnv(width=800, height=600)
    try:
        result = run_episode(env, task, PressButton(), trajectory_id="t", max_steps=times, emit=lambda e: None)
    finally:
        env.close()
    return result.status, result.n_steps


def test_a_press_that_only_animates_is_a_loop_and_one_that_counts_is_not() -> None:
    assert _presses("=", 6) == ("loop", 3)
    status, n = _presses("7", 6)
    assert (status, n) == ("max_steps", 6)  # 7, 77, 777, ...: the display changes every time
