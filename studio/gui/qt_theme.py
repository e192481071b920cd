"""The look of the GUI in one place: light and dark palettes, the theme setting and its menu, icons, spacing.

Theme: ``system`` (follow the desktop's colour scheme, live), ``light`` or ``dark``. The choice is a GUI
setting (``QSettings`` key ``ui/theme``, set from View > Theme and kept for the next start);
``STUDIO_THEME=light|dark`` in the environment wins over it (screenshots, tests).

Icons are the SVGs bundled in ``studio/gui/icons`` (drawn for this project: 24 px, 2 px strokes in
``currentColor``), tinted with the palette's accent colour, and white when their row is selected.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from studio.gui.qt_common import settings

#: Space between widgets in a layout and around a view's content (px): every view uses these.
SPACING = 8
MARGIN = 8

#: The application's style sheet: only what the palette cannot say (the navigation's rows and icons).
APP_STYLE = (
    "QListWidget#nav { qproperty-iconSize: 20px 20px; }"
    f" QListWidget#nav::item {{ padding: {SPACING // 2 + 2}px {SPACING}px; }}"
)

THEMES = ("system", "light", "dark")
THEME_KEY = "ui/theme"
ICON_DIR = Path(__file__).resolve().parent / "icons"
ACCENT = QColor(53, 116, 240)


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(223, 225, 229)
    mid = QColor(60, 63, 68)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Window, window)
        p.setColor(group, QPalette.ColorRole.WindowText, text)
        p.setColor(group, QPalette.ColorRole.Base, base)
        p.setColor(group, QPalette.ColorRole.AlternateBase, QColor(37, 38, 41))
        p.setColor(group, QPalette.ColorRole.ToolTipBase, window)
        p.setColor(group, QPalette.ColorRole.ToolTipText, text)
        p.setColor(group, QPalette.ColorRole.Text, text)
        p.setColor(group, QPalette.ColorRole.Button, mid)
        p.setColor(group, QPalette.ColorRole.ButtonText, text)
        p.setColor(group, QPalette.ColorRole.BrightText, QColor(255, 90, 90))
        p.setColor(group, QPalette.ColorRole.Highlight, ACCENT)
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.ColorRole.Link, QColor(100, 160, 255))
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(130, 133, 140))
        p.setColor(group, QPalette.ColorRole.Mid, mid)
        p.setColor(group, QPalette.ColorRole.Midlight, QColor(70, 73, 78))
        p.setColor(group, QPalette.ColorRole.Dark, QColor(25, 26, 28))
        p.setColor(group, QPalette.ColorRole.Light, QColor(80, 83, 88))
    disabled = QColor(120, 123, 128)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, mid)
    return p


def _light_palette(app: QApplication) -> QPalette:
    p = app.style().standardPalette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Highlight, ACCENT)
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    return p


def theme_choice() -> str:
    """The theme the user chose (``system`` unless View > Theme said otherwise)."""
    value = str(settings().value(THEME_KEY, "system") or "system")
    return value if value in THEMES else "system"


def is_dark(choice: str | None = None) -> bool:
    """Whether the dark palette is in use: ``STUDIO_THEME``, else the choice, else the system's scheme."""
    forced = os.environ.get("STUDIO_THEME", "").lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    choice = choice or theme_choice()
    if choice != "system":
        return choice == "dark"
    scheme = getattr(QGuiApplication.styleHints(), "colorScheme", None)
    return bool(scheme is not None and scheme() == Qt.ColorScheme.Dark)


def apply_palette(app: QApplication) -> None:
    """Set the light or dark palette (see :func:`is_dark`)."""
    app.setPalette(_dark_palette() if is_dark() else _light_palette(app))


def set_theme(choice: str) -> None:
    """Keep ``choice`` (``system``, ``light``, ``dark``) for the next start and apply it now."""
    if choice not in THEMES:
        raise ValueError(f"unknown theme {choice!r}: use one of {', '.join(THEMES)}")
    settings().setValue(THEME_KEY, choice)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_palette(app)


def theme_menu(parent: QWidget) -> QMenu:
    """View > Theme: System / Light / Dark, one checked; choosing one applies and keeps it."""
    menu = QMenu("&Theme", parent)
    menu.setIcon(icon("theme"))
    group = QActionGroup(menu)
    group.setExclusive(True)
    current = theme_choice()
    for choice in THEMES:
        act = QAction(choice.capitalize(), menu)
        act.setCheckable(True)
        act.setChecked(choice == current)
        act.setData(choice)
        act.triggered.connect(lambda _=False, c=choice: set_theme(c))
        group.addAction(act)
        menu.addAction(act)
    if os.environ.get("STUDIO_THEME", "").lower() in ("dark", "light"):
        menu.setToolTip("STUDIO_THEME is set in the environment: it wins over this choice")
    return menu


@cache
def _svg(name: str) -> bytes:
    return (ICON_DIR / f"{name}.svg").read_bytes()


def _render(name: str, color: QColor, size: int) -> QPixmap:
    from PySide6.QtSvg import QSvgRenderer

    data = _svg(name).replace(b"currentColor", color.name().encode())
    renderer = QSvgRenderer(QByteArray(data))
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    renderer.render(p)
    p.end()
    return pm


def icon(name: str) -> QIcon:
    """The bundled icon ``name`` (``studio/gui/icons/<name>.svg``) in the accent colour; white when selected."""
    out = QIcon()
    for size in (16, 24, 32):
        out.addPixmap(_render(name, ACCENT, size), QIcon.Mode.Normal)
        out.addPixmap(_render(name, QColor(255, 255, 255), size), QIcon.Mode.Selected)
        out.addPixmap(_render(name, QColor(128, 128, 128), size), QIcon.Mode.Disabled)
    return out


def icon_names() -> list[str]:
    """Every bundled icon."""
    return sorted(p.stem for p in ICON_DIR.glob("*.svg"))
