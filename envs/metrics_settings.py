"""Settings metrics with OSWorld's names: LibreOffice's user registry and the desktop's settings.

LibreOffice keeps changed options in ``~/.config/libreoffice/4/user/registrymodifications.xcu`` (one
``<item oor:path=...><prop oor:name=...><value>`` per option); the ``vm_file`` getter copies it out.

=================================  ========================================================================
``find_default_font``              Writer's default font (``DefaultFont/Standard``) is ``rules.font_name``
``check_presenter_console_disable``  Impress's ``EnablePresenterScreen`` is false
``check_auto_saving_time``         the auto-save interval (``AutoSaveTimeIntervall``) is ``rules.minutes``
``check_gnome_favorite_apps``      ``gsettings get ... favorite-apps`` output holds ``rules.expected`` (as a set)
``is_utc_0``                       ``timedatectl status`` output shows a +0000 time zone
``check_text_enlarged``            a text scaling factor above 1.0
``is_in_vm_clickboard``            the clipboard text (``xsel --clipboard --output``) holds ``expected``
=================================  ========================================================================
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

log = logging.getLogger(__name__)
OOR = "{http://openoffice.org/2001/registry}"
MAX_XCU = 16 << 20


def registry_value(path: Any, item_path: str, prop: str) -> str | None:
    """The last value LibreOffice's user registry file stores for ``item_path`` / ``prop`` (None if absent).

    Both forms LibreOffice writes are read: ``<item oor:path="/a/b"><prop oor:name="P">`` and
    ``<item oor:path="/a"><node oor:name="b"><prop oor:name="P">``.
    """
    if not isinstance(path, (str, Path)) or not Path(str(path)).is_file():
        return None
    if Path(str(path)).stat().st_size > MAX_XCU:
        return None
    try:
        root = ElementTree.parse(str(path)).getroot()
    except ElementTree.ParseError as exc:
        log.info("cannot read %s: %s", path, exc)
        return None
    found: list[str] = []

    def walk(el: ElementTree.Element, where: str) -> None:
        for child in el:
            name = child.get(f"{OOR}name", "")
            if child.tag == "node":
                walk(child, f"{where}/{name}")
            elif child.tag == "prop" and name == prop and where == item_path:
                value = child.find("value")
                found.append("" if value is None else (value.text or ""))

    for item in root.iter("item"):
        walk(item, item.get(f"{OOR}path", ""))
    return found[-1] if found else None


def find_default_font(file1: Any, rules: dict[str, Any], **_: Any) -> float:
    font = registry_value(file1, "/org.openoffice.Office.Writer/DefaultFont", "Standard")
    return float(font is not None and font == rules.get("font_name"))


def check_presenter_console_disable(file1: Any, *_: Any, **__: Any) -> float:
    value = registry_value(file1, "/org.openoffice.Office.Impress/Misc/Start", "EnablePresenterScreen")
    return float(value is not None and value.strip().lower() == "false")


def check_auto_saving_time(file1: Any, rules: dict[str, Any], **_: Any) -> float:
    value = registry_value(file1, "/org.openoffice.Office.Common/Save/Document", "AutoSaveTimeIntervall")
    try:
        return float(value is not None and int(value) == int(rules.get("minutes", -1)))
    except ValueError:
        return 0.0


def check_gnome_favorite_apps(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """``result`` is gsettings' list text (``['a.desktop', 'b.desktop']``), read as a literal, never run."""
    if result is None:
        return 0.0
    try:
        apps = ast.literal_eval(str(result).strip().removeprefix("@as "))
    except (ValueError, SyntaxError):
        return 0.0
    want = list(rules.get("expected", []))
    return float(isinstance(apps, list) and len(apps) == len(want) and set(apps) == set(want))


def is_utc_0(result: Any, *_: Any, **__: Any) -> float:
    """``timedatectl status``: its ``Time zone:`` line ends in ``+0000)``."""
    for line in str(result or "").splitlines():
        if line.strip().startswith("Time zone:"):
            return float(line.rstrip().endswith("+0000)"))
    return 0.0


def check_text_enlarged(result: Any, *_: Any, **__: Any) -> float:
    match = re.search(r"[-+]?\d+(?:\.\d+)?", str(result or ""))
    return float(match is not None and float(match.group()) > 1.0)


def is_in_vm_clickboard(rules: Any, clipboard: Any, **_: Any) -> float:
    """OSWorld's argument order: the rule first, the clipboard text (a command's output) second."""
    want = rules.get("expected") if isinstance(rules, dict) else None
    text = str(clipboard or "")
    if isinstance(want, list):
        return float(bool(want) and all(str(w) in text for w in want))
    return float(want is not None and str(want) in text)


METRICS: dict[str, Callable[..., float]] = {
    "find_default_font": find_default_font,
    "check_presenter_console_disable": check_presenter_console_disable,
    "check_auto_saving_time": check_auto_saving_time,
    "check_gnome_favorite_apps": check_gnome_favorite_apps,
    "is_utc_0": is_utc_0,
    "check_text_enlarged": check_text_enlarged,
    "is_in_vm_clickboard": is_in_vm_clickboard,
}
