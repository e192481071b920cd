"""Documents and tasks: the ingested documents with their sections; the tasks generated from each, with their
provenance (origin: self-instruct / file / backward, source document and section) and their check status
(proven / verified / unverified / pending; the reason in the tooltip). The **All tasks** tab lists every task,
imported ones too, with its check status, runs and score, and runs one live (:mod:`studio.gui.qt_tasks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.gui.qt_common import BaseView, fit_columns, plain_label, plain_tooltip, setup_table
from studio.gui.qt_models import Column, LazyTableModel

if TYPE_CHECKING:
    from studio.gui.data import Counts, DocumentRow, TaskRow


class DocsTasksView(BaseView):
    title = "Documents & tasks"

    def __init__(self, pool: Any, data: Any, parent: QWidget | None = None) -> None:
        super().__init__(pool, data, parent)
        self.model = LazyTableModel(
            pool,
            [
                Column("app", lambda d: d.app),
                Column("section", lambda d: d.section, tooltip=lambda d: d.section),
                Column("source", lambda d: d.source, tooltip=lambda d: d.source),
            ],
            count=lambda: 0,
            fetch=lambda o, n: [],
            name="documents",
        )
        self.table = QTableView()
        self.table.setModel(self.model)
        setup_table(self.table)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.tasks = QTableWidget(0, 5)
        self.tasks.setHorizontalHeaderLabels(["origin", "task id", "section", "check", "instruction"])
        setup_table(self.tasks)
        self.tasks_label = plain_label("Tasks generated from the selected document")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QLabel("Section text"))
        rl.addWidget(self.text, 2)
        rl.addWidget(self.tasks_label)
        rl.addWidget(self.tasks, 3)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([480, 720])
        self.count_label = plain_label()
        docs = QWidget()
        dl = QVBoxLayout(docs)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.count_label)
        dl.addWidget(split, 1)  # the tables take the height, not the label
        from studio.gui.qt_tasks import TasksPanel

        self.all_tasks = TasksPanel(pool)
        self.tabs = QTabWidget()
        self.tabs.addTab(docs, "Documents")
        self.tabs.addTab(self.all_tasks, "All tasks")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs, 1)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._select(cur.row()))
        self.model.total_changed.connect(lambda n: self.count_label.setText(f"{n:,} documents"))
        self._current = ""

    def load(self) -> None:
        if self.data is not None:
            self.model.set_source(self.data.count_documents, self.data.documents)
            self.all_tasks.load(self.data)

    def on_counts(self, counts: Counts, changed: set[str]) -> None:
        if "documents" in changed:
            self.model.refresh()
        if changed & {"tasks", "trajectories", "outcomes", "mean_score"}:
            self.all_tasks.reload()  # new tasks, runs or scores (a check status changes with a verify run)
        if "tasks" in changed and self._current:
            self._load_tasks(self._current)

    def _select(self, row: int) -> None:
        doc: DocumentRow | None = self.model.row(row)
        if doc is None:
            return
        self._current = doc.id
        self.text.setPlainText(doc.text)
        self._load_tasks(doc.id)

    def _load_tasks(self, doc_id: str) -> None:
        if self.data is None:
            return
        self.pool.submit(
            self.data.tasks_for, doc_id, on_result=lambda ts: self._on_tasks(doc_id, ts), name="loading tasks"
        )

    def _on_tasks(self, doc_id: str, tasks: list[TaskRow]) -> None:
        if doc_id != self._current:
            return
        self.tasks_label.setText(f"{len(tasks)} task(s) generated from this document")
        self.tasks.setRowCount(len(tasks))
        for r, t in enumerate(tasks):
            for c, v in enumerate((t.origin, t.id, t.section, t.check_status, t.instruction)):
                item = QTableWidgetItem(v)
                item.setToolTip(plain_tooltip((t.check_reason or v) if c == 3 else v))
                self.tasks.setItem(r, c, item)
        fit_columns(self.tasks)
