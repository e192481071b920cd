"""OSWorld's Calc data-validation rule and Writer checks, on files made here (openpyxl, python-docx, zipfile)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from envs.metrics import METRIC_OPTION_CHECKS, METRICS
from envs.metrics_office import compare_docx_files, compare_table
from envs.metrics_writer import (
    check_highlighted_words,
    check_tabstops,
    color_distance,
    compare_contains_image,
    compare_subscript_contains,
    evaluate_colored_words_in_tables,
)


def _validated(path: Path, formula: str, sqref: str) -> Path:
    import openpyxl
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Order", "Status"])
    if formula:
        dv = DataValidation(type="list", formula1=formula, allow_blank=True)
        dv.add(sqref)
        ws.add_data_validation(dv)
    wb.save(path)
    return path


DV_RULE = {
    "rules": [
        {
            "type": "data_validation",
            "sheet_idx": 0,
            "dv_props": [
                {
                    "ranges": {"method": "spreadsheet_range", "ref": ["B2:B29", "B2:B1048576"]},
                    "type": {"method": "eq", "ref": "list"},
                    "formula1": {"method": "str_set_eq", "ref": ["Pass", "Fail", "Held"]},
                }
            ],
        }
    ]
}


def test_data_validation_rule(tmp_path: Path) -> None:
    good = _validated(tmp_path / "good.xlsx", '"Held,Pass,Fail"', "B2:B40")
    assert compare_table(str(good), **DV_RULE) == 1.0
    assert compare_table(str(_validated(tmp_path / "none.xlsx", "", "")), **DV_RULE) == 0.0
    short = _validated(tmp_path / "short.xlsx", '"Pass,Fail,Held"', "B2:B10")  # does not cover B2:B29
    assert compare_table(str(short), **DV_RULE) == 0.0
    wrong = _validated(tmp_path / "wrong.xlsx", '"Pass,Fail"', "B2:B40")
    assert compare_table(str(wrong), **DV_RULE) == 0.0
    assert METRIC_OPTION_CHECKS["compare_table"](DV_RULE) == []
    bad = {"rules": [{"type": "data_validation", "sheet_idx": 0, "dv_props": [{"colour": {}}]}]}
    assert "colour" in METRIC_OPTION_CHECKS["compare_table"](bad)[0]


def test_range_methods(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = 2
    wb.save(tmp_path / "n.xlsx")

    def check(method: str, ref: list[int]) -> float:
        rule = {
            "type": "check_cell",
            "sheet_idx": 0,
            "coordinate": "A1",
            "props": {"value": {"method": method, "ref": ref}},
        }
        return compare_table(str(tmp_path / "n.xlsx"), rules=[rule])

    assert check("range.te", [0, 2]) == 1.0  # 0 < 2 <= 2
    assert check("range.tt", [0, 2]) == 0.0
    assert check("range.ee", [2, 3]) == 1.0


def _docx(path: Path, paragraphs: list[str], **style: object) -> Path:
    import docx

    d = docx.Document()
    for text in paragraphs:
        p = d.add_paragraph()
        run = p.add_run(text)
        if style.get("subscript_word") and style["subscript_word"] in text:
            p.clear()
            before, word, after = text.partition(str(style["subscript_word"]))
            p.add_run(before)
            sub = p.add_run(word)
            sub.font.subscript = True
            p.add_run(after)
        if style.get("tab_at") is not None:
            from docx.shared import Inches

            p.paragraph_format.tab_stops.add_tab_stop(Inches(float(str(style["tab_at"]))), style.get("align"))
        if style.get("highlight"):
            from docx.enum.text import WD_COLOR_INDEX

            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    d.save(str(path))
    return path


def test_tabstops(tmp_path: Path) -> None:
    from docx.enum.text import WD_TAB_ALIGNMENT

    right = WD_TAB_ALIGNMENT.RIGHT
    gold = _docx(tmp_path / "g.docx", ["one two three\tfour five"], tab_at=6.0, align=right)
    same = _docx(tmp_path / "s.docx", ["one two three\tfour five"], tab_at=6.0, align=right)
    near = _docx(tmp_path / "n.docx", ["one two three\tfour five"], tab_at=5.5, align=right)
    none = _docx(tmp_path / "x.docx", ["one two three\tfour five"])
    assert check_tabstops(str(same), str(gold), word_number_split_by_tabstop=3, index=0) == 1.0
    assert check_tabstops(str(same), str(gold), word_number_split_by_tabstop=2, index=0) == 0.0
    assert 0.8 < check_tabstops(str(near), str(gold)) < 1.0  # half an inch off over ~6 in of text
    assert check_tabstops(str(none), str(gold)) == 0.0


def test_subscript_and_images(tmp_path: Path) -> None:
    gold = _docx(tmp_path / "g.docx", ["Water is H2O."], subscript_word="2")
    done = _docx(tmp_path / "d.docx", ["Water is H2O."], subscript_word="2")
    plain = _docx(tmp_path / "p.docx", ["Water is H2O."])
    assert compare_subscript_contains(str(done), str(gold)) == 1.0
    assert compare_subscript_contains(str(plain), str(gold)) == 0.0

    import docx
    from PIL import Image

    Image.new("RGB", (20, 20), "red").save(tmp_path / "1.png")
    with_pic = docx.Document()
    with_pic.add_paragraph("Schedule")
    with_pic.add_paragraph().add_run().add_picture(str(tmp_path / "1.png"))
    with_pic.save(str(tmp_path / "pic.docx"))
    without = _docx(tmp_path / "nopic.docx", ["Schedule", ""])
    assert compare_contains_image(str(tmp_path / "pic.docx"), str(tmp_path / "pic.docx")) == 1.0
    assert compare_contains_image(str(without), str(tmp_path / "pic.docx")) == 0.0


def _odt(path: Path, spans: list[tuple[str, str | None]]) -> Path:
    """A minimal OpenDocument text: one paragraph of spans, each with an optional background colour."""
    styles = "".join(
        f'<style:style style:name="T{i}" style:family="text"><style:text-properties fo:background-color="{c}"/>'
        "</style:style>"
        for i, (_, c) in enumerate(spans)
        if c
    )
    body = "".join(f'<text:span text:style-name="T{i}">{t}</text:span>' if c else t for i, (t, c) in enumerate(spans))
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0">'
        f"<office:automatic-styles>{styles}</office:automatic-styles>"
        f"<office:body><office:text><text:p>{body}</text:p></office:text></office:body>"
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
    return path


def test_highlighted_words_odt_and_docx(tmp_path: Path) -> None:
    gold = _odt(tmp_path / "gold.odt", [("Call the ", None), ("customer", None), (" today.", None)])
    clean = _odt(tmp_path / "clean.odt", [("Call the ", None), ("customer", "transparent"), (" today.", None)])
    marked = _odt(tmp_path / "marked.odt", [("Call the ", None), ("customer", "#ffff00"), (" today.", None)])
    assert compare_docx_files(str(clean), str(gold)) == 1.0  # .odt text read too
    assert check_highlighted_words(str(clean), str(gold)) == 1.0
    assert check_highlighted_words(str(marked), str(gold)) == 0.0
    changed = _odt(tmp_path / "changed.odt", [("Call the client today.", None)])
    assert check_highlighted_words(str(changed), str(gold)) == 0.0
    dgold = _docx(tmp_path / "g.docx", ["Call the customer today."])
    dmarked = _docx(tmp_path / "m.docx", ["Call the customer today."], highlight=True)
    assert check_highlighted_words(str(dgold), str(dgold)) == 1.0
    assert check_highlighted_words(str(dmarked), str(dgold)) == 0.0


def _word_table(path: Path, words: list[tuple[str, tuple[int, int, int] | None]]) -> Path:
    import docx
    from docx.shared import RGBColor

    d = docx.Document()
    table = d.add_table(rows=1, cols=len(words))
    for cell, (word, rgb) in zip(table.rows[0].cells, words, strict=True):
        run = cell.paragraphs[0].add_run(word)
        if rgb is not None:
            run.font.color.rgb = RGBColor(*rgb)
    d.save(str(path))
    return path


def test_colored_words_in_tables(tmp_path: Path) -> None:
    gold = _word_table(tmp_path / "g.docx", [("apple", None), ("tree", None)])
    good = _word_table(tmp_path / "ok.docx", [("apple", (255, 0, 0)), ("tree", (0, 0, 255))])
    swapped = _word_table(tmp_path / "sw.docx", [("apple", (0, 0, 255)), ("tree", (255, 0, 0))])
    assert evaluate_colored_words_in_tables(str(good), str(gold)) == 1.0
    assert evaluate_colored_words_in_tables(str(swapped), str(gold)) == 0.0
    assert evaluate_colored_words_in_tables(str(gold), str(gold)) == 0.0  # uncoloured
    assert color_distance((255, 0, 0), (255, 0, 0)) == 0.0
    assert color_distance((250, 2, 2), (255, 0, 0)) < 3.5 < color_distance((0, 0, 255), (255, 0, 0))


def test_registered() -> None:
    for name in (
        "check_tabstops",
        "compare_subscript_contains",
        "check_highlighted_words",
        "compare_contains_image",
        "evaluate_colored_words_in_tables",
    ):
        assert name in METRICS


def test_text_file_metrics(tmp_path: Path) -> None:
    from envs.metrics_text import (
        check_json,
        check_line_number,
        check_list,
        compare_conference_city_in_order,
        compare_docx_files_and_ignore_new_lines,
        compare_python_pure_text,
        compare_references,
        fuzzy_place_math,
    )

    out = tmp_path / "apt.out"
    out.write_text("openjdk-17-jre is installed\nnothing else\n")
    assert check_list(str(out), {"expect": [r"openjdk-\d+-(jre|jdk)"]}) == 1.0
    assert check_list(str(out), {"expect": ["jre"], "unexpect": ["nothing"]}) == 0.0
    assert check_list(None, {"expect": []}) == 0.0
    report = tmp_path / "r.txt"
    report.write_text("12:00:01 CPU 3\n12:00:02 CPU 4\nAverage: 3.5\n")
    assert check_line_number(str(report), {"expected": "2"}) == 1.0
    assert check_line_number(str(report), {"expected": "3"}) == 0.0
    (tmp_path / "a.py").write_text("def f():\n    return 1\n")
    (tmp_path / "b.py").write_text("def f():\n  return 1")
    (tmp_path / "c.py").write_text("def f():\n    return 2\n")
    assert compare_python_pure_text(str(tmp_path / "a.py"), str(tmp_path / "b.py")) == 1.0
    assert compare_python_pure_text(str(tmp_path / "a.py"), str(tmp_path / "c.py")) == 0.0
    cfg = tmp_path / "_config.yml"
    cfg.write_text("name: Test Account\nauthor:\n  name: Test Account\n  email: t@x.org\n")
    rules = {"expect": [{"key": ["author", "name"], "method": "eq", "ref": "Test Account"}]}
    assert check_json(str(cfg), rules, is_yaml=True) == 1.0
    assert (
        check_json(str(cfg), {"expect": [{"key": ["author", "phone"], "method": "eq", "ref": "1"}]}, is_yaml=True)
        == 0.0
    )
    evil = tmp_path / "evil.yml"
    evil.write_text("!!python/object/apply:os.system ['touch /tmp/studio-yaml-pwned']\n")
    assert check_json(str(evil), rules, is_yaml=True) == 0.0  # safe_load refuses python tags
    assert not Path("/tmp/studio-yaml-pwned").exists()
    js = tmp_path / "s.json"
    js.write_text('{"a": {"b": 3}}')
    assert check_json(str(js), {"expect": [{"key": ["a", "b"], "method": "eq", "ref": 3}]}) == 1.0
    assert check_json(str(js), {"unexpect": [{"key": ["a", "b"], "method": "eq", "ref": 3}]}) == 0.0

    d1 = _docx(tmp_path / "d1.docx", ["Case study", "", "References", "Smith 2020. A title.", "Lee 2021. Other."])
    d2 = _docx(tmp_path / "d2.docx", ["Case study", "References", "Smith 2020. A title.", "Lee 2021. Other."])
    d3 = _docx(tmp_path / "d3.docx", ["Case study", "References", "Completely different entry", "Lee 2021. Other."])
    assert compare_docx_files_and_ignore_new_lines(str(d1), str(d2)) == 1.0
    assert compare_references(str(d1), str(d2), reference_base_result=0.92) == 1.0
    assert compare_references(str(d3), str(d2), reference_base_result=0.92) == 0.0
    places = _docx(tmp_path / "p.docx", ["Alpha Bravo", "Charlie"])
    assert fuzzy_place_math(str(places), {"expected": ["Alpha", "Bravo", "Charlie"]}) == 1.0
    assert fuzzy_place_math(str(d1), {"expected": ["Alpha"]}) == 0.0

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for i, city in enumerate(["Atlanta", "Montréal, QC"], start=2):
        ws[f"C{i}"] = city
    wb.save(tmp_path / "c.xlsx")
    want = {"expected": ["Atlanta", ["Montreal", "Montréal"]] + ["x"] * 19}
    assert compare_conference_city_in_order(str(tmp_path / "c.xlsx"), want) == 0.0  # C4:C22 are empty
    ok = {"expected": ["Atlanta", ["Montreal", "Montréal"]] + [""] * 19}
    assert compare_conference_city_in_order(str(tmp_path / "c.xlsx"), ok) == 1.0
