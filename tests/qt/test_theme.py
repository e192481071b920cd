"""Theme and icons: View > Theme switches the palette at once and the choice survives a restart; every view in
the navigation has its bundled icon."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def no_forced_theme(monkeypatch: pytest.MonkeyPatch) -> Any:
    from studio.gui.qt_common import settings
    from studio.gui.qt_theme import THEME_KEY

    monkeypatch.delenv("STUDIO_THEME", raising=False)
    yield
    settings().remove(THEME_KEY)
    from PySide6.QtWidgets import QApplication

    from studio.gui.qt_theme import apply_palette

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_palette(app)


def _theme_actions(window: Any) -> dict[str, Any]:
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    theme = next(a.menu() for a in view_menu.actions() if a.menu() is not None and a.text() == "&Theme")
    return {a.data(): a for a in theme.actions()}


def test_theme_menu_switches_the_palette_and_is_kept(qtbot: Any, window: Any, no_forced_theme: Any) -> None:
    from PySide6.QtWidgets import QApplication

    from studio.gui.qt_theme import is_dark, theme_choice

    actions = _theme_actions(window)
    assert list(actions) == ["system", "light", "dark"]
    assert actions["system"].isChecked()
    actions["dark"].trigger()
    assert theme_choice() == "dark" and is_dark()
    assert QApplication.palette().window().color().lightness() < 80
    # the open window follows (Qt posts the palette change to every widget)
    qtbot.waitUntil(lambda: window.palette().window().color().lightness() < 80, timeout=5000)
    actions["light"].trigger()
    assert theme_choice() == "light" and not is_dark()
    assert QApplication.palette().window().color().lightness() > 180
    actions["dark"].trigger()
    # a new window (the next start) reads the kept choice
    from studio.gui.qt_main_window import MainWindow

    again = MainWindow(None)
    qtbot.addWidget(again)
    assert _theme_actions(again)["dark"].isChecked()


def test_environment_wins_over_the_kept_choice(monkeypatch: pytest.MonkeyPatch, no_forced_theme: Any) -> None:
    from studio.gui.qt_theme import is_dark, set_theme

    set_theme("dark")
    monkeypatch.setenv("STUDIO_THEME", "light")
    assert not is_dark()
    with pytest.raises(ValueError, match="use one of system, light, dark"):
        set_theme("purple")


def test_every_view_has_its_icon(window: Any) -> None:
    from studio.gui.qt_theme import icon_names

    assert window.nav.count() == len(window.views)
    for row, key in enumerate(window.views):
        assert key in icon_names(), key
        assert not window.nav.item(row).icon().isNull()
        assert not window.nav.item(row).icon().pixmap(24, 24).toImage().isNull()
