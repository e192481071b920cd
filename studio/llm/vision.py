"""Screenshots for vision models: the capability check (the one vision decision) and downscaled image parts.

Non-vision models get the a11y table only. The scale returned with an image part is ``shown / screen``;
``ModelPolicy`` maps the model's coordinates back with ``envs.actions.scale_action(action, scale)``.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from studio.config import ModelSpec


def supports_vision(spec: ModelSpec) -> bool:
    """``spec.vision`` when set; otherwise litellm's model map (False for unknown and local models)."""
    if spec.vision is not None:
        return spec.vision
    if spec.model.startswith("local/"):
        return False
    from studio.llm.client import import_litellm

    litellm = import_litellm()
    try:
        return bool(litellm.supports_vision(model=spec.model))
    except Exception:  # noqa: BLE001 - unknown model
        return False


def image_part(png_bytes: bytes, max_side: int = 1280) -> tuple[dict[str, Any], float]:
    """An OpenAI ``image_url`` content part (PNG data URL), downscaled so no side exceeds ``max_side``.

    Returns:
        ``(content_part, scale)`` where ``scale = shown / original`` (1.0 when not downscaled).
    """
    from PIL import Image

    with Image.open(io.BytesIO(png_bytes)) as img:
        w, h = img.size
        scale = min(1.0, max_side / max(w, h))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            out = img.convert("RGB").resize(size, Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            out.save(buf, format="PNG")
            data = buf.getvalue()
        else:
            data = png_bytes
    url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return {"type": "image_url", "image_url": {"url": url}}, scale
