"""Concrete values in an instruction (numbers, quoted text, file names), checked against a trajectory.

A deterministic judge for the one mistake a language model judge misses most: an instruction that names the
right kind of task with the wrong values ("add 124 and 456" for a run that typed ``123+456=``). The values of
an instruction must show up in what the trajectory *did*: the text its actions typed, the values its state
changes show (:mod:`envs.changes`) and the screen it ended on. The screen it started on is not evidence (a
value already there was not produced by the run).

:func:`change_values` makes the labelled judge set's "same task, other values" negatives from a true
instruction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_QUOTED = re.compile(
    r"'([^'\n]{1,200})'|\"([^\"\n]{1,200})\"|\u2018([^\u2019\n]{1,200})\u2019|\u201c([^\u201d\n]{1,200})\u201d"
)
_PATH = re.compile(  # a file name with an extension, or a path with a slash (~/x, a/b, /a/b)
    r"(?<![\w/.~-])((?:~|/)?[\w.-]*/?[\w-]+\.[A-Za-z][A-Za-z0-9]{0,9}"
    r"|~/[\w.-]+(?:/[\w.-]+)*|[\w.-]+(?:/[\w.-]+)+|/[\w.-]+(?:/[\w.-]+)+)(?![\w/])"
)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_TYPED = re.compile(r"""(?:typewrite|write|type)\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")


@dataclass(frozen=True)
class Value:
    """One checkable value: ``kind`` is ``"quoted"``, ``"path"`` or ``"number"``; ``text`` as written."""

    kind: str
    text: str


def instruction_values(instruction: str) -> list[Value]:
    """Quoted strings, file names and numbers in an instruction, in order, without repeats.

    Numbers inside a quoted string or a file name are part of that value, not separate ones.
    """
    found: list[Value] = []
    rest = instruction
    for m in _QUOTED.finditer(instruction):
        text = next(g for g in m.groups() if g is not None).strip()
        if text:
            found.append(Value("quoted", text))
        rest = rest.replace(m.group(0), " ")
    for m in _PATH.finditer(rest):
        path = m.group(1).rstrip(".")
        found.append(Value("path", path))
        rest = rest.replace(path, " ")
    found.extend(Value("number", m.group(0)) for m in _NUMBER.finditer(rest))
    out: list[Value] = []
    for v in found:
        if v not in out:
            out.append(v)
    return out


def typed_text(action_codes: Iterable[str]) -> str:
    """The text the actions typed (``typewrite``/``write`` arguments), one action per line."""
    parts = []
    for code in action_codes:
        for m in _TYPED.finditer(code or ""):
            raw = m.group(1) if m.group(1) is not None else m.group(2)
            parts.append(raw.replace("\\n", "\n").replace("\\'", "'").replace('\\"', '"'))
    return "\n".join(parts)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def value_present(value: Value, evidence: str) -> bool:
    """Whether ``value`` appears in ``evidence`` (case- and whitespace-insensitive; numbers as whole numbers,
    file names by their base name)."""
    ev = _norm(evidence)
    if value.kind == "number":
        num = re.escape(value.text.lstrip("-"))
        return re.search(rf"(?<![\d.]){num}(?![\d])", ev) is not None or (
            value.text.endswith(".0") and value_present(Value("number", value.text[:-2]), evidence)
        )
    if value.kind == "path":
        return _norm(value.text.rsplit("/", 1)[-1]) in ev
    return _norm(value.text) in ev


@dataclass(frozen=True)
class ValuesVerdict:
    """The check's outcome: ``vote`` None when the instruction names no value (nothing to check)."""

    vote: bool | None
    rationale: str
    missing: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()


def check_values(instruction: str, evidence: str) -> ValuesVerdict:
    """Every value of ``instruction`` must appear in ``evidence`` (typed text, changes, final screen)."""
    values = instruction_values(instruction)
    if not values:
        return ValuesVerdict(None, "the instruction names no concrete value to check")
    missing = tuple(v.text for v in values if not value_present(v, evidence))
    checked = tuple(v.text for v in values)
    if missing:
        return ValuesVerdict(
            False, f"not typed or shown by the trajectory: {', '.join(repr(m) for m in missing)}", missing, checked
        )
    return ValuesVerdict(True, f"all values typed or shown: {', '.join(repr(c) for c in checked)}", (), checked)


