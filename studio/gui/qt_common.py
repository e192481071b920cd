"""Small pieces every view shares: the view base class, image decoding, list keyboard setup, a filmstrip."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableView,
    QWidget,
)

if TYPE_CHECKING:
    from studio.gui.data import Counts, GuiData
    from studio.gui.qt_worker import WorkerPool

#: QSettings organization and application (window geometry and splitter states; never secrets).
ORG = "learn-by-interact"
APP = "studio"


def settings() -> QSettings:
    """The GUI's own settings (window state); never holds secrets."""
    return QSettings(ORG, APP)


class BaseView(QWidget):
    """A page of the main window. ``activate`` runs the first time the page is shown (lazy loading);
    ``on_counts`` runs when the workspace poll saw new rows."""

    title = "View"
    needs_data = True  # False: the page works without a workspace (Live, Settings)

    def __init__(self, pool: WorkerPool, data: GuiData | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.data = data
        self.activated = False

    def activate(self) -> None:
        if not self.activated:
            self.activated = True
            self.load()

    def load(self) -> None:
        """First load of the view's data (through the worker)."""

    def on_counts(self, counts: Counts, changed: set[str]) -> None:
        """The workspace has new rows in ``changed`` stages; refresh what shows them."""


def decode_image(data: bytes, max_side: int = 0) -> QImage:
    """PNG/WebP/JPEG bytes -> QImage (call on a worker thread; QImage is thread-safe, QPixmap is not)."""
    img = QImage.fromData(data)
    if img.isNull() and data:
        import io

        from PIL import Image  # formats Qt's plugins lack (WebP without the imageformats plugin)

        pil = Image.open(io.BytesIO(data)).convert("RGBA")
        img = QImage(pil.tobytes("raw", "BGRA"), pil.width, pil.height, QImage.Format.Format_ARGB32).copy()
    if max_side and not img.isNull() and max(img.width(), img.height()) > max_side:
        img = img.scaled(
            max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return img


def frame_to_image(width: int, height: int, bgra: bytes, max_w: int = 0) -> QImage:
    """A raw BGRA grab -> QImage (no pixel conversion: BGRA in memory is Qt's RGB32), scaled to ``max_w``."""
    img = QImage(bgra, width, height, width * 4, QImage.Format.Format_RGB32)
    if max_w and width > max_w:
        return img.scaledToWidth(max_w, Qt.TransformationMode.SmoothTransformation)
    return img.copy()  # own the pixels: ``bgra`` goes away


def setup_table(view: QTableView) -> None:
    """Row selection, keyboard navigation, compact rows, stretch last column."""
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.horizontalHeader().setStretchLastSection(True)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view.setTabKeyNavigation(False)


def fit_columns(view: QTableView) -> None:
    """Size the columns to their contents and let the last one take the rest of the width
    (``resizeColumnsToContents`` alone leaves the stretch unapplied until the next resize)."""
    view.resizeColumnsToContents()
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setStretchLastSection(True)


class Filmstrip(QListWidget):
    """Horizontal strip of step thumbnails; ``step_selected(index)``; a step span can be highlighted."""

    step_selected = Signal(int)
    THUMB = QSize(160, 100)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(self.THUMB)
        self.setMovement(QListWidget.Movement.Static)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(self.THUMB.height() + 48)
        self.setSpacing(4)
        self.currentRowChanged.connect(self._changed)
        self._span: tuple[int, int] | None = None

    def _changed(self, row: int) -> None:
        if row >= 0:
            self.step_selected.emit(row)

    def set_steps(self, labels: list[str]) -> None:
        self.blockSignals(True)
        self.clear()
        for text in labels:
            item = QListWidgetItem(text)
            item.setSizeHint(QSize(self.THUMB.width() + 8, self.THUMB.height() + 36))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.addItem(item)
        self.blockSignals(False)
        self._apply_span()

    def set_thumbnail(self, row: int, image: QImage) -> None:
        item = self.item(row)
        if item is not None and not image.isNull():
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def highlight_span(self, span: tuple[int, int] | None) -> None:
        """Mark steps ``start..end`` (inclusive) as the example's span."""
        self._span = span
        self._apply_span()

    def span(self) -> tuple[int, int] | None:
        return self._span

    def in_span(self, row: int) -> bool:
        return self._span is not None and self._span[0] <= row <= self._span[1]

    def _apply_span(self) -> None:
        hl = self.palette().highlight().color()
        span_bg = QColor(hl.red(), hl.green(), hl.blue(), 70)
        for r in range(self.count()):
            item = self.item(r)
            if self.in_span(r):
                item.setBackground(span_bg)
                item.setToolTip("in the example's span")
            else:
                item.setBackground(QColor(0, 0, 0, 0))
                item.setToolTip("")


def plain_tooltip(text: str) -> str:
    """A tooltip showing ``text`` verbatim. Qt renders a tooltip that looks like HTML as rich text, and rich text
    loads the resources it names (``<img src="file:///...">`` reads a host file): model- and task-file-written
    text goes through this, escaped into HTML that only shows it (long lines wrap)."""
    from PySide6 import QtGui

    return QtGui.Qt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal) if text else ""


def plain_label(text: str = "") -> QLabel:
    """A QLabel that shows its text verbatim, never as HTML (labels guess by default; see :func:`plain_tooltip`).
    For every label whose text can hold model- or task-file-written words; HTML we build escapes them instead
    (``html.escape``)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    return label


def placeholder(text: str) -> QLabel:
    label = plain_label(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setEnabled(False)
    return label


def paint_image_fit(p: QPainter, image: QImage, rect: Any) -> Any:
    """Draw ``image`` centred in ``rect`` keeping its aspect; return the target rect (QRectF)."""
    from PySide6.QtCore import QRectF

    if image.isNull() or rect.width() <= 0 or rect.height() <= 0:
        return QRectF()
    s = min(rect.width() / image.width(), rect.height() / image.height())
    w, h = image.width() * s, image.height() * s
    target = QRectF(rect.x() + (rect.width() - w) / 2, rect.y() + (rect.height() - h) / 2, w, h)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    p.drawImage(target, image)
    return target
