"""Coordinate conventions, action syntaxes and per-model-family presets for exported training data.

The studio records actions in screen pixels as OSWorld ``pyautogui`` code. Model families are fine-tuned on other
conventions; an export can rewrite every action (the target, the history in the prompt and the element positions
of the a11y table) into one of them:

========== ====================================================================================================
coords     meaning of an (x, y) the model reads and writes
========== ====================================================================================================
pixels     screen pixels (OSWorld; the studio's own actor)
0-1        fractions of the screen width/height, 4 decimals (Smol2Operator, AgentNet/OpenCUA)
0-1000     ``round(x / width * 1000)``, at most 999 (Qwen2-VL, InternVL, UI-TARS 1.0, ms-swift grounding)
resized    pixels of the image the model is fed after Qwen2-VL/Qwen2.5-VL's ``smart_resize`` for the given
           ``max_pixels``/``min_pixels`` (Qwen2.5-VL, UI-TARS-1.5): absolute coordinates in the resized image
========== ====================================================================================================

Action syntaxes (:data:`SYNTAXES`): ``pyautogui`` (``pyautogui.click(412, 230)``), ``computer_13`` (OSWorld's
JSON actions, one object or a JSON list per step), ``uitars`` (``click(start_box='(412,230)')``, ``type(content=
'...')``, ``hotkey(key='ctrl s')``, ``finished()``; answers as ``Thought: ... / Action: ...``) and ``smol``
(Smol2Operator's unified function calls, ``click(x=0.41, y=0.23)``; answers as ``<think>...</think>`` then
``<code>...</code>``).

:func:`smart_resize` implements the algorithm documented for the Qwen2-VL image processor (round each side to a
multiple of ``factor``; if the area exceeds ``max_pixels`` scale both sides down by ``sqrt(h*w/max_pixels)`` and
floor to the factor; if it is below ``min_pixels`` scale up and ceil). The images themselves are exported at full
size: the model's processor resizes them with the same parameters, so the coordinates match what it sees.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from envs.actions import (
    Click,
    ClickElement,
    Done,
    Drag,
    Fail,
    Hotkey,
    Key,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseUp,
    Move,
    Scroll,
    TypeText,
    Wait,
)
from studio.errors import ConfigError

COORDS: tuple[str, ...] = ("pixels", "0-1", "0-1000", "resized")
SYNTAXES: tuple[str, ...] = ("pyautogui", "computer_13", "uitars", "smol")
#: Qwen2-VL / Qwen2.5-VL image processor defaults (preprocessor_config.json): patch 14 x merge 2.
QWEN_FACTOR = 28
QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 28 * 28 * 16384
MAX_ASPECT_RATIO = 200


@dataclass(frozen=True)
class Preset:
    """A model family's conventions (the values an export takes when ``--preset`` names it)."""

    coords: str
    syntax: str
    max_pixels: int = QWEN_MAX_PIXELS
    min_pixels: int = QWEN_MIN_PIXELS
    note: str = ""


PRESETS: dict[str, Preset] = {
    "osworld": Preset("pixels", "pyautogui", note="OSWorld pyautogui action space, screen pixels (the default)"),
    "computer-13": Preset("pixels", "computer_13", note="OSWorld computer_13 JSON actions, screen pixels"),
    "qwen2.5-vl": Preset("resized", "pyautogui", note="absolute pixels of the smart_resize'd image"),
    "qwen2-vl": Preset("0-1000", "pyautogui", note="coordinates in [0, 1000)"),
    "internvl": Preset("0-1000", "pyautogui", note="coordinates in [0, 1000)"),
    "ui-tars": Preset("0-1000", "uitars", note="UI-TARS 1.0 (Qwen2-VL based): relative [0, 1000)"),
    "ui-tars-1.5": Preset(
        "resized",
        "uitars",
        min_pixels=100 * 28 * 28,
        note="UI-TARS-1.5 (Qwen2.5-VL based): pixels of the resized image",
    ),
    "smol2operator": Preset("0-1", "smol", note="Smol2Operator unified action space, normalized [0, 1]"),
}


