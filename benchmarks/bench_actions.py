"""Dispatch time of typed actions on a bare Xvfb (no window manager, no app): median and p95 per action kind.

Measures ``InputDriver.execute`` wall time, i.e. our overhead plus the X round trips, not any app's reaction.

    .venv/bin/python benchmarks/bench_actions.py [--n 200] [--size 1280x800]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time


def _start_xvfb(size: str) -> tuple[subprocess.Popen, str]:
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(w)
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(r, 64)
        if not chunk:
            break
        data += chunk
    os.close(r)
    return proc, ":" + data.decode().strip()


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200, help="repetitions per action (keymap-binding rows use n/10)")
    ap.add_argument("--size", default="1280x800")
    args = ap.parse_args()

    from envs.actions import Click, Drag, Hotkey, Key, Move, Scroll, TypeText
    from envs.input import InputDriver

    proc, display = _start_xvfb(args.size)
    try:
        d = InputDriver(display)
        d.execute(Move(1, 1))  # warm-up (first call pays lazy imports)
        cases = [
            ("move", lambda i: Move(100 + i % 500, 100 + i % 300), args.n),
            ("click", lambda i: Click(200 + i % 400, 200), args.n),
            ("key", lambda i: Key("a"), args.n),
            ("hotkey ctrl+s", lambda i: Hotkey(("ctrl", "s")), args.n),
            ("scroll 1 notch", lambda i: Scroll(-1), args.n),
            ("drag (0 s, 5 steps)", lambda i: Drag(10, 10, 300, 300, duration=0.0), args.n),
            ("type 'hello' (pyautogui)", lambda i: TypeText("hello"), args.n),
            ("type 'héllo' (keymap binding)", lambda i: TypeText("héllo"), max(5, args.n // 10)),
            ("type '<b>' (keymap binding)", lambda i: TypeText("<b>"), max(5, args.n // 10)),
        ]
        print(f"InputDriver.execute on bare Xvfb {display} {args.size} (ms)")
        print(f"{'action':28s} {'n':>5s} {'median':>8s} {'p95':>8s}")
        for name, make, n in cases:
            times = []
            for i in range(n):
                a = make(i)
                t0 = time.perf_counter()
                d.execute(a)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"{name:28s} {n:5d} {statistics.median(times):8.2f} {_pct(times, 0.95):8.2f}")
        d.close()
    finally:
        proc.terminate()
        proc.wait(5)


if __name__ == "__main__":
    main()
