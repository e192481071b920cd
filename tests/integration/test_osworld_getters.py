"""OSWorld's browser and file getters and setup steps against a real sandbox with the real Chromium.

One sandbox for the module: history is written before the browser starts, then the browser-reading getters run.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None or shutil.which("chromium") is None:
    pytest.skip("needs Xvfb, nsenter and chromium (`make test` installs them)", allow_module_level=True)

from envs.getters import get_value  # noqa: E402
from envs.sandbox import Sandbox  # noqa: E402
from envs.task_setup import SetupContext, run_setup  # noqa: E402
from envs.tasks import ConfigStep  # noqa: E402


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(name="osw").start() as s:
        yield s


@pytest.fixture
def ctx() -> Iterator[SetupContext]:
    c = SetupContext()
    yield c
    c.cleanup()


def test_history_written_before_the_browser_starts(sb: Sandbox, ctx: SetupContext) -> None:
    from envs.browser import start_browser
    from envs.metrics_chrome import check_history_deleted

    history = [
        {"url": "https://www.youtube.com/watch?v=1", "title": "Video", "visit_time_from_now_in_seconds": 3600},
        {"url": "https://www.nytimes.com/", "title": "News", "visit_time_from_now_in_seconds": 60},
    ]
    run_setup(sb, [ConfigStep(type="update_browse_history", parameters={"history": history})])
    start_browser(sb, ["about:blank"])
    rows = get_value(sb, {"type": "history", "dest": "history.sqlite"}, ctx)
    urls = [r[0] for r in rows]
    assert "https://www.youtube.com/watch?v=1" in urls and "https://www.nytimes.com/" in urls
    assert urls.index("https://www.nytimes.com/") < urls.index("https://www.youtube.com/watch?v=1")  # newest first
    assert check_history_deleted(rows, {"type": "keywords", "keywords": ["youtube"]}) == 0.0
    with pytest.raises(Exception, match="before the browser starts"):  # SetupStepError naming the cause
        run_setup(sb, [ConfigStep(type="update_browse_history", parameters={"history": history})])
    assert get_value(sb, {"type": "enable_enhanced_safety_browsing"}, ctx) == "false"
    paths = get_value(sb, {"type": "find_unpacked_extension_path"}, ctx)
    assert isinstance(paths, list) and not any(p.startswith("/home/user") for p in paths)  # built-ins only


def test_pdf_from_url_prints_inside_the_sandbox(sb: Sandbox, ctx: SetupContext) -> None:
    from envs.metrics_files import check_pdf_pages
    from envs.metrics_office import compare_pdfs

    page = "data:text/html,<title>Agents</title><h1>LLM Powered Autonomous Agents</h1><p>Planning and memory.</p>"
    gold = get_value(sb, {"type": "pdf_from_url", "path": page, "dest": "gold.pdf"}, ctx)
    assert gold is not None
    assert check_pdf_pages(gold, {"relation": "eq", "ref_value": 1}) == 1.0
    assert compare_pdfs(gold, gold) == 1.0
    offline = get_value(
        sb, {"type": "pdf_from_url", "path": "https://example.com/", "dest": "x.pdf", "timeout": 60}, ctx
    )
    if offline is not None:  # Chromium prints its error page: not the real page
        from pypdf import PdfReader

        assert "Example Domain" not in "".join(p.extract_text() or "" for p in PdfReader(offline).pages)


def test_directory_desktop_and_audio_getters(sb: Sandbox, ctx: SetupContext) -> None:
    from envs.metrics_chrome import is_shortcut_on_desktop
    from envs.metrics_files import check_moved_jpgs, compare_audios

    sb.run(["sh", "-c", "mkdir -p ~/Desktop/cpjpg/sub && touch ~/Desktop/cpjpg/a.jpg ~/Desktop/cpjpg/b.jpg"])
    listing = get_value(sb, {"type": "list_directory", "path": "/home/user/Desktop/cpjpg"}, ctx)
    assert {c["name"] for c in listing["children"]} == {"a.jpg", "b.jpg", "sub"}
    assert check_moved_jpgs(listing, {"expected": ["a.jpg", "b.jpg", "sub"]}) == 1.0
    assert get_value(sb, {"type": "list_directory", "path": "/home/user/nowhere"}, ctx) is None

    sb.write_file("~/Desktop/game.desktop", b"[Desktop Entry]\nType=Link\nName=Play Puzzle Game 2048\n")
    shortcuts = get_value(sb, {"type": "shortcuts_on_desktop"}, ctx)
    assert is_shortcut_on_desktop(shortcuts, {"type": "name", "name": "Play Puzzle Game 2048"}) == 1.0

    from pptx import Presentation
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT
    from pptx.util import Inches

    sound = b"ID3" + bytes(range(256)) * 8
    sb.write_file("~/Desktop/Baseball.mp3", sound)
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    local = ctx.cache_dir / "s.mp3"
    local.write_bytes(sound)
    slide.shapes.add_movie(str(local), Inches(1), Inches(1), Inches(1), Inches(1), mime_type="audio/mpeg")
    media = next(r.target_part for r in slide.part.rels.values() if r.reltype == RT.VIDEO)
    slide.part.relate_to(media, RT.AUDIO)
    buf = io.BytesIO()
    prs.save(buf)
    sb.write_file("~/Desktop/deck.pptx", buf.getvalue())
    spec = {
        "type": "audio_in_slide",
        "ppt_file_path": "/home/user/Desktop/deck.pptx",
        "slide_index": 0,
        "dest": "a.mp3",
    }
    embedded = get_value(sb, spec, ctx)
    placed = get_value(sb, {"type": "vm_file", "path": "/home/user/Desktop/Baseball.mp3", "dest": "b.mp3"}, ctx)
    assert compare_audios(embedded, placed) == 1.0
    t = time.monotonic()
    assert get_value(sb, {**spec, "slide_index": 3}, ctx) is None
    assert time.monotonic() - t < 60
