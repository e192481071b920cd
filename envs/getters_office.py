"""Office getters with OSWorld's names.

==================  ======================================================================================
``audio_in_slide``  ``ppt_file_path``, ``slide_index``, ``dest``: the presentation is copied out of the sandbox
                    and the audio embedded in that slide is written to the evaluation cache as ``dest``
                    (None: no such file, slide or embedded audio; a linked, not embedded, file is None too)
==================  ======================================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envs.errors import TaskError
from envs.sandbox_files import read_sandbox_file

if TYPE_CHECKING:
    from envs.sandbox import Sandbox
    from envs.task_setup import SetupContext

log = logging.getLogger(__name__)
MAX_MEDIA = 256 << 20


def embedded_audio(pptx: Path, slide_index: int) -> bytes | None:
    """Bytes of the first audio part the slide relates to (python-pptx), None when there is none."""
    from pptx import Presentation

    try:
        prs = Presentation(str(pptx))
    except Exception as exc:  # noqa: BLE001 - unreadable -> None
        log.info("cannot read presentation %s: %s", pptx, exc)
        return None
    if not 0 <= slide_index < len(prs.slides):
        return None
    for rel in prs.slides[slide_index].part.rels.values():
        if "audio" not in rel.reltype.rsplit("/", 1)[-1] or rel.is_external:
            continue
        blob = bytes(rel.target_part.blob)
        return blob if len(blob) <= MAX_MEDIA else None
    return None


def get_audio_in_slide(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str | None:
    path = spec.get("ppt_file_path")
    if not path:
        raise TaskError("getter 'audio_in_slide' needs a 'ppt_file_path'")
    data = read_sandbox_file(sb, str(path))
    if data is None:
        return None
    local = ctx.cache_dir / Path(str(path)).name
    local.write_bytes(data)
    audio = embedded_audio(local, int(spec.get("slide_index", 0)))
    if audio is None:
        return None
    out = ctx.cache_dir / (Path(str(spec.get("dest") or "audio")).name or "audio")
    out.write_bytes(audio)
    return str(out)


GETTERS: dict[str, Callable[[Sandbox, dict[str, Any], SetupContext], Any]] = {
    "audio_in_slide": get_audio_in_slide,
}
