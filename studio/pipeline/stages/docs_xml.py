"""XML help formats: GNOME Mallard pages (``.page``) and DocBook (``.xml``, e.g. Gnumeric's manual).

Both are parsed with :mod:`xml.etree.ElementTree` (no network, no DTD loading) and walked by one
vocabulary-driven walker: section elements start a new heading path, the first ``title`` child names it,
``info``-like and media elements are dropped, block elements become line breaks, verbatim blocks keep their
layout, and key/menu sequences are joined (``Ctrl+S``, ``File > Save``).

DocBook chapters in a directory often use entities declared only in the book file (Gnumeric's ``&gnum;``);
undeclared entities are resolved from the ``<!DOCTYPE>`` of sibling ``.xml`` files, then from the HTML entity
table, else replaced by their name. ``SYSTEM`` entities (file inclusions) are dropped: the included files
are loaded on their own when the directory is loaded.
"""

from __future__ import annotations

import functools
import html.entities
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from studio.pipeline.stages.docs_formats import ParsedDoc, Path_, normalize_text

MALLARD_NS = "http://projectmallard.org/1.0/"

DOCBOOK_ROOTS = frozenset(
    "book article chapter appendix preface part reference refentry section sect1 sect2 sect3 sect4 sect5 "
    "glossary simplesect".split()
)


@dataclass(frozen=True)
class Vocabulary:
    """Which element names play which role for the walker (local names, namespaces ignored)."""

    sections: frozenset[str]
    drop: frozenset[str]
    blocks: frozenset[str]
    verbatim: frozenset[str]
    items: frozenset[str]
    joins: tuple[tuple[str, str], ...]
    infos: frozenset[str]


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


MALLARD = Vocabulary(
    sections=_names("section"),
    drop=_names("info links media comment include credit revision"),
    blocks=_names(
        "p item steps list terms tree note title code screen example synopsis figure table tr td listing "
        "quote desc cite subtitle"
    ),
    verbatim=_names("code screen output"),
    items=_names("item"),
    joins=(("keyseq", "+"), ("guiseq", " > ")),
    infos=_names("info"),
)

DOCBOOK = Vocabulary(
    sections=_names(
        "book article chapter appendix preface part reference refentry section sect1 sect2 sect3 sect4 sect5 "
        "simplesect glossary"
    ),
    drop=_names(
        "info bookinfo articleinfo chapterinfo sectioninfo sect1info sect2info sect3info prefaceinfo "
        "appendixinfo refentryinfo indexterm remark mediaobject imageobject inlinemediaobject screenshot "
        "graphic include titleabbrev index revhistory legalnotice authorgroup refmeta"
    ),
    blocks=_names(
        "para simpara formalpara listitem varlistentry term entry row programlisting screen literallayout "
        "synopsis funcsynopsis cmdsynopsis note tip warning caution important example informalexample figure "
        "table informaltable itemizedlist orderedlist variablelist step procedure title glossentry glossterm "
        "glossdef blockquote qandaentry question answer refnamediv refsynopsisdiv refsect1 refsect2 refsect3 "
        "segmentedlist seglistitem calloutlist callout bridgehead"
    ),
    verbatim=_names("programlisting screen literallayout synopsis"),
    items=_names("listitem step"),
    joins=(("keycombo", "+"), ("menuchoice", " > ")),
    infos=_names("info bookinfo articleinfo chapterinfo sectioninfo sect1info prefaceinfo"),
)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _finish(parts: list[str]) -> str:
    text = re.sub(r"(?m)^(\s*)- *\n\s*", r"\1- ", "".join(parts))  # "- " + a block inside the item
    lines = text.split("\n")
    return normalize_text("\n".join(ln[1:] if ln.startswith(" ") and not ln.startswith("  ") else ln for ln in lines))


