"""The element action space: compact screen, history with changes, reply parsing and the policy in the loop
(fake model and fake env; the real sandbox runs are in tests/integration/test_rag_effect.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from envs.action_parser import parse_action_text
from envs.actions import Action, Click, ClickElement, Done, Fail, Hotkey, Key, TypeText
from envs.base import Env
from envs.metrics import parse_a11y_table
from envs.observation import A11yNode, Observation, WindowInfo
from studio.config import default_config, parse_config
from studio.pipeline.agent.elements import (
    ElementPolicy,
    ElementReply,
    compact_observation,
    element_history,
    element_prompt,
    parse_element_reply,
    short_action,
    step_reply,
)
from studio.pipeline.agent.factory import action_space, actor_policy
from studio.pipeline.agent.policies import HistoryItem, ModelPolicy, StepContext
from studio.pipeline.rollout.episode import EpisodeResult, StepEvent, run_episode

ROLE_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "role_set.json"


def _galculator() -> Observation:
    """A real galculator screen (captured by benchmarks/capture_role_set.py)."""
    task = json.loads(ROLE_SET.read_text(encoding="utf-8"))["tasks"][0]
    nodes = parse_a11y_table(task["steps"][0]["observation_text"])
    return Observation(b"png", 1280, 800, nodes, [WindowInfo("galculator", "galculator", 473, 216, 333, 368, True)])


def _reply(action: str, target: str = "", reason: str = "r") -> str:
    return json.dumps({"reason": reason, "action": action, "target": target})


# ------------------------------------------------------------------------------------------- the screen


def test_compact_observation_lists_elements_by_number_without_coordinates() -> None:
    obs = _galculator()
    text = compact_observation(obs)
    lines = text.splitlines()
    assert lines[0] == "Windows: 'galculator' (focused)"
    assert '[6] text = "0"' in lines
    assert '[14] toggle button "1"' in lines
    assert "(480, 499)" in obs.a11y_table and "480" not in text  # no positions or sizes
    assert len(text) < 0.6 * len(obs.a11y_table)


def test_compact_observation_caps_elements_and_says_so() -> None:
    text = compact_observation(_galculator(), max_elements=5)
    assert len([ln for ln in text.splitlines() if ln.startswith("[")]) == 5
    assert text.splitlines()[-1] == "... 29 more elements not shown"


def test_a_window_without_a_tree_says_to_type() -> None:
    obs = Observation(b"", 100, 100, [], [WindowInfo("xterm", "XTerm", 0, 0, 10, 10, True)])
    assert "use type, run and key" in compact_observation(obs)


def test_long_values_show_their_end() -> None:
    long = "line\\n" * 100 + "user@box:~$ ls"
    obs = Observation(b"", 100, 100, [A11yNode(3, "terminal", "", long, 0, 0, 9, 9)])
    line = compact_observation(obs)
    assert line.startswith('[3] terminal = "...') and line.endswith('user@box:~$ ls"')


# ------------------------------------------------------------------------------------------- parsing


def test_click_by_number_becomes_a_replayable_element_click() -> None:
    obs = _galculator()
    d = parse_element_reply(_reply("click", "14", "press 1"), obs)
    assert d.error == "" and d.reason == "press 1"
    assert d.actions == [ClickElement(14)]
    assert d.action_code.endswith("# click_element(14)")
    node = obs.node(14)
    assert node is not None
    assert parse_action_text(d.action_code) == [Click(*node.center)]  # replays without the a11y table


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (_reply("type", "123+456="), [TypeText("123+456=", 0.1)]),
        (_reply("type", "touch ~/a.log\n"), [TypeText("touch ~/a.log\n", 0.1)]),
        (_reply("type", "ls\\n"), [TypeText("ls\n", 0.1)]),  # a doubly escaped newline meant Enter
        (_reply("key", "enter"), [Key("enter")]),
        (_reply("key", "Return"), [Key("return")]),
        (_reply("key", "ctrl+s"), [Hotkey(("ctrl", "s"))]),
        (_reply("key", "+"), [Key("+")]),
        (_reply("done"), [Done()]),
        (_reply("fail"), [Fail()]),
        ('```json\n{"reason": "r", "action": "click", "target": "[14]"}\n```', [ClickElement(14)]),
        ("REASON: press one\nACTION: click(14)", [ClickElement(14)]),
        ('type("6*7=")', [TypeText("6*7=", 0.1)]),
        ("press(enter)", [Key("enter")]),
    ],
)
def test_replies_become_typed_actions(reply: str, expected: list[Action]) -> None:
    d = parse_element_reply(reply, _galculator())
    assert d.error == ""
    assert d.actions == expected


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I think I should press the button", "no action found"),
        ("", "no action found"),
        (_reply("click", "99"), "element [99] is not on the screen"),
        (_reply("click", "123"), 'to enter the number 123 reply {"reason": "...", "action": "type", "target": "123"}'),
        (_reply("click", "the 7 button"), "click needs an element number"),
        (_reply("type", ""), "type needs the text"),
        (_reply("key", "enterr"), "unknown key 'enterr'; did you mean 'enter'"),
        (_reply("key", ""), "key needs a key name"),
        (_reply("scroll", "3"), "unknown action 'scroll'"),
        ('{"reason": "cut off", "action": "cli', "unknown action"),
    ],
)
def test_unusable_replies_give_a_clear_error_and_no_action(reply: str, message: str) -> None:
    d = parse_element_reply(reply, _galculator())
    assert d.actions == []
    assert message in d.error
    assert d.raw == reply  # the raw reply is kept


def test_reply_schema_is_the_grammar_the_parser_reads() -> None:
    schema = ElementReply.model_json_schema()
    assert schema["required"] == ["reason", "action", "target"]
    assert schema["properties"]["action"]["enum"] == ["click", "type", "run", "key", "done", "fail"]
    assert "description" not in schema  # the class docstring stays out of the prompt


# ------------------------------------------------------------------------------------------- history


def test_history_is_short_and_says_what_changed() -> None:
    items = [
        HistoryItem("", "pyautogui.click(509, 516)  # click_element(14)", "", "text: '0' -> '1'"),
        HistoryItem("", "pyautogui.typewrite('+2=')", "", "text: '1' -> '3'"),
        HistoryItem("", "pyautogui.press('enter')", "", "(no visible change)"),
        HistoryItem("", "", "no action found; reply with one JSON object"),
        HistoryItem("", "pyautogui.hotkey('ctrl', 'a')", "", "text: '3' -> ''"),
    ]
    text = element_history(items, limit=4)
    assert text.splitlines() == [
        "(1 earlier steps not shown)",
        "2. type \"+2=\" -> text: '1' -> '3'",
        "3. key enter -> nothing changed in the listing",
        "4. (no action) -> error: no action found; reply with one JSON object",
        "5. key ctrl+a -> text: '3' -> ''",
    ]
    assert element_history([]) == "(none yet)"


def test_short_action_keeps_codes_of_other_policies() -> None:
    assert short_action("pyautogui.click(10, 20)") == "pyautogui.click(10, 20)"
    assert short_action("os.system('x')").startswith("os.system")  # shown, never run


def test_prompt_puts_fixed_text_first_and_feedback_last() -> None:
    ctx = StepContext(
        "Multiply 6 by 7.",
        _galculator(),
        [],
        0,
        feedback="element [99] is not on the screen",
        examples_text="Example 1: add 2 and 3\n  Step 1: ...",
    )
    prompt = element_prompt(ctx)
    other = element_prompt(StepContext("Open the File menu.", _galculator()))
    shared = len(os.path.commonprefix([prompt, other]))
    assert shared >= prompt.index("Worked examples:")  # the rules come first
    # examples, then the screen and the history, then the task right before the reply (a small model reads
    # the end of its prompt best)
    assert prompt.index("Worked examples:") < prompt.index("Screen:") < prompt.index("Steps so far:")
    assert prompt.index("Steps so far:") < prompt.index("Task: Multiply 6 by 7.")
    assert prompt.rstrip().endswith("Reply:")
    assert "Your previous reply could not be used: element [99]" in prompt
    assert "{" + "instruction}" not in prompt


# ------------------------------------------------------------------------------------------- the policy


class FakeModel:
    """Answers from a list, records the prompts."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def __call__(self, messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        self.prompts.append(messages[-1]["content"])
        return self.replies.pop(0), {
            "model_calls": 1,
            "prompt_tokens": len(self.prompts[-1]) // 4,
            "completion_tokens": 12,
        }


