"""Trim and make, Qt-free: examples a person makes (stored human-made, accepted by the author, untouched by a
backward re-run), the span of a filmstrip selection, the backward writer's suggestion (scripted model here; the
real model is in tests/integration/test_gui_suggest.py), and the GUI data layer around them."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from studio.errors import ModelError, WorkspaceError
from studio.gui.data import MemoryData, StepRow
from studio.gui.trim import span_of, suggest_instruction
from studio.llm.structured import StructuredResult
from studio.workspace import Example, Review, Step, Trajectory, Workspace
from studio.workspace.human import make_example

TABLE = (
    "id\trole\tname\ttext\tposition\tsize\n"
    "1\tpush button\t7\t\t(5, 5)\t(10, 10)\n"
    "2\ttext\tdisplay\t{v}\t(20, 5)\t(30, 10)\n"
)


def _png(tag: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (tag * 40 % 256, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def _workspace(path: Path, n_steps: int = 4) -> tuple[Workspace, str]:
    ws = Workspace.init(path)
    traj = Trajectory(instruction="Add 2 and 3", app="galculator", policy="explorer")
    ws.start_trajectory(traj)
    for i in range(n_steps):
        ws.add_step(
            Step(
                trajectory_id=traj.id,
                index=i,
                observation_text=TABLE.format(v=i),
                action_code=f"pyautogui.click({10 + i}, 10)",
                actions=[{"kind": "click", "x": 10 + i, "y": 10}],
                reason=f"press key {i}",
            ),
            screenshot=_png(i),
        )
    ws.finish_trajectory(traj.id, status="done", outcome="done", final_observation=TABLE.format(v=9))
    return ws, traj.id


def test_made_example_is_human_accepted_and_kept(tmp_path: Path) -> None:
    ws, tid = _workspace(tmp_path / "ws")
    try:
        ex, review = make_example(ws, tid, 1, 3, "  Press   7 twice ", "ada")
        assert ex.id.startswith("h-") and ex.origin == "human" and ex.author == "ada"
        assert (ex.start, ex.end, ex.step_indices) == (1, 3, [1, 2])
        assert (ex.instruction, ex.app) == ("Press 7 twice", "galculator")
        assert review.decision == "accept" and review.who == "ada"
        stored = ws.get(Example, ex.id)
        assert stored.origin == "human" and stored.author == "ada"
        assert [r.who for r in ws.reviews_of(ex.id)] == ["ada"]
        assert ws.example_status(ex.id) == "overridden-accept"  # the person's review decides
        # two makes of one span are two examples (a person may word it twice)
        other, _ = make_example(ws, tid, 1, 3, "Press seven two times", "bob")
        assert other.id != ex.id
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("start", "end", "text", "author", "kind", "message"),
    [
        (1, 3, "", "ada", "instruction", "needs an instruction"),
        (1, 3, "do it", "", "instruction", "names its author"),
        (1, 3, "do it", "ada", "summary", "unknown example kind"),
        (2, 2, "do it", "ada", "instruction", "is empty"),
        (3, 6, "do it", "ada", "instruction", "outside the recorded steps 0..3"),
        (1, 3, "x" * 2000, "ada", "instruction", "shorten it"),
    ],
)
def test_make_example_refuses_bad_input_with_the_fix(
    tmp_path: Path, start: int, end: int, text: str, author: str, kind: str, message: str
) -> None:
    ws, tid = _workspace(tmp_path / "ws")
    try:
        with pytest.raises(WorkspaceError, match=message):
            make_example(ws, tid, start, end, text, author, kind=kind)
        assert ws.count("examples") == 0 and ws.count("reviews") == 0  # nothing half-stored
        with pytest.raises(WorkspaceError, match="no trajectory"):
            make_example(ws, "nope", 0, 1, "do it", "ada")
    finally:
        ws.close()
    with Workspace.open(tmp_path / "ws", readonly=True) as ro, pytest.raises(WorkspaceError, match="read-only"):
        make_example(ro, tid, 0, 1, "do it", "ada")


class _BackwardClient:
    """A scripted backward writer: answers every span, counts the calls."""

    use_cache = True

    def __init__(self) -> None:
        self.calls = 0

    def complete_structured(self, schema: Any, role: str, spec: Any, messages: list[dict[str, Any]], **_: Any) -> Any:
        self.calls += 1
        value: dict[str, Any] = (
            {"instruction": "Click the seven key of the calculator"}
            if schema.__name__ == "InstructionReply"
            else {"steps": ["Click 7", "Click 7 again"]}
        )
        return StructuredResult(True, schema.model_validate(value), json.dumps(value))


def test_backward_rerun_never_writes_over_a_made_example(tmp_path: Path) -> None:
    from studio.config import load_config
    from studio.pipeline.run import RunContext, run_pipeline

    ws, tid = _workspace(tmp_path / "ws", n_steps=2)
    try:
        made, _ = make_example(ws, tid, 0, 2, "Press seven twice", "ada")
        cfg = load_config(ws.path / "studio.toml")
        client = _BackwardClient()
        run_pipeline(RunContext(ws=ws, cfg=cfg, client=client), ["backward"])
        run_pipeline(RunContext(ws=ws, cfg=cfg, client=client), ["backward"])  # a re-run asks nothing new
        rows = ws.list(Example, limit=None)
        mine = [e for e in rows if e.id == made.id]
        assert len(mine) == 1 and mine[0].instruction == "Press seven twice" and mine[0].origin == "human"
        # the made span+kind is not asked again; every model example is origin backward, no author
        assert all((e.start, e.end, e.kind) != (0, 2, "instruction") for e in rows if e.id != made.id)
        assert {e.origin for e in rows if e.id != made.id} == {"backward"}
        assert all(not e.author for e in rows if e.id != made.id)
        calls = client.calls
        run_pipeline(RunContext(ws=ws, cfg=cfg, client=client), ["backward"])
        assert client.calls == calls
        assert ws.example_status(made.id) == "overridden-accept"
    finally:
        ws.close()


def _rows(n: int, final: bool = True) -> list[StepRow]:
    out = [StepRow("t", i, "", "a", [], "", "", "", 64, 48) for i in range(n)]
    if final:
        out.append(StepRow("t", n, "", "", [], "", "", "", 64, 48, final=True))
    return out


def test_span_of_a_filmstrip_selection() -> None:
    steps = _rows(4)
    assert span_of(steps, [2, 1]) == (1, 3)
    assert span_of(steps, [0, 3]) == (0, 4)  # first to last selected, whatever lies between
    assert span_of(steps, [2, 4]) == (2, 3)  # the final screen is not a step
    with pytest.raises(WorkspaceError, match="select the steps"):
        span_of(steps, [4])
    with pytest.raises(WorkspaceError, match="select the steps"):
        span_of(steps, [])


class _Model:
    """A StructuredModel answering the instruction prompt with ``reply``."""

    def __init__(self, reply: dict[str, Any] | None) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def __call__(self, messages: list[dict[str, Any]], schema: Any) -> Any:
        self.prompts.append("\n".join(str(m["content"]) for m in messages))
        if self.reply is None:
            return StructuredResult(False, None, "no idea", "not JSON")
        return StructuredResult(True, schema.model_validate(self.reply), json.dumps(self.reply))


def test_suggestion_renders_the_span_like_backward_construction(tmp_path: Path) -> None:
    ws, tid = _workspace(tmp_path / "ws")
    try:
        model = _Model({"instruction": "Instruction: 'Press the 7 key twice'"})
        assert suggest_instruction(ws, tid, 1, 3, model=model) == "Press the 7 key twice"
        prompt = model.prompts[0]
        assert "pyautogui.click(11, 10)" in prompt and "pyautogui.click(12, 10)" in prompt
        assert "pyautogui.click(10, 10)" not in prompt  # only the span's steps
        with pytest.raises(ModelError, match="type the instruction"):
            suggest_instruction(ws, tid, 1, 3, model=_Model(None))
    finally:
        ws.close()


def test_memory_data_make_and_suggest() -> None:
    data = MemoryData()
    data.step_rows["t"] = _rows(3)
    eid = data.make_example("t", 0, 2, "Press seven", "ada")
    row = data.example_rows[-1]
    assert row.id == eid and row.by == "made by ada" and row.status == "accepted" and (row.start, row.end) == (0, 1)
    with pytest.raises(WorkspaceError, match="not within"):
        data.make_example("t", 2, 5, "Press seven", "ada")
    data.suggestions[("t", 0, 2, "instruction")] = "Press 7"
    assert data.suggest_instruction("t", 0, 2) == "Press 7"
    with pytest.raises(ModelError):
        data.suggest_instruction("t", 1, 2)


def test_workspace_data_make_example_and_origin_in_rows(tmp_path: Path) -> None:
    from studio.gui.data import ExampleFilter
    from studio.gui.data_workspace import WorkspaceData

    ws, tid = _workspace(tmp_path / "ws")
    ws.close()
    data = WorkspaceData(tmp_path / "ws")
    try:
        eid = data.make_example(tid, 0, 2, "Press seven", "ada")
        rows = data.examples(ExampleFilter(), 0, 10)
        assert [(r.id, r.by, r.status, r.reviewed) for r in rows] == [(eid, "made by ada", "accepted", True)]
        assert [r.reviewer for r in data.reviews(eid)] == ["ada"]
    finally:
        data.close()
    with Workspace.open(tmp_path / "ws", readonly=True) as ro:
        assert [r.decision for r in ro.list(Review, limit=None)] == ["accept"]


def test_schema_6_migration_adds_origin_and_author(tmp_path: Path) -> None:
    import json

    import numpy as np

    from studio.workspace.migrate import SCHEMA_VERSION

    ws, tid = _workspace(tmp_path / "ws")
    ws.add_examples(
        [Example(trajectory_id=tid, start=0, end=1, instruction="Press seven")],
        vectors=np.ones((1, 4), dtype="float32"),
        embedder="fake",
    )
    for name in ("examples", "example_vectors"):  # back to a schema-5 layout
        ws.table(name).drop_columns(["origin", "author"])
    ws.close()
    meta = json.loads((tmp_path / "ws" / "workspace.json").read_text())
    meta["schema_version"] = 5
    (tmp_path / "ws" / "workspace.json").write_text(json.dumps(meta))
    with Workspace.open(tmp_path / "ws", readonly=True) as ro:  # a reader migrates through a writer first
        assert ro.meta["schema_version"] == SCHEMA_VERSION == 6
        assert [(e.origin, e.author) for e in ro.list(Example, limit=None)] == [("backward", "")]
    with Workspace.open(tmp_path / "ws") as ws:
        made, _ = make_example(ws, tid, 0, 2, "Press seven twice", "ada")
        ws.set_example_vectors([made.id], np.ones((1, 4), dtype="float32"), "fake")
        hits = ws.search_examples_vector(np.ones(4, dtype="float32"), 5, embedder="fake")
        assert sorted((e.origin, e.author) for e, _ in hits) == [("backward", ""), ("human", "ada")]
