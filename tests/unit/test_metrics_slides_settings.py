"""Impress, file and settings metrics on files made here (python-pptx, Pillow, pypdf, zipfile, XML text)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from envs.getters_office import embedded_audio
from envs.metrics import METRICS
from envs.metrics_files import check_moved_jpgs, check_pdf_pages, compare_audios, compare_images, compare_zip_files
from envs.metrics_settings import (
    check_auto_saving_time,
    check_gnome_favorite_apps,
    check_presenter_console_disable,
    check_text_enlarged,
    find_default_font,
    is_utc_0,
    registry_value,
)
from envs.metrics_slides import (
    check_image_stretch_and_center,
    check_left_panel,
    check_page_number_colors,
    check_slide_orientation_Portrait,
    check_transition,
    evaluate_presentation_fill_to_rgb_distance,
)
from envs.observation import A11yNode, linearize


def _pptx(path: Path, *, portrait: bool = False, background: tuple[int, int, int] | None = None) -> Path:
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Inches

    prs = Presentation()
    if portrait:
        prs.slide_width, prs.slide_height = Inches(7.5), Inches(10)
    for _ in range(2):
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        if background is not None:
            fill = slide.background.fill
            fill.solid()
            fill.fore_color.rgb = RGBColor(*background)
    prs.save(str(path))
    return path


def test_orientation_and_background(tmp_path: Path) -> None:
    assert check_slide_orientation_Portrait(str(_pptx(tmp_path / "p.pptx", portrait=True))) == 1.0
    assert check_slide_orientation_Portrait(str(_pptx(tmp_path / "l.pptx"))) == 0.0
    blue = _pptx(tmp_path / "b.pptx", background=(0, 0, 255))
    red = _pptx(tmp_path / "r.pptx", background=(255, 0, 0))
    assert evaluate_presentation_fill_to_rgb_distance(str(blue), {"rgb": [0, 0, 255]}) == 1.0
    assert evaluate_presentation_fill_to_rgb_distance(str(red), {"rgb": [0, 0, 255]}) < 0.5
    assert check_slide_orientation_Portrait(str(tmp_path / "missing.pptx")) == 0.0


def _rewrite(path: Path, part: str, edit: object) -> None:
    """Rewrite one part of a zip package with ``edit(text) -> text``."""
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    items[part] = edit(items[part].decode()).encode()  # type: ignore[operator]
    with zipfile.ZipFile(path, "w") as z:
        for n, data in items.items():
            z.writestr(n, data)


def test_transition(tmp_path: Path) -> None:
    deck = _pptx(tmp_path / "t.pptx")
    assert check_transition(str(deck), {"slide_idx": 0, "transition_type": "dissolve"}) == 0.0
    _rewrite(
        deck,
        "ppt/slides/slide1.xml",
        lambda t: t.replace("</p:sld>", "<p:transition><p:dissolve/></p:transition></p:sld>"),
    )
    assert check_transition(str(deck), {"slide_idx": 0, "transition_type": "dissolve"}) == 1.0
    assert check_transition(str(deck), {"slide_idx": 0, "transition_type": "fade"}) == 0.0
    assert check_transition(str(deck), {"slide_idx": 1, "transition_type": "dissolve"}) == 0.0


def test_page_number_color(tmp_path: Path) -> None:
    deck = _pptx(tmp_path / "n.pptx")
    assert check_page_number_colors(str(deck), {"color": "red"}) == 0.0  # the default master's number has no colour

    def red_number(text: str) -> str:
        start = text.index('type="sldNum"')
        end = text.index("</p:sp>", start)
        run_props = text.index("<a:endParaRPr", start) if "<a:endParaRPr" in text[start:end] else -1
        assert run_props != -1
        return (
            text[:run_props] + '<a:rPr><a:solidFill><a:srgbClr val="E01010"/></a:solidFill></a:rPr>' + text[run_props:]
        )

    _rewrite(deck, "ppt/slideMasters/slideMaster1.xml", red_number)
    assert check_page_number_colors(str(deck), {"color": "red"}) == 1.0
    assert check_page_number_colors(str(deck), {"color": "blue"}) == 0.0


def test_image_stretch_and_center(tmp_path: Path) -> None:
    from PIL import Image
    from pptx import Presentation
    from pptx.util import Inches

    Image.new("RGB", (40, 30), "navy").save(tmp_path / "c.png")

    def deck(name: str, left: float, top: float, width: float, height: float) -> Path:
        prs = Presentation()
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        slide.shapes.add_picture(str(tmp_path / "c.png"), Inches(left), Inches(top), Inches(width), Inches(height))
        prs.save(str(tmp_path / name))
        return tmp_path / name

    original = deck("o.pptx", 1, 1, 4, 3)
    filled = deck("f.pptx", 0, 0, 10, 7.5)  # the default slide is 10 x 7.5 in
    assert check_image_stretch_and_center(str(filled), str(original)) == 1.0
    assert check_image_stretch_and_center(str(original), str(original)) == 0.0


def test_left_panel() -> None:
    pane = linearize([A11yNode(0, "document frame", "Slides View", "", 3, 134, 174, 614)])  # as Impress 7.4 names it
    other = linearize([A11yNode(0, "panel", "Properties", "", 1000, 80, 200, 600)])
    assert check_left_panel(pane) == 1.0
    assert check_left_panel(other) == 0.0
    assert check_left_panel(None) == 0.0


def _pdf(path: Path, pages: int) -> Path:
    from pypdf import PdfWriter

    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(width=200, height=200)
    with path.open("wb") as fh:
        w.write(fh)
    return path


def test_pdf_pages(tmp_path: Path) -> None:
    one, three = _pdf(tmp_path / "1.pdf", 1), _pdf(tmp_path / "3.pdf", 3)
    assert check_pdf_pages(str(one), {"relation": "eq", "ref_value": 1}) == 1.0
    assert check_pdf_pages(str(three), {"relation": "eq", "ref_value": 1}) == 0.0
    assert check_pdf_pages(str(three), {"relation": "gt", "ref_value": 2}) == 1.0
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf")
    assert check_pdf_pages(str(tmp_path / "bad.pdf"), {"relation": "eq", "ref_value": 1}) == 0.0
    assert check_pdf_pages(None, {"relation": "eq", "ref_value": 1}) == 0.0


def test_images_audio_zip(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    a = Image.new("RGB", (120, 90), "white")
    ImageDraw.Draw(a).rectangle((10, 10, 60, 60), fill="black")
    a.save(tmp_path / "a.png")
    a.resize((240, 180)).save(tmp_path / "a2.png")  # same picture, larger
    b = Image.new("RGB", (120, 90), "white")
    ImageDraw.Draw(b).ellipse((50, 20, 110, 80), fill="black")
    b.save(tmp_path / "b.png")
    assert compare_images(str(tmp_path / "a.png"), str(tmp_path / "a.png")) == 1.0
    assert compare_images(str(tmp_path / "a2.png"), str(tmp_path / "a.png")) > 0.9
    assert compare_images(str(tmp_path / "b.png"), str(tmp_path / "a.png")) < 0.8
    assert compare_images(None, str(tmp_path / "a.png")) == 0.0
    from envs.metrics_files import compare_image_list

    a.save(tmp_path / "a_copy.png")
    pair = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert compare_image_list(pair, [str(tmp_path / "a_copy.png"), str(tmp_path / "b.png")]) == 1.0
    assert compare_image_list(pair, [str(tmp_path / "b.png"), str(tmp_path / "a.png")]) == 0.0
    assert compare_image_list(str(tmp_path / "a.png"), str(tmp_path / "a2.png")) == 0.0  # other size

    (tmp_path / "x.mp3").write_bytes(b"ID3" + bytes(range(200)))
    (tmp_path / "y.mp3").write_bytes(b"ID3" + bytes(range(200)))
    (tmp_path / "z.mp3").write_bytes(b"ID3" + bytes(range(100)))
    assert compare_audios(str(tmp_path / "x.mp3"), str(tmp_path / "y.mp3")) == 1.0
    assert compare_audios(str(tmp_path / "x.mp3"), str(tmp_path / "z.mp3")) == 0.0

    for name, body in (("p.zip", b"one"), ("q.zip", b"one"), ("r.zip", b"two")):
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            z.writestr("doc/a.txt", body)
    assert compare_zip_files(str(tmp_path / "p.zip"), str(tmp_path / "q.zip")) == 1.0
    assert compare_zip_files(str(tmp_path / "p.zip"), str(tmp_path / "r.zip")) == 0.0


def test_audio_in_slide(tmp_path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    (tmp_path / "s.mp3").write_bytes(b"ID3" + bytes(range(256)) * 4)
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    slide.shapes.add_movie(str(tmp_path / "s.mp3"), Inches(1), Inches(1), Inches(1), Inches(1), mime_type="audio/mpeg")
    prs.save(str(tmp_path / "video.pptx"))
    assert embedded_audio(tmp_path / "video.pptx", 0) is None  # related as video + media: not audio
    # LibreOffice relates inserted sound as "audio": add that relation to the same media part
    media = next(r.target_part for r in slide.part.rels.values() if r.reltype == RT.VIDEO)
    slide.part.relate_to(media, RT.AUDIO)
    prs.save(str(tmp_path / "m.pptx"))
    assert embedded_audio(tmp_path / "m.pptx", 0) == (tmp_path / "s.mp3").read_bytes()
    assert embedded_audio(_pptx(tmp_path / "plain.pptx"), 0) is None
    assert embedded_audio(tmp_path / "m.pptx", 5) is None


def test_directory_listing_metric() -> None:
    listing = {"name": "cpjpg", "type": "directory", "children": [{"name": "a.jpg"}, {"name": "b.jpg"}]}
    assert check_moved_jpgs(listing, {"expected": ["b.jpg", "a.jpg"]}) == 1.0
    assert check_moved_jpgs(listing, {"expected": ["a.jpg"]}) == 0.0
    assert check_moved_jpgs(None, {"expected": []}) == 0.0


XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Common/Save/Document">\
<prop oor:name="AutoSaveTimeIntervall" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Impress/Misc"><node oor:name="Start" oor:op="replace">\
<prop oor:name="EnablePresenterScreen" oor:op="fuse"><value>false</value></prop></node></item>
<item oor:path="/org.openoffice.Office.Writer/DefaultFont">\
<prop oor:name="Standard" oor:op="fuse"><value>Liberation Serif</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/DefaultFont">\
<prop oor:name="Standard" oor:op="fuse"><value>Times New Roman</value></prop></item>
</oor:items>
"""


