"""Evaluator metrics with OSWorld's names and signatures, plus a few of ours.

Each metric returns a float in [0, 1]. OSWorld calls ``metric(result, expected, **options)`` when the
evaluator has an ``expected`` getter and ``metric(result, **options)`` otherwise; we do the same. ``None``
results (a file that does not exist) score 0.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envs.observation import A11yNode


def _read(path: Any) -> str | None:
    if path is None:
        return None
    try:
        return Path(str(path)).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def exact_match(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 if ``result == rules["expected"]``."""
    return float(result == rules["expected"])


def check_include_exclude(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 if every ``include`` string is in ``result`` and no ``exclude`` string is."""
    if result is None:
        return 0.0
    include = rules.get("include", [])
    exclude = rules.get("exclude", [])
    return float(all(r in result for r in include) and all(r not in result for r in exclude))


def is_in_list(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 if ``rules["expected"]`` is an element (or substring) of ``result``."""
    if result is None:
        return 0.0
    return float(rules["expected"] in result)


def match_in_list(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 if ``result`` is one of ``rules["expected"]``."""
    if result is None:
        return 0.0
    return float(result in rules["expected"])


def literal_match(result: Any, expected: Any, **options: Any) -> float:
    """String (default) or list equality; ``ignore_case`` option."""
    kind = options.get("type", "str")
    ignore_case = bool(options.get("ignore_case", False))

    def norm(v: Any) -> str:
        return str(v).lower() if ignore_case else str(v)

    if kind == "list":
        if not isinstance(result, (list, tuple)) or not isinstance(expected, (list, tuple)):
            return 0.0
        if len(result) != len(expected):
            return 0.0
        return float(all(norm(a) == norm(b) for a, b in zip(result, expected, strict=True)))
    return float(norm(result) == norm(expected))


def fuzzy_match(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """difflib similarity ratio of ``result`` and ``rules["expected"]`` (0..1)."""
    if result is None:
        return 0.0
    return difflib.SequenceMatcher(a=str(result), b=str(rules["expected"])).ratio()


def compare_text_file(file1: Any, file2: Any, **options: Any) -> float:
    """1 if the two text files are equal; options ``ignore_blanks`` (collapse whitespace), ``ignore_case``."""
    a, b = _read(file1), _read(file2)
    if a is None or b is None:
        return 0.0
    if options.get("ignore_blanks", False):
        a, b = " ".join(a.split()), " ".join(b.split())
    if options.get("ignore_case", False):
        a, b = a.lower(), b.lower()
    return float(a == b)


def diff_text_file(file1: Any, file2: Any, **_: Any) -> float:
    """Line-level difflib ratio of two text files."""
    a, b = _read(file1), _read(file2)
    if a is None or b is None:
        return 0.0
    return difflib.SequenceMatcher(a=a.splitlines(), b=b.splitlines()).ratio()


def _match_record(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    return all(k in record and str(record[k]) == str(v) for k, v in pattern.items())


def check_csv(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """``result`` is a CSV path; every ``expect`` record pattern must match some row, no ``unexpect`` may."""
    text = _read(result)
    if text is None:
        return 0.0
    rows = list(csv.DictReader(text.splitlines()))
    expect = rules.get("expect", [])
    unexpect = rules.get("unexpect", [])
    ok = all(any(_match_record(p, r) for r in rows) for p in expect)
    bad = any(_match_record(p, r) for p in unexpect for r in rows)
    return float(ok and not bad)


def compare_csv(file1: Any, file2: Any, **options: Any) -> float:
    """1 if two CSV files match.

    Without ``strict`` the cells are compared (whitespace around cells and blank rows ignored). With OSWorld's
    ``strict`` the lines are compared: ``strict: true`` exactly, ``strict: false`` with each line stripped.
    ``ignore_case`` lowercases both sides either way.
    """
    a, b = _read(file1), _read(file2)
    if a is None or b is None:
        return 0.0
    if options.get("ignore_case", False):
        a, b = a.lower(), b.lower()
    if "strict" in options:
        la, lb = a.splitlines(), b.splitlines()
        if not options["strict"]:
            la, lb = [x.strip() for x in la], [x.strip() for x in lb]
        return float(la == lb)

    def cells(t: str) -> list[list[str]]:
        return [[c.strip() for c in row] for row in csv.reader(t.splitlines()) if any(c.strip() for c in row)]

    return float(cells(a) == cells(b))


def check_direct_json_object(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """OSWorld's JSON check: every key of ``rules["expected"]`` must have that value in ``result``.

    ``result`` may be a dict or JSON text (single quotes allowed, as OSWorld's getters print dicts). With
    ``expect_in_result`` a string value must be a substring of the result's value and a list value must share an
    element with the result's list.
    """
    import json

    if isinstance(result, str):
        try:
            result = json.loads(result.strip().replace("'", '"'))
        except json.JSONDecodeError:
            return 0.0
    if not isinstance(result, dict) or not isinstance(rules.get("expected"), dict):
        return 0.0
    expected: dict[str, Any] = rules["expected"]
    if not rules.get("expect_in_result", False):
        return float(all(result.get(k) == v for k, v in expected.items()))
    for key, want in expected.items():
        have = result.get(key)
        if isinstance(want, list):
            if not isinstance(have, list) or not any(w in have for w in want):
                return 0.0
        elif isinstance(want, str):
            if not isinstance(have, str) or want not in have:
                return 0.0
        else:
            return 0.0
    return 1.0


def file_contains(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """Ours: ``result`` is a file path; its text must hold every ``include`` and no ``exclude`` string."""
    return check_include_exclude(_read(result), rules)


def parse_a11y_table(text: str) -> list[A11yNode]:
    """Inverse of :func:`envs.observation.linearize` (rows that do not parse are skipped)."""
    nodes: list[A11yNode] = []
    for line in text.splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) != 6:
            continue
        try:
            x, y = (int(v) for v in parts[4].strip("()").split(","))
            w, h = (int(v) for v in parts[5].strip("()").split(","))
            nodes.append(A11yNode(int(parts[0]), parts[1], parts[2], parts[3], x, y, w, h))
        except ValueError:
            continue
    return nodes


def _node_matches(node: A11yNode, pattern: dict[str, Any], contains: bool) -> bool:
    for key in ("role", "name", "text"):
        if key not in pattern:
            continue
        want, have = str(pattern[key]), str(getattr(node, key))
        if not (want in have if contains else want == have):
            return False
    return True


def a11y_contains(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """Ours: ``result`` is the a11y table text. Every ``include`` pattern ({role?, name?, text?}) must match a
    node, no ``exclude`` pattern may. Fields compare exactly unless ``rules["match"] == "contains"``."""
    if result is None:
        return 0.0
    nodes = parse_a11y_table(str(result))
    contains = rules.get("match", "exact") == "contains"
    ok = all(any(_node_matches(n, p, contains) for n in nodes) for p in rules.get("include", []))
    bad = any(_node_matches(n, p, contains) for p in rules.get("exclude", []) for n in nodes)
    return float(ok and not bad)


Metric = Callable[..., float]

METRICS: dict[str, Metric] = {
    "exact_match": exact_match,
    "check_include_exclude": check_include_exclude,
    "is_in_list": is_in_list,
    "match_in_list": match_in_list,
    "literal_match": literal_match,
    "fuzzy_match": fuzzy_match,
    "compare_text_file": compare_text_file,
    "diff_text_file": diff_text_file,
    "check_csv": check_csv,
    "compare_csv": compare_csv,
    "file_contains": file_contains,
    "a11y_contains": a11y_contains,
    "check_direct_json_object": check_direct_json_object,
}

#: Per-metric checks of ``options`` that ``studio task validate`` runs (return problems; empty = fine).
METRIC_OPTION_CHECKS: dict[str, Callable[[dict[str, Any]], list[str]]] = {}


def _register_app_metrics() -> None:
    """Add the office, file, settings and browser metrics (their modules import their libraries lazily)."""
    from envs import (
        metrics_chrome,
        metrics_files,
        metrics_office,
        metrics_settings,
        metrics_slides,
        metrics_text,
        metrics_writer,
    )

    for module in (
        metrics_office,
        metrics_writer,
        metrics_slides,
        metrics_files,
        metrics_settings,
        metrics_text,
        metrics_chrome,
    ):
        METRICS.update(module.METRICS)
    METRIC_OPTION_CHECKS.update(metrics_office.OPTION_CHECKS)


_register_app_metrics()
