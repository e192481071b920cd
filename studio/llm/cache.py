"""On-disk response cache keyed by a content hash of (model identity, messages, parameters, schema).

The model string alone does not say which model answers: a local file can be swapped, a server can serve
another model under the same name. :func:`model_identity` adds what does: the sha256 of a local model's file
(computed once per path, size and mtime), or for a served model its endpoint (``api_base``) and the optional
``revision`` the configuration sets (change it when the model behind a name changes).

One JSON file per entry under ``<root>/<first two hex digits>/<sha256>.json``. Writers write a temporary file
in the same directory and ``os.replace`` it into place, so concurrent writers (threads or processes) never
leave a torn entry: a reader sees either no entry or a whole one. API keys are never part of a key or a value.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_CACHE_DIR = Path(os.environ.get("STUDIO_CACHE_DIR", Path.home() / ".cache" / "studio")) / "llm-cache"
CACHE_DIR_NAME = "llm-cache"


def cache_key(payload: dict[str, Any]) -> str:
    """sha256 hex digest of the canonical JSON of ``payload`` (sorted keys, no whitespace)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def model_identity(model: str, provider: str, api_base: str | None, revision: str | None) -> dict[str, Any]:
    """What identifies the model behind ``model`` for the cache key.

    Args:
        model: The litellm model string, e.g. ``local/qwen2.5-coder-1.5b`` or ``openai/qwen``.
        provider: litellm's provider of ``model`` (``local`` for the in-process models).
        api_base: The endpoint of a served model (None for hosted providers' defaults).
        revision: ``ModelSpec.revision``: a label the user changes when the model behind a name changes.

    Raises:
        studio.errors.ModelCallError: A local model whose file is not installed.
    """
    ident: dict[str, Any] = {"api_base": api_base, "revision": revision}
    if provider == "local":
        from studio.llm.local_provider import gguf_path
        from studio.llm.models import file_sha256

        ident["file_sha256"] = file_sha256(gguf_path(model.split("/", 1)[-1]))
    return ident


class ResponseCache:
    """A directory of cached model responses.

    Args:
        root: Cache directory, e.g. ``<workspace>/llm-cache``. ``None`` uses ``~/.cache/studio/llm-cache``
            (or ``$STUDIO_CACHE_DIR/llm-cache``) for use without a workspace.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else DEFAULT_CACHE_DIR

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached value for ``key`` or ``None`` (a missing or unreadable entry is a miss)."""
        try:
            with open(self._path(key), encoding="utf-8") as fh:
                value = json.load(fh)
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` atomically (temp file + ``os.replace``); the last writer wins."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def __len__(self) -> int:
        if not self.root.exists():
            return 0
        return sum(1 for _ in self.root.glob("*/*.json"))
