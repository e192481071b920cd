"""Paragraph texts and highlighted spans of an OpenDocument text file (.odt), read from its ``content.xml``.

python-docx reads only .docx; OSWorld's Writer tasks also save .odt. The package is a zip whose
``content.xml`` holds the body (``text:p`` / ``text:h`` paragraphs, ``text:span`` runs) and the automatic
styles the runs name. Files come from the sandbox (hostile): the XML is parsed with the standard library
(expat refuses entity expansion bombs) and the part is capped in size.
"""

from __future__ import annotations

import zipfile
from typing import Any
from xml.etree import ElementTree

TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
FO = "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
MAX_PART = 32 << 20


def is_odf(path: Any) -> bool:
    """True when ``path`` is a zip whose ``mimetype`` names an OpenDocument format."""
    try:
        with zipfile.ZipFile(str(path)) as z:
            return z.read("mimetype").startswith(b"application/vnd.oasis.opendocument")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def _content(path: Any) -> ElementTree.Element:
    with zipfile.ZipFile(str(path)) as z:
        info = z.getinfo("content.xml")
        if info.file_size > MAX_PART:
            raise ValueError(f"content.xml is larger than {MAX_PART} bytes")
        return ElementTree.fromstring(z.read("content.xml"))


def _text_of(el: ElementTree.Element) -> str:
    """The text of a paragraph: ``text:s`` counts spaces, ``text:tab`` is a tab, ``text:line-break`` a newline."""
    parts = [el.text or ""]
    for child in el:
        tag = child.tag
        if tag == f"{{{TEXT}}}s":
            parts.append(" " * int(child.get(f"{{{TEXT}}}c", "1")))
        elif tag == f"{{{TEXT}}}tab":
            parts.append("\t")
        elif tag == f"{{{TEXT}}}line-break":
            parts.append("\n")
        elif tag not in (f"{{{TEXT}}}note", f"{{{TEXT}}}annotation"):
            parts.append(_text_of(child))
        parts.append(child.tail or "")
    return "".join(parts)


def odt_paragraphs(path: Any) -> list[str]:
    """The text of every paragraph and heading, in document order.

    Raises:
        OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError, ValueError: not a readable .odt.
    """
    root = _content(path)
    return [_text_of(el) for el in root.iter() if el.tag in (f"{{{TEXT}}}p", f"{{{TEXT}}}h")]


def odt_highlighted(path: Any) -> list[str]:
    """Texts of the spans and paragraphs whose style gives them a background colour (a highlight).

    Raises:
        OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError, ValueError: not a readable .odt.
    """
    root = _content(path)
    marked: set[str] = set()
    for style in root.iter(f"{{{STYLE}}}style"):
        props = style.find(f"{{{STYLE}}}text-properties")
        color = props.get(f"{{{FO}}}background-color") if props is not None else None
        if color and color.lower() != "transparent":
            marked.add(style.get(f"{{{STYLE}}}name", ""))
    out = []
    for el in root.iter():
        if el.tag in (f"{{{TEXT}}}span", f"{{{TEXT}}}p", f"{{{TEXT}}}h") and el.get(f"{{{TEXT}}}style-name") in marked:
            text = _text_of(el)
            if text.strip():
                out.append(text)
    return out
