"""Before / after: a step's screen before its action and the screen after it, side by side, with what changed
boxed on both (:func:`studio.gui.compare.changed_regions`) and the state changes listed under them
(values, focus, windows: :mod:`envs.changes`). Shown in the trajectory panel of the Trajectories and Examples
views; images and boxes are computed on the worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from studio.gui.qt_common import decode_image, paint_image_fit, plain_label
from studio.gui.qt_overlay import draw_actions

if TYPE_CHECKING:
    from studio.gui.compare import Box
    from studio.gui.data import StepRow

CHANGE = QColor(255, 170, 0)
#: How long the selected step must stay selected before its screens are loaded (ms).
SETTLE_MS = 150


class BoxedImage(QWidget):
    """A screenshot fitted to the widget, with boxes (screen pixels) and optionally the step's actions on it."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.image = QImage()
        self.boxes: list[Box] = []
        self.step_actions: list[dict[str, Any]] = []  # not `actions`: QWidget.actions() is a method
        self.screen_w = 0
        self.setMinimumSize(240, 160)

    def set_image(self, image: QImage, boxes: list[Box], actions: list[dict[str, Any]], screen_w: int) -> None:
        self.image, self.boxes, self.step_actions = image, boxes, actions
        self.screen_w = screen_w or image.width()
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        head = p.fontMetrics().height() + 6
        p.setPen(pal.windowText().color())
        p.drawText(QRectF(4, 0, self.width() - 8, head), Qt.AlignmentFlag.AlignVCenter, self.caption)
        area = QRectF(0, head, self.width(), self.height() - head)
        target = paint_image_fit(p, self.image, area)
        if self.image.isNull():
            p.setPen(pal.placeholderText().color())
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "no screenshot")
        elif self.screen_w:
            scale = target.width() / self.screen_w
            p.setPen(QPen(CHANGE, 2))
            fill = QColor(CHANGE)
            fill.setAlpha(45)
            p.setBrush(fill)
            for x, y, w, h in self.boxes:
                p.drawRect(QRectF(target.x() + x * scale, target.y() + y * scale, w * scale, h * scale))
            if self.step_actions:
                draw_actions(p, self.step_actions, scale, target)
        p.end()


class StepCompare(QWidget):
    """The screen before a step's action and after it, the changed regions boxed on both, the changes listed."""

    def __init__(self, pool: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.before = BoxedImage("before")
        self.after = BoxedImage("after")
        self.changes = plain_label()
        self.changes.setWordWrap(True)
        self.changes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.boxes: list[Box] = []
        self._key: tuple[str, int, str] | None = None  # the step asked for
        self._shown: tuple[str, int, str] | None = None  # the step on screen
        self._pending: Any = None
        # Screens load once the selection rests: a reviewer pressing J/A/R faster than this loads none of the
        # screens it skips past (decoding them would compete with the key handler for the GIL).
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._load_pending)
        pair = QHBoxLayout()
        pair.setContentsMargins(0, 0, 0, 0)
        pair.addWidget(self.before, 1)
        pair.addWidget(self.after, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(pair, 1)
        lay.addWidget(self.changes)

    def show_step(self, data: Any, steps: list[StepRow], row: int) -> None:
        """Compare ``steps[row]`` (before its action) with the next screen (the next step, or the final one)."""
        if not (0 <= row < len(steps)) or data is None:
            return
        from studio.gui.data import overlay_actions

        step = steps[row]
        nxt = steps[row + 1] if row + 1 < len(steps) else None
        key = (step.trajectory_id, row, nxt.screenshot if nxt is not None else "")
        self._key = key
        if key == self._shown:
            return  # already on screen (another example of the same span)
        self.before.caption = "the screen" if step.final else f"before step {step.index}"
        self.after.caption = (
            "after its action" if nxt is not None and not step.final else "(nothing after the last screen)"
        )
        lines = step.changes if step.changes is not None else ["(not known: no screen after this step)"]
        if step.final:
            lines = ["the screen after the last action: no action of its own"]
        self.changes.setText("What changed: " + ("; ".join(lines) if lines else "no visible change"))
        actions = [] if step.final else overlay_actions(step.actions, step.action_code)
        width = step.width

        def load() -> tuple[QImage, QImage, list[Box]] | None:
            from studio.gui.compare import changed_regions

            if self._key != key:
                return None  # the person moved on before this job started (fast keyboard review): skip the work
            raw_a = data.screenshot(step.screenshot) if step.screenshot else b""
            raw_b = data.screenshot(nxt.screenshot) if nxt is not None and nxt.screenshot and not step.final else b""
            boxes = changed_regions(raw_a, raw_b)
            return decode_image(raw_a), decode_image(raw_b), boxes

        def done(result: tuple[QImage, QImage, list[Box]] | None) -> None:
            if result is None or self._key != key:
                return
            img_a, img_b, boxes = result
            self._shown = key
            self.boxes = boxes
            self.before.set_image(img_a, boxes, actions, width)
            self.after.set_image(img_b, boxes, [], width)

        self._pending = (load, done)
        self._settle.start()

    def _load_pending(self) -> None:
        if self._pending is not None:
            load, done = self._pending
            self._pending = None
            self.pool.submit(load, on_result=done, name="comparing the screens before and after the step")