class _Walker:
    def __init__(self, vocab: Vocabulary) -> None:
        self.v = vocab
        self.joins = dict(vocab.joins)

    def title_of(self, el: ET.Element) -> str:
        candidates = [c for c in el if _local(c.tag) == "title"]
        if not candidates:
            for info in (c for c in el if _local(c.tag) in self.v.infos):
                candidates = [c for c in info if _local(c.tag) == "title" and c.get("type") in (None, "text")]
                if candidates:
                    break
        if not candidates:  # a DocBook refentry is named by its refname
            candidates = [c for c in el.iter() if _local(c.tag) in ("refname", "refentrytitle")][:1]
        if not candidates:
            return ""
        parts: list[str] = []
        self.gather(candidates[0], parts, inline=True)
        return _ws("".join(parts)).strip()

    def gather(self, el: ET.Element, out: list[str], verbatim: bool = False, inline: bool = False) -> None:
        name = _local(el.tag)
        if name in self.v.drop:
            return
        block = name in self.v.blocks and not inline
        verb = verbatim or name in self.v.verbatim
        if block:
            out.append("\n")
        if name in self.v.items and not inline:
            out.append("- ")
        if name in self.joins:
            pieces = []
            for child in el:
                sub: list[str] = []
                self.gather(child, sub, verb, inline=True)
                piece = _ws("".join(sub)).strip()
                if piece:
                    pieces.append(piece)
            out.append(self.joins[name].join(pieces) or _ws(el.text or ""))
        else:
            if el.text:
                out.append(el.text if verb else _ws(el.text))
            for child in el:
                self.gather(child, out, verb, inline)
                if child.tail:
                    out.append(child.tail if verb else _ws(child.tail))
        if block:
            out.append("\n")

    def walk(self, el: ET.Element, path: Path_, sections: list[tuple[Path_, str]]) -> None:
        slot = len(sections)
        sections.append((path, ""))
        buf: list[str] = []
        title_skipped = False
        if el.text and el.text.strip():
            buf.append(_ws(el.text))
        for child in el:
            name = _local(child.tag)
            if name in self.v.sections:
                self.walk(child, (*path, self.title_of(child) or name), sections)
            elif name == "title" and not title_skipped:
                title_skipped = True
            else:
                self.gather(child, buf)
            if child.tail and child.tail.strip():
                buf.append(_ws(child.tail))
        sections[slot] = (path, _finish(buf))


# ---------------------------------------------------------------------------------------------- entities

_DOCTYPE = re.compile(r"<!DOCTYPE\s[^\[>]*(?:\[(.*?)\])?\s*>", re.S)
_ENTITY_DECL = re.compile(r"<!ENTITY\s+(%\s+)?([\w.:-]+)\s+(?:\"([^\"]*)\"|'([^']*)'|(?:SYSTEM|PUBLIC)\b[^>]*)>", re.S)
_ENTITY_REF = re.compile(r"&([A-Za-z_][\w.:-]*);")
_XML_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})


def _declared_entities(subset: str) -> tuple[dict[str, str], dict[str, str]]:
    """``(internal, external)`` general entities of a DOCTYPE subset: name -> value / name -> system file."""
    internal: dict[str, str] = {}
    external: dict[str, str] = {}
    for m in _ENTITY_DECL.finditer(subset):
        if m.group(1):
            continue  # parameter entity
        value = m.group(3) if m.group(3) is not None else m.group(4)
        if value is not None:
            internal.setdefault(m.group(2), value)
        else:
            sysid = re.search(r"[\"']([^\"']+)[\"']\s*>?\s*$", m.group(0))
            external.setdefault(m.group(2), sysid.group(1) if sysid else "")
    return internal, external


def _strip_prolog(text: str) -> tuple[str, str]:
    """Remove comments, the XML declaration and the DOCTYPE; return ``(text, doctype_internal_subset)``."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    m = _DOCTYPE.search(text)
    if not m:
        return text, ""
    return text[: m.start()] + text[m.end() :], m.group(1) or ""


@functools.lru_cache(maxsize=64)
def _sibling_entities(directory: str) -> dict[str, str]:
    """Internal entities declared in the DOCTYPE of ``.xml`` files in ``directory`` (e.g. a DocBook book)."""
    out: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.xml")):
        try:
            with path.open("rb") as fh:
                head = fh.read(200_000).decode("utf-8", "replace")
        except OSError:
            continue
        _, subset = _strip_prolog(head)
        for k, v in _declared_entities(subset)[0].items():
            out.setdefault(k, v)
    return out


def docbook_includes(path: Path) -> list[Path]:
    """Files a DocBook book pulls in through ``SYSTEM`` entities declared in its DOCTYPE (existing ones)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(200_000).decode("utf-8", "replace")
    except OSError:
        return []
    _, subset = _strip_prolog(head)
    files = [path.parent / f for f in _declared_entities(subset)[1].values() if f and "://" not in f]
    return [f for f in files if f.is_file()]


