"""Backward construction with a fake structured model: duplicate dropping, spans, both prompts, failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from studio import records
from studio.config import SpanPolicy
from studio.errors import ConfigError, ModelCallError
from studio.pipeline.stages import backward as bw


def Step(index: int, observation_text: str, action_code: str, reason: str = "") -> records.Step:  # noqa: N802
    """A step record from positional fields (short test tables)."""
    return records.Step(index=index, observation_text=observation_text, action_code=action_code, reason=reason)


@dataclass
class Reply:
    ok: bool
    value: Any
    raw: str
    error: str | None = None


@dataclass
class SchemaFake:
    """Answers by schema: InstructionReply -> instruction, ReplicateReply -> steps; or malformed / raising."""

    instruction: Any = "Type hello into the document"
    steps: Any = ("Click the text area", "Type 'hello'")
    calls: list[tuple[str, list[dict]]] = field(default_factory=list)

    def __call__(self, messages: list[dict], schema: type) -> Reply:
        self.calls.append((schema.__name__, messages))
        answer = self.instruction if schema is bw.InstructionReply else self.steps
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, str) and schema is bw.ReplicateReply or answer is None:
            return Reply(False, None, "garbage", "no JSON object found in the reply")
        data = {"instruction": answer} if schema is bw.InstructionReply else {"steps": list(answer)}
        return Reply(True, schema.model_validate(data), f"RAW {data}")


TABLE = (
    "id\trole\tname\ttext\tposition\tsize\n"
    "1\tframe\tMousepad\t\t(0, 0)\t(800, 600)\n"
    "2\ttext\t\t{t}\t(0, 40)\t(800, 500)"
)


def traj(n: int) -> list[Step]:
    return [Step(i, TABLE.format(t="x" * i), f"pyautogui.press('a{i}')", f"reason {i}") for i in range(n)]


def test_span_enumeration_counts_and_order() -> None:
    for n in range(0, 8):
        assert len(bw.enumerate_spans(n)) == n * (n + 1) // 2
    assert bw.enumerate_spans(3) == [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (0, 3)]
    assert bw.enumerate_spans(3, prefer_short=False) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert len(bw.enumerate_spans(10, max_len=4)) == 10 + 9 + 8 + 7
    assert all(j - i <= 4 for i, j in bw.enumerate_spans(10, max_len=4))
    capped = bw.enumerate_spans(10, max_len=4, max_per_trajectory=12)
    assert len(capped) == 12 and capped[:10] == [(i, i + 1) for i in range(10)]
    assert bw.enumerate_spans(10, max_len=4, max_per_trajectory=12) == capped  # deterministic
    assert bw.spans_for_policy(5, SpanPolicy(max_len=5, max_per_trajectory=100)) == bw.enumerate_spans(5)
    with pytest.raises(ConfigError, match="max_len"):
        bw.enumerate_spans(3, max_len=0)


def test_consecutive_duplicates_and_terminal_steps_dropped() -> None:
    a, b = TABLE.format(t="a"), TABLE.format(t="b")
    steps = [
        Step(0, a, "pyautogui.click(1, 2)"),
        Step(1, a, "pyautogui.click(1, 2)"),  # duplicate of 0
        Step(2, a + "  \n", " pyautogui.click(1, 2)"),  # duplicate modulo whitespace
        Step(3, b, "pyautogui.click(1, 2)"),  # same action, new screen: kept
        Step(4, a, "pyautogui.click(1, 2)"),  # not consecutive with 0: kept
        Step(5, a, ""),  # no action (malformed output)
        Step(6, a, "DONE"),
        Step(7, b, "time.sleep(1)"),  # only a wait (a replayed solution's pause): says nothing
        Step(8, a, "WAIT"),
    ]
    assert [s.index for s in bw.clean_steps(list(reversed(steps)))] == [0, 3, 4]
    assert not bw.only_waits("pyautogui.write('3+5='), time.sleep(1)") and not bw.only_waits("not code (")

    @dataclass(frozen=True)
    class Rec:  # a workspace-like step record with an error field
        index: int
        observation_text: str
        action_code: str
        reason: str = ""
        error: str = ""

    recs = [Rec(0, a, "pyautogui.click(1, 2)"), Rec(1, a, "os.system('x')", error="refused: not pyautogui")]
    assert [s.index for s in bw.clean_steps(recs)] == [0]
    assert [s.index for s in bw.clean_steps(steps, drop_terminal=False)] == [0, 3, 4, 6]


def test_constructs_two_candidates_per_span_with_original_indices() -> None:
    steps = traj(4)
    steps.insert(2, Step(1, steps[1].observation_text, steps[1].action_code))  # duplicate of index 1
    steps = [Step(i, s.observation_text, s.action_code, s.reason) for i, s in enumerate(steps)]
    # indices now 0..4, step 2 duplicates step 1 -> cleaned steps are 0, 1, 3, 4
    model = SchemaFake()
    res = bw.construct_examples(
        "traj-1", steps, model, app="mousepad", policy=SpanPolicy(max_len=2, max_per_trajectory=100)
    )
    assert res.n_steps == 4 and res.n_spans == 4 + 3
    assert len(res.examples) == 14 and not res.failures
    spans = sorted({(e.start, e.end, tuple(e.step_indices)) for e in res.examples})
    assert (1, 4, (1, 3)) in spans  # span over the dropped duplicate: end is exclusive, original indices
    assert (3, 5, (3, 4)) in spans
    inst = next(e for e in res.examples if e.kind == "instruction")
    rep = next(e for e in res.examples if e.kind == "replicate" and len(e.step_indices) == 2)
    assert inst.instruction == "Type hello into the document"
    assert inst.prompt_version == "backward_instruction.v2" and rep.prompt_version == "backward_replicate.v2"
    assert rep.instruction == "Replicate the following: 1) Click the text area 2) Type 'hello'"
    assert inst.app == "mousepad" and inst.trajectory_id == "traj-1" and inst.raw.startswith("RAW")
    assert len({e.id for e in res.examples}) == 14
    again = bw.construct_examples(
        "traj-1", steps, SchemaFake(), app="mousepad", policy=SpanPolicy(max_len=2, max_per_trajectory=100)
    )
    assert [e.id for e in again.examples] == [e.id for e in res.examples]


def test_uncapped_policy_gives_all_spans() -> None:
    model = SchemaFake()
    res = bw.construct_examples("t", traj(5), model, app="x", kinds=("instruction",))
    assert res.n_spans == 15 and len(res.examples) == 15 and len(model.calls) == 15


def test_malformed_and_failing_replies_are_recorded() -> None:
    model = SchemaFake(instruction=None, steps="garbage")
    res = bw.construct_examples("t", traj(2), model, app="x", policy=SpanPolicy(max_len=1))
    assert not res.examples and len(res.failures) == 4
    assert {f.kind for f in res.failures} == {"instruction", "replicate"}
    assert all(f.raw == "garbage" and f.error for f in res.failures)
    assert res.failures[0].prompt_version.startswith("backward_")

    res = bw.construct_examples("t", traj(1), SchemaFake(instruction=ModelCallError("down"), steps=[]), app="x")
    assert [f.error.split(":")[0] for f in res.failures] == ["model call failed", "the reply listed no steps"]

    res = bw.construct_examples("t", traj(1), SchemaFake(instruction="ok"), app="x", kinds=("instruction",))
    assert res.failures[0].error.startswith("instruction shorter")
    res = bw.construct_examples("t", traj(1), SchemaFake(instruction="<the task instruction>"), app="x")
    assert "placeholder" in res.failures[0].error
    model = SchemaFake(steps=["Click", "Type 'a'", "Press Enter", "Press Enter again"])
    res = bw.construct_examples("t", traj(2), model, app="x", kinds=("replicate",), policy=SpanPolicy(max_len=1))
    assert res.examples[0].instruction == "Replicate the following: 1) Click"  # one action -> one item


def test_skip_and_bad_kinds() -> None:
    model = SchemaFake()
    res = bw.construct_examples(
        "t",
        traj(2),
        model,
        app="x",
        policy=SpanPolicy(max_len=1),
        skip={(0, 1, "instruction"), (1, 2, "replicate")},
    )
    assert sorted((e.start, e.kind) for e in res.examples) == [(0, "replicate"), (1, "instruction")]
    assert len(model.calls) == 2
    with pytest.raises(ConfigError, match="unknown backward kinds"):
        bw.construct_examples("t", traj(2), model, app="x", kinds=("other",))
    assert bw.construct_examples("t", [], model, app="x").n_spans == 0


def test_prompt_text_truncates_long_observations_and_shows_changes() -> None:
    big = "id\trole\tname\ttext\tposition\tsize\n" + "\n".join(
        f"{i}\tpush button\tButton {i}\t\t({i}, 0)\t(10, 10)" for i in range(500)
    )
    steps = [
        Step(0, big, "pyautogui.click(5, 5)", "press it"),
        Step(1, big + "\n999\tlabel\tResult\t42\t(0, 0)\t(9, 9)", "pyautogui.press('enter')"),
    ]
    model = SchemaFake()
    bw.construct_examples(
        "t",
        steps,
        model,
        app="galculator",
        final_observation=big,
        kinds=("instruction",),
        policy=SpanPolicy(max_len=2, max_per_trajectory=3, prefer_short=False),
    )
    text = model.calls[1][1][0]["content"]  # span (0, 2)
    assert "Button 38" in text and "Button 39\t" not in text and "more rows" in text
    # what each action changed, from the screens before and after it (no model)
    assert "What changed:\nappeared: label 'Result' = '42'" in text
    assert "What changed:\ndisappeared: label 'Result' = '42'" in text
    assert "Reason: press it" in text and "Action: pyautogui.press('enter')" in text
    assert len(text) < bw.MAX_TRAJECTORY_CHARS + 2000
    assert "galculator" in text
    long = bw.render_trajectory([Step(i, big + str(i), "pyautogui.click(1, 1)", "r" * 150) for i in range(80)])
    assert "middle of the trajectory cut" in long and len(long) <= bw.MAX_TRAJECTORY_CHARS + 60


def test_change_modes_stored_changes_win_and_old_rows_layout() -> None:
    head = "id\trole\tname\ttext\tposition\tsize\n"
    a, b = head + "0\tlabel\t\t12\t(0, 0)\t(9, 9)", head + "0\tlabel\t\t84\t(0, 0)\t(9, 9)"
    steps = [Step(0, a, "pyautogui.write('*7=')")]
    assert "label: '12' -> '84'" in bw.render_trajectory(steps, b)
    assert "What changed" not in bw.render_trajectory(steps, None)  # no screen after: nothing to say
    rows = bw.render_trajectory(steps, b, changes="rows")
    assert "+0\tlabel\t\t84" in rows and "What changed" not in rows
    assert "84" not in bw.render_trajectory(steps, b, changes="none")

    @dataclass(frozen=True)
    class Stored:
        index: int
        observation_text: str
        action_code: str
        reason: str = ""
        changes: tuple = ({"kind": "window_opened", "role": "window", "after": "Save As"},)

    assert "window opened: 'Save As'" in bw.render_trajectory([Stored(0, a, "pyautogui.hotkey('ctrl', 's')")], b)
    with pytest.raises(ConfigError, match="changes mode"):
        bw.render_trajectory(steps, b, changes="diff")  # type: ignore[arg-type]


def test_span_view_and_replicate_helpers() -> None:
    steps = traj(4)
    span, after = bw.span_view(steps, 1, 3)
    assert [s.index for s in span] == [1, 2] and after == steps[3].observation_text
    span, after = bw.span_view(steps, 2, 4, final_observation="END")
    assert after == "END"
    span, _ = bw.span_view(steps, 0, 4, step_indices=[0, 3])
    assert [s.index for s in span] == [0, 3]
    assert (
        bw.replicate_instruction(["1. Open menu", "", "Step 2: Click Save;"])
        == "Replicate the following: 1) Open menu 2) Click Save"
    )
    assert bw.replicate_instruction(["Click A", "<step 2>", "Type b", "Type b", "Type b"], max_items=2) == (
        "Replicate the following: 1) Click A 2) Type b"
    )
    assert bw.clean_instruction(' Instruction: "Save the file" ') == "Save the file"


def test_a_click_shows_the_element_it_landed_on() -> None:
    """Backward construction read element 2 (the Edit menu) as the button "2" ("Add two numbers by clicking
    '2'..."): a click now names what it hit, by the marker's id or by the point."""
    from types import SimpleNamespace

    from envs.observation import A11yNode, linearize
    from studio.pipeline.stages.backward import clicked_element

    screen = linearize(
        [
            A11yNode(0, "frame", "galculator", "", 0, 0, 400, 400),
            A11yNode(2, "menu", "Edit", "", 40, 20, 40, 20),
            A11yNode(14, "toggle button", "1", "", 100, 200, 40, 40),
        ]
    )

    def on(code: str) -> str:
        return clicked_element(SimpleNamespace(action_code=code, observation_text=screen))  # type: ignore[arg-type]

    assert on("pyautogui.click(59, 31)  # click_element(2)") == '  -> on menu "Edit"'
    assert on("pyautogui.click(110, 210)") == '  -> on toggle button "1"'  # the smallest box under the point
    assert on("pyautogui.write('12')") == "" and on("pyautogui.click(900, 900)") == ""  # no click / nothing there
    step = SimpleNamespace(index=0, observation_text=screen, action_code="pyautogui.click(110, 210)", reason="")
    text = bw.render_trajectory([step], changes="none")  # type: ignore[list-item]
    assert 'Action: pyautogui.click(110, 210)  -> on toggle button "1"' in text