class CalcEnv(Env):
    """A calculator display: element 2 shows what was typed; clicking [1] clears it."""

    def __init__(self) -> None:
        self.shown = "0"

    def _obs(self) -> Observation:
        return Observation(
            self.shown.encode(),
            200,
            100,
            [A11yNode(1, "push button", "C", "", 0, 0, 20, 20), A11yNode(2, "text", "", self.shown, 30, 0, 90, 20)],
            [WindowInfo("calc", "Calc", 0, 0, 200, 100, True)],
        )

    def reset(self, task: object) -> Observation:
        return self._obs()

    def step(self, action: Action) -> Observation:
        if isinstance(action, TypeText):
            self.shown = action.text if self.shown == "0" else self.shown + action.text
        elif isinstance(action, ClickElement):
            self.shown = "0"
        return self._obs()

    def evaluate(self, task: object) -> float:
        return float(self.shown == "42")

    def close(self) -> None:
        pass


@dataclass
class _Task:
    id: str = "t"
    instruction: str = "Show 42."


def test_an_unusable_reply_is_recorded_and_the_episode_goes_on() -> None:
    model = FakeModel(["no idea", _reply("click", "7"), _reply("type", "42"), _reply("done")])
    events: list[Any] = []
    result = run_episode(
        CalcEnv(), _Task(), ElementPolicy(model), trajectory_id="x", max_steps=6, emit=events.append, evaluate=True
    )
    steps = [e.step for e in events if isinstance(e, StepEvent)]
    assert [s.error.split(";")[0] for s in steps[:2]] == ["no action found", "element [7] is not on the screen"]
    assert "Your previous reply could not be used: no action found" in model.prompts[1]
    assert "Your previous reply could not be used: element [7]" in model.prompts[2]
    assert "1. (no action) -> error: no action found" in model.prompts[2]
    assert "3. type \"42\" -> text: '0' -> '42'" in model.prompts[3]  # what changed, in the next prompt
    assert steps[2].action_code == "pyautogui.typewrite('42', interval=0.1)"
    assert isinstance(events[-1], EpisodeResult)
    assert (result.status, result.score, result.n_steps) == ("done", 1.0, 4)
    assert sum(s.usage["model_calls"] for s in steps) == 4


