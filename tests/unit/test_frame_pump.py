"""The Live view's frame pump: steady per-source rates, no bursts after a stall, no frame before the UI took
the last one, the followed source faster, sources that end forgotten, a failing grab skipped."""

from __future__ import annotations

import threading
from typing import Any

from studio.gui.live_frames import EnvFrameSource, FramePump


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Frame:
    def __init__(self, n: int, w: int = 1280, h: int = 800, same: bool = False) -> None:
        self.width, self.height, self.n = w, h, n
        self.bgra = b"still" if same else n.to_bytes(4, "little")  # a new picture at every grab


class Source:
    def __init__(self, fail: bool = False, still: bool = False) -> None:
        self.grabs = 0
        self.fail = fail
        self.still = still

    def grab(self) -> Frame:
        self.grabs += 1
        if self.fail:
            raise OSError("display gone")
        return Frame(self.grabs, same=self.still)

    def close(self) -> None:
        pass


def _pump(sources: dict[str, Any], clock: Clock, **kw: Any) -> tuple[FramePump, list[tuple[str, Any, int]]]:
    got: list[tuple[str, Any, int]] = []
    pump = FramePump(lambda: sources, lambda f, w, h: (f.n, w, h), clock=clock, **kw)
    return pump, got


def _run(pump: FramePump, got: list[Any], clock: Clock, seconds: float, step: float = 0.01, ack: bool = True) -> None:
    end = clock.t + seconds
    while clock.t < end:
        before = len(got)
        pump.tick(got.append)
        if ack:
            for tid, _, _ in got[before:]:
                pump.ack(tid)
        clock.t += step


def test_every_source_gets_its_rate_and_the_followed_one_more() -> None:
    clock = Clock()
    sources = {f"s{i}": Source() for i in range(8)}
    pump, got = _pump(sources, clock, grid_fps=10, follow_fps=20)
    pump.follow("s3")
    _run(pump, got, clock, 2.0)
    per = {tid: sum(1 for g in got if g[0] == tid) for tid in sources}
    assert all(19 <= n <= 21 for tid, n in per.items() if tid != "s3"), per
    assert 39 <= per["s3"] <= 41, per
    assert pump.stats()["s0"] == (per["s0"], 0, 0)


def test_a_stall_skips_the_missed_frames_instead_of_a_burst() -> None:
    clock = Clock()
    sources = {"a": Source()}
    pump, got = _pump(sources, clock, grid_fps=10)
    _run(pump, got, clock, 0.5)
    n = len(got)
    clock.t += 3.0  # the pump's thread was starved for 3 s
    pump.tick(got.append)
    pump.ack("a")
    pump.tick(got.append)
    assert len(got) == n + 1  # one frame now, not the 30 it missed
    _run(pump, got, clock, 1.0)
    assert 9 <= len(got) - (n + 1) <= 11


def test_no_new_frame_until_the_ui_took_the_last_one() -> None:
    clock = Clock()
    sources = {"a": Source()}
    pump, got = _pump(sources, clock, grid_fps=10)
    _run(pump, got, clock, 1.0, ack=False)
    assert len(got) == 1 and sources["a"].grabs == 1  # a slow UI gets fewer frames, never a backlog
    assert pump.stats()["a"] == (1, 1, 0)  # one frame sent, the next one fell due while the UI had it
    pump.ack("a")
    pump.tick(got.append)
    assert len(got) == 2  # the overdue frame goes as soon as the UI took the last one
    pump.ack("a")
    pump.tick(got.append)
    assert len(got) == 2  # and the one after it a period later, not at once
    clock.t += 0.1
    pump.tick(got.append)
    assert len(got) == 3


def test_frames_are_scaled_to_the_tile_and_sources_that_end_are_forgotten() -> None:
    clock = Clock()
    sources: dict[str, Any] = {"a": Source(), "b": Source(fail=True)}
    pump, got = _pump(sources, clock)
    pump.set_size("a", 400, 250)
    _run(pump, got, clock, 0.3)
    assert got and all(g[0] == "a" and g[1][1:] == (400, 250) and g[2] == 1280 for g in got)
    assert sources["b"].grabs >= 2  # failing grabs are retried on later ticks, never raised
    del sources["a"]
    pump.tick(got.append)
    assert "a" not in pump.stats()


def test_a_screen_that_did_not_change_is_looked_at_but_not_sent_again() -> None:
    clock = Clock()
    sources = {"a": Source(still=True)}
    pump, got = _pump(sources, clock, grid_fps=10)
    _run(pump, got, clock, 1.0)
    assert len(got) == 1 and sources["a"].grabs >= 10  # looked at 10 times a second, sent once
    assert pump.stats()["a"] == (1, 0, sources["a"].grabs - 1)
    assert pump.fps("a") >= 4.5  # the rate of looks (over the last 2 s, one of which ran)
    pump.set_size("a", 300, 200)
    clock.t += 0.1
    pump.tick(got.append)
    assert len(got) == 2  # a new tile size needs a new picture, changed screen or not


def test_run_stops_when_asked() -> None:
    sources = {"a": Source()}
    pump = FramePump(lambda: sources, lambda f, w, h: f, grid_fps=50)
    stop = threading.Event()
    got: list[Any] = []

    def take(item: Any) -> None:
        got.append(item)
        pump.ack(item[0])
        if len(got) >= 5:
            stop.set()

    t = threading.Thread(target=pump.run, args=(stop, take))
    t.start()
    t.join(10)
    assert not t.is_alive() and len(got) >= 5


def test_env_frame_source_gives_nothing_after_close() -> None:
    class Env:
        display = ":12345"

    src = EnvFrameSource(Env())
    src.close()
    assert src.grab() is None  # a close from the job's thread ends the frames, no new handle is made
