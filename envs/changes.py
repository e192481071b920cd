"""What one action changed on the screen, computed without a model from the observations before and after.

:func:`screen_changes` compares two linearized a11y tables (and, when known, the two window lists) and returns
a list of :class:`Change`, in a fixed order:

* ``window_opened`` / ``window_closed``: a window (by X id, else by title and class) appeared or went away;
* ``window_title``: the same window now has another title (a saved file's name, a terminal's command);
* ``focus``: another window has the keyboard focus;
* ``value``: the same element now holds other text (a display, a text field, a document, a cell); ``inserted``
  and ``removed`` hold what was typed or deleted (the part between the common prefix and suffix);
* ``renamed``: the same element (role and place) now has another name (a label, a toggled button);
* ``appeared`` / ``disappeared``: elements that exist only after / only before (a menu, a dialog's widgets),
  listed up to :data:`MAX_LISTED` each, the rest counted.

Elements are matched across the two tables by (role, name, position), then (role, position), then (role, name):
row ids are positions in the table and shift when anything is inserted, and elements that only moved
(scrolling, reflow) are not reported. Pure functions on plain data (the a11y TSV of
:func:`envs.observation.linearize` and :class:`envs.observation.WindowInfo`), so the same changes come out of a
live rollout, a stored workspace and a judge set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from envs.metrics import parse_a11y_table
from envs.observation import A11yNode, WindowInfo

MAX_LISTED = 6  # appeared / disappeared elements listed one by one (the rest are counted)
MAX_VALUE_CHARS = 120  # of a value shown in a rendered line
KINDS = (
    "window_opened",
    "window_closed",
    "window_title",
    "focus",
    "value",
    "renamed",
    "appeared",
    "disappeared",
)
_SKIP_LISTED_ROLES = frozenset({"filler", "panel", "scroll bar", "separator", "unknown"})


@dataclass(frozen=True)
class Change:
    """One change on the screen.

    Attributes:
        kind: One of :data:`KINDS`.
        role: The element's role (``"window"`` for window changes).
        name: The element's name or the window's title (before, for ``window_title`` and ``renamed``).
        before: The old text / title / name / focused window ("" when there was none).
        after: The new one.
        inserted: For ``value``: the text that is new (between the common prefix and suffix).
        removed: For ``value``: the text that went away.
        count: For ``appeared`` / ``disappeared`` summaries: how many more elements (0 for a single one).
    """

    kind: str
    role: str = ""
    name: str = ""
    before: str = ""
    after: str = ""
    inserted: str = ""
    removed: str = ""
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that are set (compact JSON for storage)."""
        return {k: v for k, v in asdict(self).items() if v not in ("", 0) or k == "kind"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**fields)


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n")


def _edit(before: str, after: str) -> tuple[str, str]:
    """(inserted, removed): what lies between the common prefix and the common suffix of two strings."""
    p = 0
    limit = min(len(before), len(after))
    while p < limit and before[p] == after[p]:
        p += 1
    s = 0
    while s < limit - p and before[len(before) - 1 - s] == after[len(after) - 1 - s]:
        s += 1
    return after[p : len(after) - s], before[p : len(before) - s]


def _match(
    a: list[A11yNode], b: list[A11yNode]
) -> tuple[list[tuple[A11yNode, A11yNode]], list[A11yNode], list[A11yNode]]:
    """Pairs of the same element, then the unmatched nodes of ``a`` and of ``b``."""
    keys = (
        lambda n: (n.role, n.name, n.x, n.y),
        lambda n: (n.role, n.x, n.y, n.w, n.h),
        lambda n: (n.role, n.name),
    )
    left, right = list(a), list(b)
    pairs: list[tuple[A11yNode, A11yNode]] = []
    for key in keys:
        index: dict[Any, list[A11yNode]] = {}
        for n in right:
            index.setdefault(key(n), []).append(n)
        rest = []
        for n in left:
            bucket = index.get(key(n))
            if bucket:
                pairs.append((n, bucket.pop(0)))
            else:
                rest.append(n)
        taken = {id(m) for _, m in pairs}
        left, right = rest, [n for n in right if id(n) not in taken]
    return pairs, left, right


def _window_key(w: WindowInfo) -> Any:
    return w.window_id or (w.title, w.wm_class)


def _window_changes(before: Sequence[WindowInfo], after: Sequence[WindowInfo]) -> list[Change]:
    out: list[Change] = []
    old = {_window_key(w): w for w in before}
    new = {_window_key(w): w for w in after}
    for key, w in new.items():
        if key not in old:
            out.append(Change("window_opened", "window", w.title, after=w.title))
    for key, w in old.items():
        if key not in new:
            out.append(Change("window_closed", "window", w.title, before=w.title))
    for key, w in new.items():
        if key in old and old[key].title != w.title:
            out.append(Change("window_title", "window", old[key].title, old[key].title, w.title))
    was = next((w for w in before if w.focused), None)
    now = next((w for w in after if w.focused), None)
    if now is not None and (was is None or _window_key(was) != _window_key(now)):
        out.append(Change("focus", "window", now.title, was.title if was else "", now.title))
    return out


def _listed(kind: str, nodes: Iterable[A11yNode]) -> list[Change]:
    shown = [n for n in nodes if n.role not in _SKIP_LISTED_ROLES and (n.name or n.text)]
    out = [
        Change(kind, n.role, n.name, after=n.text)
        if kind == "appeared"
        else Change(kind, n.role, n.name, before=n.text)
        for n in shown[:MAX_LISTED]
    ]
    if len(shown) > MAX_LISTED:
        out.append(Change(kind, count=len(shown) - MAX_LISTED))
    return out


