"""The loop detector (:mod:`studio.pipeline.rollout.loop`) with fake observations: the a11y table decides when
there is one (an animated screenshot does not hide a loop; a changed value is progress), the screenshot
otherwise and for actions the table cannot show (scrolling, caret and focus keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envs.actions import Action, Click, Drag, Hotkey, Key, Scroll, Wait
from envs.base import Env
from envs.observation import A11yNode, Observation, WindowInfo
from studio.pipeline.agent.policies import ScriptedPolicy
from studio.pipeline.rollout.episode import run_episode
from studio.pipeline.rollout.loop import LOOP_REPEATS, LoopDetector, screen_key, table_shows

WINDOW = [WindowInfo("galculator", "galculator", 0, 0, 300, 400, True)]


def calc(display: str, frame: int, *, pressed_at: int = 0) -> Observation:
    """galculator's screen: its display value, and a screenshot that differs per ``frame`` (the press
    animation); ``pressed_at`` nudges the pressed button's box as a transient highlight would."""
    nodes = [
        A11yNode(1, "label", "", display, 10, 10, 200, 30),
        A11yNode(2, "push button", "=", "", 150 + pressed_at, 300, 40, 30),
    ]
    return Observation(b"png-%d" % frame, 300, 400, nodes, list(WINDOW))


def bare(frame: bytes) -> Observation:
    return Observation(frame, 300, 400)


def run(detector: LoopDetector, steps: list[tuple[list[Any], Observation, Observation]]) -> list[bool]:
    return [detector.update(repr(actions), actions, before, after) for actions, before, after in steps]


def test_animated_screenshot_with_the_same_table_is_a_loop() -> None:
    press = [Click(170, 315)]
    steps = [(press, calc("42", i, pressed_at=i % 2), calc("42", i + 1, pressed_at=(i + 1) % 2)) for i in range(3)]
    assert run(LoopDetector(), steps) == [False, False, True]


def test_same_screenshot_with_a_changed_value_is_not_a_loop() -> None:
    press = [Click(170, 315)]
    shots = [
        Observation(b"png-same", 300, 400, calc(v, 0).a11y_nodes, list(WINDOW)) for v in ("1", "11", "111", "1111")
    ]
    steps = [(press, shots[i], shots[i + 1]) for i in range(3)]
    assert run(LoopDetector(), steps) == [False, False, False]


def test_without_a_table_the_screenshot_decides() -> None:
    click = [Click(5, 5)]
    assert run(LoopDetector(), [(click, bare(b"a"), bare(b"a"))] * 3) == [False, False, True]
    moving = [(click, bare(b"%d" % i), bare(b"%d" % (i + 1))) for i in range(3)]
    assert run(LoopDetector(), moving) == [False, False, False]


def test_keys_that_move_the_caret_or_view_are_judged_by_the_screenshot() -> None:
    assert (
        not table_shows([Key("down")]) and not table_shows([Scroll(-3)]) and not table_shows([Hotkey(("shift", "tab"))])
    )
    assert not table_shows([Wait(1.0)]) and not table_shows([Click(1, 2), Drag(None, None, 5, 5)])
    assert table_shows([Key("enter"), Click(1, 2), Hotkey(("ctrl", "s"))])
    down = [Key("down")]
    caret = [(down, calc("text", i), calc("text", i + 1)) for i in range(3)]  # the caret moved, the table did not
    assert run(LoopDetector(), caret) == [False, False, False]
    stuck = [(down, calc("text", 0), calc("text", 0))] * 3  # nothing moves at all: the end of the document
    assert run(LoopDetector(), stuck) == [False, False, True]


def test_positions_and_ids_are_not_part_of_the_key_but_focus_and_titles_are() -> None:
    a = calc("42", 0)
    moved = Observation(
        b"other",
        300,
        400,
        [A11yNode(7, n.role, n.name, n.text, n.x + 3, n.y, n.w, n.h) for n in a.a11y_nodes],
        list(WINDOW),
    )
    assert screen_key(a) == screen_key(moved)
    unfocused = Observation(
        a.screenshot_png, 300, 400, a.a11y_nodes, [WindowInfo("galculator", "galculator", 0, 0, 300, 400, False)]
    )
    assert screen_key(a) != screen_key(unfocused)
    assert screen_key(a, use_table=False) != screen_key(moved, use_table=False)


def test_another_action_or_a_change_resets_the_count() -> None:
    same = calc("42", 0)
    steps: list[tuple[list[Any], Observation, Observation]] = [
        ([Click(1, 1)], same, same),
        ([Click(1, 1)], same, same),
        ([Click(2, 2)], same, same),  # another action: counting starts again
        ([Click(2, 2)], same, calc("43", 0)),  # a change
        ([Click(2, 2)], calc("43", 0), calc("43", 0)),
    ]
    assert run(LoopDetector(), steps) == [False, False, False, False, False]
    assert LOOP_REPEATS == 3


@dataclass
class _Task:
    id: str = "calc"
    instruction: str = "press ="


class AnimatedCalcEnv(Env):
    """galculator pressed again and again: the press animation changes every screenshot, the display does not
    change unless ``counting`` (then each press appends a digit)."""

    def __init__(self, counting: bool = False) -> None:
        self.counting = counting
        self.presses = 0

    def reset(self, task: object) -> Observation:
        return calc("1", 0)

    def step(self, action: Action) -> Observation:
        self.presses += 1
        return calc("1" * (self.presses + 1) if self.counting else "1", self.presses, pressed_at=self.presses % 2)

    def evaluate(self, task: object) -> float:
        return 0.0

    def close(self) -> None:
        pass


def test_the_episode_stops_a_press_that_only_animates_and_runs_on_while_the_value_changes() -> None:
    presses = ["pyautogui.click(170, 315)"] * 8
    looping = run_episode(
        AnimatedCalcEnv(), _Task(), ScriptedPolicy(presses), trajectory_id="a", max_steps=8, emit=lambda e: None
    )
    assert (looping.status, looping.n_steps) == ("loop", 3)
    counting = run_episode(
        AnimatedCalcEnv(counting=True),
        _Task(),
        ScriptedPolicy(presses),
        trajectory_id="b",
        max_steps=8,
        emit=lambda e: None,
    )
    assert counting.status != "loop" and counting.n_steps == 8
