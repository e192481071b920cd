"""Browser metrics with OSWorld's names.

=================================  ==========================================================================
``is_expected_active_tab``         ``rule = {"type": "url", "url": ...}``: the active tab's URL matches
``is_expected_url_pattern_match``  every regex in ``rules["expected"]`` is found in the URL
``is_expected_tabs``               ``rule = {"type": "url", "urls": [...]}``: the open tabs, in any order
``is_expected_bookmarks``          ``bookmark_bar_folders_names`` / ``bookmark_bar_websites_urls`` rules
=================================  ==========================================================================

URLs compare after normalizing (scheme lowercased, ``http`` when missing, host lowercased without ``www.``,
a lone ``/`` path dropped).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse, urlunparse


def normalize_url(url: str) -> str:
    """``url`` in the form two URLs compare in (see the module docstring)."""
    p = urlparse(url)
    netloc = p.netloc.lower()
    netloc = netloc[4:] if netloc.startswith("www.") else netloc
    path = "" if p.path == "/" else p.path
    return urlunparse(((p.scheme or "http").lower(), netloc, path, p.params, p.query, p.fragment))


def same_url(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return normalize_url(str(a)) == normalize_url(str(b))


def _url_of(value: Any) -> str | None:
    if isinstance(value, dict):
        url = value.get("url")
        return None if url is None else str(url)
    return None if value is None else str(value)


def is_expected_active_tab(active_tab: Any, rule: dict[str, Any], **_: Any) -> float:
    """1 if the active tab (info dict or URL) is ``rule["url"]``."""
    if not active_tab or rule.get("type") != "url":
        return 0.0
    return float(same_url(_url_of(active_tab), rule.get("url")))


def is_expected_url_pattern_match(result: Any, rules: dict[str, Any], **_: Any) -> float:
    """1 if every pattern of ``rules["expected"]`` is found (``re.search``) in the URL."""
    url = _url_of(result)
    if not url:
        return 0.0
    patterns = rules.get("expected", [])
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return float(all(re.search(str(p), url) for p in patterns))


def is_expected_tabs(open_tabs: Any, rule: dict[str, Any], **_: Any) -> float:
    """1 if the open tabs are exactly ``rule["urls"]`` (any order)."""
    if not isinstance(open_tabs, list) or rule.get("type") != "url":
        return 0.0
    have = [_url_of(t) for t in open_tabs]
    want = list(rule.get("urls", []))
    return float(len(have) == len(want) and all(any(same_url(w, h) for h in have) for w in want))


def is_expected_bookmarks(bookmarks: Any, rule: dict[str, Any], **_: Any) -> float:
    """Bookmark-bar checks: folder names or website URLs equal ``rule["names"]`` / ``rule["urls"]`` as sets."""
    if not isinstance(bookmarks, dict):
        return 0.0
    children = bookmarks.get("bookmark_bar", {}).get("children", [])
    kind = rule.get("type")
    if kind == "bookmark_bar_folders_names":
        return float({c.get("name") for c in children if c.get("type") == "folder"} == set(rule.get("names", [])))
    if kind == "bookmark_bar_websites_urls":
        return float({c.get("url") for c in children if c.get("type") == "url"} == set(rule.get("urls", [])))
    return 0.0


METRICS: dict[str, Callable[..., float]] = {
    "is_expected_active_tab": is_expected_active_tab,
    "is_expected_url_pattern_match": is_expected_url_pattern_match,
    "is_expected_tabs": is_expected_tabs,
    "is_expected_bookmarks": is_expected_bookmarks,
}
