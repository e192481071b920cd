"""Exports read by their consumers' own code: LLaMA-Factory's dataset_info parser, its sharegpt converter (media
paths resolved against the dataset directory) and its multimodal plugin's placeholder check (one ``<image>`` per
image), for the default and a model-family convention."""

from __future__ import annotations

import importlib.machinery
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_export_formats import run
from tests.unit.test_export_rows import build_export_workspace


def _llamafactory() -> Any:
    """LLaMA-Factory's data modules. Its multimodal plugin imports torchaudio at module level for audio inputs;
    this path never touches audio, so an empty stand-in module takes its place when torchaudio is absent."""
    pytest.importorskip("llamafactory")
    stubbed = False
    if "torchaudio" not in sys.modules:
        try:
            import torchaudio  # noqa: F401
        except ImportError:
            stub = types.ModuleType("torchaudio")
            stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
            sys.modules["torchaudio"] = stub
            stubbed = True
    try:
        from llamafactory.data import converter, mm_plugin, parser
    finally:
        if stubbed:  # no other test should see the stand-in
            sys.modules.pop("torchaudio", None)

    return types.SimpleNamespace(converter=converter, mm_plugin=mm_plugin, parser=parser)


@pytest.fixture(scope="module")
def export_ws(tmp_path_factory: Any) -> Path:
    path = tmp_path_factory.mktemp("exportlf") / "ws"
    build_export_workspace(path)
    return path


@pytest.mark.parametrize("preset", [None, "qwen2.5-vl"])
def test_llamafactory_reads_and_checks_the_export(export_ws: Path, tmp_path: Path, preset: str | None) -> None:
    from datasets import load_dataset

    lf = _llamafactory()
    out = tmp_path / "lf"
    summary = run(
        export_ws, out, format="llamafactory", observation="both", status=("all",), name="calc", preset=preset
    )
    names = [f"calc_{s}" for s in summary.rows]
    attrs = lf.parser.get_dataset_list(names, str(out))
    plugin = lf.mm_plugin.get_mm_plugin("qwen2_vl", image_token="<|image_pad|>")
    seen = 0
    for attr in attrs:
        assert (attr.formatting, attr.load_from, attr.images) == ("sharegpt", "file", "images")
        conv = lf.converter.get_dataset_converter(attr.formatting, attr, types.SimpleNamespace(media_dir=str(out)))
        for example in load_dataset("json", data_files=str(out / attr.dataset_name))["train"]:
            row = conv(example)
            assert row["_prompt"] and row["_response"], "LLaMA-Factory dropped the row as broken"
            assert row["_prompt"][0]["role"] == "user" and row["_response"][0]["role"] == "assistant"
            assert all(os.path.isfile(p) for p in row["_images"])  # found under media_dir
            plugin._validate_messages(row["_prompt"] + row["_response"], row["_images"], [], [])
            seen += 1
    assert seen == summary.total_rows
    with pytest.raises(ValueError, match="does not match"):  # the check is real: one image too many fails
        plugin._validate_messages(row["_prompt"] + row["_response"], row["_images"] * 2, [], [])
