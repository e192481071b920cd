"""The review workbench's Qt-free parts: the keyboard shortcuts (one table, shown in the UI and the README) and
the undo stack of review actions. The widgets that use them are in :mod:`studio.gui.qt_review`."""

from __future__ import annotations

from dataclasses import dataclass, field

#: (keys, what they do) in the order the legend shows them. The first key of each entry is bound; the others
#: are alternatives bound too.
SHORTCUTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("J", "Down"), "next example"),
    (("K", "Up"), "previous example"),
    (("A",), "accept (every selected example)"),
    (("R",), "reject (every selected example)"),
    (("E",), "edit the instruction (Enter saves, Esc cancels)"),
    (("L", "Right"), "next step on the filmstrip"),
    (("H", "Left"), "previous step on the filmstrip"),
    (("Shift+J",), "select the next example too (bulk)"),
    (("Ctrl+Z",), "undo the last review action"),
    (("Q",), "toggle the needs-review queue"),
    (("/",), "search instructions"),
)


def legend() -> str:
    """The shortcut legend as one line of text (shown in the Examples view)."""
    return "   ".join(f"{'/'.join(keys)} {what}" for keys, what in SHORTCUTS)


@dataclass
class UndoEntry:
    """One review action: the reviews it stored and a description for the status line."""

    review_ids: list[str]
    description: str


@dataclass
class UndoStack:
    """Review actions that can be undone, newest last (bounded; Qt-free so it is tested without a display)."""

    limit: int = 100
    entries: list[UndoEntry] = field(default_factory=list)

    def push(self, review_ids: list[str], description: str) -> None:
        if review_ids:
            self.entries.append(UndoEntry(list(review_ids), description))
            del self.entries[: -self.limit]

    def pop(self) -> UndoEntry | None:
        return self.entries.pop() if self.entries else None

    def __len__(self) -> int:
        return len(self.entries)
