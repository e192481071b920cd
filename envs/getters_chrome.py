"""Browser getters with OSWorld's names, read from the sandbox's Chromium over DevTools or from its profile.

=============================  ======================================================================
``active_tab_info``            ``{"title", "url", "content"}`` of the tab the user sees (None: no tab)
``active_url_from_accessTree``  the active tab's URL (OSWorld reads it from the address bar)
``active_tab_url_parse``       query parameters of that URL: ``parse_keys``, optional ``replace``
``url_dashPart``               ``partIndex``-th "/" part of that URL (``needDeleteId``, ``returnType``
                               "string" or "json" with ``key``)
``active_tab_html_parse``      texts from the active page by ``category`` class / xpath / input / label
``open_tabs_info``             ``[{"title", "url"}, ...]`` of every tab
``page_info``                  ``{"title", "url", "content"}`` of the tab whose URL is ``url``
``bookmarks``                  the ``roots`` object of the profile's Bookmarks file
``default_search_engine``      name of the default search engine ("Google" when none is set)
``profile_name``               the profile's name
``chrome_font_size``           ``{"default_fixed_font_size", "default_font_size", ...}`` from Preferences
``enable_do_not_track``        "true"/"false"
``new_startup_page``           "true" when the new-tab page opens at startup (default), else "false"
``history``                    ``[[url, title, last_visit_time], ...]`` from the History database
``pdf_from_url``               the page at ``path`` printed to PDF by a headless Chromium inside the sandbox
=============================  ======================================================================

Settings getters read from the profile files are in :mod:`envs.getters_chrome_profile`.

The profile is Chromium's (``~/.config/chromium/Default``); OSWorld's ``google-chrome`` paths map to it.
Profile files are copied out by a command inside the sandbox (:func:`envs.sandbox_files.read_sandbox_file`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from envs.browser import require_browser
from envs.cdp import CdpError
from envs.errors import TaskError
from envs.sandbox_files import read_sandbox_file

if TYPE_CHECKING:
    from envs.sandbox import Sandbox
    from envs.task_setup import SetupContext

PROFILE_DIR = "/home/user/.config/chromium/Default"


def _active(sb: Sandbox) -> dict[str, Any] | None:
    b = require_browser(sb)
    page = b.active_page()
    return page


def get_active_tab_info(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> dict[str, Any] | None:
    page = _active(sb)
    if page is None:
        return None
    b = require_browser(sb)
    try:
        content = b.evaluate(page["targetId"], "document.body ? document.body.innerText : ''")
    except CdpError:
        content = ""
    return {"title": page["title"], "url": page["url"], "content": str(content or "")}


def get_active_url(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str | None:
    page = _active(sb)
    return None if page is None else str(page["url"])


def get_active_tab_url_parse(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> dict[str, str] | None:
    url = get_active_url(sb, spec, ctx)
    if url is None:
        return None
    if "parse_keys" not in spec:
        raise TaskError("getter 'active_tab_url_parse' needs 'parse_keys'")
    query = parse_qs(urlparse(url).query)
    out = {k: query.get(k, [""])[0] for k in spec["parse_keys"]}
    for old, new in (spec.get("replace") or {}).items():
        if old in out:
            out[new] = out.pop(old)
    return out


def get_url_dash_part(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> Any:
    url = get_active_url(sb, spec, ctx)
    if url is None:
        return None
    parts = url.split("/")
    idx = int(spec.get("partIndex", -1))
    if not -len(parts) <= idx < len(parts):
        return None
    part = parts[idx]
    if spec.get("needDeleteId"):
        part = part.split("?")[0]
    if spec.get("returnType", "string") == "json":
        return {str(spec.get("key", "part")): part}
    return part


_HTML_PARSE_JS = """
(cfg => {
  const text = el => (el && el.textContent ? el.textContent.trim() : "");
  const byXpath = xp => {
    try { return document.evaluate(xp, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null)
      .singleNodeValue; } catch (e) { return null; }
  };
  const out = {};
  if (cfg.category === "class") {
    for (const [cls, ranks] of Object.entries(cfg.class_multiObject || {})) {
      const els = Array.from(document.getElementsByClassName(cls));
      for (const [rank, key] of Object.entries(ranks)) { if (els[+rank]) out[key] = text(els[+rank]); }
    }
    for (const [cls, key] of Object.entries(cfg.class_singleObject || {})) {
      const el = document.getElementsByClassName(cls)[0]; if (el) out[key] = text(el);
    }
  } else if (cfg.category === "xpath") {
    for (const [xp, key] of Object.entries(cfg.xpathObject || {})) {
      const el = byXpath(xp); if (el) out[key] = text(el);
    }
  } else if (cfg.category === "input") {
    for (const [xp, key] of Object.entries(cfg.inputObject || {})) {
      const el = byXpath(xp); if (el && "value" in el) out[key] = String(el.value).trim();
    }
  } else if (cfg.category === "label") {
    for (const [label, key] of Object.entries(cfg.labelObject || {})) {
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) {
        if (walker.currentNode.textContent.includes(label)) {
          out[key] = text(walker.currentNode.parentElement); break;
        }
      }
    }
  }
  return out;
})
"""


def get_active_tab_html_parse(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> dict[str, Any] | None:
    page = _active(sb)
    if page is None:
        return None
    if spec.get("category") not in ("class", "xpath", "input", "label"):
        raise TaskError("getter 'active_tab_html_parse' needs 'category': class, xpath, input or label")
    cfg = {
        k: spec.get(k)
        for k in ("category", "class_multiObject", "class_singleObject", "xpathObject", "inputObject", "labelObject")
    }
    value = require_browser(sb).evaluate(page["targetId"], f"{_HTML_PARSE_JS}({json.dumps(cfg)})")
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def get_open_tabs_info(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> list[dict[str, str]]:
    return [{"title": p["title"], "url": p["url"]} for p in require_browser(sb).pages()]


def get_page_info(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> dict[str, Any] | None:
    want = unquote(str(spec.get("url", "")))
    b = require_browser(sb)
    for p in b.pages():
        if unquote(p["url"]) == want or not want:
            content = b.evaluate(p["targetId"], "document.body ? document.body.innerText : ''")
            return {"title": p["title"], "url": p["url"], "content": str(content or "")}
    return None


def profile_json(sb: Sandbox, name: str) -> dict[str, Any]:
    """The JSON object in file ``name`` of the browser profile (``{}`` when missing or not an object)."""
    return sandbox_json(sb, f"{PROFILE_DIR}/{name}")


def sandbox_json(sb: Sandbox, path: str) -> dict[str, Any]:
    """The JSON object in the sandbox's file ``path``, read inside the sandbox (``{}`` when missing or not one)."""
    data = read_sandbox_file(sb, path)
    if data is None:
        return {}
    try:
        value = json.loads(data.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def get_bookmarks(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> Any:
    roots = profile_json(sb, "Bookmarks").get("roots")
    return roots if roots else None


def get_default_search_engine(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    prefs = profile_json(sb, "Preferences")
    provider = prefs.get("default_search_provider_data", {}).get("template_url_data", {})
    return str(provider.get("short_name", "Google"))


def get_profile_name(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str | None:
    name = profile_json(sb, "Preferences").get("profile", {}).get("name")
    return None if name is None else str(name)


def get_chrome_font_size(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> dict[str, Any]:
    webkit = profile_json(sb, "Preferences").get("webkit", {}).get("webprefs", {})
    return {
        "default_fixed_font_size": webkit.get("default_fixed_font_size", 13),
        "default_font_size": webkit.get("default_font_size", 16),
        "minimum_font_size": webkit.get("minimum_font_size", 0),
    }


def get_enable_do_not_track(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    return "true" if profile_json(sb, "Preferences").get("enable_do_not_track") else "false"


def get_new_startup_page(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    prefs = profile_json(sb, "Preferences")
    startup = prefs.get("session", {}).get("restore_on_startup")
    return "true" if startup in (None, 5) else "false"


def get_history(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> list[list[Any]] | None:
    data = read_sandbox_file(sb, f"{PROFILE_DIR}/History")
    if data is None:
        return None
    local = ctx.cache_dir / "History.sqlite"
    local.write_bytes(data)
    try:
        with sqlite3.connect(f"file:{local}?mode=ro", uri=True) as db:
            db.execute("PRAGMA trusted_schema = OFF")  # the file comes from the sandbox
            rows = db.execute("SELECT url, title, last_visit_time FROM urls ORDER BY last_visit_time DESC").fetchall()
    except sqlite3.Error:
        return None
    return [list(r) for r in rows]


PDF_TIMEOUT = 90.0


def get_pdf_from_url(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str | None:
    """OSWorld's ``pdf_from_url``: the page at ``path`` printed to PDF by a headless Chromium run INSIDE the
    sandbox (its own throw-away profile under /tmp; the sandbox's network rules apply), copied to the
    evaluation cache as ``dest``. None when the page could not be printed (e.g. offline)."""
    from pathlib import Path

    url = spec.get("path") or spec.get("url")
    if not url:
        raise TaskError("getter 'pdf_from_url' needs a 'path' (the page's URL)")
    out = "/tmp/studio-pdf/page.pdf"
    argv = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--user-data-dir=/tmp/studio-pdf/profile",
        f"--print-to-pdf={out}",
        "--no-pdf-header-footer",
        str(url),
    ]
    sb.run(["rm", "-rf", "/tmp/studio-pdf"], timeout=30)
    sb.run(["mkdir", "-p", "/tmp/studio-pdf"], timeout=30)
    sb.run(argv, timeout=float(spec.get("timeout", PDF_TIMEOUT)))
    data = read_sandbox_file(sb, out)
    if not data:
        return None
    local = ctx.cache_dir / (Path(str(spec.get("dest") or "page.pdf")).name or "page.pdf")
    local.write_bytes(data)
    return str(local)


GETTERS: dict[str, Callable[[Sandbox, dict[str, Any], SetupContext], Any]] = {
    "active_tab_info": get_active_tab_info,
    "active_url_from_accessTree": get_active_url,
    "active_tab_url_parse": get_active_tab_url_parse,
    "url_dashPart": get_url_dash_part,
    "active_tab_html_parse": get_active_tab_html_parse,
    "open_tabs_info": get_open_tabs_info,
    "page_info": get_page_info,
    "bookmarks": get_bookmarks,
    "default_search_engine": get_default_search_engine,
    "profile_name": get_profile_name,
    "chrome_font_size": get_chrome_font_size,
    "enable_do_not_track": get_enable_do_not_track,
    "new_startup_page": get_new_startup_page,
    "history": get_history,
    "pdf_from_url": get_pdf_from_url,
}
