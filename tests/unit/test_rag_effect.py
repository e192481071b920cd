"""The rag-effect comparison's guards: its synthesis config, and no overlap with the evaluation suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.tasks import load_task
from studio.config import parse_config
from studio.errors import PipelineError
from studio.pipeline.eval.rag_effect import (
    eval_overlap,
    normalized,
    require_no_overlap,
    solution_texts,
    synthesis_toml,
)
from studio.pipeline.eval.runner import EVAL_SUITE_DIR
from studio.workspace import Example, Step, Task, Trajectory, Workspace

ADD = EVAL_SUITE_DIR / "galculator" / "galculator-add.json"


def _ws(path: Path, instruction: str, typed: str) -> Path:
    with Workspace.init(path) as ws:
        ws.add_tasks([Task(instruction=instruction, app="galculator")])
        traj = Trajectory(instruction=instruction, app="galculator")
        ws.start_trajectory(traj)
        ws.add_step(Step(trajectory_id=traj.id, index=0, action_code=f"pyautogui.typewrite('{typed}')"))
        ws.finish_trajectory(traj.id)
        ws.add(
            [
                Example(
                    trajectory_id=traj.id, start=0, end=1, step_indices=[0], instruction=instruction, app="galculator"
                )
            ]
        )
    return path


def test_solution_texts_are_the_typed_strings() -> None:
    assert solution_texts(load_task(ADD)) == ["123+456="]


def test_instructions_match_whatever_the_case_and_punctuation() -> None:
    assert normalized("Use the calculator to add 123 and 456.") == normalized("use the calculator to ADD 123 and 456")
    assert normalized("Add 1.5 and 2.25") != normalized("Add 15 and 225")


def test_a_workspace_made_from_the_eval_suite_is_refused(tmp_path: Path) -> None:
    ws = _ws(tmp_path / "ws", "Use the calculator to add 123 and 456", "123+456=")
    kinds = sorted({o.kind for o in eval_overlap(ws, [load_task(ADD)])})
    assert kinds == ["example", "step", "task"]
    with pytest.raises(PipelineError, match="overlap the evaluation tasks.*galculator-add"):
        require_no_overlap(ws, [load_task(ADD)])


def test_a_workspace_of_other_tasks_passes(tmp_path: Path) -> None:
    ws = _ws(tmp_path / "ws", "Multiply 7 by 8 with the calculator", "7*8=")
    assert eval_overlap(ws, [load_task(ADD)]) == []
    require_no_overlap(ws, [load_task(ADD)])


def test_synthesis_config_is_the_demo_for_other_apps() -> None:
    cfg = parse_config(
        synthesis_toml(
            ["galculator", "xterm"], max_tasks=6, max_steps=5, extra={"budget_tokens = 2000": "budget_tokens = 800"}
        )
    )
    assert cfg.sandbox.apps == ["galculator", "xterm"]
    assert (cfg.pipeline.max_tasks, cfg.pipeline.max_steps, cfg.retrieval.budget_tokens) == (6, 5, 800)
    assert cfg.roles.actor.model.startswith("local/")
    with pytest.raises(PipelineError, match="no longer matches"):
        synthesis_toml(["xterm"], extra={"no such line": "x"})
