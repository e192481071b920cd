"""Documents stage: parsing fixtures of every supported format into titled, bounded sections."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import pytest

from studio.errors import PipelineError
from studio.pipeline.stages.docs import (
    DocSection,
    LoadResult,
    dedupe_sections,
    find_app_docs,
    load_sources,
    section_id,
)
from studio.pipeline.stages.docs_formats import parse_man_text, parse_text, split_by_size
from studio.pipeline.stages.docs_xml import resolve_entities, sniff_xml

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "docs"
needs_man = pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed")


def _by_section(result: LoadResult) -> dict[str, DocSection]:
    return {s.section: s for s in result.sections}


# ---------------------------------------------------------------------------------------------- markdown


def test_markdown_heading_paths_and_light_stripping() -> None:
    res = load_sources([str(FIX / "editor.md")])
    secs = _by_section(res)
    assert list(secs) == ["Tiny Editor", "Usage", "Usage > Saving files", "Keyboard shortcuts", "Options"]
    assert {s.title for s in res.sections} == {"Tiny Editor"}
    assert {s.format for s in res.sections} == {"markdown"}
    intro = secs["Tiny Editor"].text
    assert "**" not in intro and "](" not in intro and "_quick_" not in intro
    assert "small text editor for quick edits. See the manual." in intro
    # fenced code keeps its content and a '#' line inside it is not a heading
    assert "# this is a shell comment, not a heading" in secs["Usage"].text
    assert "```" not in secs["Usage"].text
    assert secs["Usage > Saving files"].text == "Press Ctrl+S to save. Use File > Save As to pick a new name."
    assert "Ctrl+N: new window" in secs["Keyboard shortcuts"].text  # setext h2
    assert "https://example.org/manual" not in secs["Options"].text  # link definition dropped
    assert [s.order for s in res.sections] == list(range(5))


# ---------------------------------------------------------------------------------------------- html


def test_html_splits_h1_to_h3_and_drops_script_style_nav() -> None:
    res = load_sources([str(FIX / "help.html")])
    secs = _by_section(res)
    assert list(secs) == ["Tiny Calc Help", "Basic arithmetic", "Basic arithmetic > Memory", "Modes"]
    assert res.sections[0].title == "Tiny Calc Help"
    everything = "\n".join(s.text for s in res.sections)
    for dropped in ("tracking", "color: red", "site navigation", "also dropped"):
        assert dropped not in everything
    assert secs["Tiny Calc Help"].text == "Tiny Calc is a calculator for the desktop."
    assert "- Addition with +\n- Subtraction with \u2212" in secs["Basic arithmetic"].text
    memory = secs["Basic arithmetic > Memory"].text
    assert "memory & MR" in memory
    assert "Clearing memory" in memory  # h4 stays inside its h3 section
    assert "  2 + 3\n  = 5" in memory  # pre keeps its layout


# ---------------------------------------------------------------------------------------------- text


def test_text_headings_underlined_caps_and_short_lines() -> None:
    res = load_sources([str(FIX / "notes.txt")])
    secs = _by_section(res)
    assert list(secs) == ["Tiny Sheet Notes", "Installation", "Entering data", "FORMULAS", "Shortcuts"]
    assert res.sections[0].title == "Tiny Sheet Notes"
    assert "preamble" in secs["Tiny Sheet Notes"].text
    assert secs["Shortcuts"].text == "Ctrl+C\tcopy\nCtrl+V\tpaste"


def test_readme_without_extension_is_text() -> None:
    res = load_sources([str(FIX / "README")])
    assert [(s.format, s.section) for s in res.sections] == [("text", "TINYTOOL"), ("text", "USAGE")]


def test_text_without_headings_is_chunked_with_overlap(tmp_path: Path) -> None:
    words = [f"word{i}" for i in range(2000)]
    lines = [" ".join(words[i : i + 12]) + "." for i in range(0, len(words), 12)]
    path = tmp_path / "blob.txt"
    path.write_text("a long line of prose that starts the file.\n" + "\n".join(lines) + "\n")
    res = load_sources([str(path)], max_section_chars=1000, overlap=100)
    assert len(res.sections) > 10
    assert all(len(s.text) <= 1000 for s in res.sections)
    assert res.sections[0].section.endswith("(part 1)") and res.sections[1].section.endswith("(part 2)")
    # consecutive chunks overlap: the start of chunk 2 repeats the end of chunk 1
    first, second = res.sections[0].text, res.sections[1].text
    assert second.split()[0] in first.split()[-20:]
    # nothing is lost
    joined = " ".join(s.text for s in res.sections)
    assert all(w in joined for w in ("word0", "word1000", "word1999"))


def test_parse_text_title_line_is_not_body() -> None:
    doc = parse_text("My Title\n\nBody text here.\n", "fallback")
    assert doc.title == "My Title"
    assert doc.sections == [((), "Body text here.")]


# ---------------------------------------------------------------------------------------------- man


MAN_RENDERED = """\
FOO(1)\t\t\tGeneral Commands Manual\t\t\tFOO(1)

