"""The GUI's retrieval playground uses the pipeline's retrieval index once it exists (Qt-free adapter)."""

from __future__ import annotations

from pathlib import Path

from studio.gui.data_workspace import WorkspaceData
from studio.llm import LexicalEmbedder
from studio.pipeline.retrieval.index import build_index
from studio.workspace import Example, Step, Trajectory, Workspace


def _make(path: Path) -> None:
    ws = Workspace.init(path)
    toml = (path / "studio.toml").read_text().replace('backend = "local"', 'backend = "lexical"')
    (path / "studio.toml").write_text(toml)
    ws.start_trajectory(Trajectory(id="t1", instruction="use the calculator", app="galculator"))
    for i, (obs, code) in enumerate(
        [("push button\t7", "pyautogui.click(10, 10)"), ("menu item\tSave As", "pyautogui.hotkey('ctrl', 's')")]
    ):
        ws.add_step(Step(trajectory_id="t1", index=i, observation_text=obs, action_code=code, reason="r"))
    ws.finish_trajectory("t1", status="done")
    ws.add_examples(
        [
            Example(id="e-calc", trajectory_id="t1", start=0, end=1, instruction="Press the seven key"),
            Example(id="e-save", trajectory_id="t1", start=1, end=2, instruction="Save the document"),
        ]
    )
    ws.close()


def test_playground_falls_back_then_uses_the_retrieval_index(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    _make(path)
    data = WorkspaceData(path)
    try:
        before = data.search("Save the document", 5)
        assert before and before[0].example_id == "e-save"  # plain BM25 over instructions
    finally:
        data.close()
    with Workspace.open(path) as ws:
        build_index(ws, LexicalEmbedder(), accepted_only=False)
    data = WorkspaceData(path)
    try:
        hits = data.search("menu item Save As", 5)
        assert hits and hits[0].example_id == "e-save"
        assert "·" in hits[0].method  # says how and why it matched
    finally:
        data.close()


def test_costs_follow_the_ledger_live(tmp_path: Path) -> None:
    """The GUI's costs read ledger.jsonl as it grows: a call made while the GUI is open shows at the next poll,
    once (no copy into a table that lags until a writer reopens the workspace)."""
    from studio.gui.data_workspace import WorkspaceData
    from studio.llm.ledger import JsonlLedger, LedgerRecord
    from studio.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()
    data = WorkspaceData(tmp_path / "ws")
    try:
        assert data.costs() == []
        ledger = JsonlLedger(tmp_path / "ws" / "ledger.jsonl")  # what a running pipeline's ModelClient appends to
        ledger.append(LedgerRecord(stage="rollouts", role="actor", model="m", prompt_tokens=10, cost=0.5))
        ledger.append(LedgerRecord(stage="rollouts", role="actor", model="m", prompt_tokens=5, cost=0.25))
        [row] = data.costs()
        assert (row.stage, row.model, row.calls, row.prompt_tokens, row.cost) == ("rollouts", "m", 2, 15, 0.75)
        ledger.append(LedgerRecord(stage="committee", role="judge", model="j", completion_tokens=3))
        assert [(r.stage, r.calls) for r in data.costs()] == [("committee", 1), ("rollouts", 2)]
        assert [(r.stage, r.calls) for r in data.costs()] == [("committee", 1), ("rollouts", 2)]  # counted once
    finally:
        data.close()
