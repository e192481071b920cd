"""The main window: navigation on the side, one stacked page per view, the notification bar, the status bar.

The workspace is opened on a worker thread; once open, its counts are polled every second (through the
worker) so views can pull in rows a pipeline (this GUI's Live view or a separate ``studio run``) just wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.gui.qt_common import BaseView, plain_label, settings
from studio.gui.qt_theme import icon, theme_menu
from studio.gui.qt_worker import WorkerPool

if TYPE_CHECKING:
    from studio.gui.data import Counts, GuiData

POLL_MS = 1000


class NotificationBar(QFrame):
    """The one place errors appear: the latest message, how many so far, details on demand, dismiss."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notificationBar")
        self.setStyleSheet(
            "#notificationBar { background: #b3261e; border-radius: 4px; }#notificationBar QLabel { color: white; }"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        self.label = plain_label()  # errors quote model- and task-file-written text
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.close_button = QPushButton("Dismiss")
        lay.addWidget(self.label, 1)
        lay.addWidget(self.details_button)
        lay.addWidget(self.close_button)
        self.details_button.clicked.connect(self._show_details)
        self.close_button.clicked.connect(self.hide)
        self.messages: list[tuple[str, str]] = []
        self.hide()

    def show_error(self, message: str, details: str = "") -> None:
        self.messages.append((message, details))
        more = f"  ({len(self.messages)} errors so far)" if len(self.messages) > 1 else ""
        self.label.setText(message + more)
        self.show()

    def _show_details(self) -> None:
        if not self.messages:
            return
        message, details = self.messages[-1]
        box = QMessageBox(QMessageBox.Icon.Warning, "Error details", "", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(message)
        box.setDetailedText(details)
        box.open()


class MainWindow(QMainWindow):
    """Side navigation + stacked views. ``counts_changed(Counts)`` after each poll that saw a change."""

    counts_changed = Signal(object)
    data_opened = Signal(object)

    def __init__(
        self,
        workspace: Path | None = None,
        *,
        data: GuiData | None = None,
        pool: WorkerPool | None = None,
        poll_ms: int = POLL_MS,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Learn-by-Interact Studio")
        self.pool = pool or WorkerPool(self)
        self.workspace = Path(workspace) if workspace else None
        self.data: GuiData | None = None
        self.counts: Counts | None = None
        self._polling = False

        self.notifications = NotificationBar()
        self.pool.error.connect(self.notifications.show_error)

        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setMinimumWidth(150)
        self.nav.setMaximumWidth(260)
        self.nav.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.stack = QStackedWidget()
        self.views: dict[str, BaseView] = {}
        self._build_views()

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 6, 6, 0)
        rl.addWidget(self.notifications)
        rl.addWidget(self.stack, 1)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.nav)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([190, 1200])
        self.setCentralWidget(self.splitter)

        self.status_counts = plain_label("no workspace open")
        self.status_busy = plain_label()
        self.statusBar().addWidget(self.status_counts, 1)
        self.statusBar().addPermanentWidget(self.status_busy)
        self.pool.busy_changed.connect(lambda n: self.status_busy.setText(f"working… ({n})" if n else ""))

        self.nav.currentRowChanged.connect(self._show_page)
        self._build_menu()
        self._restore_state()

        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)
        if data is not None:
            self._on_opened(data)
        elif self.workspace is not None:
            self.open_workspace(self.workspace)
        if self.nav.currentRow() < 0:
            self.nav.setCurrentRow(0)

    # ---------------------------------------------------------------- construction

    def _build_views(self) -> None:
        from studio.gui.qt_docs_tasks import DocsTasksView
        from studio.gui.qt_examples import ExamplesView
        from studio.gui.qt_live import LiveView
        from studio.gui.qt_overview import OverviewView
        from studio.gui.qt_retrieval import RetrievalView
        from studio.gui.qt_settings import SettingsView
        from studio.gui.qt_trajectories import TrajectoriesView

        for key, cls in (
            ("overview", OverviewView),
            ("live", LiveView),
            ("docs", DocsTasksView),
            ("trajectories", TrajectoriesView),
            ("examples", ExamplesView),
            ("retrieval", RetrievalView),
            ("settings", SettingsView),
        ):
            view = cls(self.pool, None)
            view.setObjectName(f"view_{key}")
            if hasattr(view, "workspace_path"):
                view.workspace_path = self.workspace
            self.views[key] = view
            self.stack.addWidget(view)
            self.nav.addItem(QListWidgetItem(icon(key), view.title))
        docs = self.views["docs"]
        docs.all_tasks.run_requested.connect(self.run_task)  # type: ignore[attr-defined]

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_act = QAction("&Open workspace…", self)
        open_act.setShortcut(QKeySequence.StandardKey.Open)
        open_act.triggered.connect(self._ask_workspace)
        file_menu.addAction(open_act)
        export_act = QAction("&Export dataset…", self)
        export_act.setShortcut(QKeySequence("Ctrl+E"))
        export_act.triggered.connect(self.open_export)
        file_menu.addAction(export_act)
        self.export_action = export_act
        quit_act = QAction("&Quit", self)
        quit_act.setShortcut(QKeySequence.StandardKey.Quit)
        quit_act.triggered.connect(self.close)
        file_menu.addAction(quit_act)
        view_menu = self.menuBar().addMenu("&View")
        for i, key in enumerate(self.views):
            act = QAction(self.views[key].title, self)
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _=False, row=i: self.nav.setCurrentRow(row))
            view_menu.addAction(act)
        view_menu.addSeparator()
        view_menu.addMenu(theme_menu(self))

    def open_export(self) -> QDialog | None:
        """Open the Export dialog (``studio.gui.qt_export``) on the current workspace."""
        if self.workspace is None:
            self.notifications.show_error("Open a workspace before exporting a dataset")
            return None
        from studio.gui.qt_export import ExportDialog

        self.export_dialog = ExportDialog(self.pool, self.workspace, self)
        self.export_dialog.show()
        return self.export_dialog

    def run_task(self, task_id: str) -> None:
        """Run it: open a sandbox on a workspace task and show it live (the Live view runs and records it).

        The job is made on the worker (it reads the task and its check); the policy and step limit are the Live
        view's current choices (the step limit from studio.toml when the Live view has none).
        """
        live = self.views["live"]
        if self.data is None:
            self.notifications.show_error("Open a workspace before running one of its tasks")
            return
        if getattr(live, "running", False):
            self.notifications.show_error(
                "A rollout is running in the Live view: stop it (Esc) before starting another"
            )
            self.show_view("live")
            return
        policy_box = getattr(live, "policy_box", None)
        steps_box = getattr(live, "steps_box", None)
        policy = policy_box.currentText() if policy_box is not None else "model+explorer"
        steps = steps_box.value() if steps_box is not None else None
        self.pool.submit(
            self.data.rollout_job,
            task_id,
            policy,
            steps,
            on_result=self._start_live,
            name=f"preparing task {task_id} to run",
        )

    def _start_live(self, job: object) -> None:
        live = self.show_view("live")
        live.start([job])  # type: ignore[attr-defined]

    def show_view(self, key: str) -> BaseView:
        """Switch to the view named ``key`` (overview, live, docs, trajectories, examples, retrieval, settings)."""
        self.nav.setCurrentRow(list(self.views).index(key))
        return self.views[key]

    def _show_page(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        view = self.stack.currentWidget()
        if isinstance(view, BaseView) and (self.data is not None or view.needs_data is False):
            view.activate()

    # ---------------------------------------------------------------- workspace

    def _ask_workspace(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open workspace")
        if path:
            self.open_workspace(Path(path))

    def open_workspace(self, path: Path) -> None:
        """Open ``path`` on a worker thread; views load once it is open."""
        from studio.gui.data_workspace import open_data

        self.workspace = Path(path)
        self.status_counts.setText(f"opening {path}…")
        self.pool.submit(open_data, path, on_result=self._on_opened, name=f"opening workspace {path}")

    def _on_opened(self, data: GuiData) -> None:
        self.data = data
        self.workspace = data.path
        self.setWindowTitle(f"Learn-by-Interact Studio — {data.path}")
        for view in self.views.values():
            view.data = data
            view.activated = False
            if hasattr(view, "workspace_path"):
                view.workspace_path = data.path
        self.data_opened.emit(data)
        current = self.stack.currentWidget()
        if current is not None:
            current.activate()  # type: ignore[attr-defined]
        self.poll()
        self.timer.start()

    def poll(self) -> None:
        """Ask the workspace for its counts (at most one request in flight)."""
        if self.data is None or self._polling:
            return
        self._polling = True
        data = self.data

        def done() -> None:
            self._polling = False

        self.pool.submit(data.counts, on_result=self._on_counts, on_finished=done, name="reading workspace counts")

    def _on_counts(self, counts: Counts) -> None:
        old = self.counts.as_dict() if self.counts is not None else {}
        new = counts.as_dict()
        changed = {k for k, v in new.items() if old.get(k) != v}
        self.counts = counts
        self.status_counts.setText(
            f"{counts.documents} documents · {counts.tasks} tasks · {counts.trajectories} trajectories · "
            f"{counts.steps} steps · {counts.examples} examples ({counts.accepted} accepted)"
        )
        if changed:
            for view in self.views.values():
                if view.activated:
                    view.on_counts(counts, changed)
            self.counts_changed.emit(counts)

    # ---------------------------------------------------------------- state

    def _restore_state(self) -> None:
        s = settings()
        geometry = s.value("main/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = s.value("main/splitter")
        if isinstance(state, QByteArray):
            self.splitter.restoreState(state)
        row = s.value("main/view", 0)
        try:
            self.nav.setCurrentRow(int(str(row)))
        except (TypeError, ValueError):
            self.nav.setCurrentRow(0)

    def save_state(self) -> None:
        s = settings()
        s.setValue("main/geometry", self.saveGeometry())
        s.setValue("main/splitter", self.splitter.saveState())
        s.setValue("main/view", self.nav.currentRow())
        for view in self.views.values():
            save = getattr(view, "save_state", None)
            if save is not None:
                save(s)

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        self.timer.stop()
        self.save_state()
        live = self.views.get("live")
        if live is not None:
            live.shutdown()  # type: ignore[attr-defined]
        self.pool.wait(3000)
        super().closeEvent(event)  # type: ignore[arg-type]
