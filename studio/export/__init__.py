"""Dataset export: accepted examples -> files people fine-tune with (``studio export`` and the GUI's Export dialog).

Modules: :mod:`~studio.export.rows` (options, selection, format-neutral conversation rows),
:mod:`~studio.export.formats` (one writer per format), :mod:`~studio.export.split` (train/validation/test by
trajectory), :mod:`~studio.export.redact` (secrets, e-mails, local paths), :mod:`~studio.export.card`
(``README.md`` dataset card), :mod:`~studio.export.elements` (rows in the element actor's layout:
``action_space="elements"``, or ``"auto"`` for the layout the workspace's actor acts with).

API::

    opts = ExportOptions(format="hf", granularity="step", observation="both").validate()
    summary = export_dataset(workspace_dir, out_dir, opts, progress=lambda done, total: ...)
    rows = preview(workspace_dir, opts, n=5)        # the first rows as the format writes them

An export directory holds a ``.studio-export`` marker; exporting into a non-empty directory without it is refused,
and with ``overwrite=True`` a previous export there is replaced. Same workspace + same options -> same bytes.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import ConfigError
from studio.export.rows import FORMATS, GRANULARITIES, OBSERVATIONS, STATUS_SETS, ExportOptions

MARKER = ".studio-export"
Progress = Callable[[int, int], None]


@dataclass
class ExportSummary:
    """What an export wrote."""

    out: Path
    format: str
    rows: dict[str, int]  # per split
    examples: int
    trajectories: int
    images: int
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    action_space: str = "pyautogui"  # the rows' layout (``auto`` resolved)
    action_space_why: str = ""
    skipped: dict[str, int] = field(default_factory=dict)  # element-layout rows left out, by reason

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; choose a directory for the export")
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise ConfigError(f"--out {out} is not empty and holds no earlier export; choose an empty directory")
        if not overwrite:
            raise ConfigError(f"--out {out} holds an earlier export; pass --overwrite to replace it")
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `studio export`; the directory is replaced by the next export\n")


def _provenance(ws: Any, selected: list[Any], stats: Any) -> None:
    """Fill the card's sources and models from trajectories, tasks, documents and the ledger."""
    tids = {s.example.trajectory_id for s in selected}
    trajs = {r["id"]: r for r in ws.columns("trajectories", ["id", "model", "policy", "task_id"]) if r["id"] in tids}
    tasks = {r["id"]: r["document_id"] for r in ws.columns("tasks", ["id", "document_id"])}
    docs = {r["id"]: r["source"] for r in ws.columns("documents", ["id", "source"])}
    for t in trajs.values():
        label = t["model"] or t["policy"] or "unknown"
        stats.actor_models[label] = stats.actor_models.get(label, 0) + 1
    for s in selected:
        t = trajs.get(s.example.trajectory_id)
        source = docs.get(tasks.get(t["task_id"], "") if t else "", "") or "(no document)"
        stats.sources[source] = stats.sources.get(source, 0) + 1
    roles: dict[str, set[str]] = {}
    for r in ws.ledger():
        if r.model:
            roles.setdefault(r.role or "other", set()).add(r.model)
    stats.ledger_models = {k: sorted(v) for k, v in roles.items()}


