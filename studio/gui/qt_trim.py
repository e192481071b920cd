"""Trim and make: select a span on a trajectory's filmstrip and make an example of it.

Click the span's first step and shift-click its last (or Shift+Left/Right on the filmstrip); the bar shows the
span. Type what those steps do, or press **Suggest** to have the backward writer propose an instruction (a model
call on the worker: the UI stays live, and a suggestion that arrives after the span changed is dropped). **Make
example** (or Ctrl+Enter in the instruction) stores it as made by the person named in the bar
(:func:`studio.workspace.human.make_example`: origin ``human``, accepted by its author, never overwritten by a
model). The Qt-free parts are :mod:`studio.gui.trim`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from studio.gui.qt_common import plain_label

if TYPE_CHECKING:
    from studio.gui.qt_trajectories import TrajectoryPanel


class TrimBar(QWidget):
    """Span, instruction, kind, author, Suggest and Make for the filmstrip of ``panel``.

    ``made(example_id)`` after an example was stored.
    """

    made = Signal(str)

    def __init__(self, panel: TrajectoryPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from studio.gui.data import default_reviewer
        from studio.gui.qt_common import Filmstrip

        self.panel = panel
        self.pool = panel.pool
        self.span: tuple[int, int] | None = None
        self._asking: tuple[str, int, int, str] | None = None  # the span a suggestion is being asked for
        panel.filmstrip.setSelectionMode(Filmstrip.SelectionMode.ExtendedSelection)
        self.span_label = plain_label()
        self.span_label.setObjectName("trimSpan")
        self.instruction = QLineEdit()
        self.instruction.setPlaceholderText("what do the selected steps do?  (Ctrl+Enter makes the example)")
        self.kind = QComboBox()
        self.kind.addItem("instruction", "instruction")
        self.kind.addItem("replicate", "replicate")
        self.kind.setToolTip("instruction: a task; replicate: 'Replicate the following: 1) … 2) …'")
        self.author = QLineEdit(default_reviewer())
        self.author.setMaximumWidth(120)
        self.author.setToolTip("Stored as the example's author, with an accept review in their name")
        self.suggest_button = QPushButton("Suggest")
        self.suggest_button.setToolTip("Ask the backward writer (studio.toml's backward_writer) for an instruction")
        self.make_button = QPushButton("Make example")
        self.status = plain_label()
        self.status.setObjectName("trimStatus")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Trim:"))
        lay.addWidget(self.span_label)
        lay.addWidget(self.instruction, 1)
        lay.addWidget(self.kind)
        lay.addWidget(QLabel("by"))
        lay.addWidget(self.author)
        lay.addWidget(self.suggest_button)
        lay.addWidget(self.make_button)
        lay.addWidget(self.status)
        self.suggest_button.clicked.connect(self.suggest)
        self.make_button.clicked.connect(self.make)
        for key in ("Ctrl+Return", "Ctrl+Enter"):
            sc = QShortcut(QKeySequence(key), self.instruction)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(self.make)
        panel.filmstrip.itemSelectionChanged.connect(self._on_selection)
        self._on_selection()

    # ---------------------------------------------------------------- span

    def _on_selection(self) -> None:
        from studio.errors import WorkspaceError
        from studio.gui.trim import span_of

        rows = [self.panel.filmstrip.row(i) for i in self.panel.filmstrip.selectedItems()]
        try:
            self.span = span_of(self.panel.steps, rows)
        except WorkspaceError:
            self.span = None
        if self.span is None:
            self.span_label.setText("select steps")
        else:
            start, end = self.span
            n = end - start
            self.span_label.setText(f"steps {start}–{end - 1} ({n} step{'s' if n != 1 else ''})")
        ok = self.span is not None and bool(self.panel.trajectory_id)
        self.suggest_button.setEnabled(ok and self._asking is None)
        self.make_button.setEnabled(ok)

    def select_span(self, first_row: int, last_row: int) -> None:
        """Select filmstrip rows ``first_row..last_row`` (what a shift-click does; for scripts and tests)."""
        strip = self.panel.filmstrip
        strip.clearSelection()
        strip.setCurrentRow(first_row)
        for r in range(first_row, last_row + 1):
            item = strip.item(r)
            if item is not None:
                item.setSelected(True)
        self._on_selection()

    # ---------------------------------------------------------------- actions

    def suggest(self) -> None:
        """Ask the backward writer for an instruction for the selected span (on the worker)."""
        data = self.panel.data
        if data is None or self.span is None or self._asking is not None:
            return
        key = (self.panel.trajectory_id, self.span[0], self.span[1], str(self.kind.currentData()))
        self._asking = key
        self.suggest_button.setEnabled(False)
        self.status.setText("asking the backward writer…")

        def done(text: str) -> None:
            if self._current_key() == key:
                self.instruction.setText(text)
                self.status.setText("suggested: edit it or make the example")
            else:
                self.status.setText("the span changed: that suggestion was dropped")

        def failed(exc: BaseException) -> None:
            self.status.setText("no suggestion: type the instruction")
            self.pool.report(exc, context="suggesting an instruction")

        def finished() -> None:
            self._asking = None
            self._on_selection()

        self.pool.submit(
            data.suggest_instruction,
            *key,
            on_result=done,
            on_error=failed,
            on_finished=finished,
            long=True,  # a local model may take a minute: keep the short-job threads free
            name="asking the backward writer for an instruction",
        )

    def _current_key(self) -> tuple[str, int, int, str] | None:
        if self.span is None:
            return None
        return self.panel.trajectory_id, self.span[0], self.span[1], str(self.kind.currentData())

    def make(self) -> None:
        """Store the selected span with the typed instruction as an example made by the author."""
        data = self.panel.data
        key = self._current_key()
        if data is None or key is None:
            self.status.setText("select the example's steps on the filmstrip first")
            return
        tid, start, end, kind = key
        text, author = self.instruction.text(), self.author.text()
        self.make_button.setEnabled(False)
        self.status.setText("saving…")

        def done(example_id: str) -> None:
            self.status.setText(f"made {example_id} (steps {start}–{end - 1}, accepted by {author.strip()})")
            self.instruction.clear()
            self.panel.filmstrip.highlight_span((start, end - 1))
            self.made.emit(example_id)

        def failed(exc: BaseException) -> None:
            self.status.setText("not made: see the message above")
            self.pool.report(exc, context="making the example")

        self.pool.submit(
            data.make_example,
            tid,
            start,
            end,
            text,
            author,
            kind,
            on_result=done,
            on_error=failed,
            on_finished=self._on_selection,
            name="making the example",
        )

    def clear(self) -> None:
        """A new trajectory was selected."""
        self.status.setText("")
        self.instruction.clear()
        self._on_selection()
