"""Labelled judge sets: recorded trajectories with candidate instructions labelled right or wrong.

A judge set is a directory of item files ``<id>.json`` (any other file is ignored), one recorded trajectory
each (format ``studio-judge-set/1``)::

    {
      "format": "studio-judge-set/1",
      "id": "galculator-add",                 # unique in the directory
      "app": "galculator",                    # app profile (the judges' prompt names it)
      "task": "assets/eval/galculator/galculator-add.json",   # where it came from (informational)
      "score": 1.0,                           # the task's evaluator score of the recording (informational)
      "steps": [                              # in order; each with the screen BEFORE its action
        {"index": 0, "action_code": "pyautogui.typewrite('123+456=', interval=0.2)",
         "observation_text": "id\\trole\\tname\\ttext\\tposition\\tsize\\n...",   # linearized a11y table
         "reason": "",                        # optional
         "changes": [{"kind": "value", "role": "label", "before": "0", "after": "579"}]}  # optional
      ],
      "final_observation": "...",             # the screen after the last action (optional)
      "candidates": [                         # at least one; labels are what a judge should answer
        {"instruction": "Use the calculator to add 123 and 456.", "label": true, "kind": "true"},
        {"instruction": "Use the calculator to add 124 and 457.", "label": false, "kind": "changed_values"},
        {"instruction": "Make the script ~/run.sh executable.", "label": false, "kind": "other_task",
         "source": "xterm-make-executable"}
      ]
    }

``changes`` are :func:`envs.changes.screen_changes` dicts; when absent they are computed from the observations.
``kind`` is free text for reports (``true``, ``other_task``, ``changed_values``, ``changed_action`` are what the
builder writes).

:func:`build_item` records a task's solution in a real sandbox and labels candidates; ``studio judge-set
build`` runs it over task directories.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studio.errors import JudgeSetError

FORMAT: Literal["studio-judge-set/1"] = "studio-judge-set/1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetStep(_Strict):
    """One recorded step (the fields the backward and committee stages read)."""

    index: int
    action_code: str
    observation_text: str = ""
    reason: str = ""
    changes: list[dict[str, Any]] | None = None


class Candidate(_Strict):
    """A candidate instruction and whether the trajectory completes it."""

    instruction: str = Field(min_length=1)
    label: bool
    kind: str = "custom"
    source: str = ""


class JudgeItem(_Strict):
    """One labelled item: a recorded trajectory and its candidate instructions."""

    format: Literal["studio-judge-set/1"] = FORMAT
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    app: str = ""
    task: str = ""
    score: float | None = None
    steps: list[SetStep] = Field(min_length=1)
    final_observation: str | None = None
    candidates: list[Candidate] = Field(default_factory=list)


def load_item(path: Path) -> JudgeItem:
    """Read one item file.

    Raises:
        JudgeSetError: Unreadable JSON or a field that does not validate (names the file and the field).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise JudgeSetError(f"cannot read judge set item {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise JudgeSetError(f"{path} is not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    try:
        return JudgeItem.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise JudgeSetError(f"{path} is not a {FORMAT} item: {problems}") from exc


def load_set(directory: Path) -> list[JudgeItem]:
    """All items of a judge set directory, sorted by file name.

    Raises:
        JudgeSetError: The directory does not exist or holds no item, an item is malformed, ids repeat, or
            an item has no candidate.
    """
    if not directory.is_dir():
        raise JudgeSetError(f"judge set directory {directory} does not exist; build one with `studio judge-set build`")
    items = [load_item(p) for p in sorted(directory.glob("*.json"))]
    if not items:
        raise JudgeSetError(f"{directory} holds no item files (*.json); see the format in README 'Judges'")
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise JudgeSetError(f"{directory}: item id {item.id!r} appears twice; ids must be unique")
        seen.add(item.id)
        if not item.candidates:
            raise JudgeSetError(f"{directory}/{item.id}.json has no candidates; add at least one labelled instruction")
    return items


def save_item(directory: Path, item: JudgeItem) -> Path:
    """Write ``<directory>/<id>.json`` (pretty, stable key order)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{item.id}.json"
    path.write_text(json.dumps(item.model_dump(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- labelling


def _pick(pool: Sequence[tuple[str, str]], n: int, seed: str) -> list[tuple[str, str]]:
    """``n`` entries of ``pool``, in a deterministic order keyed by ``seed``."""
    return sorted(pool, key=lambda e: hashlib.sha1(f"{seed}\x1f{e[0]}".encode()).hexdigest())[:n]


def label_candidates(
    item_id: str,
    instruction: str,
    app: str,
    others: Sequence[tuple[str, str, str]],
    *,
    same_app: int = 2,
    other_app: int = 1,
) -> list[Candidate]:
    """Candidates for one recorded task: its instruction (right); wrong: the same with every value changed, the
    same with another action word (same values, :func:`~studio.pipeline.stages.values.change_action`), and
    other tasks' instructions.

    Args:
        item_id: The task's id (seeds the deterministic choice of other tasks).
        instruction: The task's true instruction.
        app: The task's app.
        others: ``(task id, app, instruction)`` of the other tasks to draw wrong instructions from.
        same_app: Wrong instructions taken from tasks of the same app (the hard negatives).
        other_app: Wrong instructions from other apps.
    """
    from studio.pipeline.stages.values import change_action, change_values

    out = [Candidate(instruction=instruction, label=True, kind="true", source=item_id)]
    changed = change_values(instruction)
    if changed:
        out.append(Candidate(instruction=changed, label=False, kind="changed_values", source=item_id))
    swapped = change_action(instruction)
    if swapped:
        out.append(Candidate(instruction=swapped, label=False, kind="changed_action", source=item_id))
    pool = [(tid, text) for tid, a, text in others if tid != item_id and text != instruction]
    same = [(tid, text) for tid, text in pool if any(a == app for t, a, _ in others if t == tid)]
    other = [e for e in pool if e not in same]
    for tid, text in _pick(same, same_app, item_id) + _pick(other, other_app, item_id):
        out.append(Candidate(instruction=text, label=False, kind="other_task", source=tid))
    return out
