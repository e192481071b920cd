"""Re-create the input and gold files of the bundled office tasks (run from the repository root).

    python assets/tasks/make_office_files.py

Inputs and gold files are made with openpyxl, python-docx and python-pptx, so what each task checks is readable
here: the gold file is the input with exactly the change the instruction asks for.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def _xlsx(path: Path, rows: list[list[object]]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sheet1"
    for r in rows:
        ws.append(r)
    wb.save(path)


def _docx(path: Path, paragraphs: list[str]) -> None:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))


def _pptx(path: Path, slides: list[tuple[str, str]]) -> None:
    from pptx import Presentation

    prs = Presentation()
    for title, body in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        assert slide.shapes.title is not None
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    prs.save(str(path))


def main() -> None:
    calc = HERE / "libreoffice-calc" / "files"
    sales = [["Item", "Amount"], ["Pens", 12], ["Paper", 30], ["Ink", 18]]
    _xlsx(calc / "sales.xlsx", sales)
    _xlsx(calc / "sales-expected.xlsx", [*sales, ["Total", 60]])
    grades = [["Name", "Grade"], ["Ann", 81], ["Bob", 67], ["Cy", 92]]
    _xlsx(calc / "grades.xlsx", grades)

    writer = HERE / "libreoffice-writer" / "files"
    letter = ["Dear Ms. Lee,", "Thank you for your order. It ships on Monday."]
    _docx(writer / "letter.docx", letter)
    _docx(writer / "letter-expected.docx", [*letter, "Best regards, Sam"])
    _docx(writer / "notes.docx", ["Meeting notes", "Budget approved", "Next meeting on Friday"])
    _docx(writer / "notes-expected.docx", ["Meeting notes", "Next meeting on Friday"])

    impress = HERE / "libreoffice-impress" / "files"
    deck = [("Q3 Review", "Sales grew 8%"), ("Agenda", "Numbers, plans, questions")]
    _pptx(impress / "deck.pptx", deck)
    _pptx(impress / "deck-expected.pptx", [("Q4 Review", "Sales grew 8%"), deck[1]])


def eval_files() -> None:
    """Inputs of the office tasks in the evaluation suite (assets/eval/files/)."""
    files = HERE.parent / "eval" / "files"
    _xlsx(files / "quiz.xlsx", [["Student", "Score"], ["Ana", 70], ["Ben", 80], ["Cleo", 90]])
    _xlsx(files / "stock.xlsx", [["Item", "Count"], ["Bolts", 120], ["Nuts", 75]])
    _docx(files / "report.docx", ["Annual report", "Revenue rose in every quarter.", "Costs stayed flat."])


if __name__ == "__main__":
    eval_files()
    main()
