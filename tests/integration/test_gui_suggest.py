"""The trim bar's suggestion from a real model: the workspace's backward writer (the offline Qwen2.5-Coder 1.5B,
the default; the 0.5B answered without the instruction field here) writes an instruction for a selected span of
a real workspace trajectory, through the GUI's data layer (the same call the Suggest button makes on a worker);
the call lands in the workspace's ledger as a backward-stage call, and the suggestion can be made into a human
example. The fast tests use a scripted model (tests/unit/test_gui_trim.py, tests/qt/test_trim_and_signals.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.llm.models import model_file

pytestmark = pytest.mark.integration
pytest.importorskip("llama_cpp")

MODEL = "qwen2.5-coder-1.5b"
TABLE = (
    "id\trole\tname\ttext\tposition\tsize\n"
    "1\tpush button\t7\t\t(10, 10)\t(40, 30)\n"
    "2\tpush button\t+\t\t(60, 10)\t(40, 30)\n"
    "3\ttext\tdisplay\t{v}\t(10, 50)\t(200, 30)\n"
)


@pytest.mark.timeout(1800)
def test_real_backward_writer_suggests_an_instruction_for_a_span(tmp_path: Path) -> None:
    if not model_file(MODEL).is_file():
        pytest.skip(f"local/{MODEL} is not installed: run `python -m studio.llm.models install {MODEL}`")
    from studio.gui.data_workspace import WorkspaceData
    from studio.llm.ledger import read_ledger
    from studio.workspace import Example, Step, Trajectory, Workspace

    ws = Workspace.init(tmp_path / "ws")
    toml = ws.path / "studio.toml"
    text = toml.read_text()
    old = '[roles.backward_writer]\nmodel = "local/qwen2.5-coder-1.5b"\ntemperature = 0.2\nmax_tokens = 256\n'
    assert old in text
    toml.write_text(text.replace(old, f'[roles.backward_writer]\nmodel = "local/{MODEL}"\nmax_tokens = 96\n'))
    ws.close()
    ws = Workspace.open(tmp_path / "ws")
    traj = Trajectory(instruction="", app="galculator", policy="explorer")
    ws.start_trajectory(traj)
    display = ["0", "7", "7+", "7+7"]
    actions = ["pyautogui.click(30, 25)", "pyautogui.click(80, 25)", "pyautogui.click(30, 25)"]
    for i, code in enumerate(actions):
        ws.add_step(Step(trajectory_id=traj.id, index=i, observation_text=TABLE.format(v=display[i]), action_code=code))
    ws.finish_trajectory(traj.id, status="done", outcome="max_steps", final_observation=TABLE.format(v=display[3]))
    ws.close()

    data = WorkspaceData(tmp_path / "ws")
    try:
        suggestion = data.suggest_instruction(traj.id, 0, 3)
        assert len(suggestion) >= 8 and suggestion == suggestion.strip()
        calls = read_ledger(tmp_path / "ws" / "ledger.jsonl")
        assert [(c.stage, c.model) for c in calls] == [("backward", f"local/{MODEL}")]
        eid = data.make_example(traj.id, 0, 3, suggestion, "ada")
    finally:
        data.close()
    with Workspace.open(tmp_path / "ws", readonly=True) as ro:
        made = ro.get(Example, eid)
        assert (made.origin, made.author, made.instruction) == ("human", "ada", suggestion)
