"""The one layout of retrieved examples (instruction, then each step with what it changed) and its budget;
the state changes the index stores for it."""

from __future__ import annotations

from pathlib import Path

from envs.observation import A11yNode, Observation, linearize
from studio.llm.embedders import LexicalEmbedder
from studio.pipeline.agent.policies import StepContext, build_actor_prompt
from studio.pipeline.retrieval.index import INDEX_TABLE, IndexedExample, has_changes
from studio.pipeline.retrieval.render import estimate_tokens, format_example, pack_examples
from studio.pipeline.retrieval.retriever import Retriever, build_index
from studio.workspace import Example, Review, Step, Trajectory, Workspace


def example(n: int, steps: int = 3, change: str = "text 'display': '0' -> '7'") -> IndexedExample:
    return IndexedExample(
        id=f"e{n}",
        instruction=f"task number {n}",
        steps=[(f"reason {n}.{i}", f"pyautogui.press('{i}')") for i in range(steps)],
        changes=[change if i % 2 == 0 else "" for i in range(steps)],
    )


def test_layout_is_instruction_then_steps_with_changes() -> None:
    ex = example(1, steps=2, change="text 'display': '0' -> '7'\nfocus moved to window 'calc'")
    assert format_example(ex, 3).splitlines() == [
        "Example 3: task number 1",
        "  Step 1: REASON: reason 1.0",
        "          ACTION: pyautogui.press('0')",
        "          CHANGED: text 'display': '0' -> '7'; focus moved to window 'calc'",
        "  Step 2: REASON: reason 1.1",  # an unknown change shows no CHANGED line
        "          ACTION: pyautogui.press('1')",
    ]
    assert "CHANGED" not in format_example(ex, 1, changes=False)
    assert format_example(ex, 1, max_steps=1).count("Step") == 1
    long = example(2, steps=1, change="x" * 1000)
    assert len(format_example(long, 1).splitlines()[-1]) < 300  # one change line is clipped


def test_packer_respects_the_budget_keeps_order_and_drops_changes_before_steps() -> None:
    exs = [example(n, steps=n % 4 + 1) for n in range(12)]
    for budget in (0, 10, 40, 75, 120, 333, 1000, 5000):
        text = pack_examples(exs, budget)
        assert estimate_tokens(text) <= budget
        numbers = [line.split(":")[0] for line in text.splitlines() if line.startswith("Example")]
        assert numbers == [f"Example {i}" for i in range(1, len(numbers) + 1)]
        shown = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Example")]
        assert shown == sorted(shown, key=lambda s: int(s.split()[-1]))  # the given (best-first) order
    full = pack_examples(exs[:2], 10_000)
    assert full.count("CHANGED") == 2
    tight = pack_examples(exs[:2], estimate_tokens(full) - 1)
    assert tight.count("Step") == full.count("Step") and tight.count("CHANGED") == 1  # changes go first
    tighter = pack_examples([exs[3]], estimate_tokens(format_example(exs[3], 1, changes=False)) - 1)
    assert tighter.count("Step") == 3 and "Example 1: task number 3" in tighter


def nodes(display: str) -> list[A11yNode]:
    rows = [("push button", "7", ""), ("push button", "Plus", ""), ("text", "display", display)]
    return [A11yNode(i, role, name, text, 10 * i, 20, 40, 30) for i, (role, name, text) in enumerate(rows)]


def screen(display: str) -> str:
    return linearize(nodes(display))


