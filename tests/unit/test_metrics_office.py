"""Office metrics on files made here with openpyxl, python-docx and python-pptx (and a tiny hand-written PDF)."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.metrics import METRIC_OPTION_CHECKS, METRICS
from envs.metrics_office import compare_docx_files, compare_pdfs, compare_pptx_files, compare_table


def _xlsx(path: Path, rows: list[list[object]], title: str = "Sheet1", extra: str | None = None) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for r in rows:
        ws.append(r)
    if extra:
        wb.create_sheet(extra)
    wb.save(path)
    return path


def test_compare_table_rules(tmp_path: Path) -> None:
    gold = _xlsx(tmp_path / "gold.xlsx", [["Name", "Score"], ["Ann", 1.00001], ["Bob", 2]])
    same = _xlsx(tmp_path / "same.xlsx", [["Name", "Score"], ["Ann", 1.0], ["Bob", 2], [None, None]])
    other = _xlsx(tmp_path / "other.xlsx", [["Name", "Score"], ["Ann", 1.0], ["Bob", 3]])
    renamed = _xlsx(tmp_path / "renamed.xlsx", [["Name", "Score"], ["Ann", 1.0], ["Bob", 2]], title="Data")
    assert compare_table(str(same), str(gold)) == 1.0  # default: sheet names + every sheet's data
    assert compare_table(str(other), str(gold)) == 0.0
    assert compare_table(str(renamed), str(gold)) == 0.0
    data_rule = {"rules": [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0", "precision": 2}]}
    assert compare_table(str(renamed), str(gold), **data_rule) == 1.0
    strict = {"rules": [{"type": "sheet_data", "sheet_idx0": "RNData", "sheet_idx1": "ENSheet1", "precision": 6}]}
    assert compare_table(str(renamed), str(gold), **strict) == 0.0  # 1.00001 vs 1.0 at 6 digits
    cell = {
        "rules": [
            {"type": "check_cell", "sheet_idx": 0, "coordinate": "B3", "props": {"value": {"method": "eq", "ref": 2}}}
        ]
    }
    assert compare_table(str(same), **cell) == 1.0
    assert compare_table(str(other), **cell) == 0.0
    fuzzy = {
        "rules": [
            {
                "type": "sheet_fuzzy",
                "sheet_idx0": "RI0",
                "sheet_idx1": "EI0",
                "rules": [{"range": ["A1:A3"], "type": "exact_match", "ignore_case": True}],
            }
        ]
    }
    upper = _xlsx(tmp_path / "upper.xlsx", [["NAME"], ["ANN"], ["BOB"]])
    assert compare_table(str(upper), str(gold), **fuzzy) == 1.0
    assert compare_table(None, str(gold)) == 0.0
    assert compare_table(str(tmp_path / "missing.xlsx"), str(gold)) == 0.0
    (tmp_path / "junk.xlsx").write_bytes(b"not a workbook")
    assert compare_table(str(tmp_path / "junk.xlsx"), str(gold)) == 0.0


def test_compare_table_option_check_lists_unsupported_rules() -> None:
    check = METRIC_OPTION_CHECKS["compare_table"]
    assert check({"rules": [{"type": "sheet_data"}, {"type": "check_cell", "props": {"value": {}}}]}) == []
    problems = check({"rules": [{"type": "sparkline"}, {"type": "check_cell", "props": {"font_shadow": {}}}]})
    assert len(problems) == 2 and "sparkline" in problems[0] and "font_shadow" in problems[1]


def _docx(path: Path, paragraphs: list[str]) -> Path:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def test_compare_docx_files(tmp_path: Path) -> None:
    a = _docx(tmp_path / "a.docx", ["Hello  world", "Second"])
    b = _docx(tmp_path / "b.docx", ["Hello world", "Second"])
    c = _docx(tmp_path / "c.docx", ["second", "hello world"])
    assert compare_docx_files(str(a), str(b)) == 1.0  # ignore_blanks defaults to true
    assert compare_docx_files(str(a), str(b), ignore_blanks=False) == 0.0
    assert compare_docx_files(str(b), str(c)) == 0.0
    assert compare_docx_files(str(b), str(c), ignore_order=True, ignore_case=True, ignore_blanks=False) == 1.0
    assert 0.5 < compare_docx_files(str(a), str(c), content_only=True, ignore_case=True) < 1.0
    assert compare_docx_files(None, str(b)) == 0.0


def _pptx(path: Path, titles: list[str], *, bold: bool = False) -> Path:
    from pptx import Presentation

    prs = Presentation()
    for t in titles:
        slide = prs.slides.add_slide(prs.slide_layouts[0])
        assert slide.shapes.title is not None
        slide.shapes.title.text = t
        if bold:
            slide.shapes.title.text_frame.paragraphs[0].runs[0].font.bold = True
    prs.save(str(path))
    return path


def test_compare_pptx_files(tmp_path: Path) -> None:
    a = _pptx(tmp_path / "a.pptx", ["One", "Two"])
    b = _pptx(tmp_path / "b.pptx", ["One", "Two"])
    assert compare_pptx_files(str(a), str(b)) == 1.0
    assert compare_pptx_files(str(a), str(_pptx(tmp_path / "c.pptx", ["One", "Three"]))) == 0.0
    assert compare_pptx_files(str(a), str(_pptx(tmp_path / "d.pptx", ["One"]))) == 0.0
    bold = _pptx(tmp_path / "e.pptx", ["One", "Two"], bold=True)
    assert compare_pptx_files(str(a), str(bold)) == 0.0
    assert compare_pptx_files(str(a), str(bold), examine_font_bold=False) == 1.0
    assert compare_pptx_files(str(a), None) == 0.0


def _pdf(path: Path, text: str) -> Path:
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(out)
    return path


def test_compare_pdfs(tmp_path: Path) -> None:
    a = _pdf(tmp_path / "a.pdf", "Quarterly report")
    b = _pdf(tmp_path / "b.pdf", "Quarterly report")
    c = _pdf(tmp_path / "c.pdf", "Something else entirely")
    assert compare_pdfs(str(a), str(b)) == pytest.approx(1.0)
    assert compare_pdfs(str(a), str(c)) < 0.6
    assert compare_pdfs([str(a), str(a)], [str(b), str(c)]) == pytest.approx((1.0 + compare_pdfs(str(a), str(c))) / 2)
    assert compare_pdfs(str(a), str(tmp_path / "missing.pdf")) == 0.0


def test_office_metrics_registered() -> None:
    for name in ("compare_table", "compare_docx_files", "compare_pptx_files", "compare_pdfs"):
        assert name in METRICS


def test_compare_table_layout_and_style_rules(tmp_path: Path) -> None:
    import openpyxl
    from openpyxl.styles import Font

    def book(name: str, *, bold: bool, freeze: str | None, hidden: bool) -> Path:
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(["Name", "Score"])
        ws["A1"].font = Font(b=bold)
        ws.freeze_panes = freeze
        ws.row_dimensions[1].hidden = hidden
        ws.sheet_view.zoomScale = 150
        wb.save(tmp_path / name)
        return tmp_path / name

    gold = book("gold.xlsx", bold=True, freeze="A2", hidden=True)
    plain = book("plain.xlsx", bold=False, freeze=None, hidden=False)
    for rule in (
        {"type": "freeze", "sheet_idx0": 0, "sheet_idx1": "EI0"},
        {"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["font_bold"]},
        {"type": "row_props", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["hidden"]},
    ):
        assert compare_table(str(gold), str(gold), rules=[rule]) == 1.0, rule
        assert compare_table(str(plain), str(gold), rules=[rule]) == 0.0, rule
    assert compare_table(str(gold), rules=[{"type": "zoom", "sheet_idx": 0, "method": "gt", "ref": 120}]) == 1.0
    assert compare_table(str(gold), rules=[{"type": "zoom", "sheet_idx": 0, "method": "lt", "ref": 120}]) == 0.0
    cell = {
        "type": "check_cell",
        "sheet_idx": 0,
        "coordinate": "A1",
        "props": {"font_bold": {"method": "eq", "ref": True}},
    }
    assert compare_table(str(gold), rules=[cell]) == 1.0 and compare_table(str(plain), rules=[cell]) == 0.0


def test_writer_metrics(tmp_path: Path) -> None:
    import docx
    from docx.enum.text import WD_BREAK, WD_PARAGRAPH_ALIGNMENT
    from docx.shared import Pt

    from envs.metrics_writer import METRICS as W

    d = docx.Document()
    first = d.add_paragraph("Title")
    first.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
    run = d.add_paragraph().add_run("quote")
    run.italic = True
    run.font.size = Pt(14)
    d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    struck = d.add_paragraph().add_run("old")
    struck.font.strike = True
    t = d.add_table(rows=1, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "a", "b"
    d.save(str(tmp_path / "a.docx"))
    plain = _docx(tmp_path / "b.docx", ["Title", "quote", "", "old"])
    a = str(tmp_path / "a.docx")
    assert W["is_first_line_centered"](a) == 1.0 and W["is_first_line_centered"](str(plain)) == 0.0
    assert W["contains_page_break"](a) == 1.0 and W["contains_page_break"](str(plain)) == 0.0
    assert W["check_italic_font_size_14"](a, a) == 1.0
    assert W["evaluate_strike_through_last_paragraph"](a, a) == 1.0
    assert W["evaluate_strike_through_last_paragraph"](str(plain), str(plain)) == 0.0
    assert W["compare_docx_tables"](a, a) == 1.0 and W["compare_docx_tables"](a, str(plain)) == 0.0
    assert W["compare_docx_lines"](a, str(plain)) == 1.0
    assert W["compare_font_names"](str(plain), {"font_name": "Nope"}) == 0.0
    assert W["has_page_numbers_in_footers"](a) == 0.0
    assert W["compare_line_spacing"](a, a) == 1.0


def test_compare_table_chart_rule(tmp_path: Path) -> None:
    import openpyxl
    from openpyxl.chart import BarChart, LineChart, Reference

    def book(name: str, chart: object | None) -> Path:
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        for row in (["m", "v"], ["a", 1], ["b", 2]):
            ws.append(row)
        if chart is not None:
            chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=3), titles_from_data=True)  # type: ignore[attr-defined]
            chart.title = "Sales"  # type: ignore[attr-defined]
            ws.add_chart(chart, "D2")  # type: ignore[arg-type]
        wb.save(tmp_path / name)
        return tmp_path / name

    bar, line, none = book("bar.xlsx", BarChart()), book("line.xlsx", LineChart()), book("none.xlsx", None)
    rule = {"rules": [{"type": "chart", "sheet_idx0": 0, "sheet_idx1": "EI0", "chart_props": ["type", "title"]}]}
    assert compare_table(str(bar), str(bar), **rule) == 1.0
    assert compare_table(str(line), str(bar), **rule) == 0.0
    assert compare_table(str(none), str(bar), **rule) == 0.0
    from envs.xlsx_parts import sheet_charts

    assert (
        sheet_charts(str(bar), "Sheet")[0]["type"] == ["barChart"]
        and sheet_charts(str(bar), "Sheet")[0]["title"] == "Sales"
    )
