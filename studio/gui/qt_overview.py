"""Overview: rows per stage, outcomes and success rate, model calls/tokens/cost per stage and model; small charts
drawn with QPainter (no plotting library)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from studio.gui.qt_common import BaseView, fit_columns, setup_table

if TYPE_CHECKING:
    from studio.gui.data import CostRow, Counts

BAR_COLORS = [
    QColor(66, 133, 244),
    QColor(52, 168, 83),
    QColor(251, 188, 4),
    QColor(234, 67, 53),
    QColor(155, 89, 182),
    QColor(0, 172, 193),
    QColor(255, 112, 67),
    QColor(120, 144, 156),
]
OUTCOME_COLORS = {
    "done": QColor(52, 168, 83),
    "fail": QColor(234, 67, 53),
    "max_steps": QColor(251, 188, 4),
    "loop": QColor(255, 112, 67),
    "stopped": QColor(120, 144, 156),
    "error": QColor(183, 28, 28),
    "interrupted": QColor(155, 89, 182),
}


class BarChart(QWidget):
    """Horizontal bars with labels and values: ``set_data([(label, value, color?)], fmt)``."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.items: list[tuple[str, float, QColor | None]] = []
        self.fmt = "{:,.0f}"
        self.setMinimumHeight(140)

    def set_data(self, items: list[tuple[str, float, QColor | None]], fmt: str = "{:,.0f}") -> None:
        self.items = items
        self.fmt = fmt
        self.setMinimumHeight(40 + 24 * max(1, len(items)))
        self.update()

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.windowText().color()
        p.setPen(text)
        font = p.font()
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(4, 2, self.width() - 8, 20), Qt.AlignmentFlag.AlignLeft, self.title)
        font.setBold(False)
        p.setFont(font)
        if not self.items:
            p.setPen(pal.placeholderText().color())
            p.drawText(QRectF(4, 26, self.width() - 8, 20), Qt.AlignmentFlag.AlignLeft, "nothing yet")
            p.end()
            return
        fm = p.fontMetrics()
        label_w = min(max(fm.horizontalAdvance(lbl) for lbl, _, _ in self.items) + 12, self.width() // 3)
        value_w = max(fm.horizontalAdvance(self.fmt.format(v)) for _, v, _ in self.items) + 12
        top = 26.0
        row_h = 22.0
        vmax = max((v for _, v, _ in self.items), default=0) or 1.0
        bar_w = max(10.0, self.width() - label_w - value_w - 12)
        for i, (label, value, color) in enumerate(self.items):
            y = top + i * (row_h + 2)
            p.setPen(text)
            p.drawText(
                QRectF(4, y, label_w - 8, row_h),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(label, Qt.TextElideMode.ElideMiddle, label_w - 8),
            )
            w = bar_w * (value / vmax)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color or BAR_COLORS[i % len(BAR_COLORS)])
            p.drawRoundedRect(QRectF(label_w, y + 3, max(w, 2.0), row_h - 6), 3, 3)
            p.setPen(text)
            p.drawText(
                QRectF(label_w + w + 6, y, value_w, row_h),
                Qt.AlignmentFlag.AlignVCenter,
                self.fmt.format(value),
            )
        p.end()


class StatTile(QGroupBox):
    def __init__(self, title: str) -> None:
        super().__init__(title)
        lay = QVBoxLayout(self)
        self.value = QLabel("–")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        self.value.setFont(font)
        self.note = QLabel("")
        self.note.setEnabled(False)
        lay.addWidget(self.value)
        lay.addWidget(self.note)

    def set(self, value: str, note: str = "") -> None:
        self.value.setText(value)
        self.note.setText(note)


