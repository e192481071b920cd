"""``workspace.json``: the workspace's metadata (schema version, creation, embedder, ledger offset).

Written atomically (a temporary file renamed over the old one), so a kill never leaves half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from studio.errors import WorkspaceError

META_NAME = "workspace.json"


def read_meta(path: Path) -> dict[str, Any]:
    """The metadata of the workspace at ``path``.

    Raises:
        WorkspaceError: not a workspace, or the file is not a JSON object (says how to fix it).
    """
    try:
        meta = json.loads((path / META_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkspaceError(
            f"{path} is not a workspace (no {META_NAME}); create one with `studio init {path}`"
        ) from None
    except ValueError as exc:
        raise WorkspaceError(f"{path / META_NAME} is not valid JSON ({exc}); restore it from a backup") from exc
    if not isinstance(meta, dict):
        raise WorkspaceError(f"{path / META_NAME} must hold a JSON object; restore it from a backup")
    return meta


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    """Replace the metadata of the workspace at ``path`` in one rename."""
    tmp = path / f".{META_NAME}.tmp"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path / META_NAME)
