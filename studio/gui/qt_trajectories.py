"""Trajectories: the list (lazy, 100k rows), and for the selected one a filmstrip of steps, the full screenshot
with the action drawn on it (or the screens before and after it with the change boxed), the a11y table, REASON,
the action code, what the action changed on the screen (values, focus, windows; :mod:`envs.changes`), timings,
the outcome and score; and the trim bar (:mod:`studio.gui.qt_trim`): select a span on the filmstrip and make an
example of it.

:class:`TrajectoryPanel` (filmstrip + step detail) is reused by the Examples view, which highlights a span.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter
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

from studio.gui.qt_common import (
    BaseView,
    Filmstrip,
    decode_image,
    paint_image_fit,
    plain_label,
    setup_table,
)
from studio.gui.qt_models import Column, LazyTableModel
from studio.gui.qt_overlay import draw_actions

if TYPE_CHECKING:
    from studio.gui.data import Counts, GuiData, StepRow, TrajectoryRow


class ScreenshotView(QWidget):
    """A full screenshot, fitted to the widget, with the step's actions drawn over it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.drawn_actions: list[dict[str, Any]] = []
        self.screen_w = 0
        self.setMinimumSize(320, 200)

    def set_step(self, image: QImage, actions: list[dict[str, Any]], screen_w: int) -> None:
        self.image, self.drawn_actions, self.screen_w = image, actions, screen_w or image.width()
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        target = paint_image_fit(p, self.image, QRectF(self.rect()))
        if self.image.isNull():
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no screenshot")
        elif self.drawn_actions and self.screen_w:
            draw_actions(p, self.drawn_actions, target.width() / self.screen_w, target)
        p.end()


def _a11y_rows(tsv: str) -> list[list[str]]:
    lines = [ln for ln in tsv.splitlines() if ln.strip()]
    if lines and lines[0].startswith("id\t"):
        lines = lines[1:]
    return [ln.split("\t") for ln in lines]


class TrajectoryPanel(QWidget):
    """Filmstrip + the selected step's screenshot, REASON/action, a11y table and timings."""

    step_changed = Signal(int)

    def __init__(self, pool: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.data: GuiData | None = None
        self.trajectory_id = ""
        self.steps: list[StepRow] = []
        self._want_step = 0
        self._gen = 0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel("Select a trajectory.")
        self.header.setTextFormat(Qt.TextFormat.RichText)  # HTML the caller built, its values escaped
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.filmstrip = Filmstrip()
        self.screen_view = ScreenshotView()
        self.detail = QTabWidget()
        self.reason = QPlainTextEdit()
        self.reason.setReadOnly(True)
        self.a11y = QTableWidget(0, 6)
        self.a11y.setHorizontalHeaderLabels(["id", "role", "name", "text", "position", "size"])
        setup_table(self.a11y)
        self.timings = QPlainTextEdit()
        self.timings.setReadOnly(True)
        self.detail.addTab(self.reason, "Step")
        self.detail.addTab(self.a11y, "A11y table")
        self.detail.addTab(self.timings, "Timings")
        from studio.gui.qt_compare import StepCompare

        self.compare = StepCompare(pool)
        self.views = QTabWidget()  # the step's screen, or its screens before and after with the change boxed
        self.views.addTab(self.screen_view, "Screen")
        self.views.addTab(self.compare, "Before / after")
        self.views.currentChanged.connect(lambda _i: self._refresh_views())
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.views)
        self.split.addWidget(self.detail)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        lay.addWidget(self.header)
        lay.addWidget(self.filmstrip)
        lay.addWidget(self.split, 1)
        self.filmstrip.step_selected.connect(self.select_step)

    def show_trajectory(
        self,
        trajectory_id: str,
        header: str = "",
        *,
        span: tuple[int, int] | None = None,
        reload: bool = True,
        step: int | None = None,
    ) -> None:
        """Load the steps of ``trajectory_id`` (worker) and select ``step``, else the span's first step (or 0).
        ``header`` is rich text: the caller escapes every model-written value in it (``html.escape``)."""
        if self.data is None:
            return
        self._want_step = step if step is not None else span[0] if span else 0
        if header:
            self.header.setText(header)
        if trajectory_id == self.trajectory_id and not reload and self.steps:
            self.filmstrip.highlight_span(span)
            self.filmstrip.setCurrentRow(self._want_step)
            return
        self.trajectory_id = trajectory_id
        self._gen += 1
        gen = self._gen
        self.filmstrip.highlight_span(span)
        self.pool.submit(
            self.data.steps,
            trajectory_id,
            on_result=lambda steps: self._on_steps(gen, steps),
            name=f"loading the steps of {trajectory_id}",
        )

    def _on_steps(self, gen: int, steps: list[StepRow]) -> None:
        if gen != self._gen:
            return
        self.steps = steps
        labels = []
        for s in steps:
            if s.final:
                labels.append("end: final screen")
                continue
            first = (s.action_code.splitlines() or [""])[0]
            labels.append(f"{s.index}: {first[:22]}" + (" ⚠" if s.error else ""))
        self.filmstrip.set_steps(labels)
        if steps:
            self.filmstrip.setCurrentRow(min(self._want_step, len(steps) - 1))
            self.select_step(self.filmstrip.currentRow())
        data = self.data
        refs = [s.screenshot for s in steps]

        def load_thumbs(progress: Any) -> None:
            assert data is not None
            for i, ref in enumerate(refs):
                if gen != self._gen:
                    return
                raw = data.thumbnail(ref) if ref else b""
                if raw:
                    progress((gen, i, decode_image(raw, 160)))

        self.pool.submit(load_thumbs, on_progress=self._on_thumb, name="loading thumbnails")

    def _on_thumb(self, item: tuple[int, int, QImage]) -> None:
        gen, row, image = item
        if gen == self._gen:
            self.filmstrip.set_thumbnail(row, image)

    def select_step(self, row: int) -> None:
        if not (0 <= row < len(self.steps)) or self.data is None:
            return
        step = self.steps[row]
        if step.final:
            text = ["The screen after the last action", "", "(where the run ended; no action of its own)"]
        else:
            text = [
                f"Step {step.index}",
                "",
                f"REASON: {step.reason or '–'}",
                "",
                "ACTION:",
                step.action_code or "–",
                "",
                "WHAT CHANGED:",
                *(
                    ["(not known: no screen after this step)"]
                    if step.changes is None
                    else [f"  {line}" for line in step.changes] or ["  (no visible change)"]
                ),
            ]
        if step.error:
            text += ["", f"ERROR: {step.error}"]
        self.reason.setPlainText("\n".join(text))
        rows = _a11y_rows(step.observation_text)
        self.a11y.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, v in enumerate(cells[:6]):
                self.a11y.setItem(r, c, QTableWidgetItem(v))
        self.timings.setPlainText(
            "\n".join(f"{k:<12} {v * 1000:8.1f} ms" for k, v in sorted(step.timings.items())) or "no timings recorded"
        )
        self._refresh_views()
        self.step_changed.emit(row)

    def show_compare(self, on: bool = True) -> None:
        """Show the before / after comparison (True) or the single screen with the action drawn (False)."""
        self.views.setCurrentWidget(self.compare if on else self.screen_view)

    def _refresh_views(self) -> None:
        """Load what the tab on screen shows for the current step (the other tab loads when it is shown)."""
        row = self.filmstrip.currentRow()
        if not (0 <= row < len(self.steps)) or self.data is None:
            return
        if self.views.currentWidget() is self.compare:
            self.compare.show_step(self.data, self.steps, row)
            return
        from studio.gui.data import overlay_actions

        step = self.steps[row]
        actions = overlay_actions(step.actions, step.action_code)
        gen = self._gen
        data = self.data

        def load() -> QImage:
            return decode_image(data.screenshot(step.screenshot)) if step.screenshot else QImage()

        self.pool.submit(
            load,
            on_result=lambda img: self._on_image(gen, row, img, actions, step.width),
            name="loading the screenshot",
        )

    def _on_image(self, gen: int, row: int, image: QImage, actions: list[dict[str, Any]], width: int) -> None:
        if gen == self._gen and self.filmstrip.currentRow() == row:
            self.screen_view.set_step(image, actions, width)


