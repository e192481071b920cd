"""Retrieval playground: type a query, or pick a step of a trajectory (its observation becomes the query), and see
what observation-based (full-text) and model-based (dense) retrieval return, with scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.gui.qt_common import BaseView, fit_columns, plain_label, plain_tooltip, setup_table

if TYPE_CHECKING:
    from studio.gui.data import SearchHit


class RetrievalView(BaseView):
    title = "Retrieval playground"

    def __init__(self, pool: Any, data: Any, parent: QWidget | None = None) -> None:
        super().__init__(pool, data, parent)
        self.query = QLineEdit()
        self.query.setPlaceholderText("type what the agent is trying to do, or pick a step below…")
        self.k_box = QSpinBox()
        self.k_box.setRange(1, 50)
        self.k_box.setValue(10)
        self.k_box.setPrefix("k = ")
        self.search_button = QPushButton("Search")
        self.traj_box = QComboBox()
        self.traj_box.setMinimumWidth(260)
        self.step_box = QComboBox()
        self.use_step = QPushButton("Use this step's observation")
        qbar = QHBoxLayout()
        qbar.addWidget(self.query, 1)
        qbar.addWidget(self.k_box)
        qbar.addWidget(self.search_button)
        sbar = QHBoxLayout()
        sbar.addWidget(QLabel("or a step:"))
        sbar.addWidget(self.traj_box, 1)
        sbar.addWidget(self.step_box)
        sbar.addWidget(self.use_step)
        self.observation = QPlainTextEdit()
        self.observation.setReadOnly(True)
        self.observation.setPlaceholderText("the picked step's observation (a11y table) appears here")
        self.observation.setMaximumHeight(140)
        self.results = QTableWidget(0, 4)
        self.results.setHorizontalHeaderLabels(["method", "score", "kind", "instruction"])
        setup_table(self.results)
        self.status = plain_label()
        lay = QVBoxLayout(self)
        lay.addLayout(qbar)
        lay.addLayout(sbar)
        lay.addWidget(self.observation)
        lay.addWidget(self.status)
        lay.addWidget(self.results, 1)
        self.search_button.clicked.connect(self.run_query)
        self.query.returnPressed.connect(self.run_query)
        self.traj_box.currentIndexChanged.connect(self._load_steps)
        self.use_step.clicked.connect(self._use_step)
        self._steps: list[Any] = []

    def load(self) -> None:
        if self.data is None:
            return
        self.pool.submit(self.data.trajectories, 0, 500, on_result=self._on_trajectories, name="listing trajectories")

    def _on_trajectories(self, rows: list[Any]) -> None:
        self.traj_box.blockSignals(True)
        self.traj_box.clear()
        for t in rows:
            self.traj_box.addItem(f"{t.id} · {t.instruction[:60]}", t.id)
        self.traj_box.blockSignals(False)
        if rows:
            self._load_steps()

    def _load_steps(self, *_: Any) -> None:
        tid = self.traj_box.currentData()
        if not tid or self.data is None:
            return
        self.pool.submit(self.data.steps, tid, on_result=self._on_steps, name="loading steps")

    def _on_steps(self, steps: list[Any]) -> None:
        self._steps = steps
        self.step_box.clear()
        for s in steps:
            self.step_box.addItem("final screen" if s.final else f"step {s.index}", s.index)

    def _use_step(self) -> None:
        i = self.step_box.currentIndex()
        if not (0 <= i < len(self._steps)):
            return
        step = self._steps[i]
        self.observation.setPlainText(step.observation_text)
        self.run_query(text=step.observation_text)

    def run_query(self, *_: Any, text: str | None = None) -> None:
        """Search the workspace with the typed query (or ``text``) on a worker; show hits with scores."""
        q = (text if text is not None else self.query.text()).strip()
        if not q or self.data is None:
            return
        k = self.k_box.value()
        self.status.setText("searching…")
        self.pool.submit(
            self.data.search,
            q,
            k,
            on_result=self._on_hits,
            on_error=self._on_search_error,
            name="searching examples",
        )

    def _on_search_error(self, exc: BaseException) -> None:
        self.status.setText("search failed")
        self.pool.report(exc, context="searching examples")

    def _on_hits(self, hits: list[SearchHit]) -> None:
        methods = sorted({h.method for h in hits})
        self.status.setText(f"{len(hits)} result(s)" + (f" · {', '.join(methods)}" if methods else ""))
        self.results.setRowCount(len(hits))
        for r, h in enumerate(hits):
            score = QTableWidgetItem(f"{h.score:.3f}")
            score.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for c, item in enumerate(
                (QTableWidgetItem(h.method), score, QTableWidgetItem(h.kind), QTableWidgetItem(h.instruction))
            ):
                item.setToolTip(plain_tooltip(h.instruction))
                self.results.setItem(r, c, item)
        fit_columns(self.results)
