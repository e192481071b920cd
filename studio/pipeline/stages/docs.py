"""Stage 1 of the synthesis pipeline: application documentation -> titled sections with provenance.

``load_sources(["man:xterm", "/usr/share/help/C/gnumeric/", "README.md"])`` reads each source, splits it at
its own structure (headings, man sections, Mallard/DocBook sections), bounds every section's size and returns
a :class:`LoadResult` of :class:`DocSection` records. Nothing here touches the workspace, a model or Qt; the
CLI stage (``studio docs add``) stores the result.

Supported sources (``.gz`` variants of every file type are read transparently):

- ``*.md``/``*.markdown`` (markdown): ATX (``#``) and setext headings; inline markup stripped lightly.
- ``*.html``/``*.htm`` (html): split at ``h1``-``h3``; script/style/nav/head dropped; paragraphs and ``pre``
  kept.
- ``*.txt``, ``README*``, explicit files without a known extension (text): underlined, ALL-CAPS or short
  title lines between blank lines; else size chunks with overlap.
- ``man:NAME``, ``man:NAME(SEC)``, ``*.1``/``*.1.gz`` (man): rendered by ``man -P cat`` (``man -l`` for
  files) at ``MANWIDTH=100``, overstrike removed like ``col -b``; split at NAME, SYNOPSIS, DESCRIPTION ...,
  and sections longer than the bound at their subsection headers.
- ``*.page`` (mallard): GNOME Mallard pages, split at ``<section>``; ``<info>``, links and media dropped.
- ``*.xml`` that is DocBook (docbook): split at chapter/sectN/section. Gnumeric's manual is DocBook, not
  Mallard; a book's ``SYSTEM`` entity chapters are inlined and not loaded again on their own.
- A directory: recursed in sorted order, taking only the file types above (``README*`` as text); files that
  fail to parse there are listed in ``LoadResult.skipped``.

Errors are :class:`studio.errors.PipelineError` naming the source and the fix; with ``skip_errors=True`` they
are collected in ``LoadResult.errors`` instead. Exceeding ``max_total_bytes`` always raises.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import PipelineError
from studio.pipeline.stages.docs_formats import ParsedDoc, parse_html, parse_man_text, parse_markdown, parse_text
from studio.pipeline.stages.docs_formats import split_by_size as _split_by_size
from studio.pipeline.stages.docs_xml import docbook_includes, parse_docbook, parse_mallard, sniff_xml

log = logging.getLogger(__name__)

FORMATS = ("markdown", "html", "text", "man", "mallard", "docbook")
MAX_SECTION_CHARS = 2500
OVERLAP_CHARS = 200
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAN_TIMEOUT_S = 60.0
_STAGE = "docs stage"

_EXT_FORMAT = {
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".txt": "text", ".text": "text", ".rst": "text",
    ".page": "mallard",
}  # fmt: skip
_MAN_EXT = re.compile(r"^\.[1-9n][a-z]{0,4}$")
_MAN_SPEC = re.compile(r"^man:([A-Za-z0-9_][\w.+:@-]*)(?:\(([0-9n][a-z]{0,4})\))?$")


@dataclass(frozen=True)
class DocSection:
    """One section of one document.

    Attributes:
        source: File path, or ``man:NAME`` / ``man:NAME(SEC)`` for a man page looked up by name.
        format: One of ``markdown``, ``html``, ``text``, ``man``, ``mallard``, ``docbook``.
        title: The document's title (Markdown ``# h1``, HTML ``<title>``, man NAME line, Mallard ``<title>``).
        section: Heading path below the title, e.g. ``"Usage > Saving files"`` (the title itself for text
            directly under it); ``" (part N)"`` is appended when a long section was split.
        text: Plain text of the section.
        order: Position of the section within its source, from 0.
        id: Stable short id: sha256 of source, section and text (16 hex digits). Computed when left empty.
    """

    source: str
    format: str
    title: str
    section: str
    text: str
    order: int
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", section_id(self.source, self.section, self.text))


def section_id(source: str, section: str, text: str) -> str:
    """The stable id of a section: first 16 hex digits of sha256(source, section, text)."""
    digest = hashlib.sha256("\x00".join((source, section, text)).encode("utf-8")).hexdigest()
    return digest[:16]


@dataclass(frozen=True)
class LoadFailure:
    """A source that could not be loaded (collected when ``skip_errors=True``)."""

    source: str
    message: str


@dataclass
class LoadResult:
    """What :func:`load_sources` produced.

    Attributes:
        sections: Sections in source order.
        errors: Sources that failed (only filled when ``skip_errors=True``; otherwise the first one raises).
        skipped: Files inside a directory source that were passed over, and why (a help directory may hold
            fragments that only parse as part of a book, such as Gnumeric's ``func-header.xml``).
        truncated: ``max_sections`` cut the result short.
    """

    sections: list[DocSection] = field(default_factory=list)
    errors: list[LoadFailure] = field(default_factory=list)
    skipped: list[LoadFailure] = field(default_factory=list)
    truncated: bool = False


# ---------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Unit:
    source: str  # provenance string stored on the sections
    format: str
    path: Path | None = None  # None for man:NAME
    man_name: str = ""
    man_section: str = ""
    in_directory: bool = False  # found by walking a directory source: parse failures are skips


def _inner_name(path: Path) -> tuple[str, bool]:
    """File name without a trailing ``.gz`` and whether it was gzipped."""
    name = path.name
    if name.lower().endswith(".gz"):
        return name[:-3], True
    return name, False


def _read_bytes(path: Path, limit: int) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read(limit + 1)
        else:
            with path.open("rb") as fh:
                data = fh.read(limit + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise PipelineError(f"{_STAGE}: cannot read {path}: {exc}. Check the file and its permissions.") from exc
    return data


def _decode(data: bytes, source: str) -> str:
    if b"\x00" in data[:8192]:
        raise PipelineError(
            f"{_STAGE}: {source} is not a text document (binary content). "
            "Give Markdown, HTML, text, man, Mallard or DocBook files."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _classify(path: Path, *, explicit: bool) -> str | None:
    """The format of a file, or None when a directory walk should skip it.

    Explicit files of unknown type are read as text (binary ones then fail clearly).
    """
    name, _ = _inner_name(path)
    ext = os.path.splitext(name)[1].lower()
    if ext in _EXT_FORMAT:
        return _EXT_FORMAT[ext]
    if _MAN_EXT.match(ext):
        return "man"
    if ext == ".xml":
        try:
            head = _decode(_read_bytes(path, 200_000)[:200_000], str(path))
        except PipelineError:
            if explicit:
                raise
            return None
        kind = sniff_xml(head)
        if kind is None and explicit:
            raise PipelineError(
                f"{_STAGE}: {path} is XML but neither Mallard nor DocBook; convert it to HTML or Markdown."
            )
        return kind
    if name.upper().startswith("README") or (explicit and not name.startswith(".")):
        return "text"
    return None


def _units(source: str) -> Iterator[_Unit]:
    if source.startswith("man:"):
        m = _MAN_SPEC.match(source)
        if not m:
            raise PipelineError(
                f"{_STAGE}: bad man page reference {source!r}: write man:NAME or man:NAME(SECTION), "
                "e.g. man:bash or man:printf(3)."
            )
        yield _Unit(source, "man", None, m.group(1), m.group(2) or "")
        return
    path = Path(os.path.expanduser(source))
    if path.is_dir():
        found: list[_Unit] = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for fname in sorted(files):
                if fname.startswith("."):
                    continue
                fpath = Path(root) / fname
                fmt = _classify(fpath, explicit=False)
                if fmt:
                    found.append(_Unit(str(fpath), fmt, fpath, in_directory=True))
        # A DocBook book inlines its chapter files: load the book, not the chapters a second time.
        inlined = {str(f) for u in found if u.format == "docbook" and u.path for f in docbook_includes(u.path)}
        yield from (u for u in found if u.source not in inlined)
        return
    if not path.exists():
        raise PipelineError(f"{_STAGE}: document {source} does not exist; check the path or install its package.")
    if not path.is_file():
        raise PipelineError(f"{_STAGE}: {source} is neither a file nor a directory.")
    fmt = _classify(path, explicit=True)
    assert fmt is not None
    yield _Unit(str(path), fmt, path)


# ---------------------------------------------------------------------------------------------- man


def _man_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"MANWIDTH": "100", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"})
    env.pop("MAN_KEEP_FORMATTING", None)
    return env


def render_man(name: str = "", section: str = "", *, path: Path | None = None) -> str:
    """Render a man page as plain text (``man -P cat``, 100 columns); ``path`` renders a file via ``man -l``.

    Raises:
        PipelineError: ``man`` is missing, the page is unknown, or rendering failed.
    """
    if shutil.which("man") is None:
        raise PipelineError(f"{_STAGE}: the `man` command is missing: apt-get install man-db.")
    if path is not None:
        argv = ["man", "-l", "-P", "cat", "--", str(path)]
        label = str(path)
    else:
        argv = ["man", "-P", "cat", "--", *([section] if section else []), name]
        label = f"man page '{name}'" + (f" in section {section}" if section else "")
    try:
        proc = subprocess.run(argv, capture_output=True, env=_man_env(), timeout=MAN_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PipelineError(f"{_STAGE}: rendering {label} took over {MAN_TIMEOUT_S:.0f} s; try again.") from exc
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode == 16 or (proc.returncode != 0 and not out.strip()):
        if path is not None:
            raise PipelineError(f"{_STAGE}: man could not render {path}: {proc.stderr.decode(errors='replace')}")
        raise PipelineError(
            f"{_STAGE}: {label} not found: install its package or check `man -w {name}` (in Docker images, "
            "also check /etc/dpkg/dpkg.cfg.d/ for a path-exclude=/usr/share/man/* rule and reinstall the "
            "package after removing it)."
        )
    if not out.strip():
        raise PipelineError(f"{_STAGE}: {label} rendered as empty text.")
    return out


def man_page_exists(name: str, section: str = "") -> bool:
    """True when ``man -w`` finds the page (fast: no rendering)."""
    if shutil.which("man") is None:
        return False
    argv = ["man", "-w", "--", *([section] if section else []), name]
    proc = subprocess.run(argv, capture_output=True, env=_man_env(), timeout=MAN_TIMEOUT_S, check=False)
    return proc.returncode == 0 and bool(proc.stdout.strip())


# ---------------------------------------------------------------------------------------------- loading


class _Budget:
    def __init__(self, max_total_bytes: int) -> None:
        self.cap = max_total_bytes
        self.used = 0

    @property
    def exceeded(self) -> bool:
        return self.used > self.cap

    @property
    def left(self) -> int:
        return max(0, self.cap - self.used)

    def charge(self, n: int, source: str) -> None:
        self.used += n
        if self.used > self.cap:
            raise PipelineError(
                f"{_STAGE}: the documents exceed the input cap of {self.cap / 2**20:.1f} MiB (reached at "
                f"{source}). Load fewer or smaller sources, or raise max_total_bytes."
            )


def _parse_unit(unit: _Unit, budget: _Budget, max_chars: int) -> ParsedDoc:
    if unit.format == "man":
        if unit.path is not None:
            rendered = render_man(path=unit.path)
            fallback = _inner_name(unit.path)[0]
        else:
            rendered = render_man(unit.man_name, unit.man_section)
            fallback = f"{unit.man_name}({unit.man_section})" if unit.man_section else unit.man_name
        budget.charge(len(rendered.encode("utf-8")), unit.source)
        return parse_man_text(rendered, fallback, split_over=max_chars)
    assert unit.path is not None
    data = _read_bytes(unit.path, budget.left)
    budget.charge(len(data), unit.source)
    text = _decode(data, unit.source)
    fallback = os.path.splitext(_inner_name(unit.path)[0])[0] or unit.path.name
    try:
        if unit.format == "markdown":
            return parse_markdown(text, fallback)
        if unit.format == "html":
            return parse_html(text, fallback)
        if unit.format == "mallard":
            return parse_mallard(text, fallback, str(unit.path.parent))
        if unit.format == "docbook":
            doc = parse_docbook(text, fallback, str(unit.path.parent))
            budget.charge(sum(_file_size(f) for f in doc.included), unit.source)
            return doc
        return parse_text(text, fallback)
    except ValueError as exc:
        raise PipelineError(f"{_STAGE}: cannot parse {unit.source} as {unit.format}: {exc}. Fix or drop it.") from exc


def _bound(doc: ParsedDoc, unit: _Unit, max_chars: int, overlap: int) -> list[DocSection]:
    merged: list[tuple[tuple[str, ...], str]] = []
    for path, text in doc.sections:  # adjacent pieces under the same heading path become one section
        if not text.strip():
            continue
        if merged and merged[-1][0] == path:
            merged[-1] = (path, merged[-1][1] + "\n\n" + text)
        else:
            merged.append((path, text))
    out: list[DocSection] = []
    for path, text in merged:
        name = " > ".join(path) if path else doc.title
        chunks = _split_by_size(text, max_chars, overlap)
        for i, chunk in enumerate(chunks, 1):
            label = f"{name} (part {i})" if len(chunks) > 1 else name
            out.append(DocSection(unit.source, unit.format, doc.title, label, chunk, len(out)))
    return out


def load_sources(
    sources: Sequence[str],
    *,
    skip_errors: bool = False,
    max_sections: int | None = None,
    max_section_chars: int = MAX_SECTION_CHARS,
    overlap: int = OVERLAP_CHARS,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> LoadResult:
    """Load documentation sources into sections (see the module docstring for formats).

    Args:
        sources: Paths (files or directories) and ``man:NAME`` / ``man:NAME(SEC)`` references.
        skip_errors: Collect per-source failures in ``LoadResult.errors`` instead of raising.
        max_sections: Stop after this many sections (``LoadResult.truncated`` is then True).
        max_section_chars: Longer sections are split into ``(part N)`` chunks of at most this size.
        overlap: Characters repeated at the start of each following chunk.
        max_total_bytes: Cap on input read (file bytes after decompression, rendered man text).

    Returns:
        The sections in source order (``order`` counts within each source) and the failures.

    Raises:
        PipelineError: A source failed (unless ``skip_errors``), or the input cap was exceeded (always).
    """
    if max_section_chars < 200:
        raise PipelineError(f"{_STAGE}: max_section_chars={max_section_chars} is too small; use 200 or more.")
    result = LoadResult()
    budget = _Budget(max_total_bytes)
    for source in sources:
        try:
            units = list(_units(source))
        except PipelineError as exc:
            if not skip_errors:
                raise
            result.errors.append(LoadFailure(source, str(exc)))
            continue
        for unit in units:
            try:
                sections = _bound(_parse_unit(unit, budget, max_section_chars), unit, max_section_chars, overlap)
            except PipelineError as exc:
                if budget.exceeded:
                    raise
                if unit.in_directory:
                    result.skipped.append(LoadFailure(unit.source, str(exc)))
                    continue
                if not skip_errors:
                    raise
                result.errors.append(LoadFailure(unit.source, str(exc)))
                continue
            if max_sections is not None and len(result.sections) + len(sections) > max_sections:
                result.sections.extend(sections[: max(0, max_sections - len(result.sections))])
                result.truncated = True
                return result
            result.sections.extend(sections)
    return result


def dedupe_sections(sections: Sequence[DocSection]) -> list[DocSection]:
    """Drop sections whose text (whitespace-normalized) equals an earlier one's; order is kept."""
    seen: set[str] = set()
    out: list[DocSection] = []
    for sec in sections:
        key = " ".join(sec.text.split())
        if key in seen:
            continue
        seen.add(key)
        out.append(sec)
    return out


def find_app_docs(app_profile_docs: Sequence[str], *, notes: list[str] | None = None) -> list[str]:
    """Expand an app profile's ``docs`` list: globs expanded (sorted), missing paths and man pages dropped.

    Each dropped entry is logged and, when ``notes`` is given, appended to it as a sentence saying why.
    """
    out: list[str] = []

    def note(msg: str) -> None:
        log.info(msg)
        if notes is not None:
            notes.append(msg)

    for entry in app_profile_docs:
        if entry.startswith("man:"):
            m = _MAN_SPEC.match(entry)
            if not m:
                note(f"skipped {entry!r}: not a man:NAME or man:NAME(SECTION) reference")
            elif not man_page_exists(m.group(1), m.group(2) or ""):
                name = m.group(1)
                note(f"skipped {entry}: no such man page here (install its package; check `man -w {name}`)")
            elif entry not in out:
                out.append(entry)
            continue
        expanded = os.path.expanduser(entry)
        if glob.has_magic(expanded):
            matches = sorted(glob.glob(expanded))
            if not matches:
                note(f"skipped {entry}: the pattern matches no files")
            out.extend(m for m in matches if m not in out)
        elif os.path.exists(expanded):
            if expanded not in out:
                out.append(expanded)
        else:
            note(f"skipped {entry}: no such file or directory (is the documentation package installed?)")
    return out
