"""Writers: one per format, each turns :class:`~studio.export.rows.Row` objects into files of one split.

Output layout (``DIR``):

* ``openai``       ``train.jsonl`` ...: ``{"messages": [...]}``; user content is a string, or text + ``image_url``
  parts with ``data:image/png;base64`` URLs; assistant turns carry ``weight: 1``.
* ``sharegpt``     ``train.jsonl`` ...: ``{"id", "conversations": [{"from": "human"|"gpt", "value"}], "images"}``;
  one ``<image>`` token per image at the end of the human turn; images in ``images/<digest>.png``.
* ``llamafactory`` ``<name>_train.jsonl`` ... + ``dataset_info.json`` (formatting ``sharegpt``, columns
  ``messages``/``images``, role/content tags) + ``images/``; ``<image>`` tokens as for ShareGPT.
* ``trl``          ``train.jsonl`` ...: ``{"messages": [...]}`` (+ ``"images": [paths]``, user content as
  ``[{"type": "text"}, {"type": "image"}]`` parts when screenshots are included) + ``images/``.
* ``hf``           ``data/<split>-00000-of-00001.parquet``: ``id, example_id, trajectory_id, step, app, kind,
  messages, images`` (``images`` is a list of ``datasets.Image``, PNG bytes embedded).
* ``ms-swift``     ``train.jsonl`` ...: ``{"messages": [{"role", "content"}], "images": [paths]}`` with one
  ``<image>`` tag per image at the end of the user turn (ms-swift's standard format); image paths are relative to
  DIR (ms-swift resolves them against the working directory or ``ROOT_IMAGE_DIR``).
* ``adp``          ``train.jsonl`` ...: one Agent Data Protocol trajectory per example (:mod:`studio.export.adp`),
  image observations as paths relative to DIR.

Formats with ``<image>`` placeholders (ShareGPT, LLaMA-Factory, ms-swift) get exactly one per image: a literal
``<image>`` in workspace text (a window title, a typed string) is written as ``<image\u200b>`` so it cannot be
taken for a placeholder, and every row is checked (placeholders == images) before it is written.

Every writer emits fixed key order, ``ensure_ascii=False`` compact JSON and no timestamps: same rows, same bytes.
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

from studio.export.rows import Message, Row

IMAGE_TOKEN = "<image>"
#: What a literal ``<image>`` in workspace text becomes in formats that use it as the image placeholder.
ESCAPED_IMAGE_TOKEN = "<image\u200b>"
PARQUET_ROW_GROUP = 256


class ImageSource:
    """PNG bytes of screenshot blobs (converted from the workspace's WebP), with a small LRU cache."""

    def __init__(self, ws: Any, capacity: int = 64) -> None:
        self._ws = ws
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._capacity = capacity
        self.converted = 0

    def png(self, digest: str) -> bytes:
        data = self._cache.get(digest)
        if data is not None:
            self._cache.move_to_end(digest)
            return data
        data = bytes(self._ws.blobs.png(digest))
        self.converted += 1
        self._cache[digest] = data
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return data


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Writer:
    """Base: one open file per split. Subclasses implement :meth:`encode` (row -> JSON object)."""

    name: ClassVar[str] = ""

    def __init__(self, out: Path, images: ImageSource, dataset_name: str = "studio") -> None:
        self.out = out
        self.images = images
        self.dataset_name = dataset_name
        self._files: dict[str, Any] = {}
        self._written_images: set[str] = set()
        self.rows: dict[str, int] = {}

    def file_for(self, split: str) -> Path:
        return self.out / f"{split}.jsonl"

    def write(self, row: Row) -> None:
        fh = self._files.get(row.split)
        if fh is None:
            path = self.file_for(row.split)
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = self._files[row.split] = path.open("w", encoding="utf-8", newline="\n")
        fh.write(_dumps(self.encode(row)) + "\n")
        self.rows[row.split] = self.rows.get(row.split, 0) + 1

    def encode(self, row: Row) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> list[Path]:
        """Finish the files; returns every file written (relative to ``out``), sorted."""
        for fh in self._files.values():
            fh.close()
        self._files.clear()
        return self.files()

    def files(self) -> list[Path]:
        return sorted(p.relative_to(self.out) for p in self.out.rglob("*") if p.is_file())

    # ------------------------------------------------------------------ helpers

    def image_path(self, digest: str) -> str:
        """Write ``images/<digest>.png`` once; returns the path relative to ``out``."""
        rel = f"images/{digest}.png"
        if digest not in self._written_images:
            path = self.out / rel
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(self.images.png(digest))
                tmp.replace(path)
            self._written_images.add(digest)
        return rel

    @staticmethod
    def with_tokens(m: Message) -> str:
        """The message text (stray placeholders escaped), then one ``<image>`` per image."""
        return m.text.replace(IMAGE_TOKEN, ESCAPED_IMAGE_TOKEN) + "".join("\n" + IMAGE_TOKEN for _ in range(m.images))

    def with_images(self, row: Row, obj: dict[str, Any], texts: list[str]) -> dict[str, Any]:
        """``obj`` with the row's image files (``images``), once its ``texts`` have one placeholder per image."""
        self.check_placeholders(row, texts, row.images)
        if row.images:
            obj["images"] = [self.image_path(d) for d in row.images]
        return obj

    @staticmethod
    def check_placeholders(row: Row, texts: list[str], images: list[Any]) -> None:
        """Placeholders must match images one to one (LLaMA-Factory and ms-swift refuse the row otherwise)."""
        tokens = sum(t.count(IMAGE_TOKEN) for t in texts)
        if tokens != len(images):
            from studio.errors import PipelineError

            raise PipelineError(
                f"export row {row.id}: {tokens} {IMAGE_TOKEN} placeholders for {len(images)} "
                "images; this is a bug in the export, please report it"
            )


class OpenAIWriter(Writer):
    """OpenAI chat fine-tuning JSONL (``messages`` only: the API refuses unknown top-level keys)."""

    name = "openai"

    def encode(self, row: Row) -> dict[str, Any]:
        it = iter(row.images)
        messages = []
        for m in row.messages:
            content: Any = m.text
            if m.images:
                content = [{"type": "text", "text": m.text}]
                for _ in range(m.images):
                    url = "data:image/png;base64," + base64.b64encode(self.images.png(next(it))).decode("ascii")
                    content.append({"type": "image_url", "image_url": {"url": url}})
            msg: dict[str, Any] = {"role": m.role, "content": content}
            if m.role == "assistant":
                msg["weight"] = 1
            messages.append(msg)
        return {"messages": messages}


class ShareGPTWriter(Writer):
    name = "sharegpt"
    ROLES: ClassVar[dict[str, str]] = {"system": "system", "user": "human", "assistant": "gpt"}

    def encode(self, row: Row) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": row.id,
            "conversations": [{"from": self.ROLES[m.role], "value": self.with_tokens(m)} for m in row.messages],
        }
        return self.with_images(row, obj, [c["value"] for c in obj["conversations"]])