class OverviewView(BaseView):
    title = "Overview"

    def __init__(self, pool, data, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(pool, data, parent)
        lay = QVBoxLayout(self)
        tiles = QGridLayout()
        self.tiles: dict[str, StatTile] = {}
        for i, (key, title) in enumerate(
            (
                ("documents", "Documents"),
                ("tasks", "Tasks"),
                ("trajectories", "Trajectories"),
                ("steps", "Steps"),
                ("examples", "Examples"),
                ("accepted", "Accepted"),
                ("success", "Success rate"),
                ("cost", "Model cost"),
            )
        ):
            tile = StatTile(title)
            self.tiles[key] = tile
            tiles.addWidget(tile, i // 4, i % 4)
        lay.addLayout(tiles)
        charts = QHBoxLayout()
        self.stage_chart = BarChart("Rows per stage")
        self.outcome_chart = BarChart("Trajectory outcomes")
        self.verdict_chart = BarChart("Examples by status")
        for c in (self.stage_chart, self.outcome_chart, self.verdict_chart):
            charts.addWidget(c, 1)
        lay.addLayout(charts)
        cost_row = QHBoxLayout()
        self.cost_chart = BarChart("Tokens per stage")
        self.cost_table = QTableWidget(0, 6)
        self.cost_table.setHorizontalHeaderLabels(
            ["stage", "model", "calls", "prompt tok", "completion tok", "USD"]
        )
        setup_table(self.cost_table)
        cost_row.addWidget(self.cost_chart, 1)
        cost_row.addWidget(self.cost_table, 2)
        lay.addLayout(cost_row, 1)

    def load(self) -> None:
        if self.data is None:
            return
        self.pool.submit(self.data.counts, on_result=self.show_counts, name="reading workspace counts")
        self.pool.submit(self.data.costs, on_result=self.show_costs, name="reading the cost ledger")

    def on_counts(self, counts: Counts, changed: set[str]) -> None:
        self.show_counts(counts)
        if self.data is not None:
            self.pool.submit(self.data.costs, on_result=self.show_costs, name="reading the cost ledger")

    def show_counts(self, c: Counts) -> None:
        self.tiles["documents"].set(f"{c.documents:,}")
        self.tiles["tasks"].set(f"{c.tasks:,}")
        self.tiles["trajectories"].set(f"{c.trajectories:,}")
        self.tiles["steps"].set(f"{c.steps:,}")
        self.tiles["examples"].set(f"{c.examples:,}", f"{c.verdicts:,} verdicts · {c.reviews:,} reviews")
        self.tiles["accepted"].set(f"{c.accepted:,}", f"{c.rejected:,} rejected · {c.disputed:,} disputed")
        finished = sum(c.outcomes.values())
        done = c.outcomes.get("done", 0)
        rate = f"{100 * done / finished:.0f}%" if finished else "–"
        score = f"mean score {c.mean_score:.2f}" if c.mean_score is not None else "no scored runs"
        self.tiles["success"].set(rate, f"{done}/{finished} finished DONE · {score}")
        self.stage_chart.set_data(
            [
                ("documents", c.documents, None),
                ("tasks", c.tasks, None),
                ("trajectories", c.trajectories, None),
                ("steps", c.steps, None),
                ("examples", c.examples, None),
            ]
        )
        self.outcome_chart.set_data([(k, v, OUTCOME_COLORS.get(k)) for k, v in sorted(c.outcomes.items())])
        pending = max(0, c.examples - c.accepted - c.rejected - c.disputed)
        self.verdict_chart.set_data(
            [
                ("accepted", c.accepted, OUTCOME_COLORS["done"]),
                ("rejected", c.rejected, OUTCOME_COLORS["fail"]),
                ("disputed", c.disputed, OUTCOME_COLORS["max_steps"]),
                ("pending", pending, OUTCOME_COLORS["stopped"]),
            ]
        )

    def show_costs(self, rows: list[CostRow]) -> None:
        from PySide6.QtWidgets import QTableWidgetItem as Item

        self.cost_table.setRowCount(len(rows))
        per_stage: dict[str, float] = {}
        total = 0.0
        for r, row in enumerate(rows):
            values = [
                row.stage,
                row.model,
                f"{row.calls:,}",
                f"{row.prompt_tokens:,}",
                f"{row.completion_tokens:,}",
                f"{row.cost:.4f}",
            ]
            for col, v in enumerate(values):
                item = Item(v)
                if col >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.cost_table.setItem(r, col, item)
            per_stage[row.stage] = per_stage.get(row.stage, 0) + row.prompt_tokens + row.completion_tokens
            total += row.cost
        fit_columns(self.cost_table)
        self.cost_chart.set_data([(k, float(v), None) for k, v in sorted(per_stage.items())])
        calls = sum(r.calls for r in rows)
        self.tiles["cost"].set(f"${total:.4f}", f"{calls:,} model calls")
