"""Examples and verdicts, the review workbench: backward-constructed instructions with filters and search, the
needs-review queue first; for the selected one its step span highlighted on the trajectory's filmstrip, every
judge's vote per criterion with its rationale, and accept / reject / edit by a person, stored as a review with
the reviewer's name and time (the judges' verdicts are never overwritten). Keyboard-first: see
:mod:`studio.gui.qt_review` for the shortcuts, bulk actions on a selection and undo."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.gui.data import EXAMPLE_STATUSES, ExampleFilter
from studio.gui.qt_common import BaseView, fit_columns, plain_label, plain_tooltip, setup_table
from studio.gui.qt_models import Column, LazyTableModel
from studio.gui.qt_review import ReviewBar, UndoStack, bind_shortcuts
from studio.gui.qt_trajectories import TrajectoryPanel

if TYPE_CHECKING:
    from studio.gui.data import Counts, ExampleRow, JudgeInfo, ReviewRow, VerdictRow

STATUS_COLORS = {
    "accepted": QColor(46, 160, 67),
    "rejected": QColor(218, 54, 51),
    "disputed": QColor(210, 153, 34),
    "needs_review": QColor(88, 140, 220),  # accepted only by advisory judges: a person decides
    "pending": QColor(128, 128, 128),  # also an abstained vote
}


QUEUE = "@queue"  # the status box's entry for the review queue


class ExamplesView(BaseView):
    title = "Examples & verdicts"

    def __init__(self, pool: Any, data: Any, parent: QWidget | None = None) -> None:
        super().__init__(pool, data, parent)
        self.filter = ExampleFilter()
        self.current: ExampleRow | None = None
        # filters
        self.status_box = QComboBox()
        self.status_box.addItem("needs review (queue)", QUEUE)
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
        self.count_label = plain_label()
        bar.addWidget(self.count_label)
        # list
        self.model = LazyTableModel(
            pool,
            [
                Column("status", lambda e: e.status),
                Column("check", lambda e: e.check_text, tooltip=lambda e: "the trajectory's task check"),
                Column("kind", lambda e: e.kind),
                Column("by", lambda e: e.by, tooltip=lambda e: "who wrote the instruction"),
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
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # bulk review
        # detail
        self.instruction = QLabel("Select an example.")
        self.instruction.setTextFormat(Qt.TextFormat.RichText)  # HTML built in _select, its values escaped
        self.instruction.setWordWrap(True)
        self.instruction.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdicts = QTableWidget(0, 5)
        self.verdicts.setHorizontalHeaderLabels(["judge", "criterion", "vote", "rationale", "judge's accuracy"])
        self.verdicts.horizontalHeader().moveSection(4, 1)  # shown next to the judge; the rationale stays last
        setup_table(self.verdicts)
        self.judge_info: dict[str, JudgeInfo] = {}
        self.reviews_label = plain_label()
        self.reviews_label.setWordWrap(True)
        self.bar = ReviewBar()
        self.accept_button = self.bar.accept_button
        self.reject_button = self.bar.reject_button
        self.edit_line = self.bar.edit_line
        self.edit_button = self.bar.edit_button
        self.undo_stack = UndoStack()
        self._queue_seen = False
        self._reselect: int | None = None
        self.panel = TrajectoryPanel(pool)
        self.panel.show_compare(True)  # the span's steps: the screens before and after, the change boxed

        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.instruction)
        dl.addWidget(self.verdicts, 1)
        dl.addWidget(self.reviews_label)
        dl.addWidget(self.bar)
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
        self.model.total_changed.connect(self._on_total)
        self.model.rows_loaded.connect(self._on_rows_loaded)
        self.accept_button.clicked.connect(lambda: self.review("accept"))
        self.reject_button.clicked.connect(lambda: self.review("reject"))
        self.edit_button.clicked.connect(lambda: self.review("edit", self.edit_line.text()))
        self.edit_line.returnPressed.connect(lambda: self.review("edit", self.edit_line.text()))
        self.bar.undo_button.clicked.connect(self.undo)
        self._shortcuts = bind_shortcuts(
            self,
            {
                "next example": lambda: self.move_selection(1),
                "previous example": lambda: self.move_selection(-1),
                "accept (every selected example)": lambda: self.review("accept"),
                "reject (every selected example)": lambda: self.review("reject"),
                "edit the instruction (Enter saves, Esc cancels)": self.start_edit,
                "next step on the filmstrip": lambda: self.step(1),
                "previous step on the filmstrip": lambda: self.step(-1),
                "select the next example too (bulk)": lambda: self.move_selection(1, extend=True),
                "undo the last review action": self.undo,
                "toggle the needs-review queue": self.toggle_queue,
                "search instructions": self.search.setFocus,
            },
        )
        esc = QShortcut(QKeySequence("Escape"), self.edit_line)
        esc.setContext(Qt.ShortcutContext.WidgetShortcut)
        esc.activated.connect(self.cancel_edit)
        self._shortcuts.append(esc)
        self._set_review_enabled(False)

    # ---------------------------------------------------------------- loading

    def load(self) -> None:
        if self.data is None:
            return
        self.panel.data = self.data
        self.pool.submit(self.data.facets, on_result=self._on_facets, name="reading example facets")
        self.pool.submit(self.data.judges, on_result=self._on_judges, name="reading the judges' accuracy")
        self.apply_filter()

    def _on_judges(self, judges: list[JudgeInfo]) -> None:
        self.judge_info = {j.label: j for j in judges}

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
        status = self.status_box.currentData() or ""
        flt = ExampleFilter(
            status="" if status == QUEUE else status,
            queue=status == QUEUE,
            app=self.app_box.currentData() or "",
            kind=self.kind_box.currentData() or "",
            judge=self.judge_box.currentData() or "",
            search=self.search.text().strip(),
        )
        self.filter = flt
        data = self.data
        self.model.set_source(lambda: data.count_examples(flt), lambda o, n: data.examples(flt, o, n))
        self._update_progress()

    # ---------------------------------------------------------------- selection

    def _select(self, row: int) -> None:
        ex = self.model.row(row)
        self.current = ex
        self._set_review_enabled(ex is not None)
        if ex is None or self.data is None:
            return
        # rich text we build: every value is model-, task-file- or reviewer-written, so escaped
        edited = f"<br><i>edited:</i> {escape(ex.edited)}" if ex.edited else ""
        check = f" · check {escape(ex.check_text)}" if ex.check_text else ""
        self.instruction.setText(
            f"<b>{escape(ex.kind)}</b> · {escape(ex.by)} · {escape(ex.status)} · steps {ex.start}–{ex.end} of "
            f"{escape(ex.trajectory_id)}{check}<br>{escape(ex.instruction)}{edited}"
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
            f"trajectory {escape(ex.trajectory_id)} — span {ex.start}–{ex.end}",
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
            info = self.judge_info.get(v.judge)
            mark = QTableWidgetItem(info.mark if info else "not configured now")
            judge = QTableWidgetItem(v.judge)
            if info is not None and info.advisory:
                font = judge.font()
                font.setItalic(True)
                for item in (judge, mark):
                    item.setFont(font)
                    item.setToolTip(
                        "advisory: measured below pipeline.judge_accuracy_floor; its yes alone never accepts"
                    )
            for c, item in enumerate((judge, QTableWidgetItem(v.criterion), vote, QTableWidgetItem(v.rationale), mark)):
                if c == 3:
                    item.setToolTip(plain_tooltip(v.rationale))
                self.verdicts.setItem(r, c, item)
        fit_columns(self.verdicts)
        votes = "" if verdicts else "No judge has voted on it yet. "
        if reviews:
            last = reviews[-1]
            extra = f": “{last.instruction}”" if last.decision == "edit" else ""
            self.reviews_label.setText(
                f"{votes}Reviewed {len(reviews)}×; last: {last.decision} by {last.reviewer}{extra}"
            )
        else:
            self.reviews_label.setText(f"{votes}Not reviewed by a person yet.")

    def _set_review_enabled(self, on: bool) -> None:
        self.bar.set_review_enabled(on)

    # ---------------------------------------------------------------- keyboard

    def move_selection(self, delta: int, *, extend: bool = False) -> None:
        """Select the next (``delta`` 1) or previous example; ``extend`` keeps the selection (bulk)."""
        n = self.model.rowCount()
        if n == 0:
            return
        cur = self.table.currentIndex().row()
        row = 0 if cur < 0 else min(max(cur + delta, 0), n - 1)
        from PySide6.QtCore import QItemSelectionModel

        flags = QItemSelectionModel.SelectionFlag.Rows | (
            QItemSelectionModel.SelectionFlag.Select if extend else QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.table.selectionModel().setCurrentIndex(self.model.index(row, 0), flags)
        self.table.scrollTo(self.model.index(row, 0))
        if self.model.canFetchMore() and row >= n - 5:
            self.model.fetchMore()

    def step(self, delta: int) -> None:
        """Move along the selected example's filmstrip."""
        strip = self.panel.filmstrip
        if strip.count():
            strip.setCurrentRow(min(max(strip.currentRow() + delta, 0), strip.count() - 1))

    def start_edit(self) -> None:
        if self.current is not None:
            self.edit_line.setFocus()
            self.edit_line.selectAll()

    def cancel_edit(self) -> None:
        if self.current is not None:
            self.edit_line.setText(self.current.edited or self.current.instruction)
        self.table.setFocus()

    def toggle_queue(self) -> None:
        self.status_box.setCurrentIndex(
            self.status_box.findData("" if self.status_box.currentData() == QUEUE else QUEUE)
        )

    def selected_rows(self) -> list[int]:
        """Selected table rows (the current row when nothing else is selected), ascending."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        cur = self.table.currentIndex().row()
        return rows or ([cur] if cur >= 0 else [])

    def _on_total(self, n: int) -> None:
        if self.filter.queue and n == 0 and not self._queue_seen:
            # The first look at the queue found it empty: show every example instead (once; a queue the
            # reviewer empties stays on screen, saying so).
            self._queue_seen = True
            self.status_box.setCurrentIndex(self.status_box.findData(""))
            return
        self._queue_seen = True
        label = f"{n:,} examples"
        if self.filter.queue:
            label = f"{n:,} need review" if n else "the queue is empty: every example that needs a person is done"
        self.count_label.setText(label)
        self._update_progress()

    def _on_rows_loaded(self, n: int) -> None:
        if self._reselect is not None and n > 0:
            row, self._reselect = min(self._reselect, n - 1), None
            self.table.selectRow(row)

    def _update_progress(self) -> None:
        if self.data is None or not hasattr(self.data, "review_progress"):
            return
        data, flt = self.data, self.filter
        from dataclasses import replace

        def read() -> tuple[int, int, int]:
            reviewed, total = data.review_progress(flt)
            return reviewed, total, data.count_examples(replace(flt, status="", queue=True))

        self.pool.submit(read, on_result=lambda r: self.bar.set_progress(*r), name="counting reviews")

    # ---------------------------------------------------------------- reviews

    def review(self, decision: str, instruction: str = "") -> None:
        """Store a person's decision on the selected example(s) as reviews, then move to the next example.

        The rows change at once; saving runs on the worker and is pushed on the undo stack. One example may be
        edited; accept and reject apply to every selected example (a bulk action).
        """
        data = self.data
        rows = self.selected_rows()
        if data is None or not rows:
            return
        if decision == "edit":
            rows = rows[:1]
        examples = [(r, self.model.row(r)) for r in rows]
        examples = [(r, ex) for r, ex in examples if ex is not None]
        if not examples:
            return
        if decision == "edit" and instruction.strip() == examples[0][1].instruction.strip():
            decision, instruction = "accept", ""
        from dataclasses import replace

        status = "rejected" if decision == "reject" else "accepted"
        old = list(examples)
        for r, ex in examples:
            new = replace(ex, status=status, reviewed=True, edited=instruction if decision == "edit" else ex.edited)
            self.model.replace_row(r, new)
            if self.current is not None and self.current.id == ex.id:
                self.current = new
        who = self.bar.reviewer.text().strip()
        ids = [ex.id for _r, ex in examples]
        what = f"{decision} {len(ids)} example{'s' if len(ids) != 1 else ''}"
        if len(ids) == 1 and decision != "edit":
            self.move_selection(1)  # on to the next one; an edit stays to be looked at
        self.table.setFocus()

        def save() -> list[str]:
            if decision == "edit" or len(ids) == 1:
                return [data.add_review(ids[0], decision, instruction, who)]
            return list(data.add_reviews(ids, decision, who))

        def saved(review_ids: list[str]) -> None:
            self.undo_stack.push(review_ids, what)
            self.bar.undo_button.setEnabled(True)
            self.bar.status.setText(f"saved: {what} (Ctrl+Z undoes)")
            self._update_progress()
            if self.current is not None and self.current.id in ids:
                cid = self.current.id
                self.pool.submit(
                    lambda: (data.verdicts(cid), data.reviews(cid)),
                    on_result=lambda vr: self._on_verdicts(cid, *vr),
                    name="loading verdicts",
                )

        def failed(exc: BaseException) -> None:
            for r, ex in old:
                if r < self.model.rowCount() and (row := self.model.row(r)) is not None and row.id == ex.id:
                    self.model.replace_row(r, ex)
            self.bar.status.setText(f"not saved: {what}")
            self.pool.report(exc, context=f"saving the review ({what})")

        self.pool.submit(save, on_result=saved, on_error=failed, name=f"saving the review ({what})")

    def undo(self) -> None:
        """Remove the reviews of the last review action from the workspace and show the examples again."""
        entry = self.undo_stack.pop()
        data = self.data
        self.bar.undo_button.setEnabled(len(self.undo_stack) > 0)
        if entry is None or data is None:
            return

        def done(n: int) -> None:
            self.bar.status.setText(f"undone: {entry.description}")
            # the rows on screen hold the undone statuses: read them again, back on the same row
            self._reselect = max(self.table.currentIndex().row(), 0)
            self.model.reset()
            self._update_progress()

        self.pool.submit(data.remove_reviews, entry.review_ids, on_result=done, name=f"undoing ({entry.description})")
