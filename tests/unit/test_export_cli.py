"""``studio export``: options reach the exporter, the summary is printed, bad options are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.unit.test_export_rows import build_export_workspace


def test_cli_export_and_bad_option(tmp_path: Path) -> None:
    from studio.cli import app

    ws = tmp_path / "ws"
    build_export_workspace(ws)
    out = tmp_path / "out"
    runner = CliRunner()
    res: Any = runner.invoke(
        app,
        [
            "export",
            "--format",
            "llamafactory",
            "--out",
            str(out),
            "-w",
            str(ws),
            "--status",
            "committee",
            "--app",
            "galculator",
            "--max-span",
            "2",
            "--split",
            "1,0,0",
            "--name",
            "calc",
            "--no-redact",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "total" in res.output and "examples from" in res.output
    info = json.loads((out / "dataset_info.json").read_text())
    assert list(info) == ["calc_train"]
    rows = (out / "calc_train.jsonl").read_text().splitlines()
    assert len(rows) == 2 * 3  # committee-accepted galculator examples (trajectories 0, 2, 4), 2 steps each
    res = runner.invoke(app, ["export", "--format", "csv", "--out", str(tmp_path / "x"), "-w", str(ws)])
    assert res.exit_code != 0 and "csv" in str(res.exception)
