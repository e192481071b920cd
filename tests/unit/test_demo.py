"""The demo workspace: its configuration, and the bundled tasks it falls back to when the offline model wrote none."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from studio.config import parse_config
from studio.pipeline.demo import add_bundled_tasks, demo_outcome, demo_toml, prepare_demo_workspace
from studio.workspace import Task, Workspace


def test_demo_config_is_valid_and_small() -> None:
    cfg = parse_config(demo_toml(), "demo")
    assert cfg.sandbox.apps == ["galculator", "mousepad"]
    assert cfg.pipeline.max_tasks == 2 and cfg.pipeline.policy == "model+explorer"
    assert not cfg.verify.write_checks  # plain tasks: a checked task is ~5x longer to write
    # the committee decides by comparing (forced choice + values); the `ask` judge is advisory
    assert [j.method for j in cfg.roles.judges] == ["forced_choice", "ask"]
    assert cfg.advisory_judges() == {cfg.roles.judges[1].label}


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


def test_outcome_counts_what_the_workspace_holds(tmp_path: Path) -> None:
    path = prepare_demo_workspace(tmp_path / "demo")
    empty = ["tasks: 0 written by the model", "rollouts: none", "examples: 0 (none judged)"]
    assert demo_outcome(path).lines() == empty
    with Workspace.open(path) as ws:
        ws.add_tasks([Task(instruction="Multiply 6 by 7 in the calculator", app="galculator")])
    add_bundled_tasks(path)
    outcome = demo_outcome(path)
    assert outcome.tasks == {"self-instruct": 1, "file": 2}
    assert outcome.lines()[0] == "tasks: 1 written by the model, 2 bundled (fallback)"
    assert not outcome.complete()  # no rollouts, no examples yet


def _fake_stages(stop_in: str, calls: list[list[str]]) -> Callable[..., list[Any]]:
    def run_stages(path: Path, stages: list[str], *, stop: threading.Event, **_: Any) -> list[Any]:
        calls.append(list(stages))
        if stop_in in stages:
            stop.set()  # what the first Ctrl-C does
        return []

    return run_stages


def test_demo_stopped_early_says_so_and_adds_no_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.cli import app
    from studio.commands import pipeline

    calls: list[list[str]] = []
    monkeypatch.setattr(pipeline, "run_stages", _fake_stages("tasks", calls))
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "demo"), "--no-gui"])
    assert result.exit_code == 130, result.output
    assert "Stopped early" in result.output and "Done" not in result.output
    assert calls == [["docs", "tasks", "verify"]]  # no rollouts after the stop
    assert "tasks: 0 written by the model" in result.output  # no bundled tasks: the model was interrupted
    assert "bundled" not in result.output


def test_demo_that_ran_through_without_examples_is_not_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.cli import app
    from studio.commands import pipeline

    calls: list[list[str]] = []
    monkeypatch.setattr(pipeline, "run_stages", _fake_stages("never", calls))
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "demo"), "--no-gui"])
    assert result.exit_code == 0, result.output
    assert calls == [["docs", "tasks", "verify"], ["rollouts", "backward", "committee"]]
    assert "4 bundled (fallback)" in result.output  # the fake model wrote nothing for either app ...
    assert "Finished, but incomplete" in result.output and "Done" not in result.output  # ... and nothing ran