def test_index_stores_state_changes_and_the_actor_prompt_shows_them(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        traj = Trajectory(instruction="Type seven in the calculator", app="calc")
        ws.start_trajectory(traj)
        ws.add_step(
            Step(
                trajectory_id=traj.id,
                index=0,
                observation_text=screen("0"),
                reason="press 7",
                action_code="pyautogui.click(10, 35)",
            )
        )
        ws.add_step(
            Step(
                trajectory_id=traj.id,
                index=1,
                observation_text=screen("7"),
                reason="done",
                action_code="DONE",
                changes=[],
            )
        )
        ws.finish_trajectory(traj.id)
        ex = Example(trajectory_id=traj.id, start=0, end=2, step_indices=[0, 1], instruction=traj.instruction)
        ws.add([ex])
        ws.add_review(Review(example_id=ex.id, decision="accept"))
        emb = LexicalEmbedder()
        build_index(ws, emb)
        r = Retriever(ws, emb, mode="observation", m1=1)
        hit = r.retrieve("x", screen("0")).hits[0]
        # step 0's change is computed from the next screen; step 1's is stored (none)
        assert hit.example.changes == ["text 'display': '0' -> '7'", "(no visible change)"]
        assert "7" in hit.example.obs_text.split()
        obs = Observation(b"", 800, 600, a11y_nodes=nodes("0"))
        ctx = StepContext("Type 77", obs)
        ctx.examples_text, _usage = r.examples_for(ctx)
        prompt = build_actor_prompt(ctx)
        assert "Example 1: Type seven in the calculator" in prompt
        assert "CHANGED: text 'display': '0' -> '7'" in prompt


def test_index_without_changes_is_rebuilt_with_them(tmp_path: Path) -> None:
    from tests.unit.test_retrieval import populate

    with Workspace.init(tmp_path / "ws") as ws:
        exs = populate(ws, extra=2)
        emb = LexicalEmbedder()
        build_index(ws, emb)
        old = ws.table(INDEX_TABLE).to_arrow().drop_columns(["changes_json"])
        ws.create_derived_table(INDEX_TABLE, old.schema, data=old, replace=True)
        ws.ensure_index(INDEX_TABLE, "obs_text", "fts")
        assert not has_changes(ws.table(INDEX_TABLE))
        hits = Retriever(ws, emb, mode="observation", m1=2).retrieve("x", screen("0")).hits
        assert hits and all(h.example.changes == [] for h in hits)  # an old index is still searched
        rep = build_index(ws, emb)
        assert rep.embedded == 0 and rep.total == len(exs) and has_changes(ws.table(INDEX_TABLE))
        hits = Retriever(ws, emb, mode="observation", m1=2).retrieve("x", screen("0")).hits
        assert all(len(h.example.changes) == len(h.example.steps) for h in hits)


def test_export_rows_can_hold_the_same_examples_the_actor_sees(tmp_path: Path) -> None:
    import pytest

    from studio.errors import ConfigError, WorkspaceError
    from studio.export.rows import ExportOptions, iter_rows, select
    from tests.unit.test_retrieval import populate

    with Workspace.init(tmp_path / "ws") as ws:
        exs = populate(ws, extra=3)
        opts = ExportOptions(format="openai", examples=2).validate()
        selected = select(ws, opts)
        with pytest.raises(WorkspaceError, match="no retrieval index"):
            list(iter_rows(ws, selected, opts, str))
        build_index(ws, LexicalEmbedder())
        rows = [row for _n, rs in iter_rows(ws, selected, opts, str) for row in rs]
        assert len(rows) == len(exs)
        own = {e.trajectory_id: e.instruction for e in exs}
        for row in rows:
            prompt = row.messages[0].text
            shown = [ln.split(": ", 1)[1] for ln in prompt.splitlines() if ln.startswith("Example ")]
            assert len(shown) <= 2 and own[row.trajectory_id] not in shown  # never the row's own run
            if row.app == "files":  # the noise runs share one screen: each gets two of the others
                assert len(shown) == 2 and all(t.startswith("Open folder number") for t in shown)
            if not shown:
                assert "Examples of similar" not in prompt
                continue
            block = prompt.split("Examples of similar interactions:\n", 1)[1].split("\n\nPrevious steps", 1)[0]
            r = Retriever(ws, None, mode="observation", m1=30)
            hits = [
                h
                for h in r.retrieve("", ws.steps_of(row.trajectory_id)[0].observation_text).hits
                if h.example.trajectory_id != row.trajectory_id
            ][:2]
            assert block == pack_examples(hits, ws.config.retrieval.budget_tokens)  # the actor's own layout
        plain = [
            row for _n, rs in iter_rows(ws, selected, ExportOptions(format="openai").validate(), str) for row in rs
        ]
        assert all("Examples of similar" not in row.messages[0].text for row in plain)
    for bad in ({"examples": -1}, {"examples": 2, "granularity": "example"}, {"examples": 2, "preset": "qwen2.5-vl"}):
        with pytest.raises(ConfigError, match="--examples"):
            ExportOptions(format="openai", **bad).validate()  # type: ignore[arg-type]


def test_reply_layout_shows_each_step_as_the_element_actor_answers() -> None:
    ex = IndexedExample(
        id="e1",
        instruction="Multiply 7 by 8",
        steps=[("type it", "pyautogui.write('7*8=', interval=0.1)"), ("drag", "pyautogui.dragTo(5, 6)")],
        changes=["text '': '0' -> '56'", ""],
    )
    assert format_example(ex, 2, layout="reply").splitlines() == [
        "Example 2",
        "Task: Multiply 7 by 8",
        'Reply: {"reason": "type it", "action": "type", "target": "7*8="}',
        "Changed: text '': '0' -> '56'",
        "Step: pyautogui.dragTo(5, 6)",  # no element form: shown as it was done
    ]
    packed = pack_examples([ex, example(3)], 10_000, "reply")
    assert packed.startswith("Example 1\nTask: Multiply 7 by 8") and "\n\nExample 2\nTask: task number 3" in packed
    assert estimate_tokens(pack_examples([ex], 30, "reply")) <= 30  # the budget holds in this layout too


def test_element_actor_gets_examples_in_its_reply_layout(tmp_path: Path) -> None:
    from studio.pipeline.agent.elements import ElementPolicy
    from studio.pipeline.retrieval.retriever import RetrievalAugmentedPolicy

    seen: list[str] = []

    def complete(messages: list[dict[str, str]]) -> tuple[str, dict[str, int]]:
        seen.append(messages[-1]["content"])
        return '{"reason": "r", "action": "done", "target": ""}', {}

    class OneHit:
        mode = "observation"

        def examples_for(self, ctx: StepContext, layout: str = "code", *, mode: str | None = None) -> tuple[str, dict]:
            ex = IndexedExample(id="e", instruction="Add 2 and 5", steps=[("t", "pyautogui.write('2+5=')")])
            return pack_examples([ex], 500, layout), {}

    obs = Observation(b"", 300, 300, a11y_nodes=[A11yNode(0, "frame", "galculator", "", 0, 0, 300, 300)])
    policy = RetrievalAugmentedPolicy(ElementPolicy(complete), OneHit(), mode="observation")  # type: ignore[arg-type]
    policy.decide(StepContext("Add 3 and 4", obs))
    assert 'Task: Add 2 and 5\nReply: {"reason": "t", "action": "type", "target": "2+5="}' in seen[0]