def test_libreoffice_registry(tmp_path: Path) -> None:
    xcu = tmp_path / "registrymodifications.xcu"
    xcu.write_text(XCU)
    assert registry_value(xcu, "/org.openoffice.Office.Impress/Misc/Start", "EnablePresenterScreen") == "false"
    assert find_default_font(str(xcu), {"font_name": "Times New Roman"}) == 1.0  # the last value wins
    assert find_default_font(str(xcu), {"font_name": "Liberation Serif"}) == 0.0
    assert check_presenter_console_disable(str(xcu)) == 1.0
    assert check_auto_saving_time(str(xcu), {"minutes": 3}) == 1.0
    assert check_auto_saving_time(str(xcu), {"minutes": 10}) == 0.0
    empty = tmp_path / "empty.xcu"
    empty.write_text('<oor:items xmlns:oor="http://openoffice.org/2001/registry"/>')
    assert check_presenter_console_disable(str(empty)) == 0.0
    (tmp_path / "broken.xcu").write_text("<oor:items")
    assert find_default_font(str(tmp_path / "broken.xcu"), {"font_name": "x"}) == 0.0


def test_desktop_settings() -> None:
    out = "['thunderbird.desktop', 'google-chrome.desktop']\n"
    assert check_gnome_favorite_apps(out, {"expected": ["google-chrome.desktop", "thunderbird.desktop"]}) == 1.0
    assert check_gnome_favorite_apps(out, {"expected": ["thunderbird.desktop"]}) == 0.0
    assert check_gnome_favorite_apps("__import__('os').system('x')", {"expected": []}) == 0.0  # never evaluated
    status = "      Local time: Thu 2024-01-25 12:56:06 GMT\n       Time zone: Etc/UTC (UTC, +0000)\n"
    assert is_utc_0(status) == 1.0
    assert is_utc_0(status.replace("+0000", "+0100")) == 0.0
    assert check_text_enlarged("1.25\n") == 1.0
    assert check_text_enlarged("1.0") == 0.0
    from envs.metrics_settings import is_in_vm_clickboard

    assert is_in_vm_clickboard({"expected": "/home/user/Data3/secret.docx"}, "/home/user/Data3/secret.docx\n") == 1.0
    assert is_in_vm_clickboard({"expected": "/home/user/Data3/secret.docx"}, "") == 0.0
    for name in ("is_utc_0", "check_pdf_pages", "compare_images", "check_transition", "find_default_font"):
        assert name in METRICS
