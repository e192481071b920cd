"""The live view's frame sources: a close from another thread never frees the handle under a running grab."""

from __future__ import annotations

import threading
import time
from typing import Any

from studio.gui.live_frames import DisplayFrameSource


class _SlowMss:
    """Stands in for an mss handle: grab blocks until released; close after that is recorded."""

    def __init__(self) -> None:
        self.monitors = [{"left": 0, "top": 0, "width": 2, "height": 1}]
        self.in_grab = threading.Event()
        self.release = threading.Event()
        self.closed_during_grab = False
        self.grabbing = False

    def grab(self, mon: Any) -> Any:
        self.grabbing = True
        self.in_grab.set()
        self.release.wait(5)
        self.grabbing = False

        class Shot:
            width, height, raw = 2, 1, b"\0" * 8

        return Shot()

    def close(self) -> None:
        self.closed_during_grab = self.grabbing


def test_close_waits_for_the_grab_in_flight() -> None:
    src = DisplayFrameSource(":0")
    fake = _SlowMss()
    src._mss = fake
    got: list[Any] = []
    t = threading.Thread(target=lambda: got.append(src.grab()))
    t.start()
    assert fake.in_grab.wait(5)
    closer = threading.Thread(target=src.close)
    closer.start()
    time.sleep(0.1)
    assert closer.is_alive()  # close waits for the grab
    fake.release.set()
    t.join(5)
    closer.join(5)
    assert not fake.closed_during_grab
    assert got and got[0] is not None and got[0].width == 2
    assert src.grab() is None  # closed sources give no frames
