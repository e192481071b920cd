"""Start-up and observation cost of the browser and office apps in a real sandbox.

    .venv/bin/python benchmarks/bench_apps.py [--apps chromium,libreoffice-calc] [--reads 3]

Per app: seconds from launch to ready (window mapped, and for LibreOffice its AT-SPI application registered),
then ``--reads`` observations: AT-SPI rows and seconds, and for Chromium the DevTools page rows and seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAGE = "data:text/html," + "".join(
    f"<h2>Section {i}</h2><p>Text {i}</p><a href='p{i}.html'>link {i}</a>" for i in range(60)
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--apps", default="chromium,libreoffice-calc,libreoffice-writer,libreoffice-impress")
    ap.add_argument("--reads", type=int, default=3)
    args = ap.parse_args()
    from envs.browser import page_a11y
    from envs.sandbox import Sandbox
    from envs.task_setup import start_app

    print("| app | ready s | AT-SPI rows | AT-SPI s (median) | page rows | page s (median) |")
    print("|---|---|---|---|---|---|")
    for app in args.apps.split(","):
        with Sandbox().start() as sb:
            t = time.monotonic()
            start_app(sb, app, [PAGE] if app == "chromium" else [])
            ready = time.monotonic() - t
            sb.wait_settled(timeout=5)
            a_s, p_s, a_n, p_n = [], [], 0, 0
            for _ in range(args.reads):
                obs = sb.observe()
                a_s.append(obs.timings["a11y"])
                a_n = len(obs.a11y_nodes)
                if app == "chromium":
                    t = time.monotonic()
                    rows, _ = page_a11y(sb, 0, 1500, 3.0)
                    p_s.append(time.monotonic() - t)
                    p_n = len(rows)
            page = f"{p_n} | {statistics.median(p_s):.2f}" if p_s else "- | -"
            print(f"| {app} | {ready:.1f} | {a_n} | {statistics.median(a_s):.2f} | {page} |", flush=True)


if __name__ == "__main__":
    main()
