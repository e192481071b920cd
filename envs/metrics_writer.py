"""Word-processor metrics with OSWorld's names, on python-docx (``.docx`` files; unreadable or missing -> 0).

=========================================  ==========================================================
``compare_docx_tables``                    same number of tables, same shape, same cell texts
``compare_docx_lines``                     the same set of non-empty paragraph texts
``compare_line_spacing``                   same text (``compare_docx_files``) and line spacing per paragraph
``compare_font_names``                     every run uses ``rules["font_name"]``
``is_first_line_centered``                 the first paragraph is centred
``has_page_numbers_in_footers``            every section's footer shows a number (a page field counts)
``contains_page_break``                    some run holds a page break
``evaluate_strike_through_last_paragraph``  same text as the gold file; every run of the last paragraph struck
``check_italic_font_size_14``              same text as the gold file; every italic run is 14 pt
``check_tabstops``                         same non-empty paragraphs; per paragraph the same tab stops
                                           (alignment), score 1 - mean position offset / text width;
                                           option ``word_number_split_by_tabstop`` (+ ``index``): words
                                           before the tab
``compare_subscript_contains``             some run of the result and the same run of the gold file are
                                           both subscript
``check_highlighted_words``                same text as the gold file and nothing highlighted (.odt spans
                                           with a background colour, .docx ``w:highlight``)
``compare_contains_image``                 runs holding a picture in the result are those of the gold file
``evaluate_colored_words_in_tables``       same text as the gold file; words in tables starting with a
                                           vowel are red, the others blue (CIEDE2000 <= ``threshold``)
=========================================  ==========================================================
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envs.metrics_office import compare_docx_files

log = logging.getLogger(__name__)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _doc(path: Any) -> Any:
    if not isinstance(path, (str, Path)) or not Path(str(path)).is_file():
        return None
    import docx

    try:
        return docx.Document(str(path))
    except Exception as exc:  # noqa: BLE001 - unreadable -> 0
        log.info("cannot read document %s: %s", path, exc)
        return None


def compare_docx_tables(file1: Any, file2: Any, **_: Any) -> float:
    d1, d2 = _doc(file1), _doc(file2)
    if d1 is None or d2 is None or len(d1.tables) != len(d2.tables):
        return 0.0
    for t1, t2 in zip(d1.tables, d2.tables, strict=True):
        cells1 = [[c.text.strip() for c in row.cells] for row in t1.rows]
        cells2 = [[c.text.strip() for c in row.cells] for row in t2.rows]
        if cells1 != cells2:
            return 0.0
    return 1.0


def compare_docx_lines(file1: Any, file2: Any, **_: Any) -> float:
    d1, d2 = _doc(file1), _doc(file2)
    if d1 is None or d2 is None:
        return 0.0
    lines1 = {p.text.strip() for p in d1.paragraphs if p.text.strip()}
    lines2 = {p.text.strip() for p in d2.paragraphs if p.text.strip()}
    return float(lines1 == lines2)


def compare_line_spacing(file1: Any, file2: Any, **_: Any) -> float:
    if not compare_docx_files(file1, file2):
        return 0.0
    d1, d2 = _doc(file1), _doc(file2)
    if d1 is None or d2 is None or len(d1.paragraphs) != len(d2.paragraphs):
        return 0.0
    return float(
        all(
            a.paragraph_format.line_spacing == b.paragraph_format.line_spacing
            for a, b in zip(d1.paragraphs, d2.paragraphs, strict=True)
        )
    )


def compare_font_names(file1: Any, rules: dict[str, Any], **_: Any) -> float:
    d = _doc(file1)
    if d is None:
        return 0.0
    want = rules.get("font_name")
    return float(all(r.font.name == want for p in d.paragraphs for r in p.runs))


def is_first_line_centered(file1: Any, *_: Any, **__: Any) -> float:
    from docx.enum.text import WD_PARAGRAPH_ALIGNMENT

    d = _doc(file1)
    if d is None or not d.paragraphs:
        return 0.0
    return float(d.paragraphs[0].paragraph_format.alignment == WD_PARAGRAPH_ALIGNMENT.CENTER)


def has_page_numbers_in_footers(file1: Any, *_: Any, **__: Any) -> float:
    d = _doc(file1)
    if d is None or not d.sections:
        return 0.0
    for section in d.sections:
        footer = section.footer
        text = "".join(p.text for p in footer.paragraphs) if footer is not None else ""
        # a PAGE field's code sits in w:instrText / w:fldSimple, which Paragraph.text leaves out
        codes = (
            ""
            if footer is None
            else "".join(
                (el.text or "") + (el.get(f"{_W}instr") or "")
                for el in footer.part.element.iter(f"{_W}instrText", f"{_W}fldSimple")
            )
        )
        if not (any(ch.isdigit() for ch in text) or "PAGE" in codes):
            return 0.0
    return 1.0


def contains_page_break(file1: Any, *_: Any, **__: Any) -> float:
    d = _doc(file1)
    if d is None:
        return 0.0
    for p in d.paragraphs:
        if p.paragraph_format.page_break_before:
            return 1.0
        for run in p.runs:
            if any(br.get(f"{_W}type") == "page" for br in run.element.iter(f"{_W}br")):
                return 1.0
    return 0.0


def evaluate_strike_through_last_paragraph(file1: Any, file2: Any, **_: Any) -> float:
    if not compare_docx_files(file1, file2):
        return 0.0
    d = _doc(file1)
    if d is None or not d.paragraphs:
        return 0.0
    runs = [r for r in d.paragraphs[-1].runs if r.text.strip()]
    return float(bool(runs) and all(r.font.strike for r in runs))


def check_italic_font_size_14(file1: Any, file2: Any, **_: Any) -> float:
    if not compare_docx_files(file1, file2):
        return 0.0
    d = _doc(file1)
    if d is None:
        return 0.0
    italic = [r for p in d.paragraphs for r in p.runs if r.italic]
    return float(all(r.font.size is not None and r.font.size.pt == 14 for r in italic))


def check_tabstops(file1: Any, file2: Any, **options: Any) -> float:
    from docx.enum.text import WD_TAB_ALIGNMENT

    d1, d2 = _doc(file1), _doc(file2)
    if d1 is None or d2 is None or not d2.sections:
        return 0.0
    para1 = [p for p in d1.paragraphs if p.text.strip()]
    para2 = [p for p in d2.paragraphs if p.text.strip()]
    if not para1 or len(para1) != len(para2):
        return 0.0
    words = options.get("word_number_split_by_tabstop")
    if words is not None:
        index = int(options.get("index", 0))
        for p in para1:
            splits = p.text.split("\t")
            if index >= len(splits) or len(splits[index].split()) != int(words):
                return 0.0

    def stops(p: Any) -> list[Any]:
        return [
            t
            for t in p.paragraph_format.tab_stops
            if not (t.alignment == WD_TAB_ALIGNMENT.CLEAR or (t.alignment == WD_TAB_ALIGNMENT.LEFT and t.position == 0))
        ]

    section = d2.sections[0]
    width = (section.page_width or 0) - (section.left_margin or 0) - (section.right_margin or 0)
    if width <= 0:
        return 0.0
    minus = 0.0
    for p1, p2 in zip(para1, para2, strict=True):
        t1, t2 = stops(p1), stops(p2)
        if len(t1) != len(t2) or any(a.alignment != b.alignment for a, b in zip(t1, t2, strict=True)):
            return 0.0
        minus += sum(abs(a.position - b.position) for a, b in zip(t1, t2, strict=True)) / width
    return max(0.0, 1.0 - minus / len(para1))


def compare_subscript_contains(file1: Any, file2: Any, **_: Any) -> float:
    d1, d2 = _doc(file1), _doc(file2)
    if d1 is None or d2 is None:
        return 0.0
    for p1, p2 in zip(d1.paragraphs, d2.paragraphs, strict=False):
        for r1, r2 in zip(p1.runs, p2.runs, strict=False):
            if r1.font.subscript and r2.font.subscript:
                return 1.0
    return 0.0


def _highlighted(path: Any) -> list[str] | None:
    from envs.odf_text import is_odf, odt_highlighted

    if is_odf(path):
        try:
            return odt_highlighted(path)
        except Exception as exc:  # noqa: BLE001 - unreadable -> 0
            log.info("cannot read %s: %s", path, exc)
            return None
    d = _doc(path)
    if d is None:
        return None
    return [r.text for p in d.paragraphs for r in p.runs if r.font.highlight_color is not None and r.text.strip()]


def check_highlighted_words(file1: Any, file2: Any, **_: Any) -> float:
    if not compare_docx_files(file1, file2):
        return 0.0
    marked = _highlighted(file1)
    return float(marked is not None and not marked)


def compare_contains_image(file1: Any, file2: Any, **_: Any) -> float:
    d1, d2 = _doc(file1), _doc(file2)
    if d1 is None or d2 is None:
        return 0.0

    def has_picture(run: Any) -> bool:
        return any(True for _ in run.element.iter("{http://schemas.openxmlformats.org/drawingml/2006/main}graphicData"))

    for p1, p2 in zip(d1.paragraphs, d2.paragraphs, strict=False):
        for r1, r2 in zip(p1.runs, p2.runs, strict=False):
            if has_picture(r1) != has_picture(r2):
                return 0.0
    return 1.0


def color_distance(rgb1: tuple[int, int, int], rgb2: tuple[int, int, int]) -> float:
    """CIEDE2000 colour difference of two sRGB colours (0 = same; ~2.3 is just noticeable)."""
    import numpy as np
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab = rgb2lab(np.array([[rgb1, rgb2]], dtype=float) / 255.0)
    return float(deltaE_ciede2000(lab[0, 0], lab[0, 1]))  # type: ignore[no-untyped-call]


def evaluate_colored_words_in_tables(file1: Any, file2: Any, **options: Any) -> float:
    if not compare_docx_files(file1, file2):
        return 0.0
    d = _doc(file1)
    if d is None:
        return 0.0
    threshold = float(options.get("threshold", 3.5))
    for table in d.tables:
        for row in table.rows:
            for cell in row.cells:
                for run in (r for p in cell.paragraphs for r in p.runs if r.text):
                    color = run.font.color.rgb if run.font.color is not None and run.font.color.type else None
                    if color is None:
                        return 0.0
                    want = (255, 0, 0) if run.text[0].lower() in "aeiou" else (0, 0, 255)
                    if color_distance((color[0], color[1], color[2]), want) > threshold:
                        return 0.0
    return 1.0


METRICS: dict[str, Callable[..., float]] = {
    "compare_docx_tables": compare_docx_tables,
    "compare_docx_lines": compare_docx_lines,
    "compare_line_spacing": compare_line_spacing,
    "compare_font_names": compare_font_names,
    "is_first_line_centered": is_first_line_centered,
    "has_page_numbers_in_footers": has_page_numbers_in_footers,
    "contains_page_break": contains_page_break,
    "evaluate_strike_through_last_paragraph": evaluate_strike_through_last_paragraph,
    "check_italic_font_size_14": check_italic_font_size_14,
    "check_tabstops": check_tabstops,
    "compare_subscript_contains": compare_subscript_contains,
    "check_highlighted_words": check_highlighted_words,
    "compare_contains_image": compare_contains_image,
    "evaluate_colored_words_in_tables": evaluate_colored_words_in_tables,
}
