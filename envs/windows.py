"""Window list and activation for one X display via python-xlib (EWMH, as openbox implements it).

Geometry is the client window's position relative to the root window (``translate_coords``), which matches
the pixels of a screenshot; xdotool/wmctrl report positions off by the openbox title bar.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from envs.errors import ObservationError
from envs.observation import WindowInfo


class WindowLister:
    """A persistent python-xlib connection to one display; thread-safe (one lock around every request)."""

    def __init__(self, display: str) -> None:
        from Xlib import display as xdisplay

        self.display_name = display
        try:
            self._d: Any = xdisplay.Display(display)
        except Exception as exc:  # Xlib raises several unrelated classes
            raise ObservationError(
                f"cannot open X display {display} with python-xlib: {exc}; is the sandbox running?"
            ) from exc
        self._root = self._d.screen().root
        self._lock = threading.Lock()
        self._atoms: dict[str, int] = {}

    def _atom(self, name: str) -> int:
        atom = self._atoms.get(name)
        if atom is None:
            atom = self._atoms[name] = self._d.intern_atom(name)
        return atom

    def close(self) -> None:
        with self._lock:
            try:
                self._d.close()
            except Exception:  # noqa: S110 - the server may already be gone
                pass

    def _prop(self, win: Any, name: str, type_: int = 0) -> Any:
        from Xlib import X

        p = win.get_full_property(self._atom(name), type_ or X.AnyPropertyType)
        return None if p is None else p.value

    def _client_ids(self) -> list[int]:
        value = self._prop(self._root, "_NET_CLIENT_LIST")
        if value is not None:
            return [int(v) for v in value]
        if self._prop(self._root, "_NET_SUPPORTING_WM_CHECK") is not None:
            return []  # an EWMH window manager that manages no client yet
        # No EWMH window manager: fall back to mapped top-level children of the root.
        return [c.id for c in self._root.query_tree().children]

    def _title(self, win: Any) -> str:
        raw = self._prop(win, "_NET_WM_NAME", self._atom("UTF8_STRING"))
        if raw is None:
            raw = self._prop(win, "WM_NAME")
        if raw is None:
            return ""
        if isinstance(raw, bytes):
            return raw.decode("utf-8", "replace")
        return str(raw)

    def root_property(self, name: str) -> Any:
        """Value of a property of the root window (e.g. ``AT_SPI_BUS``), or None when it is not set."""
        with self._lock:
            return self._prop(self._root, name)

    def root_size(self) -> tuple[int, int]:
        with self._lock:
            g = self._root.get_geometry()
        return int(g.width), int(g.height)

    def active_window(self) -> int:
        with self._lock:
            value = self._prop(self._root, "_NET_ACTIVE_WINDOW")
        return int(value[0]) if value is not None and len(value) else 0

    def list(self) -> list[WindowInfo]:
        """Mapped client windows, bottom to top in stacking order where the window manager tells it."""
        from Xlib import X, error

        out: list[WindowInfo] = []
        with self._lock:
            try:
                active = self._prop(self._root, "_NET_ACTIVE_WINDOW")
                active_id = int(active[0]) if active is not None and len(active) else 0
                for wid in self._client_ids():
                    win = self._d.create_resource_object("window", wid)
                    try:
                        attrs = win.get_attributes()
                        if attrs.map_state != X.IsViewable:
                            continue
                        geom = win.get_geometry()
                        pos = win.translate_coords(self._root, 0, 0)
                        cls = win.get_wm_class()
                        out.append(
                            WindowInfo(
                                title=self._title(win),
                                wm_class=cls[1] if cls else "",
                                x=-pos.x,
                                y=-pos.y,
                                w=geom.width,
                                h=geom.height,
                                focused=wid == active_id,
                                window_id=wid,
                            )
                        )
                    except (error.BadWindow, error.BadDrawable):
                        continue  # closed while we looked
            except error.ConnectionClosedError as exc:
                raise ObservationError(f"X display {self.display_name} went away: {exc}") from exc
        return out

    def instance_names(self, window_id: int) -> tuple[str, str]:
        """(instance, class) of WM_CLASS of one window."""
        with self._lock:
            win = self._d.create_resource_object("window", window_id)
            cls = win.get_wm_class()
        return (cls[0], cls[1]) if cls else ("", "")

    def activate(self, window_id: int) -> None:
        """Ask the window manager to raise and focus a window (_NET_ACTIVE_WINDOW, source = pager)."""
        from Xlib import X

        self._ask_wm(window_id, "_NET_ACTIVE_WINDOW", [2, X.CurrentTime, 0, 0, 0])

    def close_window(self, window_id: int) -> None:
        """Ask the window manager to close a window politely (_NET_CLOSE_WINDOW, like ``wmctrl -c``)."""
        from Xlib import X

        self._ask_wm(window_id, "_NET_CLOSE_WINDOW", [X.CurrentTime, 2, 0, 0, 0])

    def _ask_wm(self, window_id: int, message: str, data: Sequence[int]) -> None:
        """Send the window manager an EWMH client message about a window (32-bit ``data``) on the root."""
        from Xlib import X, protocol

        with self._lock:
            win = self._d.create_resource_object("window", window_id)
            ev = protocol.event.ClientMessage(window=win, client_type=self._atom(message), data=(32, [*data]))
            mask = X.SubstructureRedirectMask | X.SubstructureNotifyMask
            self._root.send_event(ev, event_mask=mask)
            self._d.flush()


def match_window(
    windows: list[WindowInfo], needle: str, *, strict: bool = False, by_class: bool = False
) -> WindowInfo | None:
    """Pick the window whose title (or class with ``by_class``) equals (``strict``) or contains ``needle``.

    Case-insensitive for substring matches. Prefers the top-most (last) match.
    """
    for w in reversed(windows):
        hay = w.wm_class if by_class else w.title
        if strict:
            if hay == needle:
                return w
        elif needle.lower() in hay.lower():
            return w
    return None
