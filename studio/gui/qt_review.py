"""The review workbench's keyboard and bulk side: shortcuts, the review bar, and undo.

Everything a reviewer does is one keystroke away and written down in the UI (:data:`SHORTCUTS`, shown under the
review bar and in the README). A review action updates the table row at once (optimistic, on the UI thread),
moves on to the next example and saves through the worker helper; if saving fails the row is put back and the
error goes to the main window's error bar. Every save is pushed on an undo stack; Ctrl+Z removes the reviews of
the last action from the workspace (the committee's verdicts are never touched, so the examples get back the
status they had).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from studio.gui.qt_common import plain_label
from studio.gui.review import SHORTCUTS, UndoStack, legend

__all__ = ["SHORTCUTS", "ReviewBar", "UndoStack", "bind_shortcuts", "legend"]


class ReviewBar(QWidget):
    """Accept / Reject / edit line / Undo, the reviewer's name, the progress counter and the shortcut legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from studio.gui.data import default_reviewer

        self.accept_button = QPushButton("Accept  [A]")
        self.reject_button = QPushButton("Reject  [R]")
        self.edit_line = QLineEdit()
        self.edit_line.setPlaceholderText("edited instruction…  [E]")
        self.edit_button = QPushButton("Save edit")
        self.undo_button = QPushButton("Undo  [Ctrl+Z]")
        self.undo_button.setEnabled(False)
        self.reviewer = QLineEdit(default_reviewer())
        self.reviewer.setToolTip("Stored with every review, with the time")
        self.reviewer.setMaximumWidth(140)
        self.progress = plain_label()
        self.progress.setObjectName("reviewProgress")
        self.status = plain_label()  # "saved: <the edited instruction>"
        self.status.setObjectName("reviewStatus")
        self.legend = plain_label(legend())
        self.legend.setWordWrap(True)
        self.legend.setObjectName("shortcutLegend")
        self.legend.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.accept_button, self.reject_button, self.undo_button):
            row.addWidget(w)
        row.addStretch(1)
        edit = QHBoxLayout()
        edit.setContentsMargins(0, 0, 0, 0)
        edit.addWidget(self.edit_line, 1)
        edit.addWidget(self.edit_button)
        who = QHBoxLayout()
        who.setContentsMargins(0, 0, 0, 0)
        who.addWidget(QLabel("reviewer:"))
        who.addWidget(self.reviewer)
        who.addWidget(self.progress)
        who.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addLayout(edit)
        lay.addLayout(who)
        lay.addWidget(self.legend)

    def set_review_enabled(self, on: bool) -> None:
        for w in (self.accept_button, self.reject_button, self.edit_button, self.edit_line):
            w.setEnabled(on)

    def set_progress(self, reviewed: int, total: int, queue: int | None = None) -> None:
        text = f"reviewed {reviewed:,} of {total:,}"
        if queue is not None:
            text += f" · {queue:,} in the queue"
        self.progress.setText(text)


def bind_shortcuts(owner: QWidget, actions: dict[str, Callable[[], None]]) -> list[QShortcut]:
    """Bind every key of :data:`SHORTCUTS` whose description is in ``actions`` to its callable.

    The shortcuts live on ``owner`` with ``WidgetWithChildrenShortcut`` context: they work anywhere in the view,
    but not while a line edit takes the keystroke (typing "a" in the search box types an "a").
    """
    out = []
    for keys, what in SHORTCUTS:
        fn = actions.get(what)
        if fn is None:
            continue
        for key in keys:
            sc = QShortcut(QKeySequence(key), owner)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
            out.append(sc)
    return out
