"""Export throughput (rows/s) with and without images, on a synthetic workspace of N examples.

Workspace: N/10 trajectories of 6 steps (a11y table of ~40 rows per step, screenshots WIDTHxHEIGHT drawn from a
pool of 300 distinct frames, so frames repeat across rollouts but not within one), 10 examples per trajectory
(spans of 1-4 steps), two judges' verdicts on every example (everything accepted). Exports per-step rows
(``granularity=step``, ~2.5 rows per example).

    .venv/bin/python benchmarks/bench_export.py [--examples 10000] [--width 640 --height 400] [--keep DIR]
    .venv/bin/python benchmarks/bench_export.py --runs sharegpt:a11y,sharegpt:a11y:ui-tars   # FORMAT:OBS[:PRESET]
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEPS = 6
EXAMPLES_PER_TRAJ = 10
FRAMES = 300


def frame(i: int, w: int, h: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), (230, 230, 235))
    d = ImageDraw.Draw(img)
    for k in range(12):
        x, y = (37 * (i + k) * 7) % (w - 80), (53 * (i + 3 * k)) % (h - 30)
        d.rectangle([x, y, x + 70, y + 24], fill=((i * 40 + k * 20) % 255, 120, 200), outline=(0, 0, 0))
        d.text((x + 4, y + 6), f"btn {i}-{k}", fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def build(path: Path, n_examples: int, w: int, h: int) -> float:
    from studio.workspace import Example, Step, Trajectory, Verdict, Workspace

    t0 = time.perf_counter()
    ws = Workspace.init(path)
    try:
        digests = [ws.put_screenshot(frame(i, w, h)) for i in range(FRAMES)]
        n_traj = max(1, n_examples // EXAMPLES_PER_TRAJ)
        table = "id\trole\tname\ttext\tposition\tsize\n" + "".join(
            f"{k}\tpush button\tbutton {k}\t\t({k * 10}, 20)\t(40, 30)\n" for k in range(1, 40)
        )
        trajs, steps, examples, verdicts = [], [], [], []
        for t in range(n_traj):
            tid = f"t{t:06d}"
            trajs.append(
                Trajectory(
                    id=tid,
                    instruction=f"task {t}",
                    app="galculator",
                    model="local/smollm2",
                    status="done",
                    n_steps=STEPS,
                )
            )
            for i in range(STEPS):
                steps.append(
                    Step(
                        trajectory_id=tid,
                        index=i,
                        observation_text=table.replace("button 1", f"b{i}"),
                        screenshot=digests[(t * STEPS + i) % FRAMES],
                        width=w,
                        height=h,
                        reason=f"click button {i}",
                        action_code=f"pyautogui.click({10 * i}, 20)",
                    )
                )
            for e in range(EXAMPLES_PER_TRAJ):
                start = e % 3
                end = min(STEPS, start + 1 + e % 4)
                eid = f"e{t:06d}{e:02d}"
                examples.append(
                    Example(
                        id=eid,
                        trajectory_id=tid,
                        start=start,
                        end=end,
                        instruction=f"Press buttons {start}..{end} in run {t}",
                        app="galculator",
                        kind="replicate" if e % 2 else "instruction",
                    )
                )
                for judge in ("judge-a", "judge-b"):
                    for crit in ("aligned", "coherent", "natural", "reasonable"):
                        verdicts.append(Verdict(example_id=eid, judge=judge, criterion=crit, vote=True))
        for batch in (trajs, steps, examples, verdicts):
            for k in range(0, len(batch), 20000):
                ws.add(batch[k : k + 20000])
        ws.optimize()
    finally:
        ws.close()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=400)
    ap.add_argument("--keep", type=Path, help="reuse / keep the synthetic workspace here")
    ap.add_argument(
        "--runs",
        default="openai:a11y,hf:a11y,sharegpt:screenshot,hf:both,openai:both",
        help="comma-separated FORMAT:OBSERVATION[:PRESET] (presets: studio.export.conventions)",
    )
    args = ap.parse_args()

    from studio.export import ExportOptions, export_dataset
    from studio.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    ws_path = args.keep or tmp / "ws"
    if not (ws_path / "workspace.json").exists():
        secs = build(ws_path, args.examples, args.width, args.height)
        print(f"built workspace: {args.examples} examples, {args.width}x{args.height} frames in {secs:.1f} s")
    with Workspace.open(ws_path, readonly=True) as ws:
        counts = ws.counts()
        disk = ws.disk_usage()
    print(
        f"workspace: {counts['trajectories']} trajectories, {counts['steps']} steps, {counts['examples']} "
        f"examples, {counts['verdicts']} verdicts; db {disk['db'] / 2**20:.1f} MiB, blobs "
        f"{disk['blobs'] / 2**20:.1f} MiB"
    )
    try:
        for run in args.runs.split(","):
            fmt, obs, *rest = run.split(":")
            preset = rest[0] if rest else None
            out = tmp / f"out-{fmt}-{obs}-{preset}"
            t0 = time.perf_counter()
            s = export_dataset(ws_path, out, ExportOptions(format=fmt, observation=obs, preset=preset))
            secs = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            print(
                f"{fmt:9s} {obs:10s} {preset or '-':13s} {s.total_rows:6d} rows from {s.examples} examples, "
                f"{s.images} images: "
                f"{secs:6.1f} s = {s.total_rows / secs:7.0f} rows/s, {size / 2**20:7.1f} MiB written"
            )
            shutil.rmtree(out)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
