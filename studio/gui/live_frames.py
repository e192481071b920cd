"""Where the Live view's pictures come from, and the pump that fetches them at a steady rate (no Qt in here).

The frame-source interface is two methods::

    FrameSource.grab() -> FrameLike | None     # the sandbox's screen now (None: not up yet, or gone)
    FrameSource.close() -> None                # after close, grab returns None; a close waits for a grab in flight

and a *provider* is anything with ``frame_sources() -> dict[trajectory_id, FrameSource]`` (the executor of a
run). Sources today:

==============================================================  ==============================================
:class:`DisplayFrameSource`                                      an X display on this machine (``mss``)
:class:`EnvFrameSource`                                          the current sandbox of a ``DesktopEnv``
:class:`studio.pipeline.rollout.ray_executor.RayFrameSource`     a sandbox on a Ray worker (JPEG over Ray)
==============================================================  ==============================================

so a sandbox on another machine feeds the grid like a local one.

:class:`FramePump` runs on one long worker thread and serves N sources: each source has its own due time
(``grid_fps`` for the thumbnails, ``follow_fps`` for the one followed large), late ticks are skipped rather
than caught up (a steady rate, never a burst), a grab identical to the frame on show is dropped (most of the
time a desktop does not change between two looks), each other frame is scaled on the worker to the size its
tile draws it at (``set_size``), and a source whose previous frame the UI has not taken yet (``ack``) is not
grabbed again until it has (then at once): a slow UI thread gets fewer frames, never a backlog.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Frames per second of a grid thumbnail and of the sandbox followed large.
GRID_FPS = 10.0
FOLLOW_FPS = 15.0


class FrameLike(Protocol):
    """A screenshot: ``width`` x ``height`` BGRA pixels (``envs.frame.Frame`` satisfies it)."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def bgra(self) -> bytes: ...


class FrameSource(Protocol):
    """Anything that returns the current screen of one sandbox (``None`` while it is not up yet)."""

    def grab(self) -> FrameLike | None: ...

    def close(self) -> None: ...


class FrameProvider(Protocol):
    """The running sandboxes' frame sources by trajectory id (an executor: local threads or Ray actors)."""

    def frame_sources(self) -> Mapping[str, FrameSource]: ...


class DisplayFrameSource:
    """Grabs an X display with its own ``mss`` handle (created in the polling thread on first grab).

    ``grab`` and ``close`` hold one lock, so a close from another thread waits for a grab in flight instead
    of freeing the handle under it; after ``close`` every grab returns None.
    """

    def __init__(self, display: str) -> None:
        self.display = display
        self._mss: Any = None
        self._lock = threading.Lock()
        self._closed = False

    def grab(self) -> FrameLike | None:
        import mss

        from envs.frame import Frame

        with self._lock:
            if self._closed:
                return None
            if self._mss is None:
                factory = getattr(mss, "MSS", None) or mss.mss
                self._mss = factory(display=self.display)
            mon = self._mss.monitors[1] if len(self._mss.monitors) > 1 else self._mss.monitors[0]
            shot = self._mss.grab(mon)
            # mss already copied the pixels out of shared memory: no second 4 MB copy (it held the GIL)
            return Frame(shot.width, shot.height, shot.raw)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._mss is not None:
                with contextlib.suppress(Exception):
                    self._mss.close()
                self._mss = None


class EnvFrameSource:
    """Frames of a :class:`envs.desktop.DesktopEnv`'s current sandbox (its ``display``, new at every reset)."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self._src: DisplayFrameSource | None = None
        self._lock = threading.Lock()  # grab (poll thread) vs close (the job's thread)
        self._closed = False

    def grab(self) -> FrameLike | None:
        display = str(getattr(self.env, "display", "") or "")
        if not display:
            return None
        with self._lock:
            if self._closed:
                return None
            if self._src is None or self._src.display != display:
                if self._src is not None:
                    self._src.close()
                self._src = DisplayFrameSource(display)
            try:
                return self._src.grab()
            except Exception:  # noqa: BLE001 - the sandbox went away between the check and the grab
                self._src.close()
                self._src = None
                return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._src is not None:
                self._src.close()
                self._src = None


@dataclass
class _Slot:
    """The pump's state for one source."""

    due: float
    size: tuple[int, int] = (0, 0)
    waiting: bool = False  # a frame was handed over and the UI has not taken it yet
    late: bool = False  # due while waiting: grabbed as soon as the UI takes the last frame
    sent: int = 0
    skipped: int = 0  # frames that fell due while the UI still had the previous one
    unchanged: int = 0  # grabs identical to the last frame sent (nothing to scale or draw)
    last: tuple[tuple[int, int], bytes] | None = None  # the last frame sent: its tile size and pixels
    times: list[float] = field(default_factory=list)  # when the screen was looked at (sent or unchanged)