def trajectory_evidence(action_codes: Sequence[str], changes_text: str, final_screen: str | None) -> str:
    """What a trajectory did, as one text: typed text, raw action code, state change values, final screen."""
    return "\n".join([typed_text(action_codes), *action_codes, changes_text, final_screen or ""])


# ------------------------------------------------------------------------------------- labelled negatives

#: Action words and a different action they can be swapped for (the "same values, other action" counterfactual).
ACTION_SWAPS: dict[str, str] = {
    "add": "subtract",
    "subtract": "add",
    "plus": "minus",
    "minus": "plus",
    "times": "plus",
    "multiply": "divide",
    "divide": "multiply",
    "square": "halve",
    "sum": "product",
    "product": "sum",
    "average": "minimum",
    "maximum": "minimum",
    "minimum": "maximum",
    "delete": "copy",
    "remove": "duplicate",
    "rename": "copy",
    "copy": "move",
    "move": "copy",
    "append": "prepend",
    "prepend": "append",
    "first": "last",
    "last": "first",
    "top": "bottom",
    "upper": "lower",
    "lower": "upper",
    "sorted": "reversed",
    "sort": "reverse",
    "executable": "read-only",
    "empty": "hidden",
    "create": "delete",
    "replace": "count",
    "enable": "disable",
    "true": "false",
    "change": "delete",
}
_ACTION = re.compile(r"\b(" + "|".join(sorted(ACTION_SWAPS, key=len, reverse=True)) + r")\b", re.I)


def change_action(instruction: str) -> str | None:
    """The instruction with its first action word swapped for another (same values); None without one.

    Quoted text and file names are left alone (``'done'`` stays a value).
    """
    values = [v.text for v in instruction_values(instruction) if v.kind != "number"]
    for m in _ACTION.finditer(instruction):
        if any(m.group(0) in v and v in instruction[max(0, m.start() - len(v)) : m.end() + len(v)] for v in values):
            continue
        word = m.group(0)
        new = ACTION_SWAPS[word.lower()]
        new = new.capitalize() if word[0].isupper() else new
        return instruction[: m.start()] + new + instruction[m.end() :]
    return None


def _other_number(text: str, k: int) -> str:
    if "." in text:
        whole, frac = text.split(".", 1)
        return f"{int(whole) + k}.{frac}"
    n = int(text)
    return str(n + k if n + k != 0 else n + k + 1)


def _other_text(text: str, k: int) -> str:
    words = text.split()
    if len(words) > 1:  # swap the last word for another that is not in the text
        fillers = ("banana", "Monday", "purple", "orbit", "seven")
        filler = next(f for f in fillers[k % len(fillers) :] + fillers if f.lower() not in text.lower())
        return " ".join([*words[:-1], filler])
    return text + ("x" if k % 2 else "2")


def _other_path(text: str, k: int) -> str:
    head, _, name = text.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    tag = ("old", "copy", "v2")[k % 3]
    new = f"{stem}-{tag}{dot}{ext}" if dot and stem else f"{name}-{tag}"
    return f"{head}/{new}" if head or text.startswith("/") else new


def change_values(instruction: str, k: int = 1) -> str | None:
    """The same instruction with every concrete value changed (None when it names no value)."""
    values = instruction_values(instruction)
    if not values:
        return None
    out = instruction
    news = []
    for i, v in enumerate(values):  # placeholders first, so a new value is never changed again
        news.append({"number": _other_number, "quoted": _other_text, "path": _other_path}[v.kind](v.text, k))
        mark = f"\x00{chr(0xE000 + i)}\x00"
        if v.kind == "number":
            out = re.sub(rf"(?<![\w.]){re.escape(v.text)}(?![\w])", mark, out, count=1)
        else:
            out = out.replace(v.text, mark, 1)
    for i, new in enumerate(news):
        out = out.replace(f"\x00{chr(0xE000 + i)}\x00", new)
    return out if out != instruction else None
