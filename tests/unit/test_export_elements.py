"""Export in the element action space: rows are the element actor's own turns (prompt -> JSON reply).

The stored steps are recorded the way rollouts record them: the real episode loop (``run_episode``) runs a policy
that acts partly as the element actor (JSON replies parsed by ``parse_element_reply``) and partly as a pyautogui
actor or a scripted solution (coordinate clicks, ``write``, ``press``, ``hotkey``) on a replayed galculator screen
sequence, and its step events are stored through the workspace API, state changes included. Then:

* every exported reply parses back (``parse_element_reply`` on the step's screen) to the stored step's action;
* every exported prompt is the prompt ``ElementPolicy`` sends when the episode loop replays those replies on the
  stored screens (the same function, asserted byte for byte);
* each mapping rule, the skipped steps and how ``auto`` picks the layout.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from envs.actions import Action, Click, ClickElement, Done, Drag, Fail, Hotkey, Key, Scroll, TypeText
from envs.base import Env
from envs.observation import A11yNode, Observation, WindowInfo

WINDOW = WindowInfo("galculator", "galculator", 0, 0, 300, 400, True)
BUTTONS = {"1": 3, "2": 4, "3": 5, "+": 6, "=": 7}


def png(shade: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (30, 40), (shade % 256, 80, 160)).save(buf, format="PNG")
    return buf.getvalue()


def galculator(display: str, shade: int = 0, *, windows: bool = True) -> Observation:
    """A galculator screen as the a11y reader lists it: a frame, an unnamed panel (not listed), the display, buttons
    and an unnamed filler (not listed)."""
    nodes = [
        A11yNode(0, "frame", "galculator", "", 0, 0, 300, 400),
        A11yNode(1, "panel", "", "", 0, 40, 300, 360),
        A11yNode(2, "text", "", display, 10, 45, 280, 40),
        *(
            A11yNode(i, "push button", label, "", 10 + 70 * (i - 3) if i < 7 else 220, 100 if i < 7 else 150, 60, 40)
            for label, i in BUTTONS.items()
        ),
        A11yNode(8, "filler", "", "", 10, 300, 60, 40),
    ]
    return Observation(png(shade), 300, 400, a11y_nodes=nodes, windows=[WINDOW] if windows else [])


def centre(label: str) -> tuple[int, int]:
    node = galculator("0").node(BUTTONS[label])
    assert node is not None
    return node.center


class Screens(Env):
    """Replays a screen sequence: ``reset`` shows the first, each action the next (the last stays)."""

    def __init__(self, screens: list[Observation]) -> None:
        self.screens = screens
        self.k = 0

    def reset(self, task: Any) -> Observation:
        self.k = 0
        return self.screens[0]

    def step(self, action: Action) -> Observation:
        self.k = min(self.k + 1, len(self.screens) - 1)
        return self.screens[self.k]

    def evaluate(self, task: Any) -> float:
        return 0.0

    def close(self) -> None:
        pass


class Mixed:
    """Acts from a script: JSON lines as the element actor (its parser), others as the pyautogui actor."""

    name = "model"

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)

    def decide(self, ctx: Any) -> Any:
        from studio.pipeline.agent.elements import parse_element_reply
        from studio.pipeline.agent.policies import parse_agent_output

        item = self.script.pop(0)
        if item.startswith("{"):
            return parse_element_reply(item, ctx.observation)
        return parse_agent_output(f"REASON: pyautogui step\nACTION: {item}")


def record(ws: Any, traj_id: str, instruction: str, screens: list[Observation], script: list[str]) -> list[Any]:
    """Run the real episode loop and store its steps as the recorder does; returns the stored steps."""
    from studio.pipeline.rollout.episode import StepEvent, run_episode
    from studio.workspace import Trajectory

    ws.start_trajectory(Trajectory(id=traj_id, instruction=instruction, app="galculator", model="mixed"))
    events: list[Any] = []
    run_episode(
        Screens(screens),
        SimpleNamespace(id="t", instruction=instruction),
        Mixed(script),
        trajectory_id=traj_id,
        max_steps=len(script),
        emit=events.append,
    )
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert len(steps) == len(script)
    for e in steps:
        ws.add_step(e.step, screenshot=e.screenshot_png)
    ws.finish_trajectory(traj_id, status="done", outcome="done", score=1.0)
    return [e.step for e in steps]


GOOD_SCRIPT = [
    '{"reason": "press 1", "action": "click", "target": "3"}',  # the element actor
    "pyautogui.click({}, {})".format(*centre("+")),  # a coordinate click on a button inside the frame
    "pyautogui.write('23=', interval=0.2)",
    "pyautogui.press('enter')",
    "pyautogui.hotkey('ctrl', 'c')",
    '{"reason": "the display shows 24", "action": "done", "target": ""}',
]
GOOD_SCREENS = ["0", "1", "1+", "24", "24", "24", "24"]
BAD_SCRIPT = [
    "pyautogui.click(40, 320)",  # the unlisted filler: no element form (not moved to the frame around it)
    "pyautogui.dragTo(100, 100)",
    "pyautogui.click({}, {})".format(*centre("2")),
    "pyautogui.press('a', presses=2)",
    "pyautogui.press('enter')\npyautogui.press('tab')",
    "pyautogui.rightClick({}, {})".format(*centre("3")),
]


@pytest.fixture(scope="module")
def elements_ws(tmp_path_factory: Any) -> Path:
    from studio.workspace import Example, Workspace

    path: Path = tmp_path_factory.mktemp("elements") / "ws"
    with Workspace.init(path) as ws:
        good = record(ws, "good", "Add 1 and 23", [galculator(d, i) for i, d in enumerate(GOOD_SCREENS)], GOOD_SCRIPT)
        bad = record(ws, "bad", "Click around", [galculator("0", i) for i in range(7)], BAD_SCRIPT)
        ws.add_examples(
            [
                Example(
                    id="ex-all",
                    trajectory_id="good",
                    start=0,
                    end=6,
                    step_indices=[s.index for s in good],
                    instruction="Add 1 and 23 in the calculator",
                    app="galculator",
                ),
                Example(
                    id="ex-mid",
                    trajectory_id="good",
                    start=2,
                    end=4,
                    step_indices=[2, 3],
                    instruction="Type 23 and press enter",
                    app="galculator",
                ),
                Example(
                    id="ex-bad",
                    trajectory_id="bad",
                    start=0,
                    end=6,
                    step_indices=[s.index for s in bad],
                    instruction="Click around",
                    app="galculator",
                ),
            ]
        )
    return path


def rows_of(path: Path, **kw: Any) -> dict[str, list[Any]]:
    from studio.export.redact import Redactor
    from studio.export.rows import ExportOptions, iter_rows, select
    from studio.workspace import Workspace

    opts = ExportOptions(**{"status": ("all",), "action_space": "elements", **kw}).validate()
    out: dict[str, list[Any]] = {}
    with Workspace.open(path, readonly=True) as ws:
        for _n, rows in iter_rows(ws, select(ws, opts), opts, Redactor(ws.path)):
            for row in rows:
                out.setdefault(row.example_id, []).append(row)
    return out


def stored(path: Path, traj: str) -> dict[int, Any]:
    from studio.workspace import Workspace

    with Workspace.open(path, readonly=True) as ws:
        return {s.index: s for s in ws.steps_of(traj)}


def stored_screen(step: Any) -> Observation:
    from envs.metrics import parse_a11y_table

    return Observation(b"", step.width, step.height, a11y_nodes=parse_a11y_table(step.observation_text))


def test_every_reply_parses_back_to_the_stored_action(elements_ws: Path) -> None:
    from envs.actions import action_from_dict
    from studio.pipeline.agent.elements import TYPE_INTERVAL, parse_element_reply

    rows = rows_of(elements_ws)
    steps = stored(elements_ws, "good")
    assert [r.step for r in rows["ex-all"]] == [0, 1, 2, 3, 4, 5]
    kinds = []
    for row in rows["ex-all"] + rows["ex-mid"]:
        step = steps[row.step]
        obs = stored_screen(step)
        back = parse_element_reply(row.messages[1].text, obs)
        (want,) = [action_from_dict(a) for a in step.actions]
        (got,) = back.actions
        assert not back.error and json.loads(row.messages[1].text)["reason"] == back.reason
        kinds.append(type(want).__name__)
        if isinstance(want, Click):  # the element under the point: the button, not the frame around it
            assert isinstance(got, ClickElement)
            node = obs.node(got.element_id)
            assert node is not None and node.name == "+"
            assert node.x <= want.x < node.x + node.w and node.y <= want.y < node.y + node.h  # type: ignore[operator]
        elif isinstance(want, TypeText):  # the text as stored; the element actor types at its own pace
            assert got == replace(want, interval=TYPE_INTERVAL) and want.interval == 0.2
        else:
            assert got == want  # ClickElement, Key, Hotkey, Done
    assert kinds[:6] == ["ClickElement", "Click", "TypeText", "Key", "Hotkey", "Done"]
    assert [json.loads(r.messages[1].text)["target"] for r in rows["ex-all"]] == [
        "3",
        "6",
        "23=",
        "enter",
        "ctrl+c",
        "",
    ]


def replay_prompts(rows: list[Any], steps: dict[int, Any]) -> list[str]:
    """The prompts ElementPolicy sends when the episode loop replays the rows' replies on the stored screens of
    their (consecutive) steps."""
    from studio.config import default_config
    from studio.pipeline.agent.elements import ElementPolicy
    from studio.pipeline.rollout.episode import run_episode

    first, last = rows[0].step, rows[-1].step
    screens = [stored_screen(steps[i]) for i in range(first, last + 1)]
    if last + 1 in steps:
        screens.append(stored_screen(steps[last + 1]))
    screens = [replace(s, screenshot_png=png(i)) for i, s in enumerate(screens)]
    sent: list[str] = []
    replies = iter([r.messages[1].text for r in rows])

    def complete(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        sent.append(messages[0]["content"])
        return next(replies), {}

    agent = default_config().agent
    policy = ElementPolicy(complete, history_steps=agent.history_steps, max_elements=agent.max_elements)
    instruction = rows[0].messages[0].text.rsplit("Task: ", 1)[1].split("\n", 1)[0]
    task = SimpleNamespace(id="t", instruction=instruction)
    run_episode(Screens(screens), task, policy, trajectory_id="replay", max_steps=len(rows), emit=lambda e: None)
    return sent


@pytest.mark.parametrize("example", ["ex-all", "ex-mid"])
def test_every_prompt_is_what_the_element_policy_sends(elements_ws: Path, example: str) -> None:
    """Replay the exported replies through ElementPolicy and the episode loop on the stored screens."""
    rows = rows_of(elements_ws)[example]
    sent = replay_prompts(rows, stored(elements_ws, "good"))
    assert sent == [r.messages[0].text for r in rows]
    assert len(sent) == len(rows)
    prompts = [r.messages[0].text for r in rows]
    assert "Steps so far:\n(none yet)" in prompts[0]
    if example == "ex-all":  # history in the element actor's words, with what changed
        assert "1. click [3] -> text: '0' -> '1'\n2. click [6] -> text: '1' -> '1+'\nTask:" in prompts[2]
        assert "1. click [3]" in prompts[1] and '3. type "23="' in prompts[3]
        assert '[6] push button "+"' in prompts[1] and "Windows:" not in prompts[1]  # windows are not stored
    else:  # the span's own history: step 2 is the first
        assert '1. type "23="' in prompts[1]


def test_steps_without_an_element_form_are_skipped_and_counted(elements_ws: Path, tmp_path: Path) -> None:
    from studio.export import ExportOptions, export_dataset
    from studio.export.elements import EXAMPLE_SKIPPED, NO_ELEMENT, NO_FORM, SEVERAL

    rows = rows_of(elements_ws)
    (only,) = rows["ex-bad"]
    assert only.step == 2 and json.loads(only.messages[1].text)["target"] == "4"
    history = only.messages[0].text.split("Steps so far:\n", 1)[1].split("\nTask:", 1)[0]
    assert "1. pyautogui.click(40, 320)" in history and "2. pyautogui.dragTo(100, 100)" in history  # as stored
    summary = export_dataset(
        elements_ws,
        tmp_path / "o",
        ExportOptions(format="openai", status=("all",), action_space="elements", split=(1.0, 0.0, 0.0)),
    )
    assert summary.action_space == "elements" and summary.total_rows == 6 + 2 + 1
    assert summary.skipped == {NO_ELEMENT: 1, NO_FORM: 3, SEVERAL: 1}
    card = (tmp_path / "o" / "README.md").read_text()
    assert "Action space: elements (chosen with --action-space elements)" in card
    assert f"3 {NO_FORM}" in card and f"1 {NO_ELEMENT}" in card and '"action_space": "elements"' in card
    lines = (tmp_path / "o" / "train.jsonl").read_text().splitlines()
    written = [[m["content"] for m in json.loads(line)["messages"]] for line in lines]
    assert written == [[m.text for m in r.messages] for ex in ("ex-bad", "ex-all", "ex-mid") for r in rows[ex]]
    summary = export_dataset(
        elements_ws,
        tmp_path / "e",
        ExportOptions(
            format="openai", granularity="example", status=("all",), action_space="elements", split=(1.0, 0.0, 0.0)
        ),
    )
    assert summary.skipped == {EXAMPLE_SKIPPED: 1} and summary.total_rows == 2


def test_example_rows_are_the_turns_of_the_span(elements_ws: Path) -> None:
    per_step = rows_of(elements_ws)["ex-mid"]
    (row,) = rows_of(elements_ws, granularity="example", observation="both")["ex-mid"]
    assert [m.role for m in row.messages] == ["user", "assistant"] * 2
    assert [m.text for m in row.messages] == [m.text for r in per_step for m in r.messages]
    assert [m.images for m in row.messages] == [1, 0, 1, 0] and len(row.images) == 2


def test_pyautogui_rows_are_unchanged_by_the_option(elements_ws: Path) -> None:
    from studio.export.rows import ExportOptions

    default = rows_of(elements_ws, action_space="pyautogui")
    assert ExportOptions().action_space == "pyautogui"
    assert default["ex-all"][1].messages[1].text.startswith("REASON: pyautogui step\nACTION: pyautogui.click(")
    assert len(default["ex-bad"]) == 6  # every step has a pyautogui row


# ------------------------------------------------------------------------------------------- mapping rules


def step_with(*actions: Action, code: str = "", reason: str = "why") -> Any:
    from envs.actions import action_to_dict
    from studio.records import Step

    return Step(
        index=0,
        reason=reason,
        actions=[action_to_dict(a) for a in actions],
        action_code=code,
        observation_text=galculator("0").a11y_table,
        width=300,
        height=400,
    )


def reply_of(step: Any, max_elements: int = 80, clean: Any = str) -> Any:
    from studio.export.elements import element_step, screen

    return element_step(step, screen(step, clean), clean, max_elements)


@pytest.mark.parametrize(
    ("action", "want"),
    [
        (Click(*centre("2")), {"action": "click", "target": "4"}),
        (Click(100, 60), {"action": "click", "target": "2"}),  # the display inside the panel inside the frame
        (ClickElement(7), {"action": "click", "target": "7"}),
        (TypeText("12+3=\n", interval=0.0), {"action": "run", "target": "12+3="}),
        (Key("enter"), {"action": "key", "target": "enter"}),
        (Hotkey(("ctrl", "s")), {"action": "key", "target": "ctrl+s"}),
        (Hotkey(("escape",)), {"action": "key", "target": "escape"}),
        (Done(), {"action": "done", "target": ""}),
        (Fail(), {"action": "fail", "target": ""}),
    ],
)
def test_each_action_maps_to_its_reply(action: Action, want: dict[str, str]) -> None:
    done = reply_of(step_with(action))
    assert not done.skip
    assert json.loads(done.reply) == {"reason": "why", **want}


def test_element_under_the_point_is_the_smallest_and_the_later_of_equals() -> None:
    from studio.export.elements import element_under

    a, b = A11yNode(1, "panel", "a", "", 0, 0, 10, 10), A11yNode(2, "label", "b", "", 0, 0, 10, 10)
    big = A11yNode(0, "frame", "f", "", 0, 0, 100, 100)
    assert element_under([big, a, b], 5, 5) == b and element_under([big, a], 5, 5) == a
    assert element_under([big, a], 50, 50) == big and element_under([big], 100, 5) is None  # right edge is out


@pytest.mark.parametrize(
    ("actions", "skip"),
    [
        ([Click(40, 320)], "click on no listed element"),  # the filler: not moved to the frame around it
        ([Click(400, 10)], "click on no listed element"),  # off every element
        ([ClickElement(1)], "clicked element not in the listing"),  # the unnamed panel
        ([Click(*centre("1"), button="right")], "no element action"),
        ([Click(*centre("1"), clicks=2)], "no element action"),
        ([Click()], "no element action"),
        ([Drag(1, 1, 5, 5)], "no element action"),
        ([Scroll(-3)], "no element action"),
        ([Key("a", presses=3)], "no element action"),
        ([Key("enter"), Key("tab")], "several actions in one step"),
        ([], "no element action"),
    ],
)
def test_actions_without_an_element_form_are_skipped(actions: list[Action], skip: str) -> None:
    done = reply_of(step_with(*actions))
    assert done.skip.startswith(skip) and not done.reply


def test_listing_limit_and_redaction_reach_the_reply() -> None:
    done = reply_of(step_with(ClickElement(7)), max_elements=3)  # [0] frame, [2] text, [3] "1" are listed
    assert done.skip == "clicked element not in the listing"
    done = reply_of(
        step_with(TypeText("key sk-proj-FAKEabcdefghijklmnop1234"), reason="paste  the\nkey"),
        clean=lambda t: t.replace("sk-proj-FAKEabcdefghijklmnop1234", "<secret>"),
    )
    assert json.loads(done.reply) == {"reason": "paste the key", "action": "type", "target": "key <secret>"}
    # a stored step without action dicts is read from its code
    assert json.loads(reply_of(step_with(code="pyautogui.press('tab')")).reply)["target"] == "tab"


# ------------------------------------------------------------------------------------------- choosing the layout


def test_auto_is_the_layout_the_workspace_actor_acts_with() -> None:
    from studio.config import default_config
    from studio.errors import ConfigError
    from studio.export.elements import resolve_action_space
    from studio.export.rows import ExportOptions

    cfg = default_config()
    opts, why = resolve_action_space(ExportOptions(action_space="auto").validate(), cfg)
    assert opts.action_space == "elements" and "action_space = auto" in why and cfg.roles.actor.model in why
    vision = cfg.model_copy(
        update={"roles": cfg.roles.model_copy(update={"actor": cfg.roles.actor.model_copy(update={"vision": True})})}
    )
    assert resolve_action_space(ExportOptions(action_space="auto"), vision)[0].action_space == "pyautogui"
    fixed = cfg.model_copy(update={"agent": cfg.agent.model_copy(update={"action_space": "pyautogui"})})
    assert resolve_action_space(ExportOptions(action_space="auto"), fixed)[0].action_space == "pyautogui"
    opts, why = resolve_action_space(ExportOptions(action_space="auto", preset="qwen2.5-vl").validate(), cfg)
    assert opts.action_space == "pyautogui" and "coordinates" in why  # a coordinate convention wins
    for bad in ({"preset": "ui-tars"}, {"format": "adp"}, {"observation": "screenshot"}, {"action_space": "x"}):
        with pytest.raises(ConfigError, match="--action-space"):
            ExportOptions(**{"action_space": "elements", **bad}).validate()  # type: ignore[arg-type]


def test_cli_defaults_to_the_workspace_layout(elements_ws: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from studio.cli import app

    res: Any = CliRunner().invoke(
        app,
        [
            "export",
            "-f",
            "openai",
            "-o",
            str(tmp_path / "o"),
            "-w",
            str(elements_ws),
            "--status",
            "all",
            "--split",
            "1,0,0",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "rows in the elements layout" in res.output and "left out, no element form" in res.output
    first = json.loads((tmp_path / "o" / "train.jsonl").read_text().splitlines()[0])
    assert json.loads(first["messages"][1]["content"])["action"] == "click"
    res = CliRunner().invoke(
        app,
        [
            "export",
            "-f",
            "openai",
            "-o",
            str(tmp_path / "p"),
            "-w",
            str(elements_ws),
            "--status",
            "all",
            "--action-space",
            "pyautogui",
        ],
    )
    assert res.exit_code == 0 and "rows in the pyautogui layout" in res.output


def test_retrieved_examples_are_shown_as_the_element_actor_sees_them(tmp_path: Path) -> None:
    from studio.export.rows import ExportOptions, iter_rows, select
    from studio.llm.embedders import LexicalEmbedder
    from studio.pipeline.retrieval.index import build_index
    from studio.pipeline.retrieval.render import pack_examples
    from studio.pipeline.retrieval.retriever import Retriever
    from studio.workspace import Workspace
    from tests.unit.test_retrieval import populate

    head = "(an element number may differ on your screen):\n"
    with Workspace.init(tmp_path / "ws") as ws:
        populate(ws, extra=3)
        build_index(ws, LexicalEmbedder())
        opts = ExportOptions(format="openai", examples=2, action_space="elements").validate()
        rows = [row for _n, rs in iter_rows(ws, select(ws, opts), opts, str) for row in rs]
        assert rows
        shown_any = False
        for row in rows:
            prompt = row.messages[0].text
            if head not in prompt:
                continue
            shown_any = True
            block = prompt.split(head, 1)[1].split("\n\nScreen:\n", 1)[0]
            r = Retriever(ws, None, mode="observation", m1=30)
            hits = [
                h
                for h in r.retrieve("", ws.steps_of(row.trajectory_id)[0].observation_text).hits
                if h.example.trajectory_id != row.trajectory_id
            ][:2]
            assert block == pack_examples(hits, ws.config.retrieval.budget_tokens, "reply")
            assert "Reply: {" in block and "ACTION:" not in block
        assert shown_any
