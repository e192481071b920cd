"""What an agent sees after each step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class A11yNode:
    """One row of the linearized accessibility table (OSWorld style)."""

    id: int
    role: str
    name: str
    text: str
    x: int
    y: int
    w: int
    h: int

    @property
    def center(self) -> tuple[int, int]:
        return (self.x + self.w // 2, self.y + self.h // 2)


A11Y_HEADER = "id\trole\tname\ttext\tposition\tsize"


def _clean(s: str) -> str:
    return s.replace("\t", " ").replace("\n", "\\n")


def element_under(nodes: Sequence[A11yNode], x: int, y: int) -> A11yNode | None:
    """The smallest element whose box holds (x, y); of equal ones the later (a child follows its parent)."""
    best: A11yNode | None = None
    for n in nodes:
        if n.x <= x < n.x + n.w and n.y <= y < n.y + n.h and (best is None or n.w * n.h <= best.w * best.h):
            best = n
    return best


def linearize(nodes: list[A11yNode]) -> str:
    """TSV table: id, role, name, text, position (x,y), size (w,h)."""
    rows = [A11Y_HEADER]
    for n in nodes:
        rows.append(f"{n.id}\t{n.role}\t{_clean(n.name)}\t{_clean(n.text)}\t({n.x}, {n.y})\t({n.w}, {n.h})")
    return "\n".join(rows)


@dataclass(frozen=True)
class WindowInfo:
    title: str
    wm_class: str
    x: int
    y: int
    w: int
    h: int
    focused: bool
    window_id: int = 0


@dataclass
class Observation:
    """Screenshot + a11y table + window list, each with the seconds it took to read.

    ``screenshot_png`` is PNG bytes of the full display at its real resolution. ``width``/``height`` are the
    display size in pixels. ``timings`` holds seconds per part: ``screenshot``, ``a11y``, ``windows``,
    ``settle``.
    """

    screenshot_png: bytes
    width: int
    height: int
    a11y_nodes: list[A11yNode] = field(default_factory=list)
    windows: list[WindowInfo] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    a11y_truncated: bool = False

    @property
    def a11y_table(self) -> str:
        return linearize(self.a11y_nodes)

    def node(self, element_id: int) -> A11yNode | None:
        for n in self.a11y_nodes:
            if n.id == element_id:
                return n
        return None
