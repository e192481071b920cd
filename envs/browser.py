"""Chromium in a sandbox, driven and read over DevTools through a pipe (:mod:`envs.cdp`).

:func:`start_browser` launches the ``chromium`` app profile inside the sandbox with ``--remote-debugging-pipe``
and keeps the connection next to the sandbox (:func:`browser_of`). Tabs (open, close, list, the active one),
page HTML and the page's accessibility tree come from DevTools; the a11y rows use the AT-SPI table's format
(role names mapped to AT-SPI's, screen coordinates, only nodes visible in the viewport), bounded in nodes and
time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from envs.cdp import CdpError, CdpPipe, pipe_command
from envs.errors import SandboxError
from envs.observation import A11yNode

if TYPE_CHECKING:
    import subprocess

    from envs.observation import Observation
    from envs.sandbox import Sandbox

log = logging.getLogger(__name__)

PROFILE = "chromium"

#: DevTools roles -> AT-SPI role names (the rest are lowercased as they are).
ROLE_NAMES = {
    "button": "push button",
    "textbox": "entry",
    "searchbox": "entry",
    "checkbox": "check box",
    "radio": "radio button",
    "combobox": "combo box",
    "listbox": "list box",
    "listitem": "list item",
    "option": "list item",
    "menuitem": "menu item",
    "tab": "page tab",
    "StaticText": "static",
    "RootWebArea": "document web",
    "img": "image",
    "image": "image",
    "LabelText": "label",
    "cell": "table cell",
    "gridcell": "table cell",
    "columnheader": "column header",
    "rowheader": "row header",
    "spinbutton": "spin button",
}
#: Roles kept even without a name (things an agent acts on).
ACTIONABLE = frozenset(
    {
        "button",
        "textbox",
        "searchbox",
        "checkbox",
        "radio",
        "combobox",
        "link",
        "menuitem",
        "tab",
        "slider",
        "spinbutton",
        "listbox",
        "option",
        "switch",
    }
)
#: Roles never shown (structure only, or duplicated by their text).
SKIPPED = frozenset({"none", "generic", "InlineTextBox", "LineBreak", "presentation", "ignored"})

_browsers: weakref.WeakKeyDictionary[Any, Browser] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class Browser:
    """One Chromium process in one sandbox and its DevTools connection."""

    def __init__(self, proc: subprocess.Popen[bytes], pipe: CdpPipe) -> None:
        self.proc = proc
        self.pipe = pipe
        self._sessions: dict[str, str] = {}

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and not self.pipe.closed

    # ------------------------------------------------------------------ tabs

    def pages(self) -> list[dict[str, Any]]:
        """Open tabs as ``{"targetId", "title", "url"}``, in the browser's order."""
        infos = self.pipe.call("Target.getTargets").get("targetInfos", [])
        return [
            {"targetId": t["targetId"], "title": t.get("title", ""), "url": t.get("url", "")}
            for t in infos
            if t.get("type") == "page" and not str(t.get("url", "")).startswith("devtools://")
        ]

    def session(self, target_id: str) -> str:
        """A flat DevTools session attached to a tab (cached)."""
        sid = self._sessions.get(target_id)
        if sid is None:
            sid = str(self.pipe.call("Target.attachToTarget", {"targetId": target_id, "flatten": True})["sessionId"])
            self._sessions[target_id] = sid
        return sid

    def evaluate(self, target_id: str, expression: str, *, timeout: float = 5.0) -> Any:
        """Run JavaScript in a tab and return its (JSON-serializable) value."""
        res = self.pipe.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session(target_id),
            timeout=timeout,
        )
        if "exceptionDetails" in res:
            raise CdpError(f"script failed in the page: {res['exceptionDetails'].get('text', '')}")
        return res.get("result", {}).get("value")

    def active_page(self) -> dict[str, Any] | None:
        """The tab the user sees: visible and focused (else the first visible one), or None."""
        visible: list[dict[str, Any]] = []
        for page in self.pages():
            try:
                state = self.evaluate(page["targetId"], "[document.visibilityState, document.hasFocus()]")
            except CdpError:
                continue
            if isinstance(state, list) and state and state[0] == "visible":
                if len(state) > 1 and state[1]:
                    return page
                visible.append(page)
        return visible[0] if visible else None

    def open_tab(self, url: str, *, wait: float = 10.0) -> str:
        """Open ``url`` in a new tab; wait up to ``wait`` s for it to load; return its target id."""
        target = str(self.pipe.call("Target.createTarget", {"url": url})["targetId"])
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(CdpError):
                if self.evaluate(target, "document.readyState", timeout=2.0) == "complete":
                    break
            time.sleep(0.1)
        return target

    def close_tab(self, target_id: str) -> None:
        self.pipe.call("Target.closeTarget", {"targetId": target_id})
        self._sessions.pop(target_id, None)

    def html(self, target_id: str) -> str:
        """The tab's current DOM as HTML."""
        return str(self.evaluate(target_id, "document.documentElement.outerHTML") or "")

    # ------------------------------------------------------------------ accessibility

    def a11y(self, *, first_id: int = 0, max_nodes: int = 1500, timeout: float = 3.0) -> tuple[list[A11yNode], bool]:
        """The active tab's accessibility tree as table rows (screen coordinates), and whether it was cut.

        Only nodes inside the viewport with a positive box are kept; names are capped at 300 characters.
        """
        page = self.active_page()
        if page is None:
            return [], False
        sid = self.session(page["targetId"])
        t_end = time.monotonic() + timeout
        geo = self.evaluate(
            page["targetId"],
            "[screenX, screenY, outerWidth, outerHeight, innerWidth, innerHeight]",
            timeout=timeout,
        )
        ax = self.pipe.call("Accessibility.getFullAXTree", {}, session=sid, timeout=max(0.5, t_end - time.monotonic()))
        snap = self.pipe.call(
            "DOMSnapshot.captureSnapshot",
            {"computedStyles": [], "includeDOMRects": True},
            session=sid,
            timeout=max(0.5, t_end - time.monotonic()),
        )
        boxes = _viewport_boxes(snap)
        sx, sy, ow, oh, iw, ih = (float(v) for v in geo)
        border = (ow - iw) / 2  # the frame's side (and bottom) border
        ox, oy = sx + border, sy + (oh - ih) - border
        nodes: list[A11yNode] = []
        truncated = False
        names = {n.get("nodeId"): str((n.get("name") or {}).get("value", "") or "") for n in ax.get("nodes", [])}
        for n in ax.get("nodes", []):
            if n.get("ignored"):
                continue
            role = str((n.get("role") or {}).get("value", ""))
            if role in SKIPPED:
                continue
            name = str((n.get("name") or {}).get("value", "") or "")[:300]
            if role == "StaticText" and names.get(n.get("parentId")) == name:
                continue  # the text of a link, button or heading that already names it
            value = str((n.get("value") or {}).get("value", "") or "")[:300]
            if not (name or value or role in ACTIONABLE):
                continue
            box = boxes.get(n.get("backendDOMNodeId", -1))
            if box is None:
                continue
            x, y, w, h = box
            if w <= 0 or h <= 0 or x + w <= 0 or y + h <= 0 or x >= iw or y >= ih:
                continue
            if len(nodes) >= max_nodes:
                truncated = True
                break
            text = value if role not in ("StaticText",) else name
            shown_name = "" if role == "StaticText" else name
            nodes.append(
                A11yNode(
                    first_id + len(nodes),
                    ROLE_NAMES.get(role, role.lower()),
                    shown_name,
                    text,
                    int(ox + x),
                    int(oy + y),
                    int(w),
                    int(h),
                )
            )
        return nodes, truncated

    def close(self) -> None:
        self.pipe.close()
        with contextlib.suppress(OSError):
            self.proc.kill()