def test_a_model_error_ends_the_episode_cleanly() -> None:
    def broken(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        raise TimeoutError("model timed out")

    result = run_episode(CalcEnv(), _Task(), ElementPolicy(broken), trajectory_id="x", max_steps=3, emit=lambda e: None)
    assert result.status == "error" and "model timed out" in result.error


# ------------------------------------------------------------------------------------------- config


def test_auto_is_elements_for_the_offline_actor_and_pyautogui_for_vision_models() -> None:
    cfg = default_config()
    assert cfg.agent.action_space == "auto"
    assert action_space(cfg.agent, cfg.roles.actor) == "elements"
    vision = cfg.roles.actor.model_copy(update={"model": "openai/gpt-4o", "vision": True})
    assert action_space(cfg.agent, vision) == "pyautogui"
    assert isinstance(actor_policy(None), ElementPolicy)
    forced = cfg.agent.model_copy(update={"action_space": "pyautogui"})
    assert isinstance(actor_policy(None, agent=forced), ModelPolicy)


def test_agent_config_rejects_unknown_spaces() -> None:
    from studio.config import DEFAULT_TOML
    from studio.errors import ConfigError

    with pytest.raises(ConfigError, match="agent.action_space"):
        parse_config(DEFAULT_TOML.replace('action_space = "auto"', 'action_space = "mouse"'))


def test_baseline_agent_modes_pick_the_action_space(tmp_path: Path) -> None:
    from studio.errors import PipelineError
    from studio.pipeline.eval.runner import AgentRequest, agent_factory

    def build(name: str) -> Any:
        base, _, mode = name.partition(":")
        req = AgentRequest(agent=name, mode=mode, task_id="t", task_path=None, workspace=str(tmp_path), max_steps=3)
        return agent_factory(name)(req)

    assert isinstance(build("baseline"), ElementPolicy)
    assert isinstance(build("baseline:elements"), ElementPolicy)
    assert isinstance(build("baseline:pyautogui"), ModelPolicy)
    assert build("baseline:pyautogui").name == "baseline:pyautogui"
    with pytest.raises(PipelineError, match="unknown action space 'mouse'.*baseline:elements or baseline:pyautogui"):
        build("baseline:mouse")


def test_step_reply_is_the_element_reply_of_a_stored_step() -> None:
    import json

    def reply(code: str) -> dict[str, str] | None:
        text = step_reply("why", code)
        return None if text is None else json.loads(text)

    assert reply("pyautogui.write('7*8=', interval=0.1)") == {"reason": "why", "action": "type", "target": "7*8="}
    assert reply("pyautogui.click(590, 450)  # click_element(28)") == {
        "reason": "why",
        "action": "click",
        "target": "28",
    }
    assert reply("pyautogui.press('enter')") == {"reason": "why", "action": "key", "target": "enter"}
    assert reply("pyautogui.hotkey('ctrl', 's')") == {"reason": "why", "action": "key", "target": "ctrl+s"}
    assert reply("DONE") == {"reason": "why", "action": "done", "target": ""}
    # a replayed solution's pause beside its action is left out
    assert reply("pyautogui.write('3+5='), time.sleep(1)") == {"reason": "why", "action": "type", "target": "3+5="}
    assert reply("time.sleep(1)") is None
    # no form in this space: coordinates, several actions, a key pressed twice, code that is no action
    assert reply("pyautogui.click(10, 20)") is None
    assert reply("pyautogui.write('a')\npyautogui.press('enter')") is None
    assert reply("pyautogui.press('a', presses=2)") is None
    assert reply("os.system('x')") is None
    # every reply it writes parses back to the same action
    for code in ("pyautogui.write('12+3=', interval=0.1)", "pyautogui.press('tab')", "pyautogui.hotkey('ctrl', 'o')"):
        text = step_reply("r", code)
        assert text is not None
        decision = parse_element_reply(text)
        assert decision.error == ""
        assert step_reply("r", decision.action_code) == text


def test_run_types_a_command_and_presses_enter() -> None:
    """In the eval the 1.5B typed `touch ~/empty.log` without the newline that runs it, every time: `run` is the
    terminal's own action, and a stored command line maps back to it."""
    import json

    decision = parse_element_reply('{"reason": "r", "action": "run", "target": "touch ~/empty.log"}')
    assert decision.error == "" and decision.actions == [TypeText("touch ~/empty.log\n", interval=0.1)]
    same = parse_element_reply('{"reason": "r", "action": "run", "target": "touch ~/empty.log\\n"}')
    assert same.actions == decision.actions  # one Enter, however it was written
    assert json.loads(step_reply("r", decision.action_code) or "") == {
        "reason": "r",
        "action": "run",
        "target": "touch ~/empty.log",
    }
    assert short_action(decision.action_code) == 'run "touch ~/empty.log"'
    assert json.loads(step_reply("r", "pyautogui.write('a\\nb\\n')") or "")["action"] == "type"  # two lines: type
