"""Documents stage against the real documentation installed on this Debian system (fast: about 5 s in all).

Skips name the missing package, so a machine without the docs says what to install.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from studio.pipeline.stages.docs import find_app_docs, load_sources

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HELP = Path("/usr/share/help/C")


def _need_man(name: str) -> None:
    if shutil.which("man") is None:
        pytest.skip("man-db is not installed (apt-get install man-db)")
    from studio.pipeline.stages.docs import man_page_exists

    if not man_page_exists(name):
        pytest.skip(f"man page {name} is not installed (its package, or a dpkg path-exclude of /usr/share/man)")


def test_man_bash_splits_long_sections_at_subsections() -> None:
    _need_man("bash")
    res = load_sources(["man:bash"])
    names = [s.section for s in res.sections]
    assert res.sections[0].title.startswith("bash - GNU Bourne-Again SHell")
    for top in ("NAME", "SYNOPSIS", "DESCRIPTION"):
        assert top in names
    assert any(n.startswith("SHELL GRAMMAR > Pipelines") for n in names)
    assert any(n.startswith("SHELL BUILTIN COMMANDS") for n in names)
    assert all(len(s.text) <= 2500 for s in res.sections)
    assert all(s.source == "man:bash" and s.format == "man" for s in res.sections)
    assert len(res.sections) > 100
    assert all("\x08" not in s.text and "\x1b" not in s.text for s in res.sections)


def test_man_xterm_and_section_syntax() -> None:
    _need_man("xterm")
    res = load_sources(["man:xterm", "man:xterm(1)"])
    plain = [s for s in res.sections if s.source == "man:xterm"]
    by_sec = [s for s in res.sections if s.source == "man:xterm(1)"]
    assert plain and [s.text for s in plain] == [s.text for s in by_sec]
    assert any(s.section.startswith("OPTIONS") and "-fa" in s.text for s in plain)


@pytest.mark.parametrize("app", ["galculator", "mousepad", "gnumeric"])
def test_app_man_pages(app: str) -> None:
    _need_man(app)
    res = load_sources([f"man:{app}"])
    assert [s.section for s in res.sections][:2] == ["NAME", "SYNOPSIS"]
    assert app in res.sections[0].title


def test_gnumeric_docbook_manual() -> None:
    if not (HELP / "gnumeric" / "gnumeric.xml").is_file():
        pytest.skip("Gnumeric's manual is not installed (apt-get install gnumeric-doc)")
    res = load_sources([str(HELP / "gnumeric")])
    assert {s.format for s in res.sections} == {"docbook"}
    assert res.sections[0].title.startswith("The Gnumeric Manual")
    names = [s.section for s in res.sections]
    assert any(n.startswith("Working with Files > Saving Files") for n in names)
    assert any(n == "Function Reference > Mathematics > SUM" for n in names)
    assert all(len(s.text) <= 2500 for s in res.sections)
    assert [Path(f.source).name for f in res.skipped] == ["func-header.xml"]


def test_mallard_help_directory() -> None:
    pages = sorted(HELP.glob("*/index.page")) if HELP.is_dir() else []
    if not pages:
        pytest.skip("no Mallard help installed under /usr/share/help/C (e.g. apt-get install evince)")
    res = load_sources([str(pages[0].parent)])
    assert res.sections and {s.format for s in res.sections} == {"mallard"}
    assert res.errors == [] and res.skipped == []


def test_bundled_app_profiles_docs_load() -> None:
    """Every docs entry of the bundled app profiles that exists here loads without error."""
    for profile in sorted((ROOT / "envs" / "apps").glob("*.toml")):
        docs = tomllib.loads(profile.read_text())["docs"]
        notes: list[str] = []
        found = find_app_docs(docs, notes=notes)
        res = load_sources(found)
        assert res.errors == []
        assert len(res.sections) > 0, f"{profile.name}: no sections from {docs} ({notes})"
