"""Table models that fetch rows lazily, page by page, through the worker helper.

:class:`LazyTableModel` knows only two callables, ``count()`` and ``fetch(offset, limit)`` (both run on a worker
thread), and a column spec. Views call ``canFetchMore``/``fetchMore`` as the user scrolls, so a list of 100k rows
holds only the pages seen so far. :meth:`LazyTableModel.refresh` re-counts and appends rows that landed since
(a pipeline writing the workspace); :meth:`LazyTableModel.reset` starts over (a new filter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from studio.gui.qt_common import plain_tooltip
from studio.gui.qt_worker import WorkerPool

PAGE = 200

Index = QModelIndex | QPersistentModelIndex


@dataclass
class Column:
    """One column: header, how to get the display text from a row, optional tooltip getter."""

    header: str
    text: Callable[[Any], str]
    tooltip: Callable[[Any], str] | None = None
    align_right: bool = False


class LazyTableModel(QAbstractTableModel):
    """Rows fetched in pages on demand; ``rows_loaded`` fires after each page lands."""

    rows_loaded = Signal(int)  # rows now held
    total_changed = Signal(int)

    def __init__(
        self,
        pool: WorkerPool,
        columns: list[Column],
        count: Callable[[], int],
        fetch: Callable[[int, int], list[Any]],
        *,
        name: str = "rows",
        page: int = PAGE,
    ) -> None:
        super().__init__()
        self._pool = pool
        self._columns = columns
        self._count = count
        self._fetch = fetch
        self._name = name
        self._page = page
        self._rows: list[Any] = []
        self._total = 0
        self._fetching = False
        self._counting = False
        self._generation = 0  # results of an older reset are dropped
        self._at_tail = True
        self.color: Callable[[Any], Any] | None = None

    # ---------------------------------------------------------------- Qt model API

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._columns[section].header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        col = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(row)
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip is not None:
            return plain_tooltip(col.tooltip(row))  # row text is model- or task-file-written
        if role == Qt.ItemDataRole.TextAlignmentRole and col.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self.color is not None:
            return self.color(row)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self._total and not self._fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._fetching or len(self._rows) >= self._total:
            return
        self._fetching = True
        gen = self._generation
        offset = len(self._rows)
        self._pool.submit(
            self._fetch,
            offset,
            self._page,
            on_result=lambda rows: self._on_page(gen, offset, rows),
            on_finished=lambda: self._fetch_done(gen),
            name=f"loading {self._name}",
        )

    # ---------------------------------------------------------------- ours

    @property
    def total(self) -> int:
        return self._total

    @property
    def loaded(self) -> int:
        return len(self._rows)

    def row(self, r: int) -> Any:
        return self._rows[r] if 0 <= r < len(self._rows) else None

    def rows(self) -> list[Any]:
        return list(self._rows)

    def set_source(self, count: Callable[[], int], fetch: Callable[[int, int], list[Any]]) -> None:
        """Use other callables (a new filter) and start over."""
        self._count, self._fetch = count, fetch
        self.reset()

    def reset(self) -> None:
        """Drop every row, count again and load the first page."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._total = 0
        self._fetching = False
        self._counting = False
        self._at_tail = True
        self.endResetModel()
        self.refresh()

    def refresh(self) -> None:
        """Count again; when rows were added, load them (the first page, or the next one if at the end)."""
        if self._counting:
            return
        self._counting = True
        gen = self._generation
        self._pool.submit(
            self._count,
            on_result=lambda n: self._on_count(gen, n),
            on_finished=lambda: self._count_done(gen),
            name=f"counting {self._name}",
        )

    def _count_done(self, gen: int) -> None:
        if gen == self._generation:
            self._counting = False

    def _fetch_done(self, gen: int) -> None:
        if gen == self._generation:
            self._fetching = False

    def _on_count(self, gen: int, n: int) -> None:
        if gen != self._generation:
            return
        old = self._total
        self._total = int(n)
        if self._total != old:
            self.total_changed.emit(self._total)
        if self._total > len(self._rows) and (self._at_tail or not self._rows):
            self.fetchMore()  # the user had everything: show the new rows right away

    def _on_page(self, gen: int, offset: int, rows: list[Any]) -> None:
        if gen != self._generation or offset != len(self._rows):
            return
        if not rows:
            self._at_tail = True
            return
        self.beginInsertRows(QModelIndex(), offset, offset + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()
        self._at_tail = len(rows) < self._page or len(self._rows) >= self._total
        self.rows_loaded.emit(len(self._rows))

    def replace_row(self, r: int, row: Any) -> None:
        """Swap one row in place (after a review changed its status)."""
        if 0 <= r < len(self._rows):
            self._rows[r] = row
            self.dataChanged.emit(self.index(r, 0), self.index(r, len(self._columns) - 1))
