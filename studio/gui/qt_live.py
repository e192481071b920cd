"""Live: start, pause and stop rollouts; watch a grid of N sandboxes, click one to follow it large.

The rollout runs on a long worker (:class:`studio.gui.live_run.ThreadExecutor`, or a
:class:`~studio.pipeline.rollout.ray_executor.RayExecutor` when the workspace's ``[executor]`` says ``ray``);
its events arrive here as worker progress and update each tile's task, step, last action and status. A second
long worker runs a :class:`studio.gui.live_frames.FramePump` over the executor's frame sources: every thumbnail
at a steady ``GRID_FPS``, the followed sandbox at ``FOLLOW_FPS``, each frame scaled on the worker to the size its
tile draws it at, and never a second frame for a tile the UI has not drawn yet. Stop (button, Ctrl+. or Esc)
sets the stop event and interrupts the action in flight, so the agent halts within about a second.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from studio.gui.live_frames import FOLLOW_FPS, GRID_FPS, FrameLike, FramePump
from studio.gui.qt_common import BaseView, decode_image, frame_to_image, plain_label
from studio.gui.qt_live_tile import SandboxTile, last_action_text
from studio.pipeline.agent.factory import ROLLOUT_KINDS
from studio.pipeline.agent.policies import PausablePolicy

#: Largest width of a step's screenshot shown before live frames flow (decoded on the rollout worker).
STEP_IMAGE_MAX_W = 960
#: Most sandboxes one Live run starts.
MAX_SANDBOXES = 16


def scale_frame(frame: FrameLike, width: int, height: int) -> QImage:
    """A grabbed frame as a QImage that fits ``width`` x ``height`` (0: full size); for the pump's thread.

    Qt's smooth scaling is 3-4 times cheaper than Pillow's here; it holds the GIL while it works, which the
    pump keeps rare: only a frame that changed is scaled.
    """
    w, h = frame.width, frame.height
    fit_w = w if width <= 0 or height <= 0 or not h else min(width, int(height * w / h))
    return frame_to_image(w, h, frame.bgra, max(1, min(fit_w, w)))


def grid_columns(n: int) -> int:
    """Columns of the grid for ``n`` tiles (1, 2, 2, 2, 3 ... 3, 4 ...): about square, wider than tall."""
    return 1 if n <= 1 else max(2, math.ceil(math.sqrt(n)))


def _make_recorder(workspace: Path | None, jobs: list[Any]) -> tuple[Callable[[Any], None] | None, Callable[[], None]]:
    """A function that writes rollout events to the workspace (None when there is no workspace)."""
    if workspace is None:
        return None, lambda: None
    from studio.gui.data_workspace import event_recorder
    from studio.gui.live_run import job_meta

    return event_recorder(workspace, {job.trajectory_id: job_meta(job, workspace) for job in jobs})


class LiveView(BaseView):
    """Controls + a grid of :class:`SandboxTile`. ``executor_factory()`` makes the executor (tests inject one).

    Click a tile to follow it large (the others stay live, small, in a column beside it); click it again or
    press "Grid" to go back.
    """

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
        grid_fps: float = GRID_FPS,
        follow_fps: float = FOLLOW_FPS,
    ) -> None:
        super().__init__(pool, data, parent)
        from studio.gui.qt_theme import SPACING

        self.workspace_path: Path | None = None
        self.executor_factory = executor_factory
        self.executor: Any = None
        self.stop_event = threading.Event()
        self.pause_event = threading.Event()
        self.poll_stop = threading.Event()
        self.grid_fps, self.follow_fps = grid_fps, follow_fps
        self.pump = FramePump(dict, scale_frame, grid_fps=grid_fps, follow_fps=follow_fps)
        self.tiles: dict[str, SandboxTile] = {}
        self.followed: str | None = None
        self.running = False
        self.results: list[Any] = []
        self._tasks: list[Any] = []

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(SPACING)
        controls = QHBoxLayout()
        controls.setSpacing(SPACING)
        self.task_box = QComboBox()
        self.task_box.setMinimumWidth(320)
        self.task_box.setToolTip("what every sandbox does: explore an app, or a bundled task")
        self.policy_box = QComboBox()
        self.policy_box.addItems(list(ROLLOUT_KINDS))
        self.policy_box.setToolTip(
            "explorer: model-free random walk; model: the actor role from studio.toml; "
            "model+explorer: the model, and the explorer acts when the model's answer is unusable"
        )
        self.count_box = QSpinBox()
        self.count_box.setRange(1, MAX_SANDBOXES)
        self.count_box.setPrefix("sandboxes: ")
        self.count_box.setToolTip("sandboxes at once (each is its own machine: about one per core runs smoothly)")
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, 200)
        self.steps_box.setValue(8)
        self.steps_box.setPrefix("max steps: ")
        icon = self.style().standardIcon
        self.start_button = QPushButton(icon(QStyle.StandardPixmap.SP_MediaPlay), "Start")
        self.pause_button = QPushButton(icon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton(icon(QStyle.StandardPixmap.SP_MediaStop), "Stop  (Esc / Ctrl+.)")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setStyleSheet(
            "#stopButton { background: #c62828; color: white; font-weight: bold; padding: 4px 14px; }"
            " #stopButton:disabled { background: palette(mid); color: palette(window); }"
        )
        self.grid_button = QPushButton(icon(QStyle.StandardPixmap.SP_FileDialogListView), "Grid")
        self.grid_button.setToolTip("back to the grid of every sandbox")
        self.grid_button.setVisible(False)
        left: list[QWidget] = [self.task_box, self.policy_box, self.count_box, self.steps_box]
        right: list[QWidget] = [self.grid_button, self.start_button, self.pause_button, self.stop_button]
        for w in left:
            controls.addWidget(w)
        controls.addStretch(1)
        for w in right:
            controls.addWidget(w)
        lay.addLayout(controls)
        self.status = plain_label(
            "Pick a task and press Start. Each sandbox appears below, live; click one to follow it."
        )
        lay.addWidget(self.status)
        # two pages: the grid (scrolls when tiles reach their minimum size), and "follow": one tile large,
        # the others in a scrolling column beside it
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(SPACING)
        self.grid_scroll = QScrollArea()
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.grid_scroll.setWidget(self.grid_host)
        self.follow_page = QWidget()
        self.follow_row = QHBoxLayout(self.follow_page)
        self.follow_row.setContentsMargins(0, 0, 0, 0)
        self.follow_row.setSpacing(SPACING)
        self.side_host = QWidget()
        self.side = QVBoxLayout(self.side_host)
        self.side.setContentsMargins(0, 0, 0, 0)
        self.side.setSpacing(SPACING)
        self.side_scroll = QScrollArea()
        self.side_scroll.setWidgetResizable(True)
        self.side_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.side_scroll.setWidget(self.side_host)
        self.side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.follow_row.addStretch(1)  # index 0: the followed tile goes here
        self.follow_row.addWidget(self.side_scroll)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.grid_scroll)
        self.pages.addWidget(self.follow_page)
        lay.addWidget(self.pages, 1)

        self.fps_timer = QTimer(self)  # the tiles' frames/s, from the pump, once a second
        self.fps_timer.setInterval(1000)
        self.fps_timer.timeout.connect(self._show_fps)

        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.pause_button.toggled.connect(self.set_paused)
        self.grid_button.clicked.connect(lambda: self.follow(None))
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
        executor = self.executor
        provider = getattr(executor, "frame_sources", None) or dict
        live_frames = hasattr(executor, "frame_sources")
        self.pump = FramePump(provider, scale_frame, grid_fps=self.grid_fps, follow_fps=self.follow_fps)
        self._clear_tiles()
        self.count_box.setValue(min(len(jobs), MAX_SANDBOXES))  # the controls say what runs
        for job in jobs:
            tile = self._add_tile(job.trajectory_id, f"{job.app or 'sandbox'} [{job.trajectory_id[-6:]}]")
            tile.task = str(getattr(job.task, "instruction", "") or "")
            tile.max_steps = int(job.max_steps)
            tile.refresh_text()
        self.running = True
        self.fps_timer.start()
        self.results = []
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.pause_button.setEnabled(True)
        self.status.setText(f"Running {len(jobs)} rollout(s)…")
        recorder, close_recorder = _make_recorder(self.workspace_path, jobs)
        stop = self.stop_event

        def run(progress: Callable[[Any], None]) -> list[Any]:
            def on_event(event: Any) -> None:
                if recorder is not None:
                    try:
                        recorder(event)
                    except Exception as exc:  # noqa: BLE001 - shown, the rollout goes on
                        progress(("record_error", exc))
                image = None
                png = getattr(event, "screenshot_png", b"")
                if png and (not live_frames or not hasattr(event, "step")):  # live frames make steps' moot
                    image = decode_image(png, STEP_IMAGE_MAX_W)
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
        self.pool.submit(self.pump.run, self.poll_stop, on_progress=self._on_frame, long=True, name="live frames")

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
        for tile in self.tiles.values():
            if tile.status == ("running" if paused else "paused"):
                tile.status = "paused" if paused else "running"
                tile.refresh_text()

    def shutdown(self) -> None:
        """Window closing: stop the run and the frame pump."""
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
            tile.status = "paused" if self.pause_event.is_set() else "running"
            tile.title = f"{event.app or 'sandbox'} [{event.trajectory_id[-6:]}]"
            tile.task = event.instruction
        elif isinstance(event, StepEvent):
            from studio.gui.data import overlay_actions

            step = event.step
            tile.step = step.index + 1
            tile.reason = step.reason or step.error
            tile.step_actions = overlay_actions(step.actions, step.action_code)
            tile.last_action = last_action_text(step.action_code, step.actions)
            usage = step.usage
            tile.tokens += int(usage.get("prompt_tokens", 0) or 0) + int(usage.get("completion_tokens", 0) or 0)
            tile.cost += float(usage.get("cost", 0.0) or 0.0)
        elif isinstance(event, EpisodeResult):
            score = f" score {event.score:.2f}" if event.score is not None else ""
            tile.status = f"{event.status}{score}"
            if event.error:
                tile.reason = event.error
        if image is not None and not image.isNull():
            width = event.step.width if isinstance(event, StepEvent) else 0
            tile.set_frame(image, width or image.width(), live=False)
        tile.refresh_text()

    def _on_frame(self, item: tuple[str, QImage, int]) -> None:
        tid, image, screen_w = item
        self.pump.ack(tid)  # this frame is taken: the pump may grab the next one
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

    def _show_fps(self) -> None:
        for tid, tile in self.tiles.items():
            tile.set_fps(self.pump.fps(tid))

    def _idle(self) -> None:
        self.running = False
        self.fps_timer.stop()
        for tile in self.tiles.values():
            tile.set_fps(0.0)
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
        self.followed = None
        self.grid_button.setVisible(False)

    def _add_tile(self, tid: str, title: str) -> SandboxTile:
        tile = SandboxTile(tid, title)
        tile.clicked.connect(self._on_tile_clicked)
        tile.resized.connect(self.pump.set_size)
        self.tiles[tid] = tile
        self._relayout()
        return tile

    def _on_tile_clicked(self, tid: str) -> None:
        self.follow(None if self.followed == tid else tid)

    def follow(self, tid: str | None) -> None:
        """Follow ``tid`` large (the others in a column beside it, still live), or None: back to the grid."""
        self.followed = tid if tid in self.tiles else None
        self.pump.follow(self.followed)
        for key, tile in self.tiles.items():
            tile.set_followed(key == self.followed)
        self.grid_button.setVisible(self.followed is not None)
        self._relayout()

    def _relayout(self) -> None:
        for tile in self.tiles.values():
            for layout in (self.grid, self.follow_row, self.side):
                layout.removeWidget(tile)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 0)
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 0)
        tiles = list(self.tiles.values())
        if self.followed is None:
            cols = grid_columns(len(tiles))
            for i, tile in enumerate(tiles):
                self.grid.addWidget(tile, i // cols, i % cols)
            for c in range(cols):
                self.grid.setColumnStretch(c, 1)
            for r in range(math.ceil(len(tiles) / cols)):
                self.grid.setRowStretch(r, 1)
            self.pages.setCurrentWidget(self.grid_scroll)
            return
        big = self.tiles[self.followed]
        item = self.follow_row.itemAt(0)
        if item is not None and item.widget() is None:
            self.follow_row.removeItem(item)  # the placeholder stretch
        self.follow_row.insertWidget(0, big, 4)
        side_w = 0
        for tile in tiles:
            if tile is not big:
                self.side.addWidget(tile)
                side_w = tile.minimumWidth() + 40
        self.side_scroll.setFixedWidth(max(side_w, 260))
        self.side_scroll.setVisible(len(tiles) > 1)
        self.pages.setCurrentWidget(self.follow_page)
