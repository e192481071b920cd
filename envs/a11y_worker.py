"""AT-SPI reader subprocess: ``python -m envs.a11y_worker``, one per sandbox.

libatspi binds to one accessibility bus per process (found via ``AT_SPI_BUS_ADDRESS``, the ``AT_SPI_BUS``
property of the X root window, or ``DBUS_SESSION_BUS_ADDRESS``), so each sandbox gets its own worker started
with that sandbox's environment. Protocol: one JSON object per line on stdin, one JSON reply per line
on stdout.

Requests::

    {"op": "ping"}
    {"op": "apps"}                                            -> {"ok": true, "apps": ["mousepad", ...]}
    {"op": "tree", "max_nodes": 1500, "timeout": 3.0, "screen": [1280, 800]}
        -> {"ok": true, "nodes": [[role, name, text, x, y, w, h], ...], "truncated": false, "visited": 412}

Errors reply ``{"ok": false, "error": "..."}``. The tree is linearized OSWorld style: depth-first, only nodes
that are SHOWING and VISIBLE, have a name or text or an interactive role, and have positive on-screen extents.
Subtrees of non-showing nodes are skipped. MANAGES_DESCENDANTS containers (spreadsheets claim 2^31 cells) are
not walked: for one that is a table, the non-empty cells inside its on-screen box are read instead (at most
60 rows x 30 columns looked at, within the same node and time budget), so Calc's visible values appear.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

INTERACTIVE_ROLES = frozenset(
    {
        "push button",
        "toggle button",
        "radio button",
        "check box",
        "menu item",
        "check menu item",
        "radio menu item",
        "menu",
        "tearoff menu item",
        "combo box",
        "text",
        "entry",
        "password text",
        "spin button",
        "slider",
        "list item",
        "table cell",
        "tree item",
        "page tab",
        "link",
        "icon",
        "editbar",
        "paragraph",
        "document text",
        "document spreadsheet",
        "terminal",
        "scroll bar",
        "toggle",
        "switch",
        "tool bar",
        "status bar",
        "table column header",
        "table row header",
        "column header",
        "row header",
    }
)
TEXT_CAP = 2000
#: Visible cells of a spreadsheet (a MANAGES_DESCENDANTS table) looked at per observation.
MAX_CELL_ROWS = 60
MAX_CELL_COLS = 30


def _import_atspi() -> Any:
    try:
        import gi

        gi.require_version("Atspi", "2.0")
        from gi.repository import Atspi
    except (ImportError, ValueError) as exc:
        raise RuntimeError(
            f"AT-SPI is not available ({exc}). Install the system packages "
            "`sudo apt-get install at-spi2-core gir1.2-atspi-2.0 libgirepository1.0-dev libcairo2-dev "
            "pkg-config` "
            'and the binding `pip install "PyGObject<3.51"`.'
        ) from exc
    return Atspi


class Reader:
    def __init__(self) -> None:
        self.Atspi = _import_atspi()
        self.Atspi.init()
        self.Atspi.set_timeout(800, 15000)
        from gi.repository import GLib

        self._ctx = GLib.MainContext.default()
        # Listening keeps libatspi's cache (states, children, names) current between requests.
        self._listeners = []
        for ev in (
            "object:state-changed",
            "object:children-changed",
            "object:property-change",
            "window:create",
            "window:destroy",
        ):
            listener = self.Atspi.EventListener.new(lambda e: None)
            with _suppress():
                listener.register(ev)
            self._listeners.append(listener)

    def pump(self) -> None:
        """Process pending D-Bus signals so cached objects reflect the screen now."""
        for _ in range(10000):
            if not self._ctx.iteration(False):
                break

    def desktop(self) -> Any:
        return self.Atspi.get_desktop(0)

    def apps(self) -> list[str]:
        self.pump()
        d = self.desktop()
        names = []
        for i in range(d.get_child_count()):
            app = d.get_child_at_index(i)
            if app is not None:
                with _suppress():
                    names.append(app.get_name() or "")
        return names

    def tree(self, max_nodes: int, timeout: float, screen: tuple[int, int]) -> dict[str, Any]:
        Atspi = self.Atspi
        self.pump()
        deadline = time.monotonic() + timeout
        sw, sh = screen
        S = Atspi.StateType
        out: list[list[Any]] = []
        visited = 0
        truncated = False
        d = self.desktop()
        stack: list[tuple[Any, bool]] = []
        for i in reversed(range(d.get_child_count())):
            app = d.get_child_at_index(i)
            if app is not None:
                stack.append((app, True))
        while stack:
            if len(out) >= max_nodes or time.monotonic() > deadline:
                truncated = True
                break
            acc, is_app = stack.pop()
            visited += 1
            try:
                if is_app:
                    n = acc.get_child_count()
                    stack.extend((acc.get_child_at_index(j), False) for j in reversed(range(min(n, 500))))
                    continue
                states = acc.get_state_set()
                if not states.contains(S.SHOWING) or not states.contains(S.VISIBLE):
                    continue
                role = Atspi.role_get_name(acc.get_role()) or ""
                name = (acc.get_name() or "").strip()
                text = ""
                if _has(acc, "Text"):
                    with _suppress():
                        count = Atspi.Text.get_character_count(acc)
                        text = Atspi.Text.get_text(acc, 0, min(count, TEXT_CAP)) or ""
                    # U+FFFC stands for each embedded child object (Chromium's panels are made of them)
                    text = text.replace("\ufffc", "")
                if name or text.strip() or role in INTERACTIVE_ROLES:
                    ext = None
                    with _suppress():
                        ext = acc.get_extents(Atspi.CoordType.SCREEN)
                    if ext is not None and ext.width > 0 and ext.height > 0:
                        x0, y0 = max(ext.x, 0), max(ext.y, 0)
                        x1, y1 = min(ext.x + ext.width, sw), min(ext.y + ext.height, sh)
                        if x1 > x0 and y1 > y0:
                            out.append([role, name, text, ext.x, ext.y, ext.width, ext.height])
                if states.contains(S.MANAGES_DESCENDANTS):
                    # a spreadsheet claims 2^31 cells: read only the non-empty ones inside its visible box
                    if _has(acc, "Table"):
                        cells, cut = self.visible_cells(acc, deadline, max_nodes - len(out), screen)
                        out.extend(cells)
                        truncated = truncated or cut
                    continue
                n = acc.get_child_count()
                if n > 0:
                    stack.extend((acc.get_child_at_index(j), False) for j in reversed(range(min(n, max_nodes))))
            except Exception:  # noqa: BLE001 - a node vanished or its app stopped answering: skip it
                continue
        return {"ok": True, "nodes": out, "truncated": truncated, "visited": visited}

    def _cell_at(self, table: Any, x: int, y: int) -> tuple[int, int] | None:
        """(row, column) of the table cell at screen point (x, y), or None."""
        Atspi = self.Atspi
        with _suppress():
            cell = Atspi.Component.get_accessible_at_point(table, x, y, Atspi.CoordType.SCREEN)
            if cell is None:
                return None
            idx = cell.get_index_in_parent()
            row, col = Atspi.Table.get_row_at_index(table, idx), Atspi.Table.get_column_at_index(table, idx)
            if row >= 0 and col >= 0:
                return row, col
        return None

    def visible_cells(
        self, table: Any, deadline: float, budget: int, screen: tuple[int, int]
    ) -> tuple[list[list[Any]], bool]:
        """Rows for the non-empty cells of ``table`` that lie in its on-screen box, row by row.

        The box's corner cells give the visible row and column range (found by point, so a sheet scrolled to
        row 5000 reads rows 5000...); at most MAX_CELL_ROWS x MAX_CELL_COLS cells are looked at, and the walk
        stops at ``budget`` rows or ``deadline`` (then the second value is True).
        """
        Atspi = self.Atspi
        ext = table.get_extents(Atspi.CoordType.SCREEN)
        x0, y0 = max(ext.x, 0), max(ext.y, 0)
        x1, y1 = min(ext.x + ext.width, screen[0]) - 2, min(ext.y + ext.height, screen[1]) - 2
        if x1 <= x0 or y1 <= y0 or budget <= 0:
            return [], False
        first, last = self._cell_at(table, x0 + 2, y0 + 2), self._cell_at(table, x1, y1)
        if first is None or last is None:
            return [], False
        out: list[list[Any]] = []
        for row in range(first[0], min(last[0], first[0] + MAX_CELL_ROWS - 1) + 1):
            for col in range(first[1], min(last[1], first[1] + MAX_CELL_COLS - 1) + 1):
                if len(out) >= budget or time.monotonic() > deadline:
                    return out, True
                with _suppress():
                    cell = Atspi.Table.get_accessible_at(table, row, col)
                    if cell is None:
                        continue
                    text = ""
                    if _has(cell, "Text"):
                        count = Atspi.Text.get_character_count(cell)
                        text = Atspi.Text.get_text(cell, 0, min(count, TEXT_CAP)) or ""
                    if not text.strip():
                        continue
                    e = cell.get_extents(Atspi.CoordType.SCREEN)
                    if e.width > 0 and e.height > 0:
                        out.append(["table cell", (cell.get_name() or "").strip(), text, e.x, e.y, e.width, e.height])
        return out, False


def _has(acc: Any, iface: str) -> bool:
    try:
        return iface in (acc.get_interfaces() or [])
    except Exception:  # noqa: BLE001
        return False


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def main() -> int:
    reader: Reader | None = None
    error = ""
    try:
        reader = Reader()
    except Exception as exc:  # noqa: BLE001 - reported on every request
        error = str(exc)
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if reader is None:
                reply: dict[str, Any] = {"ok": False, "error": error}
            elif op == "ping":
                reply = {"ok": True}
            elif op == "apps":
                reply = {"ok": True, "apps": reader.apps()}
            elif op == "tree":
                scr = req.get("screen") or [100000, 100000]
                reply = reader.tree(
                    int(req.get("max_nodes", 1500)),
                    float(req.get("timeout", 3.0)),
                    (int(scr[0]), int(scr[1])),
                )
            else:
                reply = {"ok": False, "error": f"unknown op {op!r}"}
        except Exception as exc:  # noqa: BLE001 - keep serving
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
