"""QApplication setup: Fusion style, the light or dark palette (:mod:`studio.gui.qt_theme`), and ``run_gui``.

With the theme ``system`` the palette follows ``QStyleHints.colorScheme()`` (Qt >= 6.5) and switches live when
the system does; View > Theme picks light or dark for good; ``STUDIO_THEME=light|dark`` overrides both. Window
geometry, splitter states and the theme are kept in ``QSettings`` (organization ``learn-by-interact``,
application ``studio``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from studio.gui.qt_common import APP, ORG
from studio.gui.qt_theme import APP_STYLE, apply_palette


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
    app.setStyleSheet(APP_STYLE)
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
