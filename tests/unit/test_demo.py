"""The demo workspace: its configuration, and the bundled tasks it falls back to when the offline model wrote none."""

from __future__ import annotations

from pathlib import Path

from studio.config import parse_config
from studio.pipeline.demo import add_bundled_tasks, demo_toml, prepare_demo_workspace
from studio.workspace import Task, Workspace


def test_demo_config_is_valid_and_small() -> None:
    cfg = parse_config(demo_toml(), "demo")
    assert cfg.sandbox.apps == ["galculator", "mousepad"]
    assert cfg.pipeline.max_tasks == 2 and cfg.pipeline.policy == "model+explorer"


def test_apps_without_tasks_get_bundled_ones_that_need_no_files(tmp_path: Path) -> None:
    path = prepare_demo_workspace(tmp_path / "demo")
    with Workspace.open(path) as ws:
        ws.add_tasks([Task(instruction="Multiply 6 by 7 in the calculator", app="galculator")])  # the model's
    notes = add_bundled_tasks(path)
    assert len(notes) == 1 and notes[0].startswith("mousepad: the offline model wrote no usable task")
    with Workspace.open(path, readonly=True) as ws:
        added = ws.list(Task, app="mousepad", limit=None)
        assert len(added) == 2 and {t.origin for t in added} == {"file"}
        assert all(t.section.endswith(".json") for t in added)
        # only tasks whose setup just launches the app: none needs notes.txt or another file
        assert not any("notes.txt" in t.instruction for t in added)
        assert ws.count(Task, app="galculator") == 1
    assert add_bundled_tasks(path) == []  # idempotent