class FramePump:
    """Fetch frames of every running sandbox at a steady rate on a worker thread (see the module docstring).

    Args:
        provider: ``() -> {trajectory_id: FrameSource}``, asked at every tick (sandboxes come and go).
        convert: ``(frame, width, height) -> image``: scale the frame to fit ``width`` x ``height``
            (0 x 0: full size); runs on the pump's thread.
        grid_fps: Rate of every thumbnail.
        follow_fps: Rate of the followed source.
    """

    def __init__(
        self,
        provider: Callable[[], Mapping[str, FrameSource]],
        convert: Callable[[FrameLike, int, int], Any],
        *,
        grid_fps: float = GRID_FPS,
        follow_fps: float = FOLLOW_FPS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.convert = convert
        self.grid_fps = grid_fps
        self.follow_fps = follow_fps
        self.clock = clock
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._followed: str | None = None
        self._wake = threading.Event()

    # ---------------------------------------------------------------- any thread

    def set_size(self, trajectory_id: str, width: int, height: int) -> None:
        """The size the tile of ``trajectory_id`` draws its frame at (the next frames are scaled to it)."""
        with self._lock:
            self._sizes[trajectory_id] = (max(0, width), max(0, height))

    def follow(self, trajectory_id: str | None) -> None:
        """Serve ``trajectory_id`` at ``follow_fps`` (None: every source at ``grid_fps``)."""
        with self._lock:
            self._followed = trajectory_id
            slot = self._slots.get(trajectory_id or "")
            if slot is not None:
                slot.due = self.clock()  # the larger frame now, not at the next thumbnail tick

    def ack(self, trajectory_id: str) -> None:
        """The UI took the last frame of ``trajectory_id``: the next one may be sent."""
        with self._lock:
            slot = self._slots.get(trajectory_id)
            if slot is not None:
                slot.waiting = False
        self._wake.set()  # a frame that fell due while the UI had the last one is grabbed now

    def fps(self, trajectory_id: str, window: float = 2.0) -> float:
        """Looks at the screen of ``trajectory_id`` per second over the last ``window`` seconds (a frame sent,
        or a grab identical to the one on show)."""
        with self._lock:
            slot = self._slots.get(trajectory_id)
            if slot is None:
                return 0.0
            now = self.clock()
            return sum(1 for t in slot.times if now - t <= window) / window

    def stats(self) -> dict[str, tuple[int, int, int]]:
        """``{trajectory_id: (frames sent, frames late because the UI was behind, grabs unchanged)}``."""
        with self._lock:
            return {tid: (s.sent, s.skipped, s.unchanged) for tid, s in self._slots.items()}

    # ---------------------------------------------------------------- the pump's thread

    def run(self, stop: threading.Event, progress: Callable[[tuple[str, Any, int]], None]) -> int:
        """Serve frames until ``stop`` is set; returns the number of frames sent.

        Args:
            stop: Ends the pump.
            progress: Gets ``(trajectory_id, image, screen_width)`` for every frame, on the pump's thread
                (a worker's ``progress``: it reaches the UI thread as a queued signal).
        """
        sent = 0
        while not stop.is_set():
            self._wake.clear()
            sent += self.tick(progress)
            with self._lock:  # sources waiting for the UI wake the pump through ``ack``
                dues = [s.due for s in self._slots.values() if not s.waiting]
            next_due = min(dues, default=self.clock() + 1 / self.grid_fps)
            self._wake.wait(min(1.0 / self.grid_fps, max(0.001, next_due - self.clock())))
        return sent

    def tick(self, progress: Callable[[tuple[str, Any, int]], None]) -> int:
        """Grab every source that is due and hand its frame to ``progress``; returns the number sent."""
        try:
            sources = dict(self.provider())
        except Exception:  # noqa: BLE001 - the provider is between runs; the next tick asks again
            sources = {}
        due = self._due_now(sources)
        sent = 0
        for tid in due:
            src = sources[tid]
            try:
                frame = src.grab()
            except Exception:  # noqa: BLE001 - a sandbox going down mid-grab; the next tick retries
                frame = None
            if frame is None:
                continue
            with self._lock:
                width, height = self._sizes.get(tid, (0, 0))
            # a memcmp of the previous grab: ~0.1 ms for 1280x800 (a crc32 took 25 times as long)
            with self._lock:
                slot = self._slots.get(tid)
                last = slot.last if slot is not None else None
            same = last is not None and last[0] == (width, height) and last[1] == frame.bgra
            image = None if same else self.convert(frame, width, height)
            with self._lock:
                slot = self._slots.get(tid)
                if slot is None:
                    continue
                now = self.clock()
                slot.times = [t for t in slot.times if now - t <= 5.0]
                slot.times.append(now)
                if same:
                    slot.unchanged += 1  # the tile already shows this screen
                    continue
                slot.last = ((width, height), frame.bgra)
                slot.waiting = True
                slot.sent += 1
            progress((tid, image, frame.width))
            sent += 1
        return sent

    def _due_now(self, sources: Mapping[str, FrameSource]) -> list[str]:
        """The sources to grab at this tick (their next due time set), forgetting those that ended."""
        now = self.clock()
        out: list[str] = []
        with self._lock:
            for tid in list(self._slots):
                if tid not in sources:
                    del self._slots[tid]
            for tid in sources:
                slot = self._slots.setdefault(tid, _Slot(due=now))
                if now < slot.due:
                    continue
                if slot.waiting:  # due, but the UI has not drawn the last frame: grab when it has (ack)
                    if not slot.late:
                        slot.late = True
                        slot.skipped += 1
                    continue
                period = 1.0 / (self.follow_fps if tid == self._followed else self.grid_fps)
                # steady: the next frame one period after this one was due; if we are a whole period late,
                # skip the missed ticks instead of sending a burst
                slot.due = slot.due + period if slot.due + period > now else now + period
                slot.late = False
                out.append(tid)
        return out
