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
}
