"""Examples and verdicts: backward-constructed instructions with filters and search; for the selected one its step
span highlighted on the trajectory's filmstrip, every judge's vote per criterion with its rationale, and
accept / reject / edit by a person, stored as a review (the judges' verdicts are never overwritten)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.gui.data import EXAMPLE_STATUSES, ExampleFilter
from studio.gui.qt_common import BaseView, fit_columns, setup_table
from studio.gui.qt_models import Column, LazyTableModel
from studio.gui.qt_trajectories import TrajectoryPanel

if TYPE_CHECKING:
    from studio.gui.data import Counts, ExampleRow, ReviewRow, VerdictRow

STATUS_COLORS = {
    "accepted": QColor(46, 160, 67),
    "rejected": QColor(218, 54, 51),
    "disputed": QColor(210, 153, 34),
    "needs_review": QColor(88, 140, 220),  # accepted only by advisory judges: a person decides
    "pending": QColor(128, 128, 128),  # also an abstained vote
}


class ExamplesView(BaseView):
    title = "Examples & verdicts"

    def __init__(self, pool: Any, data: Any, parent: QWidget | None = None) -> None:
        super().__init__(pool, data, parent)
        self.filter = ExampleFilter()
        self.current: ExampleRow | None = None
        # filters
        self.status_box = QComboBox()
        self.status_box.addItem("all statuses", "")
        for s in EXAMPLE_STATUSES:
            self.status_box.addItem(s, s)
        self.app_box = QComboBox()
        self.kind_box = QComboBox()
        self.judge_box = QComboBox()
        for box, label in (
            (self.app_box, "all apps"),
            (self.kind_box, "all kinds"),
            (self.judge_box, "all judges"),
        ):
            box.addItem(label, "")
        self.search = QLineEdit()
        self.search.setPlaceholderText("search instructions…")
        self.search.setClearButtonEnabled(True)
        bar = QHBoxLayout()
        for w in (self.status_box, self.app_box, self.kind_box, self.judge_box):
            bar.addWidget(w)
        bar.addWidget(self.search, 1)
        self.count_label = QLabel("")
        bar.addWidget(self.count_label)
        # list
        self.model = LazyTableModel(
            pool,
            [
                Column("status", lambda e: e.status),
                Column("check", lambda e: e.check_text, tooltip=lambda e: "the trajectory's task check"),
                Column("kind", lambda e: e.kind),
                Column("app", lambda e: e.app),
                Column("span", lambda e: f"{e.start}–{e.end}", align_right=True),
                Column("instruction", lambda e: e.edited or e.instruction, tooltip=lambda e: e.instruction),
            ],
            count=lambda: 0,
            fetch=lambda o, n: [],
            name="examples",
        )
        self.model.color = lambda e: STATUS_COLORS.get(e.status)
        self.table = QTableView()
        self.table.setModel(self.model)
        setup_table(self.table)
        # detail
        self.instruction = QLabel("Select an example.")
        self.instruction.setWordWrap(True)
        self.instruction.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdicts = QTableWidget(0, 4)
        self.verdicts.setHorizontalHeaderLabels(["judge", "criterion", "vote", "rationale"])
        setup_table(self.verdicts)
        self.reviews_label = QLabel("")
        self.reviews_label.setWordWrap(True)
        self.accept_button = QPushButton("Accept")
        self.reject_button = QPushButton("Reject")
        self.edit_line = QLineEdit()
        self.edit_line.setPlaceholderText("edited instruction…")
        self.edit_button = QPushButton("Save edit")
        review_bar = QHBoxLayout()
        review_bar.addWidget(self.accept_button)
        review_bar.addWidget(self.reject_button)
        review_bar.addWidget(self.edit_line, 1)
        review_bar.addWidget(self.edit_button)
        self.panel = TrajectoryPanel(pool)

        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.instruction)
        dl.addWidget(self.verdicts, 1)
        dl.addWidget(self.reviews_label)
        dl.addLayout(review_bar)
        top = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(bar)
        ll.addWidget(self.table)
        top.addWidget(left)
        top.addWidget(detail)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(top)
        self.split.addWidget(self.panel)
        self.split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.split)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        for box in (self.status_box, self.app_box, self.kind_box, self.judge_box):
            box.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._select(cur.row()))
        self.model.total_changed.connect(lambda n: self.count_label.setText(f"{n:,} examples"))
        self.accept_button.clicked.connect(lambda: self.review("accept"))
        self.reject_button.clicked.connect(lambda: self.review("reject"))
        self.edit_button.clicked.connect(lambda: self.review("edit", self.edit_line.text()))
        self.edit_line.returnPressed.connect(lambda: self.review("edit", self.edit_line.text()))
        self._set_review_enabled(False)

    # ---------------------------------------------------------------- loading

    def load(self) -> None:
        if self.data is None:
            return
        self.panel.data = self.data
        self.pool.submit(self.data.facets, on_result=self._on_facets, name="reading example facets")
        self.apply_filter()

    def _on_facets(self, facets: dict[str, list[str]]) -> None:
        for box, key in ((self.app_box, "app"), (self.kind_box, "kind"), (self.judge_box, "judge")):
            current = box.currentData()
            box.blockSignals(True)
            while box.count() > 1:
                box.removeItem(1)
            for v in facets.get(key, []):
                box.addItem(v, v)
            i = box.findData(current)
            box.setCurrentIndex(max(i, 0))
            box.blockSignals(False)

    def on_counts(self, counts: Counts, changed: set[str]) -> None:
        if changed & {"examples", "verdicts", "accepted", "rejected", "disputed"}:
            self.model.refresh()
        if "examples" in changed and self.data is not None:
            self.pool.submit(self.data.facets, on_result=self._on_facets, name="reading example facets")

    def apply_filter(self) -> None:
        """Rebuild the list from the filter widgets."""
        if self.data is None:
            return
        flt = ExampleFilter(
            status=self.status_box.currentData() or "",
            app=self.app_box.currentData() or "",
            kind=self.kind_box.currentData() or "",
            judge=self.judge_box.currentData() or "",
            search=self.search.text().strip(),
        )
        self.filter = flt
        data = self.data
        self.model.set_source(lambda: data.count_examples(flt), lambda o, n: data.examples(flt, o, n))

    # ---------------------------------------------------------------- selection

    def _select(self, row: int) -> None:
        ex = self.model.row(row)
        self.current = ex
        self._set_review_enabled(ex is not None)
        if ex is None or self.data is None:
            return
        edited = f"<br><i>edited:</i> {ex.edited}" if ex.edited else ""
        self.instruction.setText(
            f"<b>{ex.kind}</b> · {ex.status} · steps {ex.start}–{ex.end} of "
            f"{ex.trajectory_id}{' · check ' + ex.check_text if ex.check_text else ''}<br>{ex.instruction}{edited}"
        )
        self.edit_line.setText(ex.edited or ex.instruction)
        data = self.data
        self.pool.submit(
            lambda: (data.verdicts(ex.id), data.reviews(ex.id)),
            on_result=lambda vr: self._on_verdicts(ex.id, *vr),
            name="loading verdicts",
        )
        self.panel.show_trajectory(
            ex.trajectory_id,
            f"trajectory {ex.trajectory_id} — span {ex.start}–{ex.end}",
            span=(ex.start, ex.end),
            reload=False,
        )

    def _on_verdicts(self, example_id: str, verdicts: list[VerdictRow], reviews: list[ReviewRow]) -> None:
        if self.current is None or self.current.id != example_id:
            return
        self.verdicts.setRowCount(len(verdicts))
        for r, v in enumerate(verdicts):
            label = "abstained" if v.vote is None else ("yes" if v.vote else "no")
            vote = QTableWidgetItem(label)
            vote.setForeground(STATUS_COLORS["pending" if v.vote is None else ("accepted" if v.vote else "rejected")])
            for c, item in enumerate(
                (
                    QTableWidgetItem(v.judge),
                    QTableWidgetItem(v.criterion),
                    vote,
                    QTableWidgetItem(v.rationale),
                )
            ):
                if c == 3:
                    item.setToolTip(v.rationale)
                self.verdicts.setItem(r, c, item)
        fit_columns(self.verdicts)
        if reviews:
            last = reviews[-1]
            extra = f": “{last.instruction}”" if last.decision == "edit" else ""
            self.reviews_label.setText(f"Reviewed {len(reviews)}×; last: {last.decision} by {last.reviewer}{extra}")
        else:
            self.reviews_label.setText("Not reviewed by a person yet.")

    def _set_review_enabled(self, on: bool) -> None:
        for w in (self.accept_button, self.reject_button, self.edit_button, self.edit_line):
            w.setEnabled(on)

    # ---------------------------------------------------------------- reviews

    def review(self, decision: str, instruction: str = "") -> None:
        """Store a person's decision on the selected example as a review (worker), then refresh its row."""
        ex, data = self.current, self.data
        if ex is None or data is None:
            return
        row = self.table.currentIndex().row()
        if decision == "edit" and instruction.strip() == ex.instruction.strip():
            decision, instruction = "accept", ""

        def save() -> Any:
            data.add_review(ex.id, decision, instruction)
            return data.verdicts(ex.id), data.reviews(ex.id)

        def saved(vr: Any) -> None:
            from dataclasses import replace

            status = "rejected" if decision == "reject" else "accepted"
            new = replace(ex, status=status, edited=instruction if decision == "edit" else ex.edited)
            self.model.replace_row(row, new)
            if self.current is not None and self.current.id == ex.id:
                self.current = new
            self._on_verdicts(ex.id, *vr)

        self.pool.submit(save, on_result=saved, name="saving the review")
