"""Typed actions. Nothing a model writes is ever executed: it is parsed into these (see ``action_parser``).

Coordinates are screen pixels of the sandbox display. When a model saw a resized screenshot, the scale is
applied once, by :func:`scale_action`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

Button = Literal["left", "right", "middle"]


@dataclass(frozen=True)
class Move:
    """Move the pointer to (x, y); with ``relative`` (pyautogui.moveRel), by (x, y) from where it is."""

    x: int
    y: int
    relative: bool = False
    kind: Literal["move"] = field(default="move", init=False)


@dataclass(frozen=True)
class Click:
    """Click at (x, y), or at the current pointer position when x/y are None."""

    x: int | None = None
    y: int | None = None
    button: Button = "left"
    clicks: int = 1
    kind: Literal["click"] = field(default="click", init=False)


@dataclass(frozen=True)
class MouseDown:
    x: int | None = None
    y: int | None = None
    button: Button = "left"
    kind: Literal["mouse_down"] = field(default="mouse_down", init=False)


@dataclass(frozen=True)
class MouseUp:
    x: int | None = None
    y: int | None = None
    button: Button = "left"
    kind: Literal["mouse_up"] = field(default="mouse_up", init=False)


@dataclass(frozen=True)
class Drag:
    """Press at (x1, y1), move to (x2, y2), release.

    ``x1``/``y1`` None: start where the pointer is (pyautogui.dragTo). ``relative`` (pyautogui.dragRel):
    (x2, y2) is an offset from the start.
    """

    x1: int | None
    y1: int | None
    x2: int
    y2: int
    button: Button = "left"
    duration: float = 0.2
    relative: bool = False
    kind: Literal["drag"] = field(default="drag", init=False)


@dataclass(frozen=True)
class Scroll:
    """``clicks`` wheel notches; positive scrolls up (pyautogui convention). ``horizontal`` for hscroll."""

    clicks: int
    x: int | None = None
    y: int | None = None
    horizontal: bool = False
    kind: Literal["scroll"] = field(default="scroll", init=False)


@dataclass(frozen=True)
class TypeText:
    text: str
    interval: float = 0.0
    kind: Literal["type"] = field(default="type", init=False)


@dataclass(frozen=True)
class Key:
    """Press (down+up) one key, ``presses`` times. Names are pyautogui key names."""

    key: str
    presses: int = 1
    kind: Literal["key"] = field(default="key", init=False)


@dataclass(frozen=True)
class KeyDown:
    key: str
    kind: Literal["key_down"] = field(default="key_down", init=False)


@dataclass(frozen=True)
class KeyUp:
    key: str
    kind: Literal["key_up"] = field(default="key_up", init=False)


@dataclass(frozen=True)
class Hotkey:
    keys: tuple[str, ...]
    kind: Literal["hotkey"] = field(default="hotkey", init=False)


@dataclass(frozen=True)
class ClickElement:
    """Click the centre of the a11y element with this id in the last observation's table."""

    element_id: int
    button: Button = "left"
    clicks: int = 1
    kind: Literal["click_element"] = field(default="click_element", init=False)


@dataclass(frozen=True)
class Wait:
    seconds: float = 1.0
    kind: Literal["wait"] = field(default="wait", init=False)


@dataclass(frozen=True)
class Done:
    kind: Literal["done"] = field(default="done", init=False)


@dataclass(frozen=True)
class Fail:
    kind: Literal["fail"] = field(default="fail", init=False)


Action = (
    Move
    | Click
    | MouseDown
    | MouseUp
    | Drag
    | Scroll
    | TypeText
    | Key
    | KeyDown
    | KeyUp
    | Hotkey
    | ClickElement
    | Wait
    | Done
    | Fail
)

ACTION_TYPES: dict[str, type] = {
    str(cls.__dataclass_fields__["kind"].default): cls
    for cls in (
        Move,
        Click,
        MouseDown,
        MouseUp,
        Drag,
        Scroll,
        TypeText,
        Key,
        KeyDown,
        KeyUp,
        Hotkey,
        ClickElement,
        Wait,
        Done,
        Fail,
    )
}

TERMINAL_KINDS = frozenset({"done", "fail"})


def action_to_dict(action: Action) -> dict[str, Any]:
    """JSON-ready dict with a ``kind`` discriminator."""
    d = asdict(action)
    if isinstance(action, Hotkey):
        d["keys"] = list(action.keys)
    return d


def action_from_dict(data: dict[str, Any]) -> Action:
    """Inverse of :func:`action_to_dict`. Raises ``ActionError`` on unknown kinds or fields."""
    from envs.errors import ActionError

    kind = data.get("kind")
    cls = ACTION_TYPES.get(str(kind))
    if cls is None:
        raise ActionError(f"unknown action kind {kind!r}; expected one of {sorted(ACTION_TYPES)}")
    names = {f.name for f in fields(cls) if f.init}
    extra = set(data) - names - {"kind"}
    if extra:
        raise ActionError(f"action {kind!r} has unknown fields {sorted(extra)}")
    kwargs = {k: v for k, v in data.items() if k in names}
    if cls is Hotkey:
        kwargs["keys"] = tuple(kwargs.get("keys", ()))
    try:
        return cls(**kwargs)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ActionError(f"bad fields for action {kind!r}: {exc}") from exc


def scale_action(action: Action, scale: float) -> Action:
    """Map coordinates from a screenshot downscaled by ``scale`` (shown = screen * scale) back to the screen."""
    if scale == 1.0:
        return action

    def s(v: int | None) -> int | None:
        return None if v is None else int(round(v / scale))

    def s_int(v: int) -> int:
        return int(round(v / scale))

    if isinstance(action, (Move,)):
        return replace(action, x=s_int(action.x), y=s_int(action.y))
    if isinstance(action, (Click, MouseDown, MouseUp, Scroll)):
        return replace(action, x=s(action.x), y=s(action.y))
    if isinstance(action, Drag):
        return replace(action, x1=s(action.x1), y1=s(action.y1), x2=s_int(action.x2), y2=s_int(action.y2))
    return action
