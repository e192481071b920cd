"""How many of OSWorld's test_all tasks run here, per domain, measured against a copy of OSWorld's repository.

    .venv/bin/python benchmarks/bench_osworld_coverage.py /path/to/OSWorld [--mirror DIR] [--make-files]
        [--noop N] [--domains chrome,libreoffice_calc] [--why chrome,os,multi_apps]

Columns per domain: ``tasks`` (test_all), ``types`` (every setup/getter/metric type and option supported),
``validate`` (also every program installed and every config script accepted, i.e. ``studio task validate``
without the mirror check), ``mirrored`` (validates with the mirror check too), and with ``--noop N`` the first N
``mirrored`` tasks per domain are set up in a real sandbox and evaluated with no action: ``noop0`` counts those
that ran without error and scored 0.0.

``--make-files`` fills the mirror with files made here for every http(s) URL the tasks name (the network is not
needed): an .xlsx/.docx/.pptx/.csv/.txt whose content names its URL (so an input and its gold file differ), other
extensions an empty file. This measures whether the tasks *run* offline, not whether those made-up files are the
real ones. Nothing from OSWorld is copied into the project.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _made_file(url: str, dest: Path) -> None:
    ext = dest.suffix.lower()
    mark = f"made for {url}"
    if ext in (".xlsx", ".xlsm"):
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws["A1"] = mark
        wb.save(dest)
    elif ext == ".docx":
        import docx

        d = docx.Document()
        d.add_paragraph(mark)
        d.save(str(dest))
    elif ext == ".pptx":
        from pptx import Presentation

        prs = Presentation()
        slide = prs.slides.add_slide(prs.slide_layouts[0])
        assert slide.shapes.title is not None
        slide.shapes.title.text = mark
        prs.save(str(dest))
    elif ext in (".png", ".jpg", ".jpeg"):
        from PIL import Image, ImageDraw

        img = Image.new("RGB", (320, 80), "white")
        ImageDraw.Draw(img).text((4, 30), mark[:50], fill="black")
        img.save(dest)
    elif ext == ".pdf":
        from pypdf import PdfWriter

        w = PdfWriter()
        w.add_blank_page(width=300, height=300)
        with dest.open("wb") as fh:
            w.write(fh)
    elif ext == ".odt":
        import zipfile

        content = (
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
            f"<office:body><office:text><text:p>{mark}</text:p></office:text></office:body>"
            "</office:document-content>"
        )
        with zipfile.ZipFile(dest, "w") as z:
            z.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
            z.writestr("content.xml", content)
    elif ext in (".csv", ".txt", ".md", ".json", ".py", ".html"):
        dest.write_text(mark + "\n")
    else:
        dest.write_bytes(b"")


def _dest_names(task: Any) -> dict[str, str]:
    """url -> a file name with the extension the task gives it."""
    names: dict[str, str] = {}
    for step in [*task.config, *task.evaluator.postconfig]:
        if step.type == "download":
            for f in step.parameters.get("files", []):
                if isinstance(f, dict) and "url" in f:
                    names[str(f["url"])] = Path(str(f.get("path", "file"))).name
    for spec in (task.evaluator.result, task.evaluator.expected):
        for s in spec if isinstance(spec, list) else [spec]:
            if isinstance(s, dict) and s.get("type") in ("cloud_file", "local_file"):
                paths = s.get("path") if isinstance(s.get("path"), list) else [s.get("path")]
                dests = s.get("dest") if isinstance(s.get("dest"), list) else [s.get("dest")] * len(paths)
                for p, d in zip(paths, dests, strict=False):
                    names[str(p)] = str(d or Path(str(p)).name)
    return names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("osworld", type=Path, help="a checkout of OSWorld (its evaluation_examples/ is read)")
    ap.add_argument("--mirror", type=Path, default=None)
    ap.add_argument("--make-files", action="store_true")
    ap.add_argument("--noop", type=int, default=0, help="run this many mirrored tasks per domain with no action")
    ap.add_argument("--domains", default="")
    ap.add_argument("--json", type=Path, default=None, help="write per-task results here")
    ap.add_argument(
        "--noop-new-since", type=Path, default=None, help="--json of an earlier run: no-op only tasks that failed there"
    )
    ap.add_argument("--why", default="", help="list the tasks of these domains that do not validate, and why")
    args = ap.parse_args()

    from envs.mirror import Mirror, is_network_url
    from envs.task_check import task_problems, task_urls
    from envs.tasks import load_task
    from studio.errors import StudioError

    ex = args.osworld / "evaluation_examples"
    test_all: dict[str, list[str]] = json.loads((ex / "test_all.json").read_text())
    mirror = Mirror(args.mirror or Path(tempfile.mkdtemp(prefix="osworld-mirror-")))
    wanted = [d for d in args.domains.split(",") if d] or list(test_all)
    rows: dict[str, Counter[str]] = {}
    unsupported: Counter[str] = Counter()
    per_task: list[dict[str, Any]] = []
    for domain in wanted:
        c: Counter[str] = Counter()
        for tid in test_all[domain]:
            c["tasks"] += 1
            try:
                task = load_task(ex / "examples" / domain / f"{tid}.json")
            except StudioError as exc:
                unsupported["<does not load>"] += 1
                per_task.append({"domain": domain, "id": tid, "problems": [str(exc)], "mirrored": False})
                continue
            problems = task_problems(task)
            type_problems = [p for p in problems if "not supported" in p or "unsupported type" in p]
            for p in type_problems:
                unsupported[p.split("'")[1] if "'" in p else p] += 1
            c["types"] += not type_problems
            c["validate"] += not problems
            if args.make_files and not problems:
                names = _dest_names(task)
                for url in task_urls(task):
                    if is_network_url(url) and not mirror.has(url):
                        with tempfile.TemporaryDirectory() as tmp:
                            f = Path(tmp) / (names.get(url) or "file")
                            _made_file(url, f)
                            mirror.put(url, f)
            mirrored = not problems and not task_problems(task, mirror=mirror)
            c["mirrored"] += mirrored
            per_task.append({"domain": domain, "id": tid, "problems": problems, "mirrored": mirrored})
        rows[domain] = c
    if args.noop:
        from studio.commands.task import run_task

        candidates = {(r["domain"], r["id"]) for r in per_task}  # ids repeat across domains
        if args.noop_new_since:  # only tasks that did not validate in that earlier run
            before = json.loads(args.noop_new_since.read_text())
            candidates = {(r["domain"], r["id"]) for r in before if r["problems"]}

        for domain in wanted:
            ran = 0
            for rec in [
                r for r in per_task if r["domain"] == domain and r["mirrored"] and (domain, r["id"]) in candidates
            ]:
                if ran >= args.noop:
                    break
                ran += 1
                t0 = time.monotonic()
                res = run_task(ex / "examples" / domain / f"{rec['id']}.json", None, mirror=mirror.root)
                rec["noop"] = {"score": res["score"], "error": res["error"], "s": round(time.monotonic() - t0, 1)}
                rows[domain]["noop_run"] += 1
                rows[domain]["noop0"] += res["error"] is None and res["score"] == 0.0
                print(domain, rec["id"], rec["noop"], flush=True)
    cols = ["tasks", "types", "validate", "mirrored"] + (["noop_run", "noop0"] if args.noop else [])
    print("| domain | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    total: Counter[str] = Counter()
    for domain, c in rows.items():
        total.update(c)
        print(f"| {domain} | " + " | ".join(str(c[k]) for k in cols) + " |")
    print("| **all** | " + " | ".join(str(total[k]) for k in cols) + " |")
    print("\nmost common unsupported types:", ", ".join(f"{k} {v}" for k, v in unsupported.most_common(15)))
    if args.why:
        import re

        print("\ntasks that do not validate (first problem of each, shortened):")
        for rec in per_task:
            if rec["problems"] and rec["domain"] in args.why.split(","):
                short = [re.sub(r"; supported:.*", "", p)[:140] for p in rec["problems"]]
                print(f"  {rec['domain']} {rec['id'][:8]}: {' | '.join(short)}")
    if args.json:
        args.json.write_text(json.dumps(per_task, indent=1))


if __name__ == "__main__":
    main()
