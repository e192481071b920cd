"""Office metrics with OSWorld's names: spreadsheets, documents, presentations and PDFs.

Built on openpyxl, python-docx, python-pptx and pypdf (imported when a metric runs). Each metric takes the
paths its getters returned (``vm_file`` copies out of the sandbox, ``cloud_file`` gold files from the mirror)
and returns 0.0..1.0; a missing or unreadable file scores 0.

=======================  ====================================================================================
``compare_table``        ``rules``: ``sheet_name``, ``sheet_data`` (values, ``precision``), ``sheet_print``
                         (values as text, ``ignore_case``), ``check_cell`` (``props.value`` with ``method``
                         eq/ne/lt/le/gt/ge/approx:<tol>/str_contains..., or a cell style: bgcolor,
                         font_bold/italic/underline/color/name/size, number_format), ``sheet_fuzzy`` (``rules``
                         of range + ``type``), ``freeze``, ``zoom`` (``method`` + ``ref``), ``style`` (``props``
                         of every non-empty cell), ``row_props`` / ``col_props`` (hidden, height/width),
                         ``data_validation`` (``dv_props``: ranges, type, formula1, ... with
                         ``method`` eq, str_set_eq, spreadsheet_range, range.XY ...),
                         ``chart`` (``chart_props``: type, direction, title, legend, xtitle, ytitle) and
                         ``pivot_table`` (``pivot_props``: row_fields, col_fields, filter, data_fields), read
                         from the package XML by :mod:`envs.xlsx_parts`.
                         Without rules: every sheet's values equal. Sheets are named ``RI0``/``EI0`` (result /
                         expected by index) or ``RNSheet1``/``ENSheet1`` (by name), or an int (both, index).
``compare_docx_files``   paragraph texts (.docx, or .odt read by :mod:`envs.odf_text`); ``ignore_blanks``
                         (default true), ``ignore_case``, ``ignore_order``, ``content_only`` (difflib ratio of
                         the whole text)
``compare_pptx_files``   slide count, per shape text, position/size (``examine_shape``) and run fonts
                         (``examine_font_name``/``size``/``bold``/``italic``/``underline``, ``examine_color_rgb``),
                         paragraph alignment, notes; other ``examine_*`` options are accepted and ignored
``compare_pdfs``         text of every page (pypdf), difflib ratio; lists of paths compare pairwise (mean)
=======================  ====================================================================================
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Grid = list[list[Any]]


def _exists(path: Any) -> bool:
    return isinstance(path, (str, Path)) and Path(str(path)).is_file()


# ---------------------------------------------------------------- spreadsheets


def load_book(path: Any) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(str(path), data_only=True, read_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file scores 0
        log.info("cannot read workbook %s: %s", path, exc)
        return None


def _grid(ws: Any) -> Grid:
    """Cell values of a worksheet, trailing empty rows and columns removed."""
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    rows = [[None if (isinstance(v, str) and v == "") else v for v in r] for r in rows]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, v in enumerate(r) if v is not None), default=0) for r in rows), default=0)
    return [r[:width] + [None] * (width - len(r)) for r in rows]


def _norm_value(v: Any, precision: int) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return round(float(v), precision)
    return v


def _sheet(ref: Any, result_book: Any, expected_book: Any) -> Any:
    """The worksheet ``ref`` names (``RI0``, ``EI1``, ``RNSheet1``, ``ENTotals`` or an int index)."""
    if isinstance(ref, int):
        book, kind, key = result_book, "I", str(ref)
    else:
        text = str(ref)
        if len(text) < 3 or text[0] not in "RE" or text[1] not in "IN":
            raise ValueError(f"sheet reference {ref!r} must look like RI0, EI0, RNSheet1 or ENSheet1")
        book = result_book if text[0] == "R" else expected_book
        kind, key = text[1], text[2:]
    if book is None:
        return None
    if kind == "I":
        idx = int(key)
        return book.worksheets[idx] if 0 <= idx < len(book.worksheets) else None
    return book[key] if key in book.sheetnames else None


def method_ok(value: Any, rule: dict[str, Any]) -> bool:
    """OSWorld's ``{"method": ..., "ref": ...}`` match of one value (eq, ne, lt..ge, approx:<tol>, str_*, re.*,
    str_set_eq, spreadsheet_range, range.XY)."""
    method = str(rule.get("method", "eq"))
    ref = rule.get("ref")
    if method == "eq":
        return bool(value == ref)
    if method == "ne":
        return bool(value != ref)
    compare: dict[str, Callable[[float, float], bool]] = {
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
    }
    if method in compare:
        try:
            return compare[method](float(value), float(str(ref)))
        except (TypeError, ValueError):
            return False
    if method.startswith("approx"):
        tol = float(method.split(":", 1)[1]) if ":" in method else 1e-6
        try:
            return abs(float(value) - float(str(ref))) <= tol
        except (TypeError, ValueError):
            return False
    text, want = str(value), str(ref)
    checks: dict[str, Callable[[], bool]] = {
        "str_contains": lambda: want in text,
        "str_list_eq": lambda: isinstance(ref, list) and text.split(",") == ref,
        "str_startswith": lambda: text.startswith(want),
        "str_endswith": lambda: text.endswith(want),
        "lower_eq": lambda: text.lower() == want.lower(),
        "re.match": lambda: re.match(want, text) is not None,
        "re.search": lambda: re.search(want, text) is not None,
    }
    fn = checks.get(method)
    if fn is not None:
        return bool(fn())
    return _method_ok_more(value, method, ref)


def _ranges_cover(outer: Any, inner: Any) -> bool:
    """Every range of ``inner`` lies inside some range of ``outer`` (both MultiCellRange or text)."""
    from openpyxl.worksheet.cell_range import MultiCellRange

    outer_r, inner_r = MultiCellRange(str(outer)), MultiCellRange(str(inner))
    return all(any(i.issubset(o) for o in outer_r.ranges) for i in inner_r.ranges)


def _method_ok_more(value: Any, method: str, ref: Any) -> bool:
    """OSWorld's other match methods: ``str_set_eq`` (comma list as a set), ``spreadsheet_range``
    (``ref = [at least, at most]``: the ranges cover the first and lie inside the second) and ``range.XY``
    (``ref = [lo, hi]``, X/Y ``e`` inclusive or ``t`` strict, e.g. ``range.te``: lo < v <= hi)."""
    if method == "str_set_eq":
        return isinstance(ref, list) and set(str(value).strip("\"'").split(",")) == {str(r) for r in ref}
    if method == "spreadsheet_range":
        if not isinstance(ref, list) or len(ref) != 2 or value is None:
            return False
        return _ranges_cover(value, ref[0]) and _ranges_cover(ref[1], value)
    if method.startswith("range.") and len(method) == 8 and isinstance(ref, list) and len(ref) == 2:
        lo_ok = {"e": lambda a, b: a <= b, "t": lambda a, b: a < b}.get(method[6])
        hi_ok = {"e": lambda a, b: a <= b, "t": lambda a, b: a < b}.get(method[7])
        try:
            v = float(value)
            return bool(lo_ok and hi_ok and lo_ok(float(ref[0]), v) and hi_ok(v, float(ref[1])))
        except (TypeError, ValueError):
            return False
    return False


DV_ATTRIBUTES = (
    "ranges",
    "type",
    "formula1",
    "formula2",
    "operator",
    "allowBlank",
    "showDropDown",
    "showInputMessage",
    "showErrorMessage",
    "error",
    "errorTitle",
    "errorStyle",
    "prompt",
    "promptTitle",
    "imeMode",
)


def _data_validation_ok(ws: Any, dv_props: list[dict[str, Any]]) -> bool:
    """OSWorld's ``data_validation`` rule: the sheet has at least as many validations as ``dv_props`` and every
    validation matches one entry of ``dv_props`` (each attribute by its ``{"method", "ref"}``)."""
    validations = list(ws.data_validations.dataValidation)
    if len(validations) < len(dv_props):
        return False
    return all(
        any(all(method_ok(getattr(dv, attr), want) for attr, want in props.items()) for props in dv_props)
        for dv in validations
    )


def _fuzzy_cell(a: Any, b: Any, rule: dict[str, Any]) -> bool:
    va, vb = "" if a is None else str(a), "" if b is None else str(b)
    for old, new in rule.get("normalization", []):
        va, vb = va.replace(old, new), vb.replace(old, new)
    if "trim_leadings" in rule:
        va, vb = va.lstrip(rule["trim_leadings"]), vb.lstrip(rule["trim_leadings"])
    if "trim_trailings" in rule:
        va, vb = va.rstrip(rule["trim_trailings"]), vb.rstrip(rule["trim_trailings"])
    for ch in rule.get("ignore_chars", ""):
        va, vb = va.replace(ch, ""), vb.replace(ch, "")
    if rule.get("ignore_case", False):
        va, vb = va.lower(), vb.lower()
    kind = rule.get("type", "exact_match")
    if kind == "includes":
        return vb in va
    if kind == "included_by":
        return va in vb
    if kind == "fuzzy_match":
        return difflib.SequenceMatcher(a=va, b=vb).ratio() * 100 >= float(rule.get("threshold", 85))
    return va == vb


def _cells_in(ranges: Any) -> list[str]:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.cell_range import MultiCellRange

    coords: list[str] = []
    for rng in MultiCellRange(" ".join(ranges) if isinstance(ranges, list) else str(ranges)):
        coords += [f"{get_column_letter(c)}{r}" for r, c in rng.cells]
    return coords


CELL_STYLES: dict[str, Callable[[Any], Any]] = {
    "bgcolor": lambda c: c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type else None,
    "font_bold": lambda c: bool(c.font.b),
    "font_italic": lambda c: bool(c.font.i),
    "font_underline": lambda c: c.font.u,
    "font_color": lambda c: c.font.color.rgb if c.font.color is not None else None,
    "font_name": lambda c: c.font.name,
    "font_size": lambda c: c.font.sz,
    "number_format": lambda c: c.number_format,
}


def _styles(ws: Any, props: list[str]) -> dict[str, list[Any]]:
    return {
        c.coordinate: [CELL_STYLES[p](c) for p in props] for row in ws.iter_rows() for c in row if c.value is not None
    }


def _dimension_props(ws: Any, kind: str, props: list[str]) -> dict[Any, list[Any]]:
    dims = ws.row_dimensions if kind == "row" else ws.column_dimensions
    names = {"hidden": "hidden", "height": "height", "width": "width", "outline_level": "outlineLevel"}
    return {k: [getattr(d, names.get(p, p), None) for p in props] for k, d in dims.items()}


def _parts(rule: dict[str, Any], rb: Any, eb: Any, paths: tuple[str, str | None], kind: str) -> bool:
    """``chart`` / ``pivot_table``: the listed props of every chart (pivot) of two sheets are equal."""
    from envs import xlsx_parts

    facts = []
    for ref in (rule["sheet_idx0"], rule["sheet_idx1"]):
        ws = _sheet(ref, rb, eb)
        if ws is None:
            return False
        path = paths[0] if ws.parent is rb else paths[1]
        if path is None:
            return False
        items = xlsx_parts.sheet_charts(path, ws.title) if kind == "chart" else xlsx_parts.sheet_pivots(path, ws.title)
        props = rule.get("chart_props" if kind == "chart" else "pivot_props") or []
        facts.append(sorted(repr([item.get(p) for p in props]) for item in items))
    return facts[0] == facts[1]


def _table_rule(  # noqa: C901 - flat dispatch on rule type
    rule: dict[str, Any], rb: Any, eb: Any, paths: tuple[str, str | None] = ("", None)
) -> bool:
    kind = rule.get("type")
    if kind in ("chart", "pivot_table"):
        return _parts(rule, rb, eb, paths, kind)
    if kind == "sheet_name":
        return eb is not None and list(rb.sheetnames) == list(eb.sheetnames)
    if kind in ("sheet_data", "sheet_print"):
        s1, s2 = _sheet(rule["sheet_idx0"], rb, eb), _sheet(rule["sheet_idx1"], rb, eb)
        if s1 is None or s2 is None:
            return False
        if kind == "sheet_data":
            p = int(rule.get("precision", 4))
            return [[_norm_value(v, p) for v in r] for r in _grid(s1)] == [
                [_norm_value(v, p) for v in r] for r in _grid(s2)
            ]
        low = bool(rule.get("ignore_case", False))

        def text(g: Grid) -> list[list[str]]:
            return [["" if v is None else (str(v).lower() if low else str(v)) for v in r] for r in g]

        return text(_grid(s1)) == text(_grid(s2))
    if kind == "check_cell":
        ws = _sheet(rule["sheet_idx"], rb, eb)
        if ws is None:
            return False
        cell = ws[rule["coordinate"]]
        for prop, want in rule.get("props", {}).items():
            if prop != "value" and prop not in CELL_STYLES:
                raise ValueError(f"check_cell property {prop!r} is not supported")
            have = cell.value if prop == "value" else CELL_STYLES[prop](cell)
            if not method_ok(have, want):
                return False
        return True
    if kind in ("freeze", "style", "row_props", "col_props"):
        s1, s2 = _sheet(rule["sheet_idx0"], rb, eb), _sheet(rule["sheet_idx1"], rb, eb)
        if s1 is None or s2 is None:
            return False
        if kind == "freeze":
            return bool(s1.freeze_panes == s2.freeze_panes)
        props = list(rule.get("props", []))
        if kind == "style":
            return _styles(s1, props) == _styles(s2, props)
        dim = "row" if kind == "row_props" else "col"
        return _dimension_props(s1, dim, props) == _dimension_props(s2, dim, props)
    if kind == "data_validation":
        ws = _sheet(rule["sheet_idx"], rb, eb)
        return ws is not None and _data_validation_ok(ws, list(rule.get("dv_props", [])))
    if kind == "zoom":
        ws = _sheet(rule["sheet_idx"], rb, eb)
        return ws is not None and method_ok(float(ws.sheet_view.zoomScale or 100), rule)
    if kind == "sheet_fuzzy":
        s1, s2 = _sheet(rule["sheet_idx0"], rb, eb), _sheet(rule["sheet_idx1"], rb, eb)
        if s1 is None or s2 is None:
            return False
        return all(
            _fuzzy_cell(s1[c].value, s2[c].value, r) for r in rule.get("rules", []) for c in _cells_in(r["range"])
        )
    raise ValueError(f"compare_table rule type {kind!r} is not supported")


TABLE_RULES = (
    "sheet_name",
    "sheet_data",
    "sheet_print",
    "check_cell",
    "sheet_fuzzy",
    "freeze",
    "zoom",
    "style",
    "row_props",
    "col_props",
    "chart",
    "pivot_table",
    "data_validation",
)


def compare_table(result: Any, expected: Any = None, **options: Any) -> float:
    """1 if the result workbook passes every rule (see the module docstring)."""
    if not _exists(result):
        return 0.0
    rb = load_book(result)
    if rb is None:
        return 0.0
    eb = load_book(expected) if _exists(expected) else None
    rules = options.get("rules")
    if not rules:
        if eb is None:
            return 0.0
        rules = [{"type": "sheet_name"}] + [
            {"type": "sheet_data", "sheet_idx0": i, "sheet_idx1": f"EI{i}"} for i in range(len(eb.worksheets))
        ]
    try:
        paths = (str(result), str(expected) if eb is not None else None)
        return float(all(_table_rule(r, rb, eb, paths) for r in rules))
    except (KeyError, ValueError, TypeError) as exc:
        log.info("compare_table: %s", exc)
        return 0.0


def check_table_options(options: dict[str, Any]) -> list[str]:
    """Problems with ``compare_table`` options (unsupported rule types or properties)."""
    problems = []
    for r in options.get("rules", []) or []:
        kind = r.get("type") if isinstance(r, dict) else None
        if kind not in TABLE_RULES:
            problems.append(f"compare_table rule type '{kind}' is not supported; supported: {', '.join(TABLE_RULES)}")
        elif kind in ("check_cell", "style"):
            props = r.get("props", {})
            extra = sorted(set(props) - {"value", *CELL_STYLES})
            if extra:
                problems.append(f"compare_table {kind} properties {extra} are not supported")
        elif kind == "data_validation":
            attrs = {a for p in r.get("dv_props", []) if isinstance(p, dict) for a in p}
            extra = sorted(attrs - set(DV_ATTRIBUTES))
            if extra:
                problems.append(f"compare_table data_validation attributes {extra} are not supported")
    return problems


# ---------------------------------------------------------------- documents


def docx_paragraphs(path: Any) -> list[str] | None:
    """Paragraph texts of a .docx (python-docx) or an .odt (:mod:`envs.odf_text`); None if unreadable."""
    import docx

    from envs.odf_text import is_odf, odt_paragraphs

    try:
        if is_odf(path):
            return odt_paragraphs(path)
        return [p.text for p in docx.Document(str(path)).paragraphs]
    except Exception as exc:  # noqa: BLE001 - unreadable -> 0
        log.info("cannot read document %s: %s", path, exc)
        return None


def compare_docx_files(file1: Any, file2: Any, **options: Any) -> float:
    """1 if two .docx files hold the same paragraph texts (see the module docstring for options)."""
    if not (_exists(file1) and _exists(file2)):
        return 0.0
    p1, p2 = docx_paragraphs(file1), docx_paragraphs(file2)
    if p1 is None or p2 is None:
        return 0.0
    if options.get("ignore_order", False):
        p1, p2 = sorted(p1), sorted(p2)
    ignore_case = bool(options.get("ignore_case", False))
    if options.get("content_only", False) or options.get("ignore_blanks", True):
        t1 = re.sub(r"\s+", " ", "\n".join(p1)).strip()
        t2 = re.sub(r"\s+", " ", "\n".join(p2)).strip()
        if ignore_case:
            t1, t2 = t1.lower(), t2.lower()
        if options.get("content_only", False):
            return difflib.SequenceMatcher(a=t1, b=t2).ratio()
        return float(t1 == t2)
    if ignore_case:
        p1, p2 = [p.lower() for p in p1], [p.lower() for p in p2]
    return float(p1 == p2)


# ---------------------------------------------------------------- presentations


def _run_facts(run: Any, options: dict[str, Any]) -> tuple[Any, ...]:
    font = run.font
    color = None
    if options.get("examine_color_rgb", True):
        try:
            color = str(font.color.rgb) if font.color and font.color.type is not None else None
        except AttributeError:
            color = None
    return (
        run.text,
        font.name if options.get("examine_font_name", True) else None,
        font.size if options.get("examine_font_size", True) else None,
        font.bold if options.get("examine_font_bold", True) else None,
        font.italic if options.get("examine_font_italic", True) else None,
        font.underline if options.get("examine_font_underline", True) else None,
        color,
    )


def _shape_facts(shape: Any, options: dict[str, Any]) -> tuple[Any, ...]:
    geometry = (shape.left, shape.top, shape.width, shape.height) if options.get("examine_shape", True) else None
    paragraphs: list[tuple[Any, ...]] = []
    if shape.has_text_frame:
        for p in shape.text_frame.paragraphs:
            align = p.alignment if options.get("examine_alignment", True) else None
            paragraphs.append((align, tuple(_run_facts(r, options) for r in p.runs)))
    text = shape.text_frame.text if shape.has_text_frame else None
    return (geometry, text if options.get("examine_text", True) else None, tuple(paragraphs))


def _slides(path: Any, options: dict[str, Any]) -> list[tuple[Any, ...]] | None:
    from pptx import Presentation

    try:
        prs = Presentation(str(path))
    except Exception as exc:  # noqa: BLE001 - unreadable -> 0
        log.info("cannot read presentation %s: %s", path, exc)
        return None
    out = []
    for slide in prs.slides:
        notes = None
        if options.get("examine_note", True) and slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame.text if slide.notes_slide.notes_text_frame else None
        out.append((tuple(_shape_facts(s, options) for s in slide.shapes), notes))
    return out


def compare_pptx_files(file1: Any, file2: Any, **options: Any) -> float:
    """1 if two .pptx files match slide by slide (see the module docstring)."""
    if not (_exists(file1) and _exists(file2)):
        return 0.0
    s1, s2 = _slides(file1, options), _slides(file2, options)
    if s1 is None or s2 is None:
        return 0.0
    if options.get("examine_number_of_slides", True) and len(s1) != len(s2):
        return 0.0
    return float(all(a == b for a, b in zip(s1, s2, strict=False)))


# ---------------------------------------------------------------- PDF


def _pdf_text(path: Any) -> str | None:
    from pypdf import PdfReader

    try:
        return "".join(page.extract_text() or "" for page in PdfReader(str(path)).pages).strip()
    except Exception as exc:  # noqa: BLE001 - unreadable -> 0
        log.info("cannot read PDF %s: %s", path, exc)
        return None


def compare_pdfs(pdf1: Any, pdf2: Any, **_: Any) -> float:
    """difflib ratio of the two PDFs' text (lists compare pairwise; the mean)."""
    pairs = list(zip(pdf1, pdf2, strict=False)) if isinstance(pdf2, list) else [(pdf1, pdf2)]
    if not pairs:
        return 0.0
    total = 0.0
    for a, b in pairs:
        if not (_exists(a) and _exists(b)):
            continue
        ta, tb = _pdf_text(a), _pdf_text(b)
        if ta is None or tb is None:
            continue
        total += difflib.SequenceMatcher(a=ta, b=tb).ratio()
    return total / len(pairs)


METRICS: dict[str, Callable[..., float]] = {
    "compare_table": compare_table,
    "compare_docx_files": compare_docx_files,
    "compare_pptx_files": compare_pptx_files,
    "compare_pdfs": compare_pdfs,
}

OPTION_CHECKS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "compare_table": check_table_options,
}
