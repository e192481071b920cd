"""Presentation metrics with OSWorld's names, on python-pptx and the package XML (``.pptx``; unreadable -> 0).

=============================================  ======================================================
``check_slide_orientation_Portrait``           the slides are taller than wide
``check_transition``                           ``rules``: ``slide_idx`` has a ``transition_type``
                                               transition (e.g. ``dissolve``)
``evaluate_presentation_fill_to_rgb_distance``  1 - mean distance of every slide's background (its
                                               own, else its master's solid fill) to ``rules.rgb``
``check_page_number_colors``                   the slide-number field of the master is ``rules.color``
                                               (red, green, blue or black)
``check_image_stretch_and_center``             the first slide's picture (the gold file's, same
                                               bytes) fills the slide and is centred (0.5 in slack)
``check_left_panel``                           the a11y table shows Impress's slide pane ("Slides
                                               View"; OSWorld reads its split pane at the left edge)
=============================================  ======================================================

Files come from the sandbox (hostile): XML is parsed with the standard library and parts are capped in size.
"""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

log = logging.getLogger(__name__)
NS = {
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "p": "http://schemas.openxmlformats.org/presentationml/2006/main",
}
MAX_PART = 32 << 20
EMU_PER_INCH = 914400


def _prs(path: Any) -> Any:
    if not isinstance(path, (str, Path)) or not Path(str(path)).is_file():
        return None
    from pptx import Presentation

    try:
        return Presentation(str(path))
    except Exception as exc:  # noqa: BLE001 - unreadable -> 0
        log.info("cannot read presentation %s: %s", path, exc)
        return None


def _part(path: Any, name: str) -> ElementTree.Element | None:
    try:
        with zipfile.ZipFile(str(path)) as z:
            info = z.getinfo(name)
            if info.file_size > MAX_PART:
                return None
            return ElementTree.fromstring(z.read(name))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return None


def check_slide_orientation_Portrait(file1: Any, *_: Any, **__: Any) -> float:  # noqa: N802 - OSWorld's name
    prs = _prs(file1)
    if prs is None or prs.slide_width is None or prs.slide_height is None:
        return 0.0
    return float(prs.slide_width < prs.slide_height)


def check_transition(file1: Any, rules: dict[str, Any], **_: Any) -> float:
    """The slide's ``p:transition`` holds a ``p:<transition_type>`` element (LibreOffice writes PowerPoint's
    names, e.g. ``p:dissolve``)."""
    prs = _prs(file1)
    idx = int(rules.get("slide_idx", 0))
    if prs is None or not 0 <= idx < len(prs.slides):
        return 0.0
    slide_part = prs.slides[idx].part.partname.lstrip("/")
    root = _part(file1, slide_part)
    if root is None:
        return 0.0
    transition = root.find(".//p:transition", NS)
    if transition is None:
        return 0.0
    return float(transition.find(f".//p:{rules.get('transition_type', '')}", NS) is not None)


def _solid_rgb(fill: Any) -> tuple[int, int, int] | None:
    from pptx.enum.dml import MSO_FILL

    try:
        if fill.type == MSO_FILL.SOLID:
            rgb = fill.fore_color.rgb
            return (rgb[0], rgb[1], rgb[2])
    except (AttributeError, TypeError, ValueError):
        return None
    return None


def evaluate_presentation_fill_to_rgb_distance(file1: Any, rules: dict[str, Any], **_: Any) -> float:
    prs = _prs(file1)
    if prs is None or not len(prs.slides):
        return 0.0
    want = [int(v) for v in rules.get("rgb", [0, 0, 0])]
    scale = math.sqrt(3 * 255**2)
    total = 0.0
    for slide in prs.slides:
        rgb = _solid_rgb(slide.background.fill) if slide.follow_master_background is False else None
        if rgb is None:
            rgb = _solid_rgb(slide.slide_layout.slide_master.background.fill)
        total += 1.0 if rgb is None else math.dist(rgb, want) / scale
    return 1.0 - total / len(prs.slides)


_COLOR_TESTS: dict[str, Callable[[int, int, int], bool]] = {
    "red": lambda r, g, b: r > g + 50 and r > b + 50,
    "green": lambda r, g, b: g > r + 50 and g > b + 50,
    "blue": lambda r, g, b: b > g + 50 and b > r + 50,
    "black": lambda r, g, b: r < 50 and g < 50 and b < 50,
}


def check_page_number_colors(file1: Any, rules: dict[str, Any], **_: Any) -> float:
    """The text colour of the master's slide-number placeholder (``type="sldNum"``) is ``rules["color"]``."""
    prs = _prs(file1)
    test = _COLOR_TESTS.get(str(rules.get("color")))
    if prs is None or test is None:
        return 0.0
    for master in prs.slide_masters:
        root = _part(file1, master.part.partname.lstrip("/"))
        if root is None:
            continue
        for sp in root.iter(f"{{{NS['p']}}}sp"):
            ph = sp.find(".//p:nvPr/p:ph", NS)
            if ph is None or ph.get("type") != "sldNum":
                continue
            colors = [c.get("val", "") for c in sp.iter(f"{{{NS['a']}}}srgbClr")]
            if not colors:
                return 0.0
            try:
                r, g, b = (int(colors[-1][i : i + 2], 16) for i in (0, 2, 4))
            except ValueError:
                return 0.0
            return float(test(r, g, b))
    return 0.0


def check_image_stretch_and_center(file1: Any, file2: Any, **_: Any) -> float:
    """``file1`` is the edited presentation, ``file2`` the original: the original's first picture on slide 1
    (found by its bytes) now spans the slide and sits in its centre, each within half an inch."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    mod, orig = _prs(file1), _prs(file2)
    if mod is None or orig is None or not len(mod.slides) or not len(orig.slides):
        return 0.0
    pictures = [s for s in orig.slides[0].shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    if not pictures:
        return 0.0
    blob = pictures[0].image.blob
    slack = EMU_PER_INCH // 2
    sw, sh = orig.slide_width or 0, orig.slide_height or 0
    for s in mod.slides[0].shapes:
        if s.shape_type != MSO_SHAPE_TYPE.PICTURE or s.image.blob != blob:
            continue
        if (
            abs(s.width - sw) <= slack
            and abs(s.height - sh) <= slack
            and abs(s.left - (sw - s.width) / 2) <= slack
            and abs(s.top - (sh - s.height) / 2) <= slack
        ):
            return 1.0
    return 0.0


def check_left_panel(result: Any, *_: Any, **__: Any) -> float:
    """``result`` is the a11y table: Impress's slide pane is showing when its "Slides View" document frame (the
    name LibreOffice gives it; "Slides Pane" / "Slide Sorter" accepted) is a row, i.e. shown on screen."""
    if result is None:
        return 0.0
    rows = [line.split("\t") for line in str(result).splitlines()[1:]]  # id, role, name, text, position, size
    names = {r[2].strip().lower() for r in rows if len(r) > 2}
    return float(bool(names & SLIDE_PANE_NAMES))


SLIDE_PANE_NAMES = frozenset({"slides view", "slides pane", "slide pane", "slide sorter"})


METRICS: dict[str, Callable[..., float]] = {
    "check_slide_orientation_Portrait": check_slide_orientation_Portrait,
    "check_transition": check_transition,
    "evaluate_presentation_fill_to_rgb_distance": evaluate_presentation_fill_to_rgb_distance,
    "check_page_number_colors": check_page_number_colors,
    "check_image_stretch_and_center": check_image_stretch_and_center,
    "check_left_panel": check_left_panel,
}