def export_dataset(
    workspace: Path | str,
    out: Path | str,
    options: ExportOptions,
    *,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> ExportSummary:
    """Export the workspace's examples that pass ``options``' filters into ``out``.

    Args:
        workspace: Workspace directory (opened read-only; a running pipeline may keep writing).
        out: Output directory (created; see the module docstring about non-empty directories).
        options: What to export and how (validated here).
        progress: ``progress(examples done, examples total)``, called from this thread.
        overwrite: Replace an earlier export in ``out``.

    Raises:
        ConfigError: a bad option or output directory. WorkspaceError: the workspace cannot be read.
    """
    from studio.export.card import CardStats, write_card
    from studio.export.elements import resolve_action_space
    from studio.export.formats import ImageSource, make_writer
    from studio.export.redact import Redactor
    from studio.export.rows import iter_rows, select
    from studio.export.split import SPLITS
    from studio.workspace import Workspace

    t0 = time.perf_counter()
    opts = options.validate()
    out = Path(out)
    with Workspace.open(workspace, readonly=True) as ws:
        if out.resolve() == ws.path or ws.path in out.resolve().parents:
            raise ConfigError(f"--out {out} is inside the workspace; export to a directory outside it")
        opts, why = resolve_action_space(opts, ws.config)
        selected = select(ws, opts)
        _prepare_out(out, overwrite)
        clean = Redactor(ws.path, redact=opts.redact)
        images = ImageSource(ws)
        writer = make_writer(opts.format, out, images, dataset_name=opts.name, parts=opts.images)
        stats = CardStats(action_space_why=why)
        digests: set[str] = set()
        total = len(selected)
        if progress is not None:
            progress(0, total)
        for n, rows in iter_rows(ws, selected, opts, clean, skipped=stats.skipped):
            for row in rows:
                writer.write(row)
                digests.update(row.images)
                stats.newest = max(stats.newest, row.created)
            if rows:
                sel = selected[n - 1]
                stats.examples += 1
                stats.apps[sel.example.app] = stats.apps.get(sel.example.app, 0) + 1
                stats.kinds[sel.example.kind] = stats.kinds.get(sel.example.kind, 0) + 1
            if progress is not None and (n % 50 == 0 or n == total):
                progress(n, total)
        writer.close()
        stats.rows = {s: writer.rows[s] for s in SPLITS if s in writer.rows}
        stats.trajectories = len({s.example.trajectory_id for s in selected})
        stats.images = len(digests)
        _provenance(ws, selected, stats)
    data_files = {}
    if opts.format == "hf":
        data_files = {s: writer.file_for(s).relative_to(out).as_posix() for s in stats.rows}
    write_card(out, opts, stats, data_files)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER)
    return ExportSummary(
        out=out,
        format=opts.format,
        rows=stats.rows,
        examples=stats.examples,
        trajectories=stats.trajectories,
        images=stats.images,
        files=files,
        seconds=time.perf_counter() - t0,
        action_space=opts.action_space,
        action_space_why=why,
        skipped=dict(stats.skipped),
    )


def preview(workspace: Path | str, options: ExportOptions, n: int = 5) -> list[dict[str, Any]]:
    """The first ``n`` rows as the format would write them (image data shortened), for the Export dialog."""
    import tempfile

    from studio.export.formats import ImageSource, make_writer
    from studio.export.redact import Redactor
    from studio.export.rows import iter_rows, select
    from studio.workspace import Workspace

    opts = options.validate()
    out_rows: list[dict[str, Any]] = []
    with Workspace.open(workspace, readonly=True) as ws, tempfile.TemporaryDirectory() as tmp:
        selected = select(ws, opts)
        clean = Redactor(ws.path, redact=opts.redact)
        fmt = "trl" if opts.format == "hf" else opts.format
        writer = make_writer(fmt, Path(tmp), ImageSource(ws), dataset_name=opts.name, parts=opts.images)
        for _n, rows in iter_rows(ws, selected, opts, clean):
            for row in rows:
                obj = writer.encode(row)
                obj = {"id": row.id, "split": row.split, **{k: v for k, v in obj.items() if k != "id"}}
                out_rows.append(_shorten(obj))
                if len(out_rows) >= n:
                    return out_rows
    return out_rows


def _shorten(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _shorten(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shorten(v) for v in obj]
    if isinstance(obj, str) and obj.startswith("data:image/") and len(obj) > 80:
        return obj[:48] + f"... ({len(obj)} chars)"
    return obj


__all__ = [
    "FORMATS",
    "GRANULARITIES",
    "MARKER",
    "OBSERVATIONS",
    "STATUS_SETS",
    "ExportOptions",
    "ExportSummary",
    "export_dataset",
    "preview",
]
