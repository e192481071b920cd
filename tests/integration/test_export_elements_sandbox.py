"""Export in the element action space on steps recorded in a real sandbox with the real galculator.

A policy acts on the real screen partly as the element actor (a JSON reply clicking an element by number) and
partly as the pyautogui actor (a coordinate click on a button's centre, ``write``, ``press``); the episode loop
records the steps with their real a11y tables and state changes, and they are stored through the workspace API.
Every exported element row must parse back to its stored action, and every prompt must be what ElementPolicy
sends when the replies are replayed on the stored screens. No model runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from envs.actions import Click, ClickElement, TypeText, action_from_dict
from envs.observation import Observation
from tests.unit.test_export_elements import replay_prompts, rows_of, stored, stored_screen

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None:  # pragma: no cover - setup problem
    pytest.skip("needs Xvfb and util-linux nsenter (run `make test` to install them)", allow_module_level=True)


def button(obs: Observation, label: str) -> Any:
    found = [n for n in obs.a11y_nodes if n.name == label and "button" in n.role]
    assert found, f"no button {label!r} in galculator's a11y tree:\n{obs.a11y_table[:2000]}"
    return found[0]


class OnTheScreen:
    """Reads the real screen: clicks "1" by coordinates, "+" by element number, types "2=", presses escape."""

    name = "model"

    def __init__(self) -> None:
        self.k = 0

    def decide(self, ctx: Any) -> Any:
        from studio.pipeline.agent.elements import parse_element_reply
        from studio.pipeline.agent.policies import parse_agent_output

        self.k += 1
        obs = ctx.observation
        if self.k == 1:
            x, y = button(obs, "1").center
            return parse_agent_output(f"REASON: press 1\nACTION: pyautogui.click({x}, {y})")
        if self.k == 2:
            eid = button(obs, "+").id
            return parse_element_reply(f'{{"reason": "plus", "action": "click", "target": "{eid}"}}', obs)
        if self.k == 3:
            return parse_agent_output("REASON: the second number\nACTION: pyautogui.write('2=', interval=0.2)")
        if self.k == 4:
            return parse_agent_output("REASON: clear\nACTION: pyautogui.press('escape')")
        return parse_element_reply('{"reason": "finished", "action": "done", "target": ""}', obs)


@pytest.mark.timeout(900)
def test_real_galculator_steps_export_as_the_element_actor_acts(tmp_path: Path) -> None:
    from envs.desktop import DesktopEnv
    from envs.tasks import load_task
    from studio.pipeline.agent.elements import TYPE_INTERVAL, parse_element_reply
    from studio.pipeline.eval.runner import EVAL_SUITE_DIR
    from studio.pipeline.rollout.episode import StepEvent, run_episode
    from studio.workspace import Example, Trajectory, Workspace

    task = load_task(EVAL_SUITE_DIR / "galculator" / "galculator-add.json")
    path = tmp_path / "ws"
    events: list[Any] = []
    with DesktopEnv(width=1024, height=768) as env:
        result = run_episode(env, task, OnTheScreen(), trajectory_id="real", max_steps=5, emit=events.append)
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert result.status == "done" and len(steps) == 5, result
    with Workspace.init(path) as ws:
        ws.start_trajectory(Trajectory(id="real", instruction="1+2", app="galculator", model="mixed"))
        for e in steps:
            ws.add_step(e.step, screenshot=e.screenshot_png)
        ws.finish_trajectory("real", status="done", outcome="done", score=None)
        ws.add_examples(
            [
                Example(
                    id="ex",
                    trajectory_id="real",
                    start=0,
                    end=5,
                    step_indices=[0, 1, 2, 3, 4],
                    instruction="Add 1 and 2, then clear the calculator",
                    app="galculator",
                )
            ]
        )
    rows = rows_of(path)["ex"]
    by_index = stored(path, "real")
    assert [r.step for r in rows] == [0, 1, 2, 3, 4]  # every real step has an element form
    for row in rows:
        step = by_index[row.step]
        obs = stored_screen(step)
        (want,) = [action_from_dict(a) for a in step.actions]
        back = parse_element_reply(row.messages[1].text, obs)
        assert not back.error, back.error
        (got,) = back.actions
        if isinstance(want, Click):  # the button under the stored point, smallest of the elements there
            assert isinstance(got, ClickElement)
            node = obs.node(got.element_id)
            assert node is not None and node.name == "1", row.messages[1].text
        elif isinstance(want, TypeText):
            assert got == TypeText(want.text, interval=TYPE_INTERVAL)
        else:
            assert got == want
    assert [json.loads(r.messages[1].text)["action"] for r in rows] == ["click", "click", "type", "key", "done"]
    assert "1. click [" in rows[1].messages[0].text  # the coordinate click, in the element actor's words
    assert replay_prompts(rows, by_index) == [r.messages[0].text for r in rows]
