"""Parsers that turn one document's text into titled sections (Markdown, HTML, plain text, man output).

Every parser takes the decoded text and a fallback title and returns a :class:`ParsedDoc`: the document title
and a list of ``(heading_path, text)`` pairs in document order. A heading path never repeats the document
title; an empty path means "the text right under the title". Size bounds, ids and empty-section dropping
are applied afterwards by :mod:`studio.pipeline.stages.docs`, so parsers only care about structure.

The XML vocabularies (Mallard, DocBook) live in :mod:`studio.pipeline.stages.docs_xml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

Path_ = tuple[str, ...]


@dataclass
class ParsedDoc:
    """One parsed document: its title, ``(heading_path, text)`` sections in order, and files it inlined."""

    title: str
    sections: list[tuple[Path_, str]] = field(default_factory=list)
    included: list[str] = field(default_factory=list)


def normalize_text(text: str) -> str:
    """Strip trailing blanks, drop leading/trailing empty lines and collapse runs of blank lines to one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _push(sections: list[tuple[Path_, str]], path: Path_, lines: list[str]) -> None:
    text = normalize_text("\n".join(lines))
    if text:
        sections.append((path, text))


def _path_below_title(stack: list[tuple[int, str]], title: str) -> Path_:
    path = tuple(name for _, name in stack)
    if path and path[0] == title:
        path = path[1:]
    return path


# ---------------------------------------------------------------------------------------------- markdown

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_LIST_OR_QUOTE = re.compile(r"^\s*([-*+]|\d+[.)]|>)\s")


def strip_markdown_inline(line: str) -> str:
    """Lightly remove inline Markdown: images, links, emphasis, code ticks, HTML tags, link definitions."""
    if re.match(r"^\s{0,3}\[[^\]]+\]:\s*\S+", line):
        return ""
    line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", line)
    line = re.sub(r"<(https?://[^>\s]+)>", r"\1", line)
    line = re.sub(r"</?[A-Za-z][^>]*>", "", line)
    line = re.sub(r"`+([^`]+)`+", r"\1", line)
    line = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", line)
    line = re.sub(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])", r"\1", line)
    line = re.sub(r"(?<![\w_])_(?=\S)([^_]+?)(?<=\S)_(?![\w_])", r"\1", line)
    line = re.sub(r"^\s{0,3}>\s?", "", line)
    return line


