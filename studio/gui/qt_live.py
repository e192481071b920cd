"""Live: start, pause and stop rollouts; watch every sandbox at >= 10 frames/s with the last action drawn.

The rollout runs on a long worker (:class:`studio.gui.live_run.ThreadExecutor`, or a
:class:`~studio.pipeline.rollout.ray_executor.RayExecutor` when the workspace's ``[executor]`` says ``ray``);
its events arrive here as worker progress. A second long worker polls each sandbox's display
(``FrameSource.grab``; on Ray the actor sends a JPEG) ~15 times a second, converts and scales the frame off the
UI thread and hands a ``QImage`` over. Stop (button, Ctrl+. or Esc) sets the stop
event and interrupts the action in flight, so the agent halts within about a second.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.gui.qt_common import BaseView, decode_image, frame_to_image, paint_image_fit
from studio.gui.qt_overlay import draw_actions
from studio.pipeline.agent.factory import ROLLOUT_KINDS
from studio.pipeline.agent.policies import PausablePolicy

FPS = 15
TILE_MAX_W = 960


class SandboxTile(QWidget):
    """One sandbox: live frame + last action, header (step, status, fps) and the model's REASON."""

    clicked = Signal(str)

    def __init__(self, trajectory_id: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trajectory_id = trajectory_id
        self.title = title
        self.image = QImage()
        self.screen_w = 0
        self.drawn_actions: list[dict[str, Any]] = []
        self.reason = ""
        self.step = 0
        self.status = "starting"
        self.tokens = 0
        self.cost = 0.0
        self.frames = 0
        self.fps = 0.0
        self._fps_t = time.monotonic()
        self._fps_n = 0
        self.last_live = 0.0
        self.setMinimumSize(320, 240)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("click to enlarge / back to the grid")

    def set_frame(self, image: QImage, screen_w: int, live: bool = True) -> None:
        if not live and time.monotonic() - self.last_live < 1.0:
            return  # live frames are flowing; the step's screenshot adds nothing
        self.image = image
        self.screen_w = screen_w
        if live:
            self.last_live = time.monotonic()
            self.frames += 1
            self._fps_n += 1
            now = time.monotonic()
            if now - self._fps_t >= 1.0:
                self.fps = self._fps_n / (now - self._fps_t)
                self._fps_t, self._fps_n = now, 0
        self.update()

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        self.clicked.emit(self.trajectory_id)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        fm = p.fontMetrics()
        head_h = fm.height() + 8
        reason_h = fm.height() * 2 + 10
        area = QRectF(0, head_h, self.width(), self.height() - head_h - reason_h)
        target = paint_image_fit(p, self.image, area)
        if not self.image.isNull() and self.screen_w and target.width() > 0:
            draw_actions(p, self.drawn_actions, target.width() / self.screen_w, target)
        if self.image.isNull():
            p.setPen(pal.placeholderText().color())
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "waiting for the sandbox…")
        # header
        p.fillRect(QRectF(0, 0, self.width(), head_h), pal.window())
        font = QFont(p.font())
        font.setBold(True)
        p.setFont(font)
        p.setPen(pal.windowText().color())
        head = f"step {self.step} · {self.status} · {self.title}"
        p.drawText(
            QRectF(6, 0, self.width() * 0.65, head_h),
            Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(head, Qt.TextElideMode.ElideRight, int(self.width() * 0.65)),
        )
        font.setBold(False)
        p.setFont(font)
        stats = f"{self.fps:.0f} fps · {self.tokens:,} tok · ${self.cost:.4f}"
        p.drawText(
            QRectF(0, 0, self.width() - 6, head_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            stats,
        )
        # reason
        rect = QRectF(6, self.height() - reason_h + 4, self.width() - 12, reason_h - 6)
        p.drawText(
            rect, Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignTop, f"REASON: {self.reason or '–'}"
        )
        p.setPen(QColor(128, 128, 128))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()


def _make_recorder(
    workspace: Path | None, jobs: list[Any]
) -> tuple[Callable[[Any], None] | None, Callable[[], None]]:
    """A function that writes rollout events to the workspace (None when there is no workspace)."""
    if workspace is None:
        return None, lambda: None
    from studio.gui.data_workspace import event_recorder
    from studio.gui.live_run import job_meta

    return event_recorder(workspace, {job.trajectory_id: job_meta(job, workspace) for job in jobs})


class LiveView(BaseView):
    """Controls + a grid of :class:`SandboxTile`. ``executor_factory()`` makes the executor (tests inject one)."""

    title = "Live"
    needs_data = False
    run_finished = Signal(object)  # list[EpisodeResult]

    def __init__(
        self,
        pool: Any,
        data: Any,
        parent: QWidget | None = None,
        *,
        executor_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(pool, data, parent)
        self.workspace_path: Path | None = None
        self.executor_factory = executor_factory
        self.executor: Any = None
        self.stop_event = threading.Event()
        self.pause_event = threading.Event()
        self.poll_stop = threading.Event()
        self.tiles: dict[str, SandboxTile] = {}
        self.enlarged: str | None = None
        self.running = False
        self.results: list[Any] = []
        self._tasks: list[Any] = []

        lay = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.task_box = QComboBox()
        self.task_box.setMinimumWidth(320)
        self.policy_box = QComboBox()
        self.policy_box.addItems(list(ROLLOUT_KINDS))
        self.policy_box.setToolTip(
            "explorer: model-free random walk; model: the actor role from studio.toml; "
            "model+explorer: the model, and the explorer acts when the model's answer is unusable"
        )
        self.count_box = QSpinBox()
        self.count_box.setRange(1, 8)
        self.count_box.setPrefix("sandboxes: ")
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, 200)
        self.steps_box.setValue(8)
        self.steps_box.setPrefix("max steps: ")
        self.start_button = QPushButton("▶ Start")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("■ Stop  (Esc / Ctrl+.)")
        self.stop_button.setStyleSheet(
            "QPushButton { background: #c62828; color: white; font-weight: bold;"
            " padding: 4px 14px; } QPushButton:disabled { background: #7f7f7f; }"
        )
        for field in (self.task_box, self.policy_box, self.count_box, self.steps_box):
            controls.addWidget(field)
        controls.addStretch(1)
        for button in (self.start_button, self.pause_button, self.stop_button):
            controls.addWidget(button)
        lay.addLayout(controls)
        self.status = QLabel("Pick a task and press Start. Each sandbox appears below, live.")
        lay.addWidget(self.status)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(6)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        lay.addWidget(scroll, 1)

        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.pause_button.toggled.connect(self.set_paused)
        self.stop_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        for seq, ctx in (
            (QKeySequence("Ctrl+."), Qt.ShortcutContext.WindowShortcut),
            (QKeySequence(Qt.Key.Key_Escape), Qt.ShortcutContext.WidgetWithChildrenShortcut),
        ):
            sc = QShortcut(seq, self)
            sc.setContext(ctx)
            sc.activated.connect(self.stop)

    # ---------------------------------------------------------------- setup

    def load(self) -> None:
        from studio.gui.live_run import bundled_tasks

        self.pool.submit(bundled_tasks, on_result=self._on_tasks, name="loading the bundled tasks")
        self._on_tasks([])

    def _apps(self) -> list[str]:
        from envs.apps import list_profiles

        return list_profiles()  # every app profile, bundled (browser and office suite included) or the user's

    def _on_tasks(self, tasks: list[Any]) -> None:
        current = self.task_box.currentText()
        self._tasks = tasks
        self.task_box.clear()
        for app in self._apps():
            self.task_box.addItem(f"explore {app}", ("explore", app))
        for t in tasks:
            self.task_box.addItem(f"{t.id}: {t.instruction}", ("task", t.id))
        if current:
            i = self.task_box.findText(current)
            if i >= 0:
                self.task_box.setCurrentIndex(i)

    def _selected_task(self) -> tuple[Any, str]:
        from studio.gui.live_run import explore_task

        kind, key = self.task_box.currentData() or ("explore", "galculator")
        if kind == "task":
            for t in self._tasks:
                if t.id == key:
                    apps = list(getattr(t, "related_apps", []) or [""])
                    return t, apps[0]
        return explore_task(key), key

    # ---------------------------------------------------------------- run

    def start(self, jobs: list[Any] | None = None) -> None:
        """Start a run: ``jobs`` given (tests, scripts) or built from the controls."""
        if self.running:
            return
        if jobs is None or isinstance(jobs, bool):
            try:
                jobs = self._jobs_from_controls()
            except Exception as exc:  # noqa: BLE001 - bad choice in the controls
                self.pool.report(exc, context="preparing the rollout")
                return
        from studio.gui.live_run import ThreadExecutor, cluster_executor

        self.stop_event = threading.Event()
        self.pause_event = threading.Event()
        self.poll_stop = threading.Event()
        self.pause_button.setChecked(False)
        self.executor = (
            self.executor_factory()
            if self.executor_factory
            else cluster_executor(self.workspace_path, len(jobs)) or ThreadExecutor()
        )
        if hasattr(self.executor, "policy_factory"):
            self.executor.policy_factory = self._pausable(self.executor.policy_factory)
        self._clear_tiles()
        for job in jobs:
            self._add_tile(job.trajectory_id, f"{job.app or 'sandbox'} [{job.trajectory_id[-6:]}]")
        self.running = True
        self.results = []
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.pause_button.setEnabled(True)
        self.status.setText(f"Running {len(jobs)} rollout(s)…")
        recorder, close_recorder = _make_recorder(self.workspace_path, jobs)
        executor, stop = self.executor, self.stop_event

        def run(progress: Callable[[Any], None]) -> list[Any]:
            def on_event(event: Any) -> None:
                if recorder is not None:
                    try:
                        recorder(event)
                    except Exception as exc:  # noqa: BLE001 - shown, the rollout goes on
                        progress(("record_error", exc))
                image = None
                png = getattr(event, "screenshot_png", b"")
                if png:
                    image = decode_image(png, TILE_MAX_W)
                progress(("event", event, image))

            try:
                return list(executor.run(jobs, on_event, stop))
            finally:
                close_recorder()

        self.pool.submit(
            run,
            on_progress=self._on_progress,
            on_result=self._on_finished,
            on_error=self._on_run_error,
            long=True,
            name="the rollout",
        )
        self.pool.submit(
            poll_frames, executor, self.poll_stop, on_progress=self._on_frame, long=True, name="live frames"
        )

    def _pausable(self, factory: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        paused, stop = self.pause_event, self.stop_event

        def make(spec: dict[str, Any]) -> Any:
            return PausablePolicy(factory(spec), paused, stop)

        return make

    def _jobs_from_controls(self) -> list[Any]:
        from studio.pipeline.agent.factory import policy_spec
        from studio.pipeline.rollout.episode import RolloutJob

        task, app = self._selected_task()
        kind = self.policy_box.currentText()
        width, height = 1280, 800
        if self.workspace_path is not None and (self.workspace_path / "studio.toml").exists():
            from studio.config import load_config

            cfg = load_config(self.workspace_path / "studio.toml")
            width, height = cfg.sandbox.width, cfg.sandbox.height
        jobs = []
        for i in range(self.count_box.value()):
            policy = policy_spec(kind, seed=i, workspace=self.workspace_path if kind != "explorer" else None)
            jobs.append(
                RolloutJob(
                    trajectory_id=f"live-{uuid.uuid4().hex[:10]}",
                    task=task,
                    app=app,
                    policy=policy,
                    max_steps=self.steps_box.value(),
                    width=width,
                    height=height,
                )
            )
        return jobs

    def stop(self) -> None:
        """Halt every running agent: stop event + interrupt the action in flight."""
        if not self.running:
            return
        self.stop_event.set()
        self.pause_event.clear()
        if self.executor is not None and hasattr(self.executor, "request_stop"):
            self.executor.request_stop()
        self.status.setText("Stopping…")
        self.stop_button.setEnabled(False)

    def set_paused(self, paused: bool) -> None:
        if hasattr(self.executor, "set_paused"):  # sandboxes on a cluster pause on their own nodes
            self.executor.set_paused(paused)
        if paused:
            self.pause_event.set()
            self.status.setText("Paused before the next step. Press Pause again to go on.")
        else:
            self.pause_event.clear()
            if self.running:
                self.status.setText("Running…")

    def shutdown(self) -> None:
        """Window closing: stop the run and the frame poller."""
        self.stop()
        self.poll_stop.set()

    # ---------------------------------------------------------------- events (UI thread)

    def _on_progress(self, item: tuple[Any, ...]) -> None:
        if item[0] == "record_error":
            self.pool.report(item[1], context="writing the rollout to the workspace")
            return
        _, event, image = item
        from studio.pipeline.rollout.episode import EpisodeResult, EpisodeStart, StepEvent

        tile = self.tiles.get(event.trajectory_id)
        if tile is None:
            return
        if isinstance(event, EpisodeStart):
            tile.status = "running"
            tile.title = f"{event.app or 'sandbox'}: {event.instruction}"[:120]
        elif isinstance(event, StepEvent):
            from studio.gui.data import overlay_actions

            step = event.step
            tile.step = step.index + 1
            tile.reason = step.reason or step.error
            tile.drawn_actions = overlay_actions(step.actions, step.action_code)
            usage = step.usage
            tile.tokens += int(usage.get("prompt_tokens", 0) or 0) + int(
                usage.get("completion_tokens", 0) or 0
            )
            tile.cost += float(usage.get("cost", 0.0) or 0.0)
        elif isinstance(event, EpisodeResult):
            score = f" score {event.score:.2f}" if event.score is not None else ""
            tile.status = f"{event.status}{score}"
            if event.error:
                tile.reason = event.error
        if image is not None and not image.isNull():
            width = event.step.width if isinstance(event, StepEvent) else 0
            tile.set_frame(image, width or image.width(), live=False)
        tile.update()

    def _on_frame(self, item: tuple[str, QImage, int]) -> None:
        tid, image, screen_w = item
        tile = self.tiles.get(tid)
        if tile is not None:
            tile.set_frame(image, screen_w)

    def _on_finished(self, results: list[Any]) -> None:
        self.results = results
        self._idle()
        summary = ", ".join(f"{r.status}" for r in results) or "nothing ran"
        self.status.setText(f"Finished: {summary}.")
        self.run_finished.emit(results)

    def _on_run_error(self, exc: BaseException) -> None:
        self._idle()
        self.status.setText("The rollout failed; see the message above.")
        self.pool.report(exc, context="the rollout")
        self.run_finished.emit([])

    def _idle(self) -> None:
        self.running = False
        self.poll_stop.set()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.pause_button.setChecked(False)

    # ---------------------------------------------------------------- tiles

    def _clear_tiles(self) -> None:
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles.clear()
        self.enlarged = None

    def _add_tile(self, tid: str, title: str) -> None:
        tile = SandboxTile(tid, title)
        tile.clicked.connect(self.toggle_enlarged)
        self.tiles[tid] = tile
        self._relayout()

    def toggle_enlarged(self, tid: str) -> None:
        """Show only ``tid`` (large), or go back to the grid if it is already enlarged."""
        self.enlarged = None if self.enlarged == tid else tid
        self._relayout()

    def _relayout(self) -> None:
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
        shown = [self.tiles[self.enlarged]] if self.enlarged in self.tiles else list(self.tiles.values())
        cols = 1 if len(shown) == 1 else 2 if len(shown) <= 4 else 3
        for tile in self.tiles.values():
            tile.setVisible(tile in shown)
        for i, tile in enumerate(shown):
            self.grid.addWidget(tile, i // cols, i % cols)


def poll_frames(
    executor: Any,
    stop: threading.Event,
    progress: Callable[[Any], None],
    *,
    fps: float = FPS,
    max_w: int = TILE_MAX_W,
) -> int:
    """Worker: grab every running sandbox ~``fps`` times a second; emit ``(trajectory_id, QImage, screen_w)``.

    Returns the number of frames sent. Runs until ``stop`` is set.
    """
    period = 1.0 / fps
    sent = 0
    for _ in itertools.count():
        t0 = time.monotonic()
        if stop.is_set():
            break
        sources = executor.frame_sources() if hasattr(executor, "frame_sources") else {}
        for tid, src in sources.items():
            try:
                frame = src.grab()
            except Exception:  # noqa: BLE001 - a sandbox going down mid-grab; the next tick retries
                frame = None
            if frame is None:
                continue
            img = frame_to_image(frame.width, frame.height, frame.bgra, max_w)
            progress((tid, img, frame.width))
            sent += 1
        stop.wait(max(0.0, period - (time.monotonic() - t0)))
    return sent