N\bNA\bAM\bME\bE
       foo - frobnicate the bar

SYNOPSIS
       foo [-x] _\bf_\bi_\bl_\be

DESCRIPTION
       foo does things.

   First topic
       About the first topic, which is long enough.
       {filler}

   Second topic
       About the second topic.

OPTIONS
       -x     Be extra.

foo 1.0\t\t\t2024-01-01\t\t\tFOO(1)
"""


def test_parse_man_text_sections_overstrike_and_subsections() -> None:
    rendered = MAN_RENDERED.format(filler="more words here " * 40)
    doc = parse_man_text(rendered, "foo", split_over=400)
    paths = [p for p, _ in doc.sections]
    assert doc.title == "foo - frobnicate the bar"
    assert paths == [
        ("NAME",),
        ("SYNOPSIS",),
        ("DESCRIPTION",),
        ("DESCRIPTION", "First topic"),
        ("DESCRIPTION", "Second topic"),
        ("OPTIONS",),
    ]
    texts = dict(doc.sections)
    assert texts[("SYNOPSIS",)] == "foo [-x] file"  # overstrike removed like col -b
    assert texts[("DESCRIPTION",)] == "foo does things."
    assert texts[("OPTIONS",)] == "-x     Be extra."
    assert "2024-01-01" not in "".join(t for _, t in doc.sections)  # footer dropped


def test_parse_man_text_short_section_keeps_subsections_inline() -> None:
    doc = parse_man_text(MAN_RENDERED.format(filler="x"), "foo", split_over=2500)
    desc = dict(doc.sections)[("DESCRIPTION",)]
    assert desc.startswith("foo does things.") and "First topic\nAbout the first topic" in desc


@needs_man
def test_man_file_path_renders_via_man_l() -> None:
    res = load_sources([str(FIX / "tinyapp.1")])
    secs = _by_section(res)
    assert list(secs) == ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SEE ALSO"]
    assert res.sections[0].title == "tinyapp - a tiny demonstration application"
    assert "Saving files\nPress Ctrl+S" in secs["DESCRIPTION"].text
    assert secs["OPTIONS"].text.startswith("-v")


@needs_man
def test_gzipped_man_file(tmp_path: Path) -> None:
    gz = tmp_path / "tinyapp.1.gz"
    gz.write_bytes(gzip.compress((FIX / "tinyapp.1").read_bytes()))
    res = load_sources([str(gz)])
    assert res.sections[0].format == "man" and res.sections[0].source == str(gz)
    assert len(res.sections) == 5


@needs_man
def test_unknown_man_page_names_the_fix() -> None:
    with pytest.raises(PipelineError, match=r"man page 'no-such-page-xyz' not found.*man -w no-such-page-xyz"):
        load_sources(["man:no-such-page-xyz"])


@pytest.mark.parametrize("bad", ["man:", "man:-rf", "man:foo(1", "man:a b"])
def test_bad_man_reference_is_rejected_before_running_man(bad: str) -> None:
    with pytest.raises(PipelineError, match="man:NAME"):
        load_sources([bad])


# ---------------------------------------------------------------------------------------------- mallard


def test_mallard_directory_pages_sections_and_inline_sequences() -> None:
    res = load_sources([str(FIX / "mallard")])
    assert [Path(s.source).name for s in res.sections] == ["index.page"] * 4 + ["save.page"]
    index = [s for s in res.sections if s.source.endswith("index.page")]
    assert {s.title for s in index} == {"Tiny Draw Help"}
    assert [s.section for s in index] == [
        "Tiny Draw Help",
        "Drawing shapes",
        "Drawing shapes > Colors",
        "Undo",
    ]
    everything = "\n".join(s.text for s in res.sections)
    for dropped in ("must be dropped", "Jane Doe", "Screenshot of the undo button"):
        assert dropped not in everything
    assert "- Choose Tools > Rectangle." in index[1].text
    assert "Fill" in index[2].text and "The color inside a shape." in index[2].text
    assert index[3].text == "Press Ctrl+Z to undo."
    save = res.sections[-1]
    assert (save.title, save.format) == ("Save a drawing", "mallard")
    assert save.text == "Press Ctrl+S.\n\nUnsaved drawings are lost when you quit."
    assert [s.order for s in index] == [0, 1, 2, 3] and save.order == 0


def test_sniff_xml() -> None:
    assert sniff_xml((FIX / "mallard" / "save.page").read_text()) == "mallard"
    assert sniff_xml((FIX / "docbook" / "book.xml").read_text()) == "docbook"
    assert sniff_xml('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>') is None


# ---------------------------------------------------------------------------------------------- docbook


def test_docbook_book_inlines_system_entities_and_skips_broken_fragment() -> None:
    res = load_sources([str(FIX / "docbook")])
    # cells.xml is pulled in by the book, so it is not loaded a second time on its own
    assert {Path(s.source).name for s in res.sections} == {"book.xml"}
    assert [s.section for s in res.sections] == [
        "Introduction",
        "Working with Cells > Entering data",
        "Working with Cells > Formatting cells",
    ]
    assert {s.title for s in res.sections} == {"The TinySheet Manual"}
    intro, entering, formatting = (s.text for s in res.sections)
    assert intro == "TinySheet is a spreadsheet\u2014small and fast."
    assert "Select a cell in TinySheet and type." in entering
    assert "- Press Ctrl+Enter to fill a selection." in entering
    assert "Use Edit > Fill." in entering
    assert "must not appear" not in entering and "Legal text" not in intro
    assert formatting == "=SUM(A1:A3)\n  indented line"
    # the unparseable fragment in the directory is reported, not fatal
    assert [Path(f.source).name for f in res.skipped] == ["fragment-broken.xml"]
    assert res.errors == []


def test_docbook_chapter_alone_borrows_entities_from_its_book() -> None:
    res = load_sources([str(FIX / "docbook" / "cells.xml")])
    assert res.sections[0].title == "Entering data"
    assert "Select a cell in TinySheet and type." in res.sections[0].text
    assert [s.section for s in res.sections] == ["Entering data", "Formatting cells"]


def test_explicit_broken_xml_is_an_error() -> None:
    with pytest.raises(PipelineError, match="fragment-broken.xml.*does not parse"):
        load_sources([str(FIX / "docbook" / "fragment-broken.xml")])


def test_resolve_entities_unknown_and_html_names() -> None:
    out = resolve_entities("<p>&nbsp;&unknownthing; &amp; &lt;</p>")
    assert out == "<p>\u00a0unknownthing &amp; &lt;</p>"


# ---------------------------------------------------------------------------------------------- sources


def test_directory_walk_is_sorted_and_takes_supported_files_only(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.md").write_text("# Z\n\nzed text\n")
    (tmp_path / "a.txt").write_text("Alpha\n\nalpha text here\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "copyright").write_text("not documentation\n")
    (tmp_path / ".hidden.md").write_text("# Hidden\n\nno\n")
    (tmp_path / "c.html.gz").write_bytes(gzip.compress(b"<title>C</title><h1>C</h1><p>see text</p>"))
    res = load_sources([str(tmp_path)])
    assert [Path(s.source).name for s in res.sections] == ["a.txt", "c.html.gz", "z.md"]
    assert [s.format for s in res.sections] == ["text", "html", "markdown"]
    assert res.sections[1].text == "see text"


def test_gzipped_markdown(tmp_path: Path) -> None:
    gz = tmp_path / "editor.md.gz"
    gz.write_bytes(gzip.compress((FIX / "editor.md").read_bytes()))
    plain = load_sources([str(FIX / "editor.md")]).sections
    zipped = load_sources([str(gz)]).sections
    assert [(s.section, s.text) for s in zipped] == [(s.section, s.text) for s in plain]


def test_missing_file_names_source_and_fix() -> None:
    with pytest.raises(PipelineError, match=r"/nope/missing\.md does not exist; check the path"):
        load_sources(["/nope/missing.md"])


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    blob = tmp_path / "data.bin"
    blob.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    with pytest.raises(PipelineError, match="not a text document"):
        load_sources([str(blob)])


def test_skip_errors_collects_failures_and_keeps_going(tmp_path: Path) -> None:
    blob = tmp_path / "data.bin"
    blob.write_bytes(b"\x00" * 10)
    res = load_sources(["/nope/missing.md", str(blob), str(FIX / "README"), "man:"], skip_errors=True)
    assert [s.section for s in res.sections] == ["TINYTOOL", "USAGE"]
    assert [f.source for f in res.errors] == ["/nope/missing.md", str(blob), "man:"]
    assert all(f.message for f in res.errors)


def test_total_input_cap_is_a_clear_error_even_with_skip_errors() -> None:
    with pytest.raises(PipelineError, match=r"input cap.*max_total_bytes"):
        load_sources([str(FIX / "editor.md"), str(FIX / "help.html")], max_total_bytes=600, skip_errors=True)


def test_max_sections_truncates() -> None:
    res = load_sources([str(FIX / "editor.md"), str(FIX / "help.html")], max_sections=6)
    assert len(res.sections) == 6 and res.truncated
    assert res.sections[-1].source.endswith("help.html")
    assert not load_sources([str(FIX / "editor.md")]).truncated


def test_long_section_is_split_into_parts(tmp_path: Path) -> None:
    para = "This sentence describes a feature of the program in some detail. " * 10
    md = tmp_path / "long.md"
    md.write_text("# Long\n\n## Big\n\n" + "\n\n".join([para] * 12) + "\n\n## Small\n\nshort\n")
    res = load_sources([str(md)], max_section_chars=2500, overlap=150)
    names = [s.section for s in res.sections]
    assert names[0] == "Big (part 1)" and names[-1] == "Small"
    assert all(len(s.text) <= 2500 for s in res.sections)
    assert len({s.id for s in res.sections}) == len(res.sections)


def test_split_by_size_prefers_paragraph_breaks() -> None:
    text = ("a" * 90 + "\n\n") * 10
    chunks = split_by_size(text.strip(), 300, 0)
    assert all(len(c) <= 300 for c in chunks)
    assert all(set(c.replace("\n", "")) == {"a"} for c in chunks)
    assert all(not c.startswith("\n") and not c.endswith("\n") for c in chunks)


def test_empty_sections_are_dropped(tmp_path: Path) -> None:
    md = tmp_path / "e.md"
    md.write_text("# T\n\n## Empty\n\n## Full\n\ncontent\n")
    assert [s.section for s in load_sources([str(md)]).sections] == ["Full"]
    empty = tmp_path / "nothing.txt"
    empty.write_text("\n\n")
    assert load_sources([str(empty)]).sections == []


# ---------------------------------------------------------------------------------------------- records


def test_ids_are_stable_and_content_addressed() -> None:
    a = load_sources([str(FIX / "editor.md")]).sections
    b = load_sources([str(FIX / "editor.md")]).sections
    assert [s.id for s in a] == [s.id for s in b]
    s = a[1]
    assert s.id == section_id(s.source, s.section, s.text) and len(s.id) == 16
    changed = dataclasses.replace(s, text=s.text + "!", id="")
    assert changed.id != s.id
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.text = "x"  # type: ignore[misc]


def test_dedupe_sections_drops_exact_text_duplicates() -> None:
    a = DocSection("a.md", "markdown", "A", "One", "same  text\n", 0)
    b = DocSection("b.md", "markdown", "B", "Two", "same text", 0)
    c = DocSection("b.md", "markdown", "B", "Three", "other", 1)
    assert dedupe_sections([a, b, c]) == [a, c]


def test_find_app_docs_expands_globs_and_drops_missing(tmp_path: Path) -> None:
    (tmp_path / "x1.md").write_text("# x")
    (tmp_path / "x2.md").write_text("# x")
    notes: list[str] = []
    found = find_app_docs(
        [str(tmp_path / "x*.md"), str(tmp_path / "missing.html"), str(tmp_path / "none*.txt"), str(tmp_path)],
        notes=notes,
    )
    assert found == [str(tmp_path / "x1.md"), str(tmp_path / "x2.md"), str(tmp_path)]
    assert len(notes) == 2 and "missing.html" in notes[0] and "matches no files" in notes[1]


@needs_man
def test_find_app_docs_checks_man_pages() -> None:
    notes: list[str] = []
    found = find_app_docs(["man:no-such-page-xyz", "man:bad name"], notes=notes)
    assert found == [] and len(notes) == 2


def test_too_small_section_bound_is_rejected() -> None:
    with pytest.raises(PipelineError, match="max_section_chars"):
        load_sources([str(FIX / "README")], max_section_chars=10)