class LlamaFactoryWriter(Writer):
    """LLaMA-Factory: sharegpt formatting with OpenAI-style ``messages`` (role/content tags)."""

    name = "llamafactory"

    def file_for(self, split: str) -> Path:
        return self.out / f"{self.dataset_name}_{split}.jsonl"

    def encode(self, row: Row) -> dict[str, Any]:
        obj: dict[str, Any] = {"messages": [{"role": m.role, "content": self.with_tokens(m)} for m in row.messages]}
        return self.with_images(row, obj, [m["content"] for m in obj["messages"]])

    def close(self) -> list[Path]:
        splits = sorted(self.rows, key=lambda s: ("train", "validation", "test").index(s))
        info = {}
        for split in splits:
            entry: dict[str, Any] = {
                "file_name": self.file_for(split).name,
                "formatting": "sharegpt",
                "columns": {"messages": "messages"},
                "tags": {
                    "role_tag": "role",
                    "content_tag": "content",
                    "user_tag": "user",
                    "assistant_tag": "assistant",
                    "system_tag": "system",
                },
            }
            if self._written_images:
                entry["columns"]["images"] = "images"
            info[f"{self.dataset_name}_{split}"] = entry
        (self.out / "dataset_info.json").write_text(
            json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return super().close()


class TRLWriter(Writer):
    """TRL ``SFTTrainer`` conversational format; vision rows use content parts + an ``images`` column."""

    name = "trl"

    def encode(self, row: Row) -> dict[str, Any]:
        messages = []
        for m in row.messages:
            if row.images:  # one schema for the whole file: parts everywhere when any image is present
                content: Any = [{"type": "text", "text": m.text}] + [{"type": "image"}] * m.images
            else:
                content = m.text
            messages.append({"role": m.role, "content": content})
        obj: dict[str, Any] = {"messages": messages}
        if row.images:
            obj["images"] = [self.image_path(d) for d in row.images]
        return obj


class HFParquetWriter(Writer):
    """Hugging Face datasets Parquet, one file per split, ``images`` as a list of ``datasets.Image``."""

    name = "hf"

    def __init__(self, out: Path, images: ImageSource, dataset_name: str = "studio", *, parts: bool) -> None:
        super().__init__(out, images, dataset_name)
        self.parts = parts
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._writers: dict[str, Any] = {}
        self._schema: Any = None

    def features(self) -> Any:
        from datasets import Features, Image, List, Value

        if self.parts:
            content: Any = List({"type": Value("string"), "text": Value("string")})
        else:
            content = Value("string")
        return Features(
            {
                "id": Value("string"),
                "example_id": Value("string"),
                "trajectory_id": Value("string"),
                "step": Value("int32"),
                "app": Value("string"),
                "kind": Value("string"),
                "messages": List({"role": Value("string"), "content": content}),
                "images": List(Image()),
            }
        )

    def file_for(self, split: str) -> Path:
        return self.out / "data" / f"{split}-00000-of-00001.parquet"

    def write(self, row: Row) -> None:
        messages = []
        for m in row.messages:
            if self.parts:
                content: Any = [{"type": "text", "text": m.text}] + [{"type": "image", "text": None}] * m.images
            else:
                content = m.text
            messages.append({"role": m.role, "content": content})
        buf = self._buffers.setdefault(row.split, [])
        buf.append(
            {
                "id": row.id,
                "example_id": row.example_id,
                "trajectory_id": row.trajectory_id,
                "step": row.step,
                "app": row.app,
                "kind": row.kind,
                "messages": messages,
                "images": [{"bytes": self.images.png(d), "path": None} for d in row.images],
            }
        )
        self.rows[row.split] = self.rows.get(row.split, 0) + 1
        if len(buf) >= PARQUET_ROW_GROUP:
            self._flush(row.split)

    def _flush(self, split: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = self._buffers.get(split)
        if not buf:
            return
        if self._schema is None:
            self._schema = self.features().arrow_schema
        writer = self._writers.get(split)
        if writer is None:
            path = self.file_for(split)
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._writers[split] = pq.ParquetWriter(
                path, self._schema, compression="zstd", write_statistics=False, store_schema=True
            )
        writer.write_table(pa.Table.from_pylist(buf, schema=self._schema), row_group_size=PARQUET_ROW_GROUP)
        buf.clear()

    def close(self) -> list[Path]:
        for split in list(self._buffers):
            self._flush(split)
        for w in self._writers.values():
            w.close()
        self._writers.clear()
        return self.files()


class MsSwiftWriter(Writer):
    """ms-swift's standard messages format (``swift sft --dataset DIR/train.jsonl``)."""

    name = "ms-swift"

    def encode(self, row: Row) -> dict[str, Any]:
        obj: dict[str, Any] = {"messages": [{"role": m.role, "content": self.with_tokens(m)} for m in row.messages]}
        return self.with_images(row, obj, [m["content"] for m in obj["messages"]])


class ADPWriter(Writer):
    """Agent Data Protocol trajectories (see :mod:`studio.export.adp`)."""

    name = "adp"

    def encode(self, row: Row) -> dict[str, Any]:
        if row.record is None:
            raise ValueError(f"row {row.id} holds no ADP record; ADP rows come from rows_for(format='adp')")
        content = [
            {**item, "content": self.image_path(item["content"])} if item["class_"] == "image_observation" else item
            for item in row.record["content"]
        ]
        return {**row.record, "content": content}


def make_writer(fmt: str, out: Path, images: ImageSource, *, dataset_name: str, parts: bool) -> Writer:
    """The writer of format ``fmt`` (see :data:`studio.export.rows.FORMATS`)."""
    if fmt == "hf":
        return HFParquetWriter(out, images, dataset_name, parts=parts)
    cls = {
        "openai": OpenAIWriter,
        "sharegpt": ShareGPTWriter,
        "llamafactory": LlamaFactoryWriter,
        "trl": TRLWriter,
        "ms-swift": MsSwiftWriter,
        "adp": ADPWriter,
    }[fmt]
    return cls(out, images, dataset_name)
