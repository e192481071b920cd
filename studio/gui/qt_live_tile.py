"""One sandbox in the Live grid: its live frame with the last action drawn, task, step, last action and status.

The tile is painted, not built from child widgets (a grid of 16 repaints 10 times a second). Its text lines are
also available as :meth:`SandboxTile.lines` (tests, the tooltip and screen readers use them).
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from studio.gui.qt_common import paint_image_fit, plain_tooltip
from studio.gui.qt_overlay import draw_actions

#: Status -> colour of the status dot (anything else: grey).
STATUS_COLORS = {
    "starting": QColor(140, 140, 140),
    "running": QColor(46, 160, 67),
    "paused": QColor(230, 160, 20),
    "done": QColor(40, 120, 220),
    "max_steps": QColor(230, 160, 20),
    "loop": QColor(230, 160, 20),
    "stopped": QColor(140, 140, 140),
    "fail": QColor(210, 60, 50),
    "error": QColor(210, 60, 50),
}

PAD = 6


def last_action_text(action_code: str, actions: list[dict[str, Any]]) -> str:
    """A one-line description of a step's action: the first line of its code, else its first typed action."""
    for line in (action_code or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line.removeprefix("pyautogui.")
    if actions:
        first = dict(actions[0])
        kind = str(first.pop("kind", "action"))
        args = ", ".join(f"{k}={v!r}" for k, v in first.items() if v not in (None, "", 1, "left"))
        return f"{kind}({args})"
    return ""


class SandboxTile(QWidget):
    """One sandbox. ``clicked(trajectory_id)`` on a click; ``resized(trajectory_id, w, h)`` with the size of
    the frame area, so frames arrive already scaled to it."""

    clicked = Signal(str)
    resized = Signal(str, int, int)

    def __init__(self, trajectory_id: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trajectory_id = trajectory_id
        self.title = title  # the app and the task, until the episode says more
        self.task = ""
        self.image = QImage()
        self.screen_w = 0
        self.step_actions: list[dict[str, Any]] = []
        self.last_action = ""
        self.reason = ""
        self.step = 0
        self.max_steps = 0
        self.status = "starting"
        self.tokens = 0
        self.cost = 0.0
        self.frames = 0
        self.fps = 0.0
        self.followed = False
        self.last_live = 0.0
        self.setMinimumSize(220, 170)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAccessibleName(f"sandbox {trajectory_id}")

    # ---------------------------------------------------------------- state

    def set_frame(self, image: QImage, screen_w: int, live: bool = True) -> None:
        """A new picture: ``live`` from the frame pump, else a step's screenshot (ignored while live flows)."""
        if not live and time.monotonic() - self.last_live < 1.0:
            return
        self.image = image
        self.screen_w = screen_w
        if live:
            self.last_live = time.monotonic()
            self.frames += 1
        self.update(self.image_area().toAlignedRect())

    def set_fps(self, fps: float) -> None:
        """How often the screen is looked at (the frame pump's rate; an unchanged screen is not redrawn)."""
        if round(fps) != round(self.fps):
            self.fps = fps
            self.update(0, 0, self.width(), 2 * self._line_h() + PAD)

    def set_followed(self, followed: bool) -> None:
        self.followed = followed
        self.update()

    def lines(self) -> dict[str, str]:
        """What the tile says, line by line: ``status``, ``task``, ``action``, ``reason``, ``stats``."""
        of = f"/{self.max_steps}" if self.max_steps else ""
        return {
            "status": f"{self.status} · step {self.step}{of}",
            "task": self.task or self.title,
            "action": f"▸ {self.last_action}" if self.last_action else "▸ no action yet",
            "reason": f"REASON: {self.reason}" if self.reason else "",
            "stats": f"{self.fps:.0f} fps · {self.tokens:,} tok · ${self.cost:.4f}",
        }

    def refresh_text(self) -> None:
        """Repaint after the text changed (new step, status); keeps the tooltip and accessible text in step."""
        text = "\n".join(v for v in self.lines().values() if v)
        self.setToolTip(plain_tooltip(f"{text}\n\nclick: follow this sandbox large / back to the grid"))
        self.setAccessibleDescription(text)
        self.update()

    # ---------------------------------------------------------------- geometry

    def _line_h(self) -> int:
        return self.fontMetrics().height() + 4

    def _reason_lines(self) -> int:
        return 2 if self.followed or self.height() > 420 else 1

    def image_area(self) -> QRectF:
        """Where the frame is drawn: between the two header lines and the footer."""
        lh = self._line_h()
        top = 2 * lh + PAD
        bottom = (1 + self._reason_lines()) * lh + PAD
        return QRectF(PAD, top, max(0, self.width() - 2 * PAD), max(0, self.height() - top - bottom))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        area = self.image_area()
        self.resized.emit(self.trajectory_id, int(area.width()), int(area.height()))
        super().resizeEvent(event)

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.trajectory_id)

    # ---------------------------------------------------------------- painting

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        fm = p.fontMetrics()
        lh = self._line_h()
        w = self.width() - 2 * PAD
        text = self.lines()
        # frame
        area = self.image_area()
        p.fillRect(area, QColor(20, 20, 22))
        target = paint_image_fit(p, self.image, area)
        if not self.image.isNull() and self.screen_w and target.width() > 0:
            draw_actions(p, self.step_actions, target.width() / self.screen_w, target)
        if self.image.isNull():
            p.setPen(QColor(170, 170, 170))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "waiting for the sandbox…")
        # header: status dot, status and step (bold), stats on the right; then the task
        p.fillRect(QRectF(0, 0, self.width(), 2 * lh + PAD / 2), pal.window())
        dot = STATUS_COLORS.get(self.status.split()[0] if self.status else "", QColor(140, 140, 140))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(dot)
        d = fm.height() * 0.6
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.drawEllipse(QRectF(PAD, PAD / 2 + (lh - d) / 2, d, d))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        bold = QFont(p.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(pal.windowText().color())
        stats_w = fm.horizontalAdvance(text["stats"]) + PAD
        left = PAD + d + 6
        show_stats = stats_w < w / 2  # a narrow tile keeps its status and step, and drops the stats
        status_w = max(0, int(w - (left - PAD) - (stats_w if show_stats else 0)))
        p.drawText(
            QRectF(left, PAD / 2, status_w, lh),
            Qt.AlignmentFlag.AlignVCenter,
            p.fontMetrics().elidedText(text["status"], Qt.TextElideMode.ElideRight, status_w),
        )
        p.setFont(self.font())
        p.setPen(pal.placeholderText().color())
        p.drawText(
            QRectF(PAD, PAD / 2, w, lh),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            text["stats"] if show_stats else "",
        )
        p.setPen(pal.windowText().color())
        p.drawText(
            QRectF(PAD, PAD / 2 + lh, w, lh),
            Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(text["task"], Qt.TextElideMode.ElideRight, w),
        )
        # footer: last action, then the model's REASON
        y = area.bottom() + 2
        p.drawText(
            QRectF(PAD, y, w, lh),
            Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(text["action"], Qt.TextElideMode.ElideMiddle, w),
        )
        p.setPen(pal.placeholderText().color())
        n = self._reason_lines()
        reason = text["reason"] or "REASON: –"
        if n == 1:
            reason = fm.elidedText(reason, Qt.TextElideMode.ElideRight, w)
        p.drawText(QRectF(PAD, y + lh, w, n * lh), Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignTop, reason)
        # border: the highlight colour on the followed tile
        pen = QPen(pal.highlight().color() if self.followed else pal.mid().color())
        pen.setWidth(2 if self.followed else 1)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()