def _viewport_boxes(snap: dict[str, Any]) -> dict[int, tuple[float, float, float, float]]:
    """backendNodeId -> (x, y, w, h) relative to the viewport, from a DOMSnapshot of the top document."""
    docs = snap.get("documents") or []
    if not docs:
        return {}
    doc = docs[0]
    backend = (doc.get("nodes") or {}).get("backendNodeId") or []
    layout = doc.get("layout") or {}
    scroll_x, scroll_y = float(doc.get("scrollOffsetX", 0)), float(doc.get("scrollOffsetY", 0))
    out: dict[int, tuple[float, float, float, float]] = {}
    for node_index, rect in zip(layout.get("nodeIndex") or [], layout.get("bounds") or [], strict=False):
        if 0 <= node_index < len(backend) and len(rect) == 4:
            bid = backend[node_index]
            if bid not in out:
                out[bid] = (rect[0] - scroll_x, rect[1] - scroll_y, rect[2], rect[3])
    return out


def browser_of(sb: Sandbox) -> Browser | None:
    """The live browser started in ``sb`` by :func:`start_browser`, or None."""
    with _lock:
        b = _browsers.get(sb)
    return b if b is not None and b.alive else None


def require_browser(sb: Sandbox) -> Browser:
    """:func:`browser_of` or a clear error."""
    b = browser_of(sb)
    if b is None:
        raise CdpError(
            "no browser is running in this sandbox (or it was closed); start it with a 'launch' step running "
            "google-chrome/chromium or a 'launch_app' step named chromium"
        )
    return b


def drop_debug_port_args(args: list[str]) -> list[str]:
    """OSWorld's ``--remote-debugging-port=1337`` and friends (DevTools is a pipe here)."""
    return [a for a in args if not a.startswith(("--remote-debugging-port", "--remote-debugging-address"))]