def resolve_entities(text: str, directory: str | None = None, included: list[str] | None = None) -> str:
    """Remove the prolog and replace every non-XML entity reference so ElementTree can parse the text.

    ``SYSTEM`` entities naming an existing file under ``directory`` are inlined (a DocBook book pulling in
    its chapters); their paths are appended to ``included``. Others are dropped.
    """
    text, subset = _strip_prolog(text)
    declared, external = _declared_entities(subset)
    siblings: dict[str, str] | None = None

    def inline(name: str, depth: int) -> str:
        target = Path(directory or ".") / external[name]
        if depth >= 4 or not external[name] or "://" in external[name] or not target.is_file():
            return ""
        try:
            body = target.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        if included is not None:
            included.append(str(target))
        body = _strip_prolog(body)[0]
        return _ENTITY_REF.sub(lambda mm: lookup(mm.group(1), depth + 1), body)

    def lookup(name: str, depth: int = 0) -> str:
        nonlocal siblings
        if name in _XML_PREDEFINED:
            return f"&{name};"
        if name in external:
            return inline(name, depth)
        if name in declared:
            value = declared[name]
        else:
            if siblings is None:
                siblings = _sibling_entities(directory) if directory else {}
            if name in siblings:
                value = siblings[name]
            elif f"{name};" in html.entities.html5:
                return html.entities.html5[f"{name};"].replace("&", "&amp;").replace("<", "&lt;")
            else:
                return name
        if depth < 4:
            value = _ENTITY_REF.sub(lambda mm: lookup(mm.group(1), depth + 1), value)
        return value

    return _ENTITY_REF.sub(lambda mm: lookup(mm.group(1)), text)


# ---------------------------------------------------------------------------------------------- entry points

_ROOT_TAG = re.compile(r"<([A-Za-z_][\w.:-]*)([^>]*)>")


def sniff_xml(text: str) -> str | None:
    """Return ``"mallard"`` or ``"docbook"`` for XML help text, else None (another XML vocabulary)."""
    head = re.sub(r"<\?.*?\?>", "", _strip_prolog(text[:200_000])[0], flags=re.S)
    m = _ROOT_TAG.search(head)
    if not m:
        return None
    name = m.group(1).rsplit(":", 1)[-1]
    if name == "page" and MALLARD_NS in m.group(2):
        return "mallard"
    if name in DOCBOOK_ROOTS:
        return "docbook"
    return None


_FRAGMENT = "docs-fragment"


def _parse_tree(text: str, directory: str | None, included: list[str] | None = None) -> ET.Element:
    text = resolve_entities(text, directory, included)
    # DocBook chapters use xi:include without always declaring the prefix: drop them (the files load alone).
    text = re.sub(r"<xi:include\b[^>]*/>", "", text)
    text = re.sub(r"<xi:include\b.*?</xi:include>", "", text, flags=re.S)
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        if "junk after document element" not in str(exc):
            raise ValueError(f"XML does not parse ({exc})") from exc
    # A fragment with several top-level elements (a chapter split into sibling sect1 files): wrap it.
    try:
        return ET.fromstring(f"<{_FRAGMENT}>{text}</{_FRAGMENT}>")
    except ET.ParseError as exc:
        raise ValueError(f"XML does not parse ({exc})") from exc


def parse_mallard(text: str, fallback_title: str, directory: str | None = None) -> ParsedDoc:
    """Split a Mallard ``<page>`` at its ``<section>`` elements; the title is the page's ``<title>``."""
    root = _parse_tree(text, directory)
    if _local(root.tag) != "page":
        raise ValueError(f"not a Mallard page (root element <{_local(root.tag)}>)")
    walker = _Walker(MALLARD)
    sections: list[tuple[Path_, str]] = []
    walker.walk(root, (), sections)
    return ParsedDoc(walker.title_of(root) or fallback_title, sections)


def parse_docbook(text: str, fallback_title: str, directory: str | None = None) -> ParsedDoc:
    """Split DocBook at chapter/section/sectN elements; the title is the root's ``<title>``.

    A book's ``SYSTEM`` entity chapters are inlined; their paths are listed in ``ParsedDoc.included``.
    """
    included: list[str] = []
    root = _parse_tree(text, directory, included)
    walker = _Walker(DOCBOOK)
    sections: list[tuple[Path_, str]] = []
    if root.tag == _FRAGMENT:
        tops = [c for c in root if _local(c.tag) in DOCBOOK.sections]
        if not tops:
            raise ValueError("no DocBook section at the top level")
        title = walker.title_of(tops[0]) or fallback_title
        walker.walk(root, (), sections)
        # The first top-level section names the document: do not repeat it in its heading paths.
        first = walker.title_of(tops[0])
        sections = [(p[1:] if p and p[0] == first else p, t) for p, t in sections]
        return ParsedDoc(title, sections, included)
    if _local(root.tag) not in DOCBOOK_ROOTS:
        raise ValueError(f"not a DocBook document (root element <{_local(root.tag)}>)")
    walker.walk(root, (), sections)
    return ParsedDoc(walker.title_of(root) or fallback_title, sections, included)
