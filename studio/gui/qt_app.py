"""QApplication setup: Fusion style, a light or dark palette that follows the system, and ``run_gui``.

The palette follows ``QStyleHints.colorScheme()`` (Qt >= 6.5) and switches live when the system does;
``STUDIO_THEME=light|dark`` overrides it. Window geometry and splitter states are kept in ``QSettings``
(organization ``learn-by-interact``, application ``studio``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from studio.gui.qt_common import APP, ORG


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
        p.setColor(group, QPalette.ColorRole.Highlight, QColor(53, 116, 240))
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.ColorRole.Link, QColor(100, 160, 255))
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(130, 133, 140))
        p.setColor(group, QPalette.ColorRole.Mid, mid)
        p.setColor(group, QPalette.ColorRole.Midlight, QColor(70, 73, 78))
    disabled = QColor(120, 123, 128)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, mid)
    return p


def is_dark() -> bool:
    """Whether the dark palette should be used (``STUDIO_THEME`` wins over the system setting)."""
    forced = os.environ.get("STUDIO_THEME", "").lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return bool(scheme is not None and scheme() == Qt.ColorScheme.Dark)


def apply_palette(app: QApplication) -> None:
    """Set the light (Fusion standard) or dark palette."""
    app.setPalette(_dark_palette() if is_dark() else app.style().standardPalette())


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (existing one reused), Fusion style, system-following palette."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName("Learn-by-Interact Studio")
    app.setStyle("Fusion")
    apply_palette(app)
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "colorSchemeChanged") and not app.property("studioPaletteHooked"):
        hints.colorSchemeChanged.connect(lambda *_: apply_palette(app))
        app.setProperty("studioPaletteHooked", True)
    return app


def run_gui(workspace: Path | None) -> int:
    """Open the main window on ``workspace`` (or none) and run the event loop; returns the exit code."""
    app = create_app()
    from studio.gui.qt_main_window import MainWindow

    window = MainWindow(workspace)
    window.show()
    return int(app.exec())
