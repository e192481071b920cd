"""Overview: rows per stage, outcomes and success rate, model calls/tokens/cost per stage and model; small charts
drawn with QPainter (no plotting library).

While a pipeline runs (``studio run`` in another process, or any stage command), the **Pipeline run** panel
shows each stage's progress (items done of total, running or finished, the latest detail) from the run's
``run-progress.json`` (:mod:`studio.pipeline.progress`) and which stage called a model last; the costs follow
the ledger as calls land. Both are read every second by a poll on the worker, never on the UI thread, and only
while the Overview is on screen.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from studio.gui.qt_common import BaseView, fit_columns, plain_label, setup_table

if TYPE_CHECKING:
    from studio.gui.data import CostRow, Counts
    from studio.pipeline.progress import RunProgress

PROGRESS_POLL_MS = 1000

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


class StageProgressChart(QWidget):
    """One row per stage of a pipeline run: name, a bar filled to done/total, the count and the latest detail."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float, str, bool]] = []  # stage, fraction, text, running
        self.setMinimumHeight(40)

    def set_rows(self, rows: list[tuple[str, float, str, bool]]) -> None:
        self.rows = rows
        self.setMinimumHeight(8 + 24 * max(1, len(rows)))
        self.update()

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.windowText().color()
        fm = p.fontMetrics()
        if not self.rows:
            p.setPen(pal.placeholderText().color())
            p.drawText(QRectF(4, 4, self.width() - 8, 20), Qt.AlignmentFlag.AlignLeft, "no pipeline run yet")
            p.end()
            return
        label_w = max(fm.horizontalAdvance(r[0]) for r in self.rows) + 12
        bar_w = max(60.0, self.width() * 0.35)
        for i, (stage, fraction, detail, running) in enumerate(self.rows):
            y = 4 + i * 24
            p.setPen(text)
            p.drawText(
                QRectF(4, y, label_w - 8, 20), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, stage
            )
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.alternateBase())
            p.drawRoundedRect(QRectF(label_w, y + 4, bar_w, 12), 3, 3)
            p.setBrush(OUTCOME_COLORS["max_steps"] if running else OUTCOME_COLORS["done"])
            p.drawRoundedRect(QRectF(label_w, y + 4, max(2.0, bar_w * fraction), 12), 3, 3)
            p.setPen(text)
            rest = QRectF(label_w + bar_w + 8, y, self.width() - label_w - bar_w - 12, 20)
            p.drawText(
                rest,
                Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(detail, Qt.TextElideMode.ElideRight, int(rest.width())),
            )
        p.end()


def progress_rows(run: RunProgress) -> list[tuple[str, float, str, bool]]:
    """Chart rows for a run: ``(stage, fraction, "3 / 10 · running · detail", running)``."""
    rows = []
    for s in run.stages:
        running = s.state == "running" and run.running
        if s.state == "finished":
            text = f"done: {s.new} new, {s.kept} kept" + (f", {s.failed} failed" if s.failed else "")
        else:
            state = "running" if running else "stopped"
            text = f"{s.done} / {s.total} · {state}" + (f" · {s.detail}" if s.detail else "")
        rows.append((s.stage, s.fraction, text, running))
    return rows


def run_headline(run: RunProgress | None, costs: list[CostRow], now: float) -> str:
    """One line above the chart: is a pipeline running, since when, and which stage called a model last."""
    if run is None:
        head = "No pipeline run recorded in this workspace yet (`studio run` and the stage commands report here)."
    elif run.running:
        current = next((s.stage for s in reversed(run.stages) if s.state == "running"), "")
        head = f"Pipeline running (pid {run.pid}) for {_ago(now - run.started)}" + (
            f" · stage {current}" if current else ""
        )
    elif run.finished is not None:
        head = f"Last pipeline run ended {_ago(now - run.finished)} ago ({len(run.stages)} stage(s))"
    else:
        head = f"Last pipeline run stopped without finishing (pid {run.pid} is gone) {_ago(now - run.updated)} ago"
    last = max(costs, key=lambda r: r.last, default=None)
    if last is not None and last.last > 0:
        head += f" · last model call {_ago(now - last.last)} ago ({last.stage}, {last.model})"
    return head


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 90:
        return f"{s} s"
    if s < 5400:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


class StatTile(QGroupBox):
    def __init__(self, title: str) -> None:
        super().__init__(title)
        lay = QVBoxLayout(self)
        self.value = plain_label("–")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        self.value.setFont(font)
        self.note = plain_label()
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
        self.cost_table.setHorizontalHeaderLabels(["stage", "model", "calls", "prompt tok", "completion tok", "USD"])
        setup_table(self.cost_table)
        cost_row.addWidget(self.cost_chart, 1)
        cost_row.addWidget(self.cost_table, 2)
        run_box = QGroupBox("Pipeline run")
        rl = QVBoxLayout(run_box)
        self.run_label = plain_label()
        self.run_label.setObjectName("runHeadline")
        self.run_label.setWordWrap(True)
        self.stage_progress = StageProgressChart()
        rl.addWidget(self.run_label)
        rl.addWidget(self.stage_progress)
        lay.addWidget(run_box)
        lay.addLayout(cost_row, 1)
        self.progress: RunProgress | None = None
        self._costs: list[CostRow] = []
        self._polling = False
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(PROGRESS_POLL_MS)
        self.poll_timer.timeout.connect(self.poll_run)

    def load(self) -> None:
        if self.data is None:
            return
        self.pool.submit(self.data.counts, on_result=self.show_counts, name="reading workspace counts")
        self.pool.submit(self.data.costs, on_result=self.show_costs, name="reading the cost ledger")
        self.poll_run()
        if self.isVisible():
            self.poll_timer.start()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if self.data is not None and self.activated:
            self.poll_timer.start()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        self.poll_timer.stop()
        super().hideEvent(event)

    def poll_run(self) -> None:
        """Read the run's progress and the new ledger lines on the worker (one poll in flight at a time)."""
        data = self.data
        if data is None or self._polling:
            return
        self._polling = True

        def read() -> tuple[Any, list[CostRow]]:
            return data.run_progress(), data.costs()

        def done() -> None:
            self._polling = False

        self.pool.submit(read, on_result=self._on_run, on_finished=done, name="reading the pipeline's progress")

    def _on_run(self, result: tuple[RunProgress | None, list[CostRow]]) -> None:
        self.progress, costs = result
        self.show_costs(costs)
        self.stage_progress.set_rows(progress_rows(self.progress) if self.progress else [])
        self.run_label.setText(run_headline(self.progress, costs, time.time()))

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

        if rows == self._costs and self.cost_table.rowCount() == len(rows):
            return  # the poll found no new ledger lines
        self._costs = list(rows)

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
