"""Where two screenshots differ, as a few boxes (no Qt): the state change a step made, highlighted on the screen
before and after it in the step comparison (:class:`studio.gui.qt_compare.StepCompare`).

The screens are compared at a quarter of their size in cells of :data:`CELL` screen pixels; changed cells that
touch are merged into one box. A 1280x800 pair costs a few milliseconds (call it on a worker thread anyway:
the screenshots are decoded from the workspace's blobs).
"""

from __future__ import annotations

import io
from typing import Any

#: Cell size in screen pixels; a changed cell marks its whole square.
CELL = 32
#: Grey-level difference (0-255) below which a pixel counts as unchanged (WebP is lossless, but cursors blink).
THRESHOLD = 24
#: Boxes returned at most (the largest ones); a screen that changed everywhere gives one box.
MAX_BOXES = 8
_REDUCE = 4

Box = tuple[int, int, int, int]  # x, y, width, height in screen pixels


def _grey(data: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("L")


def changed_regions(before: bytes, after: bytes, *, cell: int = CELL, threshold: int = THRESHOLD) -> list[Box]:
    """Boxes around what changed between two screenshots (PNG/WebP bytes), largest first.

    Returns ``[]`` when nothing changed or either image is missing, and one box over the whole screen when the
    sizes differ (the screen was resized: everything changed).
    """
    if not before or not after:
        return []
    import numpy as np

    a, b = _grey(before), _grey(after)
    if a.size != b.size:
        return [(0, 0, b.size[0], b.size[1])]
    w, h = b.size
    small = max(1, cell // _REDUCE)
    ra = np.asarray(a.reduce(_REDUCE), dtype=np.int16)
    rb = np.asarray(b.reduce(_REDUCE), dtype=np.int16)
    changed = np.abs(ra - rb) > threshold
    rows, cols = -(-changed.shape[0] // small), -(-changed.shape[1] // small)
    padded = np.zeros((rows * small, cols * small), dtype=bool)
    padded[: changed.shape[0], : changed.shape[1]] = changed
    cells = padded.reshape(rows, small, cols, small).sum(axis=(1, 3)) >= 2  # one odd pixel is noise
    boxes = [_scale(c, cell, w, h) for c in _components(cells)]
    boxes.sort(key=lambda bx: -(bx[2] * bx[3]))
    return boxes[:MAX_BOXES]


def _components(cells: Any) -> list[tuple[int, int, int, int]]:
    """Bounding boxes ``(row0, col0, row1, col1)`` (inclusive) of groups of marked cells touching (8-neighbours)."""
    rows, cols = cells.shape
    seen = set()
    out = []
    for r0 in range(rows):
        for c0 in range(cols):
            if not cells[r0, c0] or (r0, c0) in seen:
                continue
            stack = [(r0, c0)]
            seen.add((r0, c0))
            top, left, bottom, right = r0, c0, r0, c0
            while stack:
                r, c = stack.pop()
                top, left, bottom, right = min(top, r), min(left, c), max(bottom, r), max(right, c)
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        nr, nc = r + dr, c + dc
                        if 0 <= nr < rows and 0 <= nc < cols and cells[nr, nc] and (nr, nc) not in seen:
                            seen.add((nr, nc))
                            stack.append((nr, nc))
            out.append((top, left, bottom, right))
    return out


def _scale(comp: tuple[int, int, int, int], cell: int, w: int, h: int) -> Box:
    top, left, bottom, right = comp
    x, y = left * cell, top * cell
    return x, y, min(w, (right + 1) * cell) - x, min(h, (bottom + 1) * cell) - y
