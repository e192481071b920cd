"""Action parsing cost: what reading a model's action text costs per step (``envs.action_parser``).

Parses a fixed corpus of action texts the agent writes (pyautogui code strings of one to four calls, a fenced
block, computer_13 JSON, studio action dicts, WAIT/DONE) and validates typed actions (``validate_action``, the
input driver's check before it acts); reports microseconds per call, median and p95 over repeated passes.
``--code DIR`` imports the parser from another checkout, so two versions run side by side on one machine:

    .venv/bin/python benchmarks/bench_action_parser.py                      # this checkout
    .venv/bin/python benchmarks/bench_action_parser.py --code /tmp/old-main # another checkout
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

CORPUS = [
    "pyautogui.click(640, 400)",
    "pyautogui.doubleClick(120, 33)",
    "pyautogui.typewrite('hello world', interval=0.01)",
    "pyautogui.hotkey('ctrl', 's')",
    "pyautogui.press('enter')",
    "pyautogui.moveTo(100, 200); pyautogui.dragTo(300, 400, duration=0.5)",
    "import pyautogui\nimport time\npyautogui.click(10, 20)\ntime.sleep(0.5)\n"
    "pyautogui.write('42')\npyautogui.press('enter')",
    "```python\npyautogui.scroll(-3, x=500, y=300)\n```",
    "pyautogui.click(200, 300)  # click_element(12)",
    '{"action_type": "CLICK", "parameters": {"x": 10, "y": 20, "button": "left"}}',
    '{"kind": "hotkey", "keys": ["ctrl", "c"]}',
    "WAIT",
    "DONE",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1], help="checkout to import")
    ap.add_argument("--passes", type=int, default=300, help="passes over the corpus")
    args = ap.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    t0 = time.perf_counter()
    from envs.action_parser import parse_action_text, validate_action

    imported_ms = (time.perf_counter() - t0) * 1000
    import envs.action_parser as mod

    assert Path(mod.__file__).resolve().is_relative_to(args.code.resolve()), mod.__file__
    actions = [a for text in CORPUS for a in parse_action_text(text)]
    parse_us: list[float] = []
    validate_us: list[float] = []
    for _ in range(args.passes):
        t = time.perf_counter()
        for text in CORPUS:
            parse_action_text(text)
        parse_us.append((time.perf_counter() - t) * 1e6 / len(CORPUS))
        t = time.perf_counter()
        for action in actions:
            validate_action(action)
        validate_us.append((time.perf_counter() - t) * 1e6 / len(actions))

    def p95(xs: list[float]) -> float:
        return sorted(xs)[int(0.95 * (len(xs) - 1))]

    print(f"code {args.code}")
    print(f"import envs.action_parser: {imported_ms:.1f} ms (first import in this process)")
    print(f"parse_action_text: {statistics.median(parse_us):.1f} / {p95(parse_us):.1f} us per text (p50 / p95)")
    print(f"validate_action:   {statistics.median(validate_us):.2f} / {p95(validate_us):.2f} us per action")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