def screen_changes(
    before_table: str,
    after_table: str,
    before_windows: Sequence[WindowInfo] | None = None,
    after_windows: Sequence[WindowInfo] | None = None,
) -> list[Change]:
    """Changes from one screen to the next (see the module docstring); [] when nothing visible changed.

    Args:
        before_table: Linearized a11y table before the action.
        after_table: The table after it.
        before_windows: Window list before (None when unknown: no window changes are reported).
        after_windows: Window list after.
    """
    out: list[Change] = []
    if before_windows is not None and after_windows is not None:
        out.extend(_window_changes(before_windows, after_windows))
    if before_table.strip() == after_table.strip():
        return out
    old_nodes, new_nodes = parse_a11y_table(before_table), parse_a11y_table(after_table)
    out.extend(_unparsed_rows(before_table, after_table, len(old_nodes), len(new_nodes)))
    pairs, gone, new = _match(old_nodes, new_nodes)
    titles = {(c.before, c.after) for c in out if c.kind == "window_title"}
    for a, b in pairs:
        if a.text != b.text:
            old, cur = _unescape(a.text), _unescape(b.text)
            inserted, removed = _edit(old, cur)
            out.append(Change("value", b.role, b.name, old, cur, inserted, removed))
        elif a.name != b.name and (a.name, b.name) not in titles:  # a frame's name is its window's title
            out.append(Change("renamed", b.role, a.name, a.name, b.name))
    out.extend(_listed("appeared", new))
    out.extend(_listed("disappeared", gone))
    return out


def _unparsed_rows(before: str, after: str, n_before: int, n_after: int) -> list[Change]:
    """Rows that are not a11y table rows (another table layout): the ones that appeared or went, verbatim."""

    def rows(text: str, parsed: int) -> list[str]:
        lines = [ln for ln in text.splitlines()[1:] if ln.strip()]
        return lines if len(lines) > parsed else []

    a, b = rows(before, n_before), rows(after, n_after)
    if not a and not b:
        return []
    out = [Change("appeared", "row", after=ln) for ln in b if ln not in a]
    out.extend(Change("disappeared", "row", before=ln) for ln in a if ln not in b)
    return out[: MAX_LISTED * 2]


def _clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    t = text.replace("\n", "\\n")
    return t if len(t) <= limit else t[: limit - 3] + "..."


def _clip_start(text: str, limit: int = MAX_VALUE_CHARS // 2) -> str:
    t = text.replace("\n", "\\n")
    return t if len(t) <= limit else "..." + t[-(limit - 3) :]


def render_change(c: Change) -> str:
    """One line a person or a model reads, e.g. ``text 'display': '12' -> '84'``."""
    what = f"{c.role} '{_clip(c.name, 60)}'" if c.name else c.role
    if c.kind == "window_opened":
        return f"window opened: '{_clip(c.after)}'"
    if c.kind == "window_closed":
        return f"window closed: '{_clip(c.before)}'"
    if c.kind == "window_title":
        return f"window title: '{_clip(c.before)}' -> '{_clip(c.after)}'"
    if c.kind == "focus":
        return f"focus moved to window '{_clip(c.after)}'" + (f" (from '{_clip(c.before)}')" if c.before else "")
    if c.kind == "value":
        if max(len(c.before), len(c.after)) <= MAX_VALUE_CHARS // 2:
            return f"{what}: '{c.before}' -> '{c.after}'".replace("\n", "\\n")
        # a long field (a document, a terminal): what was typed or deleted, then how the field ends now
        edits = [f"typed '{_clip(c.inserted)}'"] if c.inserted else []
        edits += [f"deleted '{_clip(c.removed)}'"] if c.removed else []
        return f"{what}: {', '.join(edits) or 'changed'}; now ends '{_clip_start(c.after)}'"
    if c.kind == "renamed":
        return f"{c.role} renamed: '{_clip(c.before)}' -> '{_clip(c.after)}'"
    if c.count:
        return f"... and {c.count} more {c.kind} elements"
    value = c.after if c.kind == "appeared" else c.before
    return f"{c.kind}: {what}" + (f" = '{_clip(value)}'" if value else "")


def render_changes(changes: Sequence[Change]) -> str:
    """All changes, one line each; ``(no visible change)`` for none."""
    return "\n".join(render_change(c) for c in changes) if changes else "(no visible change)"


def changes_text(changes: Sequence[Change]) -> str:
    """The values the changes carry, in one string (for checks such as "did the run produce 84?").

    New and old values of changed elements, typed and deleted text, window titles and new names, and the values
    of elements that appeared; not the names of unchanged elements (a calculator's "9" button is not a 9 the run
    produced).
    """
    parts: list[str] = []
    for c in changes:
        if c.kind == "value":
            parts.extend((c.before, c.after, c.inserted, c.removed))
        elif c.kind in ("window_opened", "window_title", "renamed", "focus"):
            parts.append(c.after)
        elif c.kind == "appeared":
            parts.append(c.after)
    return "\n".join(p for p in parts if p)


def table_values(table: str) -> str:
    """The ``text`` column of an a11y table (the values shown: a display, a document, a terminal), one a line."""
    return "\n".join(_unescape(n.text) for n in parse_a11y_table(table) if n.text)