def parse_markdown(text: str, fallback_title: str) -> ParsedDoc:
    """Split Markdown at ATX (``#``) and setext (underlined) headings, keeping the heading path.

    The first level-1 heading becomes the document title (else ``fallback_title``). Fenced code keeps its
    content (minus the fences) and is never scanned for headings. Horizontal rules (``---`` after a blank
    line) are not headings.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    title = ""
    stack: list[tuple[int, str]] = []
    sections: list[tuple[Path_, str]] = []
    buf: list[str] = []
    fence: str | None = None

    def heading(level: int, name: str) -> None:
        nonlocal title, buf
        name = strip_markdown_inline(name).strip()
        _push(sections, _path_below_title(stack, title), buf)
        buf = []
        if level == 1 and not title:
            title = name
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, name))

    i = 0
    while i < len(lines):
        line = lines[i]
        m_fence = _FENCE.match(line)
        if fence is not None:
            if m_fence and m_fence.group(1)[0] == fence[0] and len(m_fence.group(1)) >= len(fence):
                fence = None
            else:
                buf.append(line)
            i += 1
            continue
        if m_fence:
            fence = m_fence.group(1)
            i += 1
            continue
        m_atx = _ATX.match(line)
        if m_atx:
            heading(len(m_atx.group(1)), m_atx.group(2))
            i += 1
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        m_set = _SETEXT.match(nxt)
        if (
            m_set
            and line.strip()
            and not _LIST_OR_QUOTE.match(line)
            and not _SETEXT.match(line)
            and (i == 0 or not lines[i - 1].strip() or m_set.group(1)[0] == "=")
        ):
            heading(1 if m_set.group(1)[0] == "=" else 2, line)
            i += 2
            continue
        if re.match(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$", line):  # horizontal rule
            buf.append("")
            i += 1
            continue
        buf.append(strip_markdown_inline(line))
        i += 1
    _push(sections, _path_below_title(stack, title), buf)
    return ParsedDoc(title or fallback_title, sections)


# ---------------------------------------------------------------------------------------------- plain text

_UNDERLINE = re.compile(r"^\s*([=\-~^*#])\1{2,}\s*$")


def _is_caps_heading(line: str) -> bool:
    s = line.strip()
    letters = [c for c in s if c.isalpha()]
    return (
        3 <= len(s) <= 80
        and "\t" not in s
        and len(letters) >= 3
        and len(letters) >= 0.6 * len(s.replace(" ", ""))
        and all(c.isupper() for c in letters)
        and not re.match(r"^([-*+o]|\d+[.)])\s", s)
    )


def _is_short_heading(line: str) -> bool:
    s = line.rstrip()
    return (
        bool(s)
        and not s[0].isspace()
        and len(s) <= 60
        and len(s.split()) <= 8
        and s[0].isupper()
        and s[-1] not in ".,;!?)"
        and "\t" not in s
    )


def parse_text(text: str, fallback_title: str) -> ParsedDoc:
    """Split plain text at headings, else return it whole (the size bound then chunks it with overlap).

    A heading is a line underlined with ``===``/``---``/``~~~``; an ALL-CAPS line between blank lines; or a
    short title-like line at column 0 between blank lines (``Numbers:``, ``Definitions``). The document title
    is the first non-blank line when it is short, else ``fallback_title``.
    """
    lines = normalize_text(text).split("\n")
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    title = first if first and len(first) <= 80 else fallback_title
    sections: list[tuple[Path_, str]] = []
    buf: list[str] = []
    current: Path_ = ()
    i = 0
    while i < len(lines):
        line = lines[i]
        prev_blank = i == 0 or not lines[i - 1].strip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        name = ""
        skip = 1
        if line.strip() and _UNDERLINE.match(nxt) and len(nxt.strip()) >= 0.5 * len(line.strip()):
            name, skip = line.strip(), 2
        elif prev_blank and not nxt.strip() and i + 2 < len(lines) and _is_caps_heading(line):
            name = line.strip()
        elif prev_blank and not nxt.strip() and i + 2 < len(lines) and _is_short_heading(line):
            name = line.strip().rstrip(":").strip()
        if name and name != title:
            _push(sections, current, buf)
            buf, current = [], (name,)
            i += skip
            continue
        if name == title and not sections and not "".join(buf).strip():
            i += skip  # the title line itself is not body text
            continue
        buf.append(line)
        i += 1
    _push(sections, current, buf)
    return ParsedDoc(title, sections)


# ---------------------------------------------------------------------------------------------- HTML

_SKIP_TAGS = {"script", "style", "nav", "noscript", "template", "svg", "head", "iframe", "object"}
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "pre", "blockquote", "section",
    "article", "header", "footer", "hr", "h4", "h5", "h6", "address", "figure", "figcaption", "main", "aside",
    "form", "fieldset", "caption", "thead", "tbody",
}  # fmt: skip
_HEADING_LEVEL = {"h1": 1, "h2": 2, "h3": 3}


class _HTMLSections(HTMLParser):
    """Collect text between h1-h3 headings; ``pre`` keeps its whitespace, other text is re-flowed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doc_title = ""
        self.in_title = False
        self.skip_depth = 0
        self.pre_depth = 0
        self.heading: tuple[int, list[str]] | None = None
        self.stack: list[tuple[int, str]] = []
        self.first_h1 = ""
        self.chunks: list[tuple[Path_, list[str]]] = [((), [])]

    def _emit(self, s: str) -> None:
        if self.heading is not None:
            self.heading[1].append(s)
        else:
            self.chunks[-1][1].append(s)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
            return
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag in _HEADING_LEVEL:
            self.heading = (_HEADING_LEVEL[tag], [])
            return
        if tag == "pre":
            self.pre_depth += 1
        if tag in _BLOCK_TAGS:
            self._emit("\n")
        if tag == "li":
            self._emit("- ")
        elif tag in ("td", "th"):
            self._emit(" | ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._emit(f" {alt} ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIP_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
            return
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag in _HEADING_LEVEL and self.heading is not None:
            level, parts = self.heading
            self.heading = None
            name = re.sub(r"\s+", " ", "".join(parts)).strip()
            if not name:
                return
            if level == 1 and not self.first_h1:
                self.first_h1 = name
            while self.stack and self.stack[-1][0] >= level:
                self.stack.pop()
            self.stack.append((level, name))
            self.chunks.append((tuple(n for _, n in self.stack), []))
            return
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag in _BLOCK_TAGS and tag != "li":
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.doc_title += data
            return
        if self.skip_depth:
            return
        if self.pre_depth:
            self._emit(data)
        else:
            self._emit(re.sub(r"\s+", " ", data))


def _unpad(line: str) -> str:
    """Drop the single space re-flowing leaves at a line start; deeper indents (``pre``) stay."""
    return line[1:] if line.startswith(" ") and not line.startswith("  ") else line


def parse_html(text: str, fallback_title: str) -> ParsedDoc:
    """Split HTML at ``h1``-``h3`` (``h4``-``h6`` stay inside as text), dropping script/style/nav/head.

    The title is ``<title>``, else the first ``h1``, else ``fallback_title``. Paragraph and list structure
    survives as line breaks; ``pre`` blocks keep their layout.
    """
    parser = _HTMLSections()
    parser.feed(text)
    parser.close()
    title = re.sub(r"\s+", " ", parser.doc_title).strip() or parser.first_h1 or fallback_title
    sections: list[tuple[Path_, str]] = []
    for path, parts in parser.chunks:
        if path and path[0] == title:
            path = path[1:]
        body = "\n".join(_unpad(line) for line in "".join(parts).split("\n"))
        _push(sections, path, [body])
    return ParsedDoc(title, sections)


# ---------------------------------------------------------------------------------------------- man output

_MAN_SECTION = re.compile(r"^[A-Z][A-Z0-9 ,/&()'_-]*$")
_MAN_SUBSECTION = re.compile(r"^ {2,4}(\S.*)$")


def strip_overstrike(text: str) -> str:
    """Remove backspace overstrike (``X\\bX`` bold, ``_\\bX`` underline), like ``col -b``, and expand tabs."""
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"[^\n]\x08", "", text)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # SGR escapes, should groff emit them
    return text.expandtabs()


