"""Every export format loaded by its consumer's library (``datasets``) or checked field by field against the
documented schema; split leakage; redaction; byte-identical re-export."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_export_rows import FAKE_EMAIL, FAKE_KEY, build_export_workspace

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def export_ws(tmp_path_factory: Any) -> Path:
    path = tmp_path_factory.mktemp("exportfmt") / "ws"
    build_export_workspace(path)
    return path


def run(ws: Path, out: Path, **kw: Any) -> Any:
    from studio.export import ExportOptions, export_dataset

    kw.setdefault("split", (0.5, 0.25, 0.25))
    return export_dataset(ws, out, ExportOptions(**kw))


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def load_json_dataset(files: dict[str, str]) -> Any:
    from datasets import load_dataset

    return load_dataset("json", data_files=files)


def test_openai_jsonl_matches_the_chat_fine_tuning_schema(export_ws: Path, tmp_path: Path) -> None:
    summary = run(export_ws, tmp_path / "o", format="openai", observation="both")
    assert summary.total_rows > 0
    n = 0
    for split in summary.rows:
        for obj in jsonl(tmp_path / "o" / f"{split}.jsonl"):
            assert list(obj) == ["messages"]
            assert [m["role"] for m in obj["messages"]] == ["user", "assistant"]
            for m in obj["messages"]:
                assert set(m) <= {"role", "content", "weight"} and m["role"] in ("system", "user", "assistant")
                if "weight" in m:
                    assert m["role"] == "assistant" and m["weight"] in (0, 1)
                if isinstance(m["content"], str):
                    continue
                assert m["role"] == "user"
                for part in m["content"]:
                    if part["type"] == "text":
                        assert set(part) == {"type", "text"} and isinstance(part["text"], str)
                    else:
                        assert part["type"] == "image_url" and set(part) == {"type", "image_url"}
                        url = part["image_url"]["url"]
                        assert url.startswith("data:image/png;base64,")
                        assert base64.b64decode(url.split(",", 1)[1])[:8] == PNG_MAGIC
                        n += 1
            assert obj["messages"][1]["content"].startswith("REASON: ")
            assert "\nACTION: pyautogui." in obj["messages"][1]["content"]
    assert n == summary.total_rows  # one screenshot per step row
    # the text-only variant loads with datasets
    summary = run(export_ws, tmp_path / "t", format="openai", observation="a11y")
    ds = load_json_dataset({s: str(tmp_path / "t" / f"{s}.jsonl") for s in summary.rows})
    assert sum(len(ds[s]) for s in ds) == summary.total_rows


def test_sharegpt_loads_and_has_one_image_token_per_image(export_ws: Path, tmp_path: Path) -> None:
    summary = run(export_ws, tmp_path / "s", format="sharegpt", observation="screenshot")
    ds = load_json_dataset({s: str(tmp_path / "s" / f"{s}.jsonl") for s in summary.rows})
    for split in ds:
        for row in ds[split]:
            conv = row["conversations"]
            assert [c["from"] for c in conv] == ["human", "gpt"]
            tokens = sum(c["value"].count("<image>") for c in conv)
            assert tokens == len(row["images"]) == 1
            assert (tmp_path / "s" / row["images"][0]).read_bytes()[:8] == PNG_MAGIC


def test_llamafactory_dataset_info_and_files(export_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "l"
    summary = run(export_ws, out, format="llamafactory", observation="both", name="calc")
    info = json.loads((out / "dataset_info.json").read_text())
    assert set(info) == {f"calc_{s}" for s in summary.rows}
    for key, entry in info.items():
        assert set(entry) == {"file_name", "formatting", "columns", "tags"}
        assert entry["formatting"] == "sharegpt"
        assert entry["columns"] == {"messages": "messages", "images": "images"}
        assert entry["tags"] == {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
            "system_tag": "system",
        }
        ds = load_json_dataset({"train": str(out / entry["file_name"])})["train"]
        assert len(ds) == summary.rows[key.split("_", 1)[1]]
        for row in ds:
            user = row["messages"][0]
            assert user["role"] == "user" and user["content"].count("<image>") == len(row["images"])
            assert all((out / p).is_file() for p in row["images"])  # relative to the dataset dir (media_dir)


def test_trl_messages_with_and_without_images(export_ws: Path, tmp_path: Path) -> None:
    summary = run(export_ws, tmp_path / "v", format="trl", observation="screenshot")
    ds = load_json_dataset({s: str(tmp_path / "v" / f"{s}.jsonl") for s in summary.rows})
    row = ds["train"][0]
    assert [p["type"] for p in row["messages"][0]["content"]] == ["text", "image"]
    assert len(row["images"]) == 1
    summary = run(export_ws, tmp_path / "x", format="trl", observation="a11y", granularity="example")
    ds = load_json_dataset({s: str(tmp_path / "x" / f"{s}.jsonl") for s in summary.rows})
    assert "images" not in ds["train"].column_names
    assert isinstance(ds["train"][0]["messages"][1]["content"], str)


def test_hf_parquet_loads_with_images_and_card(export_ws: Path, tmp_path: Path) -> None:
    from datasets import Image, load_dataset

    out = tmp_path / "h"
    summary = run(export_ws, out, format="hf", observation="both")
    files = {s: str(out / "data" / f"{s}-00000-of-00001.parquet") for s in summary.rows}
    ds = load_dataset("parquet", data_files=files)
    assert {s: len(ds[s]) for s in ds} == summary.rows
    assert isinstance(ds["train"].features["images"].feature, Image)
    row = ds["train"][0]
    assert row["images"][0].size == (64, 40)  # decoded to PIL by datasets
    assert row["messages"][1]["role"] == "assistant"
    assert [p["type"] for p in row["messages"][0]["content"]] == ["text", "image"]
    whole = load_dataset(str(out))  # README.md's configs name the split files
    assert {s: len(whole[s]) for s in whole} == summary.rows
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "configs:" in card
    for needle in ("local/smollm2", "judge-a", "man galculator", '"status"', "| train |", "1970-01-01"):
        assert needle in card, needle
    buf = io.BytesIO()
    row["images"][0].save(buf, format="PNG")


def test_no_trajectory_in_two_splits(export_ws: Path, tmp_path: Path) -> None:
    summary = run(export_ws, tmp_path / "k", format="hf", status=("all",), split=(0.4, 0.3, 0.3), seed=3)
    from datasets import load_dataset

    ds = load_dataset(str(tmp_path / "k"))
    assert len(summary.rows) >= 2
    seen: dict[str, str] = {}
    for split in ds:
        for tid in ds[split]["trajectory_id"]:
            assert seen.setdefault(tid, split) == split


def test_redaction_of_keys_emails_and_local_paths(
    export_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "press")  # too short to be treated as a secret
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    for redact in (True, False):
        out = tmp_path / f"r{redact}"
        run(export_ws, out, format="sharegpt", redact=redact, status=("all",))
        text = "".join(p.read_text() for p in out.glob("*.jsonl"))
        assert "Press buttons 0" in text
        assert FAKE_KEY not in text and "sk-proj" not in text  # never, even with --no-redact
        assert str(export_ws) not in text and "<workspace>/notes.txt" in text
        assert (FAKE_EMAIL not in text) is redact


def test_redactor_unit() -> None:
    from studio.export.redact import Redactor

    r = Redactor(
        "/data/ws",
        environ={"HOME": "/home/bob", "X_SECRET": "hunter2hunter2", "PATH": "/usr/bin"},
        sandbox_root="/tmp/studio-sandboxes",
    )
    text = (
        "key sk-abcdefghijklmnopqrstuv AKIAABCDEFGHIJKLMNOP Bearer abc.def.ghi-123 hunter2hunter2 "
        "/data/ws/blobs /home/bob/x /home/bobby /tmp/studio-sandboxes/sb1/home/f.txt "
        "0123456789abcdef0123456789abcdef me@mail.example.com /usr/share/doc"
    )
    out = r(text)
    for gone in ("sk-abc", "AKIA", "abc.def", "hunter2", "/data/ws", "/home/bob/", "sb1", "0123456789ab", "me@"):
        assert gone not in out, gone
    for kept in ("<workspace>/blobs", "<home>/x", "/home/bobby", "<sandbox>/home/f.txt", "<email>", "/usr/share/doc"):
        assert kept in out, kept
    keep = Redactor("/data/ws", redact=False, environ={})
    assert "me@mail.example.com" in keep("me@mail.example.com sk-abcdefghijklmnopqrstuv")
    assert "sk-abc" not in keep("sk-abcdefghijklmnopqrstuv")


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", ["hf", "openai", "sharegpt", "llamafactory", "trl"])
def test_exporting_twice_gives_identical_bytes(export_ws: Path, tmp_path: Path, fmt: str) -> None:
    kw = {"format": fmt, "observation": "both", "status": ("all",)}
    run(export_ws, tmp_path / "a", **kw)
    run(export_ws, tmp_path / "b", **kw)
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert a == b and len(a) >= 3


def test_output_directory_rules(export_ws: Path, tmp_path: Path) -> None:
    from studio.errors import ConfigError

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        run(export_ws, tmp_path / "busy", format="trl")
    run(export_ws, tmp_path / "e", format="trl")
    with pytest.raises(ConfigError, match="--overwrite"):
        run(export_ws, tmp_path / "e", format="trl")
    from studio.export import ExportOptions, export_dataset

    s = export_dataset(export_ws, tmp_path / "e", ExportOptions(format="openai"), overwrite=True)
    assert not (tmp_path / "e" / "README.md").read_text().count("TRL")
    assert s.files and all(not f.startswith("images/") for f in s.files)
    with pytest.raises(ConfigError, match="inside the workspace"):
        run(export_ws, export_ws / "out", format="trl")
