"""Observing a sandbox from the host: screenshots (mss), the window list (python-xlib), the AT-SPI table.

Mixed into :class:`envs.sandbox.Sandbox`. The screenshot and window list talk to the sandbox's Xvfb from the
host; the accessibility table comes from the AT-SPI reader that runs inside the sandbox.
"""

from __future__ import annotations

import subprocess
import time
from typing import TYPE_CHECKING, Any

from envs.errors import ObservationError
from envs.frame import Frame, SettleTracker
from envs.observation import A11yNode, Observation, WindowInfo

if TYPE_CHECKING:
    import threading

    from envs.a11y import A11yClient
    from envs.windows import WindowLister


class SandboxObserving:
    """Observation methods of :class:`envs.sandbox.Sandbox` (uses its display, env and inside spawner)."""

    display: str
    width: int
    height: int
    env: dict[str, str]
    _mss: Any
    _windows: WindowLister | None
    _a11y: A11yClient | None
    _stop_event: threading.Event

    if TYPE_CHECKING:  # provided by Sandbox; declared for type checkers only (no stubs in the MRO)

        def _require_started(self) -> None:
            raise NotImplementedError

        def check_limits(self) -> None:
            raise NotImplementedError

        def _inside_popen(self, argv: list[str], *, log: str, **kw: Any) -> subprocess.Popen[Any]:
            raise NotImplementedError

    def grab(self) -> Frame:
        """Raw screenshot of this display (mss, XShm)."""
        self._require_started()
        if self._mss is None:
            import mss

            try:
                factory = getattr(mss, "MSS", None) or mss.mss  # mss >= 10.2 deprecates mss.mss
                self._mss = factory(display=self.display)
            except Exception as exc:
                raise ObservationError(f"mss cannot open display {self.display}: {exc}") from exc
        try:
            shot = self._mss.grab(self._mss.monitors[1] if len(self._mss.monitors) > 1 else self._mss.monitors[0])
        except Exception as exc:
            raise ObservationError(f"screenshot of {self.display} failed: {exc}") from exc
        return Frame(shot.width, shot.height, bytes(shot.raw))

    def windows(self) -> list[WindowInfo]:
        """Mapped top-level windows: title, WM_CLASS class, root-relative geometry, focus."""
        self._require_started()
        if self._windows is None:
            from envs.windows import WindowLister

            self._windows = WindowLister(self.display)
        return self._windows.list()

    def find_window(
        self, title_substring: str, *, strict: bool = False, by_class: bool = False
    ) -> tuple[WindowInfo, WindowLister] | None:
        """The top-most window whose title (or class) matches, with the lister that can act on it; None: none."""
        from envs.windows import match_window

        win = match_window(self.windows(), title_substring, strict=strict, by_class=by_class)
        if win is None:
            return None
        assert self._windows is not None
        return win, self._windows

    def activate_window(self, title_substring: str, *, strict: bool = False, by_class: bool = False) -> bool:
        """Raise and focus the top-most window whose title (or class) matches; False when none matches."""
        found = self.find_window(title_substring, strict=strict, by_class=by_class)
        if found is None:
            return False
        win, lister = found
        lister.activate(win.window_id)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and lister.active_window() != win.window_id:
            time.sleep(0.01)
        return True

    def _a11y_client(self) -> A11yClient:
        if self._a11y is None or not self._a11y.alive():
            from envs.a11y import A11yClient, worker_argv_inside

            self._a11y = A11yClient(
                self.env,
                spawn=lambda argv, e: self._inside_popen(
                    argv, env=e, log="a11y", stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                ),
                argv=worker_argv_inside(),
            )
        return self._a11y

    def a11y(self, *, max_nodes: int = 1500, timeout: float = 3.0) -> tuple[list[A11yNode], bool]:
        """The linearized accessibility table (showing, meaningful nodes) and whether it was truncated."""
        self._require_started()
        return self._a11y_client().tree(max_nodes=max_nodes, timeout=timeout, screen=(self.width, self.height))

    def wait_settled(self, *, timeout: float = 3.0, interval: float = 0.05, stable: int = 3) -> float:
        """Wait until ``stable`` consecutive grabs show no change (or ``timeout``); return seconds waited."""
        t0 = time.monotonic()
        tracker = SettleTracker(stable=stable)
        while True:
            if tracker.feed(self.grab().thumbnail()):
                break
            if time.monotonic() - t0 >= timeout or self._stop_event.is_set():
                break
            time.sleep(interval)
        return time.monotonic() - t0

    def observe(self, *, a11y: bool = True) -> Observation:
        """Screenshot (PNG) + a11y table + window list, with seconds per part in ``timings``.

        Raises:
            SandboxLimitError: the sandbox hit its memory or process limit (its episode is over).
        """
        self.check_limits()
        t = time.monotonic()
        frame = self.grab()
        t_grab = time.monotonic()
        png = frame.to_png()
        t_png = time.monotonic()
        nodes: list[A11yNode] = []
        truncated = False
        if a11y:
            nodes, truncated = self.a11y()
        t_a11y = time.monotonic()
        wins = self.windows()
        t_win = time.monotonic()
        return Observation(
            screenshot_png=png,
            width=frame.width,
            height=frame.height,
            a11y_nodes=nodes,
            windows=wins,
            timings={
                "screenshot": t_png - t,
                "grab": t_grab - t,
                "png": t_png - t_grab,
                "a11y": t_a11y - t_png,
                "windows": t_win - t_a11y,
            },
            a11y_truncated=truncated,
        )