def _dedent(lines: list[str]) -> list[str]:
    """Remove the body indent (7 columns in man output); subsection header lines lose theirs entirely."""
    body = [ln for ln in lines if ln.strip() and not _MAN_SUBSECTION.match(ln)]
    indents = [len(ln) - len(ln.lstrip(" ")) for ln in body]
    cut = min(indents) if indents else 0
    return [ln.strip() if _MAN_SUBSECTION.match(ln) else ln[cut:] for ln in lines]


def parse_man_text(rendered: str, fallback_title: str, *, split_over: int = 2500) -> ParsedDoc:
    """Split a man page rendered by ``man -P cat`` at its top-level headers (NAME, SYNOPSIS, ...).

    The header/footer lines (``BASH(1) ... BASH(1)``) are dropped. Sections longer than ``split_over``
    characters are split further at their subsection headers (lines indented 3 spaces, e.g. bash's
    ``   Pipelines``) into paths like ``SHELL GRAMMAR > Pipelines``. The title is the NAME line
    (``bash - GNU Bourne-Again SHell``), else ``fallback_title``.
    """
    lines = strip_overstrike(rendered).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and re.search(r"\(\w+\)\s*$", lines[0].strip()):
        lines = lines[1:]
    if lines and lines[-1].strip() and not lines[-1].startswith(" ") and re.search(r"\(\w+\)\s*$", lines[-1]):
        lines = lines[:-1]
    raw: list[tuple[str, list[str]]] = [("", [])]
    for line in lines:
        if line and not line[0].isspace() and _MAN_SECTION.match(line.strip()):
            raw.append((line.strip(), []))
        else:
            raw[-1][1].append(line)
    title = fallback_title
    sections: list[tuple[Path_, str]] = []
    for name, body in raw:
        if name == "NAME":
            one = " ".join(" ".join(body).split())
            if one:
                title = one
        body_text = "\n".join(body)
        if len(body_text) <= split_over:
            _push(sections, (name,) if name else (), _dedent(body))
            continue
        sub: list[tuple[Path_, list[str]]] = [((name,), [])]
        for line in body:
            m = _MAN_SUBSECTION.match(line)
            if m and len(m.group(1)) <= 60 and m.group(1)[0].isupper() and not m.group(1).endswith("."):
                sub.append(((name, m.group(1).strip()), []))
            else:
                sub[-1][1].append(line)
        for path, part in sub:
            _push(sections, path, _dedent(part))
    return ParsedDoc(title, sections)


# ---------------------------------------------------------------------------------------------- size bounds


def split_by_size(text: str, max_chars: int, overlap: int) -> list[str]:
    """Split ``text`` into chunks of at most ``max_chars``, preferring paragraph, then line, then word breaks.

    Each chunk after the first starts with up to ``overlap`` characters from the end of the previous one
    (cut at a word boundary) so that a sentence split across chunks is readable in both.
    """
    if len(text) <= max_chars:
        return [text]
    overlap = max(0, min(overlap, max_chars // 4))
    chunks: list[str] = []
    start = 0
    while start < len(text):
        room = max_chars - (overlap if chunks else 0)
        end = min(len(text), start + room)
        if end < len(text):
            window = text[start:end]
            cut = -1
            for sep in ("\n\n", "\n", " "):
                pos = window.rfind(sep)
                if pos > room // 2:
                    cut = pos + len(sep)
                    break
            if cut > 0:
                end = start + cut
        body = text[start:end].strip("\n")
        if chunks and overlap:
            tail = text[max(0, start - overlap) : start]
            space = tail.find(" ")
            tail = tail[space + 1 :] if 0 <= space < len(tail) - 1 else tail
            body = (tail + body).strip("\n") if tail.strip() else body
        if body.strip():
            chunks.append(body)
        start = end
    return chunks
