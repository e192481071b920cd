"""Fixtures for the GUI tests (offscreen Qt; see tests/conftest.py)."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest


def png_bytes(w: int = 320, h: int = 200, color: tuple[int, int, int] = (200, 220, 240)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, format="PNG")
    return buf.getvalue()


class FakeFrame:
    def __init__(self, w: int, h: int, n: int) -> None:
        self.width, self.height = w, h
        self.bgra = bytes([n % 256, 80, 160, 255]) * (w * h)


class FakeFrameSource:
    """Frames of a fake display: a solid colour that changes with every grab."""

    def __init__(self, env: Any = None, w: int = 320, h: int = 200) -> None:
        self.w, self.h = w, h
        self.n = 0
        self.closed = False

    def grab(self) -> FakeFrame:
        self.n += 1
        return FakeFrame(self.w, self.h, self.n * 7)

    def close(self) -> None:
        self.closed = True


def shown_text(tooltip: str) -> str:
    """What a (rich-text) tooltip shows, as plain text."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(tooltip)
    return doc.toPlainText()


@pytest.fixture(autouse=True, scope="session")
def _private_qsettings(tmp_path_factory: Any) -> None:
    """Window state goes to a temporary directory, not the user's config."""
    from PySide6.QtCore import QSettings

    path = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, path)


@pytest.fixture
def pool(qtbot: Any) -> Any:
    from studio.gui.qt_worker import WorkerPool

    p = WorkerPool()
    yield p
    p.wait(5000)


@pytest.fixture
def slow_replay_env_factory() -> Any:
    """Env factory: a ReplayEnv whose steps take 50 ms (an endless episode unless stopped)."""
    from envs.observation import A11yNode as Node
    from envs.observation import Observation
    from envs.replay import ReplayEnv

    class SlowReplay(ReplayEnv):
        def step(self, action: Any) -> Observation:
            time.sleep(0.05)
            self.actions.append(action)
            self._i = (self._i + 1) % len(self.observations)  # the screen keeps changing: no loop detection
            return self.observations[self._i]

    def make(job: Any) -> Any:
        nodes = [
            Node(1, "push button", "7", "", 10, 10, 40, 30),
            Node(2, "push button", "+", "", 60, 10, 40, 30),
        ]
        obs = [Observation(png_bytes(color=(i * 40 % 255, 100, 200)), 320, 200, a11y_nodes=nodes) for i in range(5)]
        return SlowReplay(obs, score=1.0)

    return make


def build_workspace(path: Any) -> dict[str, Any]:
    """A small workspace written through the workspace API: 2 documents, 3 tasks, 2 trajectories with steps,
    4 examples (accepted, rejected, disputed, pending) with verdicts of two judges, ledger rows."""
    from studio.workspace import Document, Example, Step, Task, Trajectory, Verdict, Workspace

    ws = Workspace.init(path)
    try:
        docs = [
            Document(
                source="man galculator",
                section="BASIC USAGE",
                text="Click the digits, then =.",
                app="galculator",
            ),
            Document(source="mousepad help", section="Saving files", text="Use File > Save.", app="mousepad"),
        ]
        ws.add_documents(docs)
        ws.add_tasks(
            [
                Task(instruction="Add 2 and 3", app="galculator", document_id=docs[0].id, section="BASIC USAGE"),
                Task(
                    instruction="Multiply 6 by 7",
                    app="galculator",
                    document_id=docs[0].id,
                    section="BASIC USAGE",
                    check_status="proven",
                    check_reason="",
                ),
                Task(instruction="Save a file", app="mousepad", document_id=docs[1].id, section="Saving files"),
            ]
        )
        table = "id\trole\tname\ttext\tposition\tsize\n1\tpush button\t2\t\t(10, 10)\t(40, 30)\n"
        trajs = []
        for t in range(2):
            traj = Trajectory(
                instruction=f"Add 2 and 3 (run {t})", app="galculator", policy="explorer", model="explorer"
            )
            ws.start_trajectory(traj)
            for i in range(4):
                ws.add_step(
                    Step(
                        trajectory_id=traj.id,
                        index=i,
                        observation_text=table,
                        width=320,
                        height=200,
                        reason=f"click button {i}",
                        action_code=f"pyautogui.click({20 + 30 * i}, 25)",
                        actions=[{"kind": "click", "x": 20 + 30 * i, "y": 25, "button": "left", "clicks": 1}],
                        timings={"a11y": 0.01, "screenshot": 0.002},
                    ),
                    screenshot=png_bytes(color=(40 * i, 120, 200)),
                )
            ws.finish_trajectory(
                traj.id,
                status="done",
                outcome="done" if t == 0 else "max_steps",
                score=1.0 if t == 0 else 0.0,
                final_observation=table if t == 1 else None,  # run 1 recorded the screen after its last action
                final_screenshot=png_bytes(color=(250, 250, 250)) if t == 1 else None,
            )
            trajs.append(traj.id)
        examples = [
            Example(
                trajectory_id=trajs[0],
                start=1,
                end=3,
                instruction=f"Press the {w} button",
                kind=kind,
                app="galculator",
            )
            for w, kind in (
                ("plus", "instruction"),
                ("minus", "replicate"),
                ("times", "instruction"),
                ("equals", "instruction"),
            )
        ]
        ws.add_examples(examples)
        verdicts = []
        votes = {
            0: (True, True),
            1: (False, False),
            2: (True, False),
        }  # accepted, rejected, disputed; 3 pending
        for n, (a, b) in votes.items():
            for judge, vote in (("judge-a", a), ("judge-b", b)):
                for crit in ("aligned", "coherent", "natural", "reasonable"):
                    verdicts.append(
                        Verdict(
                            example_id=examples[n].id,
                            judge=judge,
                            criterion=crit,
                            vote=vote,
                            rationale=f"{judge} says {'yes' if vote else 'no'} on {crit}",
                        )
                    )
        ws.add_verdicts(verdicts)
        ws.add_ledger_records(
            [
                {
                    "stage": "rollout",
                    "role": "actor",
                    "model": "local/smollm2",
                    "prompt_tokens": 500,
                    "completion_tokens": 40,
                    "cost": 0.0,
                },
                {
                    "stage": "committee",
                    "role": "judge",
                    "model": "openai/gpt-4o-mini",
                    "prompt_tokens": 900,
                    "completion_tokens": 20,
                    "cost": 0.0012,
                },
            ]
        )
    finally:
        ws.close()
    return {"trajectories": trajs, "examples": [e.id for e in examples], "documents": [d.id for d in docs]}


@pytest.fixture(scope="module")
def fixture_workspace(tmp_path_factory: Any) -> tuple[Any, dict[str, Any]]:
    path = tmp_path_factory.mktemp("ws") / "ws"
    ids = build_workspace(path)
    return path, ids


@pytest.fixture
def window(qtbot: Any, fixture_workspace: Any) -> Any:
    """The main window opened on the fixture workspace, counts loaded."""
    from studio.gui.qt_main_window import MainWindow

    path, _ids = fixture_workspace
    w = MainWindow(path, poll_ms=200)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.counts is not None, timeout=20000)
    yield w
    w.timer.stop()
    w.pool.wait(5000)
