"""Sandbox isolation cost: the isolated sandbox (this tree) against the bubblewrap one (an older commit), one run.

Both implementations run interleaved in the same process, so a loaded machine slows both alike. Prints median
and p95 in milliseconds of: start -> first observation (a11y on, empty desktop), one command inside
(``run(["true"])``, what every getter and ``execute`` setup step pays), a full ``observe()`` with mousepad
open, one action (``execute`` of a mouse move, incl. the new limit check) and launching mousepad. Run:

    .venv/bin/python benchmarks/bench_sandbox.py [--old-rev 81959a7] [--starts 5] [--n 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from envs.actions import Move  # noqa: E402
from envs.sandbox import Sandbox  # noqa: E402


def _old_sandbox_class(rev: str) -> Any:
    """``Sandbox`` of ``envs/sandbox.py`` at ``rev`` (the bubblewrap implementation), loaded from git."""
    src = subprocess.run(
        ["git", "show", f"{rev}:envs/sandbox.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="bench-old-")) / "old_sandbox.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("old_sandbox", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["old_sandbox"] = mod
    spec.loader.exec_module(mod)
    return mod.Sandbox


def _stats(samples: list[float]) -> str:
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
    return f"{statistics.median(s) * 1000:.0f} / {p95 * 1000:.0f}"


def _time(fn: Callable[[], object], n: int) -> list[float]:
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-rev", default="81959a7", help="commit whose envs/sandbox.py is the old sandbox")
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    impls: dict[str, Any] = {"old (bubblewrap)": _old_sandbox_class(args.old_rev), "new (isolated)": Sandbox}
    res: dict[str, dict[str, list[float]]] = {k: {} for k in impls}
    for _ in range(args.starts):
        for name, cls in impls.items():
            t = time.perf_counter()
            with cls(name="bench").start() as sb:
                sb.observe()
                res[name].setdefault("start -> first observation", []).append(time.perf_counter() - t)
    for name, cls in impls.items():
        with cls(name="bench").start() as sb:
            r = res[name]
            r["run(['true']) inside"] = _time(lambda sb=sb: sb.run(["true"]), args.n)
            r["launch_app mousepad"] = _time(lambda sb=sb: sb.launch_app("mousepad"), 1)[1:] or []
            r["observe() mousepad open"] = _time(sb.observe, args.n)
            xs = iter(range(10_000))
            r["execute(Move)"] = _time(lambda sb=sb, xs=xs: sb.execute(Move(x=100 + next(xs) % 200, y=100)), args.n)
    for name, cls in impls.items():  # app launch timed on a fresh desktop each time
        for _ in range(3):
            with cls(name="bench").start() as sb:
                t = time.perf_counter()
                sb.launch_app("mousepad")
                res[name]["launch_app mousepad"].append(time.perf_counter() - t)
    keys = list(next(iter(res.values())))
    print(f"| measure | {' | '.join(impls)} |")
    print("|---|" + "---|" * len(impls))
    for k in keys:
        print(f"| {k} | {' | '.join(_stats(res[n][k]) for n in impls)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
