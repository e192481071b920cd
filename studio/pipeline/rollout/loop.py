"""The loop detector: an episode ends when the policy repeats the same action on an unchanged screen.

"Unchanged" is judged from what the screen *says*, not its pixels, when the observation has an a11y table: the
rows' roles, names and texts (texts hold values: a display, a field, a cell) and the windows' titles, classes
and focus, without ids, positions or sizes. A button's press animation, a blinking caret or a hover highlight
changes the screenshot but none of that, so galculator's ``=`` pressed again and again is a loop; a new value in
a display is a change even where the pixels barely move. The screenshot decides instead when there is no table,
and for actions whose effect the table does not show (:data:`SCREEN_KINDS`): scrolling, moving or dragging the
pointer, waiting (a progress bar may be moving) and keys that move the caret, the focus or the view
(:data:`VIEW_KEYS`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from envs.observation import Observation

__all__ = ["LOOP_REPEATS", "SCREEN_KINDS", "VIEW_KEYS", "LoopDetector", "screen_key", "table_shows"]

#: The same action on an unchanged screen this many times in a row ends the episode with status ``loop``.
LOOP_REPEATS = 3
#: Keys that move the caret, the focus or the view: the a11y table does not show where they went.
VIEW_KEYS = frozenset({"up", "down", "left", "right", "tab", "pageup", "pagedown", "pgup", "pgdn", "home", "end"})
#: Action kinds judged by the screenshot: what they change is where things are, or nothing the table holds.
SCREEN_KINDS = frozenset({"scroll", "move", "drag", "wait"})


def _digest(parts: Sequence[Any]) -> str:
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def table_shows(actions: Sequence[Any]) -> bool:
    """True when the a11y table shows what ``actions`` do (False for :data:`SCREEN_KINDS` and view keys)."""
    for action in actions:
        kind = getattr(action, "kind", "")
        if kind in SCREEN_KINDS:
            return False
        keys = [getattr(action, "key", "")] if kind in ("key", "key_down") else list(getattr(action, "keys", ()))
        if kind in ("key", "key_down", "hotkey") and any(str(k).lower() in VIEW_KEYS for k in keys):
            return False
    return True


def screen_key(obs: Observation, *, use_table: bool = True) -> str:
    """A digest of what ``obs`` shows: its a11y rows and windows without geometry when it has a table (and
    ``use_table``), else its screenshot's bytes."""
    if use_table and obs.a11y_nodes:
        rows = [(n.role, n.name, n.text) for n in obs.a11y_nodes]
        windows = [(w.title, w.wm_class, w.focused) for w in obs.windows]
        return "a11y:" + _digest([rows, windows])
    return "png:" + _digest([obs.screenshot_png])


class LoopDetector:
    """Counts the same action on an unchanged screen; :meth:`update` says when the run is looping."""

    def __init__(self, repeats: int = LOOP_REPEATS) -> None:
        self.repeats = repeats
        self._count = 0
        self._last: tuple[str, str] | None = None

    def update(self, action_code: str, actions: Sequence[Any], before: Observation, after: Observation) -> bool:
        """Record one executed step (the screen ``before`` and ``after`` its ``actions``); True when the same
        action left the same screen unchanged :attr:`repeats` times in a row."""
        use_table = table_shows(actions) and bool(before.a11y_nodes) and bool(after.a11y_nodes)
        key_before = screen_key(before, use_table=use_table)
        unchanged = screen_key(after, use_table=use_table) == key_before
        key = (action_code, key_before)
        self._count = self._count + 1 if (key == self._last and unchanged) else (1 if unchanged else 0)
        self._last = key
        return self._count >= self.repeats
