"""Every task of the workspace in one list: self-instructed, bundled, backward and imported (`studio tasks
import`) alike, with its check status (proven / verified / unverified and why / pending), its finished runs and
the latest run's check score; **Run it** (or Enter, or a double-click) opens a sandbox on the selected task in
the Live view and shows it live (:mod:`studio.gui.task_run` makes the job; the Live view runs and records it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTableView, QVBoxLayout, QWidget

from studio.gui.qt_common import plain_label, setup_table
from studio.gui.qt_models import Column, LazyTableModel

if TYPE_CHECKING:
    from studio.gui.data import TaskRow

CHECK_COLORS = {
    "proven": QColor(46, 160, 67),
    "verified": QColor(0, 150, 170),
    "unverified": QColor(210, 120, 34),
    "pending": QColor(128, 128, 128),
}


def _score(t: TaskRow) -> str:
    return "" if t.score is None else f"{t.score:.2f}"


class TasksPanel(QWidget):
    """The lazy task list and the Run it button. ``run_requested(task_id)`` when the person asks to run one."""

    run_requested = Signal(str)

    def __init__(self, pool: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.data: Any = None
        self.model = LazyTableModel(
            pool,
            [
                Column("check", lambda t: t.check_status or "unverified", tooltip=lambda t: t.check_text),
                Column("origin", lambda t: t.origin),
                Column("app", lambda t: t.app),
                Column("runs", lambda t: str(t.runs), align_right=True),
                Column("score", _score, align_right=True, tooltip=lambda t: "the latest scored run's check score"),
                Column("why", lambda t: t.check_reason if t.check_status == "unverified" else ""),
                Column("instruction", lambda t: t.instruction, tooltip=lambda t: f"{t.id}: {t.instruction}"),
            ],
            count=lambda: 0,
            fetch=lambda o, n: [],
            name="tasks",
        )
        self.model.color = lambda t: CHECK_COLORS.get(t.check_status)
        self.table = QTableView()
        self.table.setModel(self.model)
        setup_table(self.table)
        self.run_button = QPushButton("▶ Run it")
        self.run_button.setToolTip("Open a sandbox on the selected task and watch it in the Live view (Enter)")
        self.run_button.setEnabled(False)
        self.count_label = plain_label()
        bar = QHBoxLayout()
        bar.addWidget(self.count_label, 1)
        bar.addWidget(self.run_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.table, 1)
        self.model.total_changed.connect(lambda n: self.count_label.setText(f"{n:,} tasks"))
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self.run_button.setEnabled(self.model.row(cur.row()) is not None)
        )
        self.run_button.clicked.connect(self.run_selected)
        self.table.doubleClicked.connect(lambda _i: self.run_selected())
        for key in ("Return", "Enter"):
            sc = QShortcut(QKeySequence(key), self.table)
            sc.activated.connect(self.run_selected)

    def load(self, data: Any) -> None:
        self.data = data
        self.model.set_source(data.count_tasks, data.tasks)

    def reload(self) -> None:
        """Read the rows again (check statuses and runs change without new tasks)."""
        if self.data is not None:
            self.model.reset()

    def selected(self) -> TaskRow | None:
        row: TaskRow | None = self.model.row(self.table.currentIndex().row())
        return row

    def run_selected(self) -> None:
        task = self.selected()
        if task is not None:
            self.run_requested.emit(task.id)
