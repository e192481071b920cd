"""The Export dialog: format and filters, a preview of the first rows, a progress bar; work runs on the worker.

Everything that touches the workspace or the disk (preview, export) goes through :class:`WorkerPool`, so the UI
stays responsive; the options map one to one onto ``studio export`` (:class:`studio.export.ExportOptions`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.gui.qt_common import plain_label
from studio.gui.qt_worker import WorkerPool

PREVIEW_ROWS = 3


def _run_export(workspace: Path, out: Path, opts: Any, overwrite: bool, progress: Any) -> Any:
    from studio.export import export_dataset

    return export_dataset(
        workspace, out, opts, overwrite=overwrite, progress=lambda done, total: progress((done, total))
    )


def _run_preview(workspace: Path, opts: Any, n: int) -> list[dict[str, Any]]:
    from studio.export import preview

    return preview(workspace, opts, n)


class ExportDialog(QDialog):
    """Export the workspace's examples. ``summary`` holds the last :class:`~studio.export.ExportSummary`."""

    def __init__(self, pool: WorkerPool, workspace: Path, parent: QWidget | None = None) -> None:
        from studio.export.conventions import COORDS, PRESETS, SYNTAXES
        from studio.export.elements import ACTION_SPACE_CHOICES
        from studio.export.rows import FORMATS, GRANULARITIES, OBSERVATIONS, STATUS_SETS

        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.setObjectName("exportDialog")
        self.pool = pool
        self.workspace = Path(workspace)
        self.summary: Any = None
        self.running = False
        self._preview_seq = 0

        def combo(items: tuple[str, ...] | list[str]) -> QComboBox:
            box = QComboBox()
            for it in items:
                box.addItem(it, it)
            return box

        self.format_box = combo(FORMATS)
        self.granularity_box = combo(GRANULARITIES)
        self.observation_box = combo(OBSERVATIONS)
        self.action_space_box = combo(ACTION_SPACE_CHOICES)  # auto: the layout the workspace's actor acts with
        self.action_space_box.setToolTip(
            "auto: the layout the workspace's actor acts with (elements for a text-only model); "
            "elements: numbered elements -> JSON reply; pyautogui: a11y table -> REASON/ACTION code"
        )
        self.preset_box = QComboBox()
        self.preset_box.addItem("none (OSWorld: pixels, pyautogui)", "")
        for name, preset in PRESETS.items():
            self.preset_box.addItem(f"{name} ({preset.coords}, {preset.syntax})", name)
        self.coords_box = QComboBox()
        self.coords_box.addItem("preset's", "")
        for c in COORDS:
            self.coords_box.addItem(c, c)
        self.syntax_box = QComboBox()
        self.syntax_box.addItem("preset's", "")
        for sy in SYNTAXES:
            self.syntax_box.addItem(sy, sy)
        self.max_pixels_spin = QSpinBox()
        self.max_pixels_spin.setRange(0, 2**31 - 1)
        self.max_pixels_spin.setSingleStep(28 * 28 * 256)
        self.max_pixels_spin.setSpecialValueText("preset's")
        self.max_pixels_spin.setToolTip("resized coordinates: the image processor's max_pixels (smart_resize)")
        self.status_box = combo(list(STATUS_SETS))
        self.kind_box = combo(["all", "instruction", "replicate"])
        self.app_edit = QLineEdit()
        self.app_edit.setPlaceholderText("all apps (or: galculator, mousepad)")
        self.min_span = QSpinBox()
        self.min_span.setRange(1, 1000)
        self.max_span = QSpinBox()
        self.max_span.setRange(0, 1000)
        self.max_span.setSpecialValueText("no limit")
        self.quorum_box = combo(["workspace default", "all", "majority", "1", "2", "3"])
        self.task_status_box = combo(["any", "proven", "proven+verified", "verified", "unverified"])
        self.check_box = combo(["any", "passed (1.0)", "scored"])
        self.split_edit = QLineEdit("0.8,0.1,0.1")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.redact_check = QCheckBox("Redact e-mails and opaque tokens (keys and local paths always go)")
        self.redact_check.setChecked(True)
        self.name_edit = QLineEdit("studio")
        self.out_edit = QLineEdit(str(self.workspace.parent / f"{self.workspace.name}-export"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.overwrite_check = QCheckBox("Replace an earlier export there")

        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("Granularity", self.granularity_box)
        form.addRow("Observation", self.observation_box)
        form.addRow("Action space", self.action_space_box)
        form.addRow("Model family", self.preset_box)
        form.addRow("Coordinates", self.coords_box)
        form.addRow("Action syntax", self.syntax_box)
        form.addRow("Max pixels (resized)", self.max_pixels_spin)
        form.addRow("Status", self.status_box)
        form.addRow("Kind", self.kind_box)
        form.addRow("Apps", self.app_edit)
        spans = QHBoxLayout()
        spans.addWidget(self.min_span)
        spans.addWidget(QLabel("to"))
        spans.addWidget(self.max_span)
        form.addRow("Span (steps)", spans)
        form.addRow("Judge quorum", self.quorum_box)
        form.addRow("Task check", self.task_status_box)
        form.addRow("Trajectory check", self.check_box)
        form.addRow("Split train,val,test", self.split_edit)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Name", self.name_edit)
        form.addRow("", self.redact_check)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        form.addRow("Output directory", out_row)
        form.addRow("", self.overwrite_check)

        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setObjectName("exportPreview")
        self.preview.setPlaceholderText("preview of the first rows…")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = plain_label()
        self.status.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(QLabel(f"Preview (first {PREVIEW_ROWS} rows)"))
        right.addWidget(self.preview, 1)
        top = QHBoxLayout()
        top.addLayout(left, 0)
        top.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top, 1)
        lay.addWidget(self.progress)
        lay.addLayout(buttons)
        self.resize(1100, 640)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.refresh_preview)
        for box in (
            self.format_box,
            self.granularity_box,
            self.observation_box,
            self.action_space_box,
            self.status_box,
            self.kind_box,
            self.quorum_box,
            self.task_status_box,
            self.check_box,
            self.preset_box,
            self.coords_box,
            self.syntax_box,
        ):
            box.currentIndexChanged.connect(self._debounce.start)
        for edit in (self.app_edit, self.split_edit, self.name_edit):
            edit.textChanged.connect(self._debounce.start)
        for spin in (self.min_span, self.max_span, self.seed_spin, self.max_pixels_spin):
            spin.valueChanged.connect(self._debounce.start)
        self.redact_check.toggled.connect(self._debounce.start)
        self.refresh_preview()

    # ---------------------------------------------------------------- options

    def options(self) -> Any:
        """The dialog's settings as validated :class:`~studio.export.ExportOptions` (``ConfigError`` if bad)."""
        from studio.export import ExportOptions
        from studio.export.split import parse_fractions

        kind = self.kind_box.currentData()
        quorum = self.quorum_box.currentData()
        task_status = self.task_status_box.currentData()
        check = self.check_box.currentData()
        return ExportOptions(
            format=self.format_box.currentData(),
            granularity=self.granularity_box.currentData(),
            observation=self.observation_box.currentData(),
            action_space=self.action_space_box.currentData(),
            status=(self.status_box.currentData(),),
            kinds=() if kind == "all" else (kind,),
            apps=tuple(a.strip() for a in self.app_edit.text().split(",") if a.strip()),
            min_span=self.min_span.value(),
            max_span=self.max_span.value() or None,
            quorum=None if quorum == "workspace default" else quorum,
            task_status=() if task_status == "any" else tuple(task_status.split("+")),
            min_score={"any": None, "scored": 0.0}.get(check, 1.0),
            split=parse_fractions(self.split_edit.text()),
            seed=self.seed_spin.value(),
            redact=self.redact_check.isChecked(),
            name=self.name_edit.text().strip() or "studio",
            preset=self.preset_box.currentData() or None,
            coords=self.coords_box.currentData() or None,
            action_syntax=self.syntax_box.currentData() or None,
            max_pixels=self.max_pixels_spin.value() or None,
        ).validate()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export to", self.out_edit.text())
        if path:
            self.out_edit.setText(path)

    # ---------------------------------------------------------------- preview

    def refresh_preview(self) -> None:
        """Build the first rows on the worker; a newer request supersedes an older one."""
        from studio.errors import StudioError

        try:
            opts = self.options()
        except StudioError as exc:
            self.preview.setPlainText(f"cannot preview: {exc}")
            return
        self._preview_seq += 1
        seq = self._preview_seq
        self.preview.setPlainText("loading preview…")
        self.pool.submit(
            _run_preview,
            self.workspace,
            opts,
            PREVIEW_ROWS,
            on_result=lambda rows: self._on_preview(seq, rows),
            on_error=lambda exc: self._on_preview_error(seq, exc),
            name="export preview",
        )

    def _on_preview(self, seq: int, rows: list[dict[str, Any]]) -> None:
        if seq != self._preview_seq:
            return
        if not rows:
            self.preview.setPlainText("no example passes these filters (try Status: all)")
            return
        self.preview.setPlainText("\n\n".join(json.dumps(r, indent=2, ensure_ascii=False) for r in rows))

    def _on_preview_error(self, seq: int, exc: BaseException) -> None:
        if seq == self._preview_seq:
            self.preview.setPlainText(f"cannot preview: {exc}")

    # ---------------------------------------------------------------- export

    def start_export(self) -> None:
        """Run the export on the long-job pool; the progress bar follows it."""
        from studio.errors import StudioError

        if self.running:
            return
        try:
            opts = self.options()
        except StudioError as exc:
            self.status.setText(f"fix the options: {exc}")
            return
        out = Path(self.out_edit.text().strip()).expanduser()
        self.running = True
        self.export_button.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.status.setText(f"exporting to {out}…")
        self.pool.submit(
            _run_export,
            self.workspace,
            out,
            opts,
            self.overwrite_check.isChecked(),
            on_progress=self._on_progress,
            on_result=self._on_done,
            on_error=self._on_error,
            on_finished=self._on_finished,
            long=True,
            name="exporting the dataset",
        )

    def _on_progress(self, value: tuple[int, int]) -> None:
        done, total = value
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_done(self, summary: Any) -> None:
        self.summary = summary
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        rows = ", ".join(f"{s} {n}" for s, n in summary.rows.items()) or "no rows"
        self.status.setText(
            f"wrote {summary.total_rows} rows ({rows}) from {summary.examples} examples, {summary.images} "
            f"images, to {summary.out}"
        )

    def _on_error(self, exc: BaseException) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(f"export failed: {exc}")
        self.pool.report(exc, context="exporting the dataset")

    def _on_finished(self) -> None:
        self.running = False
        self.export_button.setEnabled(True)
