"""Browser metrics with OSWorld's names.

=================================  ==========================================================================
``is_expected_active_tab``         ``rule = {"type": "url", "url": ...}``: the active tab's URL matches
``is_expected_url_pattern_match``  every regex in ``rules["expected"]`` is found in the URL
``is_expected_tabs``               ``rule = {"type": "url", "urls": [...]}``: the open tabs, in any order
``is_expected_bookmarks``          ``bookmark_bar_folders_names`` / ``bookmark_bar_websites_urls`` rules
``is_cookie_deleted``              ``rule = {"type": "domains", "domains": [...]}``: no cookie of those domains
``check_history_deleted``          ``rule = {"type": "keywords", ...}``: no history URL holds a keyword
``check_enabled_experiments``      ``rule = {"type": "names", "names": [...]}``: exactly these flags enabled
``check_font_size``                ``rule`` ``value`` (equal) or ``range`` (``min`` < size < ``max``)
``is_shortcut_on_desktop``         ``rule = {"type": "name", "name": ...}``: a .desktop file with that Name
``is_added_to_steam_cart``         every ``rule["items"]`` string is in the page's text
``is_expected_search_query``       ``rules.expect.pattern`` (regex) is found in the active tab's URL
``is_expected_installed_extensions``  every ``expected["expected"]`` extension name is installed
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


def _domain_matches(pattern: str, host: str) -> bool:
    """A cookie host (``.amazon.com``, ``www.amazon.com``) belongs to the rule's domain (``.amazon.com``)."""
    want, have = pattern.lower().lstrip("."), str(host).lower().lstrip(".")
    return have == want or have.endswith("." + want)


def is_cookie_deleted(cookies: Any, rule: dict[str, Any], **_: Any) -> float:
    if not isinstance(cookies, list) or rule.get("type") != "domains":
        return 0.0
    hosts = [row[1] for row in cookies if isinstance(row, (list, tuple)) and len(row) > 1]
    return float(not any(_domain_matches(str(d), str(h)) for d in rule.get("domains", []) for h in hosts))


def check_history_deleted(history: Any, rule: dict[str, Any], **_: Any) -> float:
    if not isinstance(history, list) or rule.get("type") != "keywords":
        return 0.0
    urls = [str(row[0]) for row in history if isinstance(row, (list, tuple)) and row]
    return float(not any(str(k) in u for k in rule.get("keywords", []) for u in urls))


def check_enabled_experiments(enabled: Any, rule: dict[str, Any], **_: Any) -> float:
    """Flags are stored as ``name@choice``; the names, in order, must equal ``rule["names"]``."""
    if not isinstance(enabled, list) or rule.get("type") != "names":
        return 0.0
    return float([str(e).split("@")[0] for e in enabled] == list(rule.get("names", [])))


def check_font_size(font_size: Any, rule: dict[str, Any], **_: Any) -> float:
    if not isinstance(font_size, dict):
        return 0.0
    size = font_size.get("default_font_size")
    try:
        if rule.get("type") == "value":
            return float(size == rule.get("value"))
        if rule.get("type") == "range":
            return float(float(rule["min"]) < float(str(size)) < float(rule["max"]))
    except (KeyError, TypeError, ValueError):
        return 0.0
    return 0.0


def is_shortcut_on_desktop(shortcuts: Any, rule: dict[str, Any], **_: Any) -> float:
    if not isinstance(shortcuts, dict) or rule.get("type") != "name":
        return 0.0
    line = f"Name={rule.get('name')}"
    return float(any(line in str(text).splitlines() for text in shortcuts.values()))


def is_added_to_steam_cart(page: Any, rule: dict[str, Any], **_: Any) -> float:
    content = str(page.get("content", "")) if isinstance(page, dict) else ""
    return float(bool(content) and all(str(item) in content for item in rule.get("items", [])))


def is_expected_search_query(active_tab: Any, rules: dict[str, Any], **_: Any) -> float:
    url = _url_of(active_tab)
    pattern = rules.get("expect", {}).get("pattern") if isinstance(rules.get("expect"), dict) else None
    return float(bool(url) and pattern is not None and re.search(str(pattern), str(url)) is not None)


def is_expected_installed_extensions(installed: Any, expected: dict[str, Any], **_: Any) -> float:
    if not isinstance(installed, list):
        return 0.0
    return float(set(expected.get("expected", [])) <= {str(x) for x in installed})


METRICS: dict[str, Callable[..., float]] = {
    "is_expected_active_tab": is_expected_active_tab,
    "is_expected_url_pattern_match": is_expected_url_pattern_match,
    "is_expected_tabs": is_expected_tabs,
    "is_expected_bookmarks": is_expected_bookmarks,
    "is_cookie_deleted": is_cookie_deleted,
    "check_history_deleted": check_history_deleted,
    "check_enabled_experiments": check_enabled_experiments,
    "check_font_size": check_font_size,
    "is_shortcut_on_desktop": is_shortcut_on_desktop,
    "is_added_to_steam_cart": is_added_to_steam_cart,
    "is_expected_search_query": is_expected_search_query,
    "is_expected_installed_extensions": is_expected_installed_extensions,
}