def _score(t: TrajectoryRow) -> str:
    return "" if t.score is None else f"{t.score:.2f}"


class TrajectoriesView(BaseView):
    title = "Trajectories"

    def __init__(self, pool: Any, data: Any, parent: QWidget | None = None) -> None:
        super().__init__(pool, data, parent)
        self.model = LazyTableModel(
            pool,
            [
                Column("id", lambda t: t.id),
                Column("app", lambda t: t.app),
                Column("policy", lambda t: t.policy),
                Column("status", lambda t: t.status),
                Column("score", _score, align_right=True),
                Column("steps", lambda t: str(t.n_steps), align_right=True),
                Column("instruction", lambda t: t.instruction, tooltip=lambda t: t.instruction),
            ],
            count=lambda: 0,
            fetch=lambda o, n: [],
            name="trajectories",
        )
        self.table = QTableView()
        self.table.setModel(self.model)
        setup_table(self.table)
        self.panel = TrajectoryPanel(pool)
        from studio.gui.qt_trim import TrimBar

        self.trim = TrimBar(self.panel)
        panel_lay = self.panel.layout()
        assert isinstance(panel_lay, QVBoxLayout)
        panel_lay.insertWidget(panel_lay.indexOf(self.panel.filmstrip) + 1, self.trim)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.panel)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.count_label = plain_label()
        lay.addWidget(self.count_label)
        lay.addWidget(split)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._select(cur.row()))
        self.model.total_changed.connect(lambda n: self.count_label.setText(f"{n:,} trajectories"))

    def load(self) -> None:
        if self.data is None:
            return
        self.panel.data = self.data
        self.model.set_source(self.data.count_trajectories, self.data.trajectories)

    def on_counts(self, counts: Counts, changed: set[str]) -> None:
        if changed & {"trajectories", "steps", "outcomes"}:
            self.model.refresh()
            if "steps" in changed and self.panel.trajectory_id:
                row = self.table.currentIndex().row()
                t = self.model.row(row)
                if t is not None:  # the selected trajectory may be growing: reload its steps
                    keep = self.panel.filmstrip.currentRow()
                    self.panel.show_trajectory(t.id, step=max(keep, 0))

    def _select(self, row: int) -> None:
        t = self.model.row(row)
        if t is None:
            return
        header = (
            f"<b>{escape(t.id)}</b> — {escape(t.instruction)}<br>app {escape(t.app or '–')} · "
            f"policy {escape(t.policy)} · outcome <b>{escape(t.status)}</b> · score {_score(t) or '–'} · "
            f"{t.n_steps} steps"
        )
        self.panel.show_trajectory(t.id, header)
        self.trim.clear()