def _round_by(n: float, factor: int) -> int:
    return round(n / factor) * factor


def _floor_by(n: float, factor: int) -> int:
    return math.floor(n / factor) * factor


def _ceil_by(n: float, factor: int) -> int:
    return math.ceil(n / factor) * factor


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[int, int]:
    """``(height, width)`` of the image a Qwen2-VL-family processor feeds the model.

    Both sides are multiples of ``factor``, the area lies in ``[min_pixels, max_pixels]`` and the aspect ratio
    is kept as closely as possible.

    Raises:
        ConfigError: a side is not positive or the aspect ratio exceeds 200 (the processor refuses it too).
    """
    if height <= 0 or width <= 0:
        raise ConfigError(f"image size {width}x{height} is empty; the step records no screen size")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ConfigError(f"image {width}x{height} has an aspect ratio above {MAX_ASPECT_RATIO}")
    h_bar = max(factor, _round_by(height, factor))
    w_bar = max(factor, _round_by(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, _floor_by(height / beta, factor))
        w_bar = max(factor, _floor_by(width / beta, factor))
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = _ceil_by(height * beta, factor)
        w_bar = _ceil_by(width * beta, factor)
    return h_bar, w_bar


@dataclass(frozen=True)
class Convention:
    """How coordinates and actions are written. ``pixels`` + ``pyautogui`` leaves the recorded data as it is."""

    coords: str = "pixels"
    syntax: str = "pyautogui"
    max_pixels: int = QWEN_MAX_PIXELS
    min_pixels: int = QWEN_MIN_PIXELS

    @property
    def is_default(self) -> bool:
        return self.coords == "pixels" and self.syntax == "pyautogui"

    def check(self) -> Convention:
        if self.coords not in COORDS:
            raise ConfigError(f"--coords {self.coords!r} is not one of {', '.join(COORDS)}")
        if self.syntax not in SYNTAXES:
            raise ConfigError(f"--action-syntax {self.syntax!r} is not one of {', '.join(SYNTAXES)}")
        if not QWEN_FACTOR * QWEN_FACTOR <= self.min_pixels <= self.max_pixels:
            raise ConfigError(
                f"--min-pixels {self.min_pixels} / --max-pixels {self.max_pixels}: use "
                f"{QWEN_FACTOR * QWEN_FACTOR} <= min <= max"
            )
        return self

    def describe(self, width: int, height: int) -> str:
        """One sentence for the prompt: the screen and the coordinate system answers use."""
        if self.coords == "pixels":
            return f"Screen size: {width}x{height} pixels. Coordinates are screen pixels."
        if self.coords == "0-1":
            return (
                f"Screen size: {width}x{height} pixels. Coordinates are fractions of the screen: x from 0 "
                "(left) to 1 (right), y from 0 (top) to 1 (bottom)."
            )
        if self.coords == "0-1000":
            return (
                f"Screen size: {width}x{height} pixels. Coordinates are relative, from 0 to 1000: x from 0 "
                "(left) to 1000 (right), y from 0 (top) to 1000 (bottom)."
            )
        h, w = smart_resize(height, width, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        return f"Screen size: {w}x{h} pixels (the screenshot as you see it). Coordinates are pixels of that image."

    def point_mapper(self, width: int, height: int) -> Callable[[float, float], tuple[Any, Any]]:
        """``(x, y)`` screen pixels -> the convention's coordinates (ints, or floats for ``0-1``)."""
        if self.coords == "pixels":
            return lambda x, y: (int(x), int(y))
        if width <= 0 or height <= 0:
            raise ConfigError(f"a step records no screen size ({width}x{height}); export with --coords pixels")
        if self.coords == "0-1":
            return lambda x, y: (round(x / width, 4), round(y / height, 4))
        if self.coords == "0-1000":
            return lambda x, y: (min(999, max(0, round(x / width * 1000))), min(999, max(0, round(y / height * 1000))))
        h, w = smart_resize(height, width, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        return lambda x, y: (min(w - 1, max(0, round(x * w / width))), min(h - 1, max(0, round(y * h / height))))


# ------------------------------------------------------------------------------------------- a11y table

_CELL_XY = re.compile(r"^\((-?\d+), (-?\d+)\)$")


def element_centres(table: str) -> dict[int, tuple[int, int]]:
    """Element id -> centre (screen pixels) from an OSWorld-style a11y TSV (``envs.observation.linearize``)."""
    out: dict[int, tuple[int, int]] = {}
    for line in table.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 6 or not cols[0].isdigit():
            continue
        pos, size = _CELL_XY.match(cols[-2]), _CELL_XY.match(cols[-1])
        if pos and size:
            x, y, w, h = (int(v) for v in (*pos.groups(), *size.groups()))
            out[int(cols[0])] = (x + w // 2, y + h // 2)
    return out


def convert_table(table: str, conv: Convention, width: int, height: int) -> str:
    """The a11y TSV with positions and sizes in the convention's coordinates (unchanged for ``pixels``)."""
    if conv.coords == "pixels" or not table.startswith("id\t"):
        return table
    pt = conv.point_mapper(width, height)
    lines = table.splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cols = line.split("\t")
        pos = _CELL_XY.match(cols[-2]) if len(cols) >= 6 else None
        size = _CELL_XY.match(cols[-1]) if len(cols) >= 6 else None
        if pos and size:
            x, y, w, h = (int(v) for v in (*pos.groups(), *size.groups()))
            (x0, y0), (x1, y1) = pt(x, y), pt(x + w, y + h)
            cols[-2] = f"({x0}, {y0})"
            cols[-1] = f"({_sub(x1, x0)}, {_sub(y1, y0)})"
            line = "\t".join(cols)
        out.append(line)
    return "\n".join(out)


def _sub(a: Any, b: Any) -> Any:
    return round(a - b, 4) if isinstance(a, float) else a - b


# ------------------------------------------------------------------------------------------- actions


def step_actions(action_code: str, stored: Sequence[dict[str, Any]], observation_text: str) -> list[Any]:
    """A step's typed actions: its action code parsed (element clicks resolved from its a11y table).

    Falls back to the stored action dicts when the code does not parse.
    """
    from envs.action_parser import parse_action_text
    from envs.actions import action_from_dict
    from studio.errors import ActionError

    try:
        actions = parse_action_text(action_code) if action_code.strip() else []
    except ActionError:
        actions = []
    if not actions:
        try:
            actions = [action_from_dict(a) for a in stored]
        except ActionError:
            return []
    if any(isinstance(a, ClickElement) for a in actions):
        centres = element_centres(observation_text)
        resolved = []
        for a in actions:
            if isinstance(a, ClickElement) and a.element_id in centres:
                x, y = centres[a.element_id]
                a = Click(x, y, button=a.button, clicks=a.clicks)
            resolved.append(a)
        actions = resolved
    return actions


def _fmt(v: Any) -> str:
    return repr(v)


def _call(name: str, *args: Any, **kwargs: Any) -> str:
    parts = [_fmt(a) for a in args] + [f"{k}={_fmt(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


class ActionWriter:
    """Renders typed actions in one convention for one screen size."""

    def __init__(self, conv: Convention, width: int, height: int) -> None:
        self.conv = conv
        self.width = width
        self.height = height
        self.pt = conv.point_mapper(width, height)

    def render(self, actions: Sequence[Any]) -> str:
        """All actions of one step, in the convention's syntax (one line per action; computer_13: one JSON)."""
        if self.conv.syntax == "computer_13":
            objs = [o for a in actions for o in self.computer_13(a)]
            return json.dumps(objs[0] if len(objs) == 1 else objs, ensure_ascii=False, separators=(",", ":"))
        render = {"pyautogui": self.pyautogui, "uitars": self.uitars, "smol": self.smol}[self.conv.syntax]
        sep = "\n\n" if self.conv.syntax == "uitars" else "\n"
        return sep.join(render(a) for a in actions)

    def mapped(self, a: Any) -> Any:
        """A copy of ``a`` with its absolute coordinates mapped (relative offsets scaled)."""
        from dataclasses import replace

        if self.conv.coords == "pixels":
            return a
        if isinstance(a, Move):
            x, y = self._scale_offset(a.x, a.y) if a.relative else self.pt(a.x, a.y)
            return replace(a, x=x, y=y)
        if isinstance(a, Click | MouseDown | MouseUp | Scroll) and a.x is not None and a.y is not None:
            x, y = self.pt(a.x, a.y)
            return replace(a, x=x, y=y)
        if isinstance(a, Drag):
            x1, y1 = self.pt(a.x1, a.y1) if a.x1 is not None and a.y1 is not None else (None, None)
            x2, y2 = self._scale_offset(a.x2, a.y2) if a.relative else self.pt(a.x2, a.y2)
            return replace(a, x1=x1, y1=y1, x2=x2, y2=y2)
        return a

    def _scale_offset(self, dx: int, dy: int) -> tuple[Any, Any]:
        if self.conv.coords == "0-1":
            return round(dx / self.width, 4), round(dy / self.height, 4)
        if self.conv.coords == "0-1000":
            return round(dx / self.width * 1000), round(dy / self.height * 1000)
        h, w = smart_resize(self.height, self.width, min_pixels=self.conv.min_pixels, max_pixels=self.conv.max_pixels)
        return round(dx * w / self.width), round(dy * h / self.height)

    # ---------------------------------------------------------------- pyautogui

    def pyautogui(self, a: Any) -> str:
        from envs.action_code import to_pyautogui

        return to_pyautogui(self.mapped(a))

    # ---------------------------------------------------------------- computer_13

    def computer_13(self, a: Any) -> list[dict[str, Any]]:
        m = self.mapped(a)

        def act(kind: str, **params: Any) -> dict[str, Any]:
            return {"action_type": kind, "parameters": params} if params else {"action_type": kind}

        def xy(obj: Any) -> dict[str, Any]:
            return {} if obj.x is None else {"x": obj.x, "y": obj.y}

        if isinstance(m, Move):
            return [act("MOVE_TO", x=m.x, y=m.y)]
        if isinstance(m, Click):
            if m.clicks == 2 and m.button == "left":
                return [act("DOUBLE_CLICK", **xy(m))]
            if m.button == "right" and m.clicks == 1:
                return [act("RIGHT_CLICK", **xy(m))]
            extra = {"num_clicks": m.clicks} if m.clicks != 1 else {}
            return [act("CLICK", button=m.button, **xy(m), **extra)]
        if isinstance(m, MouseDown | MouseUp):
            return [act("MOUSE_DOWN" if isinstance(m, MouseDown) else "MOUSE_UP", button=m.button, **xy(m))]
        if isinstance(m, Drag):
            start = [act("MOVE_TO", x=m.x1, y=m.y1)] if m.x1 is not None else []
            return [*start, act("DRAG_TO", x=m.x2, y=m.y2)]
        if isinstance(m, Scroll):
            move = [act("MOVE_TO", x=m.x, y=m.y)] if m.x is not None else []
            return [*move, act("SCROLL", **({"dx": m.clicks} if m.horizontal else {"dy": m.clicks}))]
        if isinstance(m, TypeText):
            return [act("TYPING", text=m.text)]
        if isinstance(m, Key):
            return [act("PRESS", key=m.key)] * m.presses
        if isinstance(m, KeyDown | KeyUp):
            return [act("KEY_DOWN" if isinstance(m, KeyDown) else "KEY_UP", key=m.key)]
        if isinstance(m, Hotkey):
            return [act("HOTKEY", keys=list(m.keys))]
        if isinstance(m, Wait):
            return [act("WAIT")]
        if isinstance(m, Done):
            return [act("DONE")]
        if isinstance(m, Fail):
            return [act("FAIL")]
        if isinstance(m, ClickElement):  # an element the step's table does not hold: no position to give
            raise ConfigError(f"element {m.element_id} has no position in its step's a11y table")
        raise ConfigError(f"no computer_13 form for {type(a).__name__}")

    # ---------------------------------------------------------------- UI-TARS

    def _box(self, x: Any, y: Any) -> str:
        return f"'({x},{y})'"

    def uitars(self, a: Any) -> str:
        m = self.mapped(a)
        if isinstance(m, Click):
            name = {(1, "left"): "click", (2, "left"): "left_double", (1, "right"): "right_single"}.get(
                (m.clicks, m.button), "click"
            )
            return f"{name}(start_box={self._box(m.x, m.y)})" if m.x is not None else f"{name}()"
        if isinstance(m, Move) and not m.relative:
            return f"hover(start_box={self._box(m.x, m.y)})"
        if isinstance(m, Drag) and m.x1 is not None and not m.relative:
            return f"drag(start_box={self._box(m.x1, m.y1)}, end_box={self._box(m.x2, m.y2)})"
        if isinstance(m, Drag) and not m.relative:
            return f"drag(end_box={self._box(m.x2, m.y2)})"
        if isinstance(m, Scroll):
            direction = ("left" if m.clicks > 0 else "right") if m.horizontal else ("up" if m.clicks > 0 else "down")
            box = f"start_box={self._box(m.x, m.y)}, " if m.x is not None else ""
            return f"scroll({box}direction={direction!r})"
        if isinstance(m, TypeText):
            return f"type(content={m.text!r})"
        if isinstance(m, Key):
            return "\n\n".join([f"hotkey(key={m.key!r})"] * m.presses)
        if isinstance(m, Hotkey):
            return f"hotkey(key={' '.join(m.keys)!r})"
        if isinstance(m, KeyDown | KeyUp):
            return f"{'key_down' if isinstance(m, KeyDown) else 'key_up'}(key={m.key!r})"
        if isinstance(m, MouseDown | MouseUp):
            name = "mouse_down" if isinstance(m, MouseDown) else "mouse_up"
            return f"{name}(start_box={self._box(m.x, m.y)})" if m.x is not None else f"{name}()"
        if isinstance(m, Wait):
            return "wait()"
        if isinstance(m, Done):
            return "finished()"
        if isinstance(m, Fail):
            return "call_user()"  # OSWorld's UI-TARS agent maps call_user to FAIL
        raise ConfigError(f"no UI-TARS form for {type(a).__name__} ({a})")

    # ---------------------------------------------------------------- Smol2Operator

    def smol(self, a: Any) -> str:
        m = self.mapped(a)
        if isinstance(m, Click):
            name = {(1, "left"): "click", (2, "left"): "double_click", (1, "right"): "right_click"}.get(
                (m.clicks, m.button), "click"
            )
            return _call(name, x=m.x, y=m.y) if m.x is not None else _call(name)
        if isinstance(m, Move) and not m.relative:
            return _call("move_mouse", x=m.x, y=m.y)
        if isinstance(m, Drag) and not m.relative:
            start = [m.x1, m.y1] if m.x1 is not None else None
            return _call("drag", from_coord=start, to_coord=[m.x2, m.y2])
        if isinstance(m, Scroll):
            direction = ("left" if m.clicks > 0 else "right") if m.horizontal else ("up" if m.clicks > 0 else "down")
            return _call("scroll", direction=direction, amount=abs(m.clicks))
        if isinstance(m, TypeText):
            return _call("type", text=m.text)
        if isinstance(m, Key):
            return "\n".join([_call("press", keys=m.key)] * m.presses)
        if isinstance(m, Hotkey):
            return _call("press", keys=list(m.keys))
        if isinstance(m, KeyDown | KeyUp | MouseDown | MouseUp):
            raise ConfigError(f"Smol2Operator's action space has no {m.kind}; export with another syntax")
        if isinstance(m, Wait):
            return _call("wait", seconds=m.seconds)
        if isinstance(m, Done):
            return _call("final_answer", "DONE")
        if isinstance(m, Fail):
            return _call("final_answer", "FAIL")
        raise ConfigError(f"no Smol2Operator form for {type(a).__name__} ({a})")


# ------------------------------------------------------------------------------------------- prompt + answer

ANSWER_FORMATS = {
    "pyautogui": None,  # the actor prompt's own
    "computer_13": (
        "Answer in exactly this format:\n"
        "REASON: <one or two sentences on what to do next and why>\n"
        "ACTION: <one OSWorld computer_13 JSON action (or a JSON list of them), e.g.\n"
        '{"action_type": "CLICK", "parameters": {"button": "left", "x": X, "y": Y}} / '
        '{"action_type": "TYPING", "parameters": {"text": "hello"}} / '
        '{"action_type": "HOTKEY", "parameters": {"keys": ["ctrl", "s"]}},\n'
        'or {"action_type": "DONE"} when the task is complete, {"action_type": "FAIL"} if it cannot be done>\n'
    ),
    "uitars": (
        "## Output Format\n```\nThought: ...\nAction: ...\n```\n\n"
        "## Action Space\n"
        "click(start_box='(x1,y1)')\nleft_double(start_box='(x1,y1)')\nright_single(start_box='(x1,y1)')\n"
        "drag(start_box='(x1,y1)', end_box='(x2,y2)')\nhotkey(key='ctrl c')\ntype(content='')\n"
        "scroll(start_box='(x1,y1)', direction='down or up or right or left')\nwait()\nfinished()\ncall_user()\n"
    ),
    "smol": (
        "For each step, first write your thought process in <think></think>, then the action as Python in "
        "<code></code>, using only: click(x, y), double_click(x, y), right_click(x, y), move_mouse(x, y), "
        "drag(from_coord, to_coord), type(text), press(keys), scroll(direction, amount), wait(seconds), "
        "final_answer(answer) ('DONE' when the task is complete, 'FAIL' if it cannot be done).\n"
    ),
}
ACTOR_COORD_LINE = re.compile(r"^Screen size: \d+x\d+ pixels\. Coordinates are screen pixels\.$", re.M)
ACTOR_ANSWER_MARK = "Answer in exactly this format:"


def adapt_prompt(prompt: str, conv: Convention, width: int, height: int, answer_mark: str = ACTOR_ANSWER_MARK) -> str:
    """The actor prompt with the convention's coordinate sentence and answer format.

    Everything from ``answer_mark`` on is the answer-format block, replaced for syntaxes other than pyautogui.

    Raises:
        ConfigError: the prompt lacks the screen-size line or the answer block (a changed actor prompt).
    """
    if conv.is_default:
        return prompt
    if not ACTOR_COORD_LINE.search(prompt) or answer_mark not in prompt:
        raise ConfigError(
            "the actor prompt no longer has its 'Screen size' line or answer block; "
            "update studio.export.conventions.adapt_prompt"
        )
    text = ACTOR_COORD_LINE.sub(lambda _m: conv.describe(width, height), prompt, count=1)
    answer = ANSWER_FORMATS[conv.syntax]
    if answer is not None:
        text = text[: text.index(answer_mark)] + answer
    return text


def answer(conv: Convention, reason: str, action: str) -> str:
    """The assistant turn: the reason and the action in the syntax's answer format."""
    if conv.syntax == "uitars":
        return f"Thought: {reason}\nAction: {action}"
    if conv.syntax == "smol":
        return f"<think>{reason}</think>\n<code>\n{action}\n</code>"
    return f"REASON: {reason}\nACTION: {action}"


def resolve(
    coords: str | None, syntax: str | None, preset: str | None, max_pixels: int | None, min_pixels: int | None
) -> Convention:
    """The convention of an export: explicit options win over the preset, the preset over the defaults."""
    base = Preset("pixels", "pyautogui")
    if preset:
        if preset not in PRESETS:
            raise ConfigError(f"--preset {preset!r} is not one of {', '.join(PRESETS)}")
        base = PRESETS[preset]
    return Convention(
        coords=coords or base.coords,
        syntax=syntax or base.syntax,
        max_pixels=max_pixels or base.max_pixels,
        min_pixels=min_pixels or base.min_pixels,
    ).check()


__all__ = [
    "COORDS",
    "PRESETS",
    "SYNTAXES",
    "ACTOR_ANSWER_MARK",
    "ActionWriter",
    "Convention",
    "Preset",
    "adapt_prompt",
    "answer",
    "convert_table",
    "element_centres",
    "resolve",
    "smart_resize",
    "step_actions",
]
