"""Text-file metrics with OSWorld's names, used by its multi-app tasks (files copied out of the sandbox).

=======================================  =========================================================================
``check_list``                           every ``rules.expect`` regex matches some line; no ``unexpect`` regex any
``check_line_number``                    the number of lines holding a clock time (hh:mm:ss) is ``expected``
``compare_python_pure_text``             the two files are equal once all whitespace is removed
``check_json``                           ``rules.expect`` / ``unexpect``: ``{key: [path...], method, ref}`` on a
                                         JSON file (``is_yaml``: YAML, read with ``yaml.safe_load``)
``compare_docx_files_and_ignore_new_lines``  the non-empty paragraphs of two .docx/.odt files hold the same text
``compare_references``                   the paragraphs after ``reference_indicator`` ("References") match one by
                                         one (mean similarity, rescaled above ``reference_base_result``)
``fuzzy_place_math``                     a .docx of exactly 3 words, each close to one of ``rules.expected``
``compare_conference_city_in_order``     cells C2:C22 of the workbook hold the expected cities in order (a list
                                         entry accepts any of its spellings)
=======================================  =========================================================================

Similarities are difflib ratios (OSWorld uses rapidfuzz's ``fuzz.ratio``: the same 2*matches/length idea).
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
MAX_TEXT = 64 << 20
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d")


def _text(path: Any) -> str | None:
    if not isinstance(path, (str, Path)) or not Path(str(path)).is_file():
        return None
    if Path(str(path)).stat().st_size > MAX_TEXT:
        return None
    return Path(str(path)).read_text(encoding="utf-8", errors="replace")


def check_list(result: Any, rules: dict[str, Any], **_: Any) -> float:
    text = _text(result)
    if text is None:
        return 0.0
    try:
        expect = [re.compile(str(p)) for p in rules.get("expect", [])]
        unexpect = [re.compile(str(p)) for p in rules.get("unexpect", [])]
    except re.error:
        return 0.0
    lines = text.splitlines()
    found = all(any(p.search(line) for line in lines) for p in expect)
    clean = not any(p.search(line) for p in unexpect for line in lines)
    return float(found and clean)


def check_line_number(result: Any, rules: dict[str, Any], **_: Any) -> float:
    text = _text(result)
    if text is None:
        return 0.0
    try:
        return float(sum(1 for line in text.splitlines() if _CLOCK.search(line)) == int(rules["expected"]))
    except (KeyError, TypeError, ValueError):
        return 0.0


def compare_python_pure_text(file1: Any, file2: Any, **_: Any) -> float:
    a, b = _text(file1), _text(file2)
    return float(a is not None and b is not None and "".join(a.split()) == "".join(b.split()))


def _value_at(data: Any, keys: list[Any]) -> tuple[bool, Any]:
    for k in keys:
        try:
            data = data[k]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, data


def check_json(result: Any, rules: dict[str, Any], **options: Any) -> float:
    from envs.metrics_office import method_ok

    text = _text(result)
    if text is None:
        return 0.0
    try:
        if options.get("is_yaml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - unparsable -> 0
        log.info("check_json: cannot parse %s: %s", result, exc)
        return 0.0
    for rule in rules.get("expect", []):
        found, value = _value_at(data, list(rule.get("key", [])))
        if not found or not method_ok(value, rule):
            return 0.0
    for rule in rules.get("unexpect", []):
        found, value = _value_at(data, list(rule.get("key", [])))
        if method_ok(value if found else None, rule):
            return 0.0
    return 1.0


def _paragraphs(path: Any) -> list[str] | None:
    from envs.metrics_office import docx_paragraphs

    if not isinstance(path, (str, Path)) or not Path(str(path)).is_file():
        return None
    return docx_paragraphs(path)


def compare_docx_files_and_ignore_new_lines(file1: Any, file2: Any, **options: Any) -> float:
    p1, p2 = _paragraphs(file1), _paragraphs(file2)
    if p1 is None or p2 is None:
        return 0.0
    p1, p2 = [p for p in p1 if p != ""], [p for p in p2 if p != ""]
    if options.get("ignore_blanks", True):
        return float(re.sub(r"\s+", " ", "\n".join(p1)).strip() == re.sub(r"\s+", " ", "\n".join(p2)).strip())
    return float(p1 == p2)


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(a=a, b=b).ratio()


def compare_references(file1: Any, file2: Any, **options: Any) -> float:
    p1, p2 = _paragraphs(file1), _paragraphs(file2)
    if p1 is None or p2 is None:
        return 0.0
    marker = str(options.get("reference_indicator", "References"))
    base = float(options.get("reference_base_result", 0.5))
    if marker not in p1 and marker not in p2:
        return 1.0
    if marker not in p1 or marker not in p2:
        return 0.0
    refs1 = [p for p in p1[p1.index(marker) + 1 :] if p.strip()]
    refs2 = [p for p in p2[p2.index(marker) + 1 :] if p.strip()]
    if len(refs1) != len(refs2) or not refs1:
        return float(refs1 == refs2)
    mean = sum(_ratio(a, b) for a, b in zip(refs1, refs2, strict=True)) / len(refs1)
    return (mean - base) / (1 - base) if mean >= base and base < 1 else float(mean >= base)


def fuzzy_place_math(result: Any, rules: dict[str, Any], **_: Any) -> float:
    paragraphs = _paragraphs(result)
    if paragraphs is None:
        return 0.0
    words = [w for p in paragraphs for w in p.split()]
    answers = [str(a) for a in rules.get("expected", [])]
    if len(words) != 3 or not answers:
        return 0.0
    return sum(max(_ratio(w, a) for a in answers) for w in words) / 3


def compare_conference_city_in_order(result: Any, rules: dict[str, Any], **_: Any) -> float:
    from envs.metrics_office import load_book

    if not isinstance(result, (str, Path)) or not Path(str(result)).is_file():
        return 0.0
    book = load_book(result)
    if book is None or book.active is None:
        return 0.0
    expected = list(rules.get("expected", []))
    cities = [c.value for row in book.active["C2:C22"] for c in row]
    for i, have in enumerate(cities):
        if i >= len(expected):
            return 0.0
        options = expected[i] if isinstance(expected[i], list) else [expected[i]]
        if not any(str(o) in str(have or "") for o in options):
            return 0.0
    return 1.0


METRICS: dict[str, Callable[..., float]] = {
    "check_list": check_list,
    "check_line_number": check_line_number,
    "compare_python_pure_text": compare_python_pure_text,
    "check_json": check_json,
    "compare_docx_files_and_ignore_new_lines": compare_docx_files_and_ignore_new_lines,
    "compare_references": compare_references,
    "fuzzy_place_math": fuzzy_place_math,
    "compare_conference_city_in_order": compare_conference_city_in_order,
}