def start_browser(sb: Sandbox, args: list[str] | tuple[str, ...] = (), *, timeout: float | None = None) -> Browser:
    """Launch Chromium inside ``sb`` with DevTools on a pipe; wait for its window and for DevTools.

    A browser already running in the sandbox opens the URLs in ``args`` as new tabs instead (like a second
    ``google-chrome URL`` on a desktop).

    Raises:
        AppNotInstalledError: chromium is missing (names the apt package).
        SandboxError: the browser exited or showed no window in time.
    """
    from envs.apps import load_profile

    extra = drop_debug_port_args([str(a) for a in args])
    running = browser_of(sb)
    if running is not None:
        for url in [a for a in extra if not a.startswith("-")]:
            running.open_tab(url)
        return running
    profile = load_profile(PROFILE)
    profile.check_installed()
    seed = profile.seed_command()
    if seed is not None:
        sb.run(seed, timeout=30)
    timeout = profile.ready_timeout if timeout is None else timeout
    before = {w.window_id for w in sb.windows()}
    argv = [*profile.argv, f"--window-size={sb.width},{sb.height}", *extra]
    from envs.websites import server_prelude

    proc = sb.launch_piped(pipe_command(argv, server_prelude(sb)))
    assert proc.stdin is not None and proc.stdout is not None
    browser = Browser(proc, CdpPipe(proc.stdin, proc.stdout))
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SandboxError(f"chromium exited with {proc.returncode} before showing a window")
        wins = [w for w in sb.windows() if w.wm_class.lower() == profile.wm_class.lower()]
        if any(w.window_id not in before for w in wins):
            break
        if time.monotonic() > deadline:
            browser.close()
            raise SandboxError(f"chromium showed no window within {timeout} s")
        time.sleep(0.05)
    try:
        browser.pipe.call("Browser.getVersion", timeout=max(1.0, deadline - time.monotonic()))
    except CdpError as exc:
        browser.close()
        raise SandboxError(f"chromium started but DevTools did not answer: {exc}") from exc
    with _lock:
        _browsers[sb] = browser
    return browser


#: Row budget of one observation (AT-SPI rows + page rows) and seconds for the page part.
MAX_ROWS = 1500
PAGE_TIMEOUT = 3.0


def add_page_rows(sb: Sandbox, obs: Observation) -> None:
    """Append the browser's page rows to an observation's AT-SPI rows (same table, ids continue), if a browser
    runs in ``sb``; ``timings["browser_a11y"]`` says how long it took."""
    if browser_of(sb) is None:
        return
    t = time.monotonic()
    obs.a11y_nodes, cut = merge_page_rows(sb, obs.a11y_nodes)
    obs.a11y_truncated = obs.a11y_truncated or cut
    obs.timings["browser_a11y"] = time.monotonic() - t


def merge_page_rows(sb: Sandbox, atspi: list[A11yNode]) -> tuple[list[A11yNode], bool]:
    """AT-SPI rows with the browser's page rows from DevTools in place of AT-SPI's copy of the page.

    AT-SPI lists a ``document web`` node and then its descendants (depth first, all inside its box): that run
    is dropped when DevTools gave page rows. Ids are renumbered 0..n-1 in table order.
    """
    base = atspi
    rows, cut = page_a11y(sb, 0, MAX_ROWS, PAGE_TIMEOUT)
    if rows:
        base = _without_atspi_pages(atspi)
        rows = rows[: max(0, MAX_ROWS - len(base))]
    merged = [dataclasses.replace(n, id=i) for i, n in enumerate([*base, *rows])]
    return merged, cut


def _inside(n: A11yNode, box: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    return n.x >= x and n.y >= y and n.x + n.w <= x + w and n.y + n.h <= y + h


def _without_atspi_pages(nodes: list[A11yNode]) -> list[A11yNode]:
    out: list[A11yNode] = []
    box: tuple[int, int, int, int] | None = None
    for n in nodes:
        if box is not None and _inside(n, box):
            continue
        box = None
        if n.role == "document web":
            box = (n.x, n.y, n.w, n.h)
            continue
        out.append(n)
    return out


def page_a11y(sb: Sandbox, first_id: int, max_nodes: int, timeout: float) -> tuple[list[A11yNode], bool]:
    """The browser's page rows for an observation ([] when no browser runs; errors are logged, not raised)."""
    b = browser_of(sb)
    if b is None or max_nodes <= 0:
        return [], False
    try:
        return b.a11y(first_id=first_id, max_nodes=max_nodes, timeout=timeout)
    except (CdpError, ValueError, TypeError) as exc:
        log.info("browser a11y unavailable: %s", exc)
        return [], False
