"""A labelled judge set built from bundled tasks in real sandboxes (Xvfb + namespaces + the real apps)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envs.tasks import ASSETS_DIR
from studio.pipeline.eval.judge_build import build_set
from studio.pipeline.eval.judge_set import load_set

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None:  # pragma: no cover - setup problem
    pytest.skip("needs Xvfb and nsenter (util-linux) (run `make test` to install them)", allow_module_level=True)


def test_build_labels_recorded_solutions_with_state_changes(tmp_path: Path) -> None:
    tasks = [
        ASSETS_DIR / "eval" / "galculator" / "galculator-add.json",
        ASSETS_DIR / "eval" / "xterm" / "xterm-touch-empty.json",
    ]
    messages: list[str] = []
    written = build_set(tasks, tmp_path, on_item=lambda f, m: messages.append(f"{f.stem}: {m}"))
    assert len(written) == 2, messages
    items = {i.id: i for i in load_set(tmp_path)}
    add = items["galculator-add"]
    assert add.score == 1.0 and add.app == "galculator" and add.task.endswith("galculator-add.json")
    assert add.steps[0].action_code.startswith("pyautogui.typewrite('123+456='")
    assert "toggle button\t7" in add.steps[0].observation_text  # the real a11y table before the action
    values = [c for c in add.steps[0].changes or [] if c["kind"] == "value"]
    assert any(c["after"] == "579" for c in values), add.steps[0].changes  # the display, read by AT-SPI
    kinds = {c.kind: c for c in add.candidates}
    assert kinds["true"].label and kinds["true"].instruction == "Use the calculator to add 123 and 456."
    assert not kinds["changed_values"].label and "123" not in kinds["changed_values"].instruction
    assert not kinds["other_task"].label and kinds["other_task"].source == "xterm-touch-empty"
    assert "579" in (add.final_observation or "")
    again = build_set(tasks, tmp_path, on_item=lambda f, m: messages.append(m))  # kept, not recorded again
    assert again == written and messages[-2:] == ["kept", "kept"]
