"""OSWorld-format task files: a pydantic model and a loader with errors that name the file and field.

A task file is OSWorld's JSON shape::

    {"id": "...", "instruction": "...", "config": [{"type": "launch", "parameters": {...}}, ...],
     "related_apps": ["mousepad"],
     "evaluator": {"func": "check_include_exclude", "result": {"type": "vm_command_line", ...},
                   "expected": {"type": "rule", "rules": {...}},
                   "options": {}, "postconfig": [], "conj": "and"}}

Unknown top-level keys are kept (OSWorld files carry extras such as ``snapshot`` or ``trajectory``);
wrong types and missing required fields raise :class:`~studio.errors.TaskFileError`. Which setup, getter
and metric types run offline is checked by :func:`envs.evaluate.check_supported` (``studio task validate``), not at load
time, so an OSWorld file for another app still loads and can be inspected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from envs.errors import TaskFileError

#: Repository root and the bundled assets directory (``download`` sources may be paths under it).
REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
BUNDLED_TASKS_DIR = ASSETS_DIR / "tasks"


class ConfigStep(BaseModel):
    """One setup step: ``{"type": "launch", "parameters": {"command": [...]}}``."""

    model_config = ConfigDict(extra="allow")

    type: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class Evaluator(BaseModel):
    """How a finished task is scored. ``func`` may be a list; then result/expected/options are lists too."""

    model_config = ConfigDict(extra="allow")

    func: str | list[str]
    result: dict[str, Any] | list[dict[str, Any]] | None = None
    expected: dict[str, Any] | list[dict[str, Any] | None] | None = None
    options: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    postconfig: list[ConfigStep] = Field(default_factory=list)
    conj: Literal["and", "or"] = "and"

    def funcs(self) -> list[str]:
        return list(self.func) if isinstance(self.func, list) else [self.func]


class Task(BaseModel):
    """An OSWorld task. ``path`` (not serialized) is the file it came from, used to resolve relative files."""

    model_config = ConfigDict(extra="allow")

    id: str
    instruction: str
    snapshot: str = ""
    source: str | list[str] = ""  # OSWorld files give one URL or a list
    config: list[ConfigStep] = Field(default_factory=list)
    related_apps: list[str] = Field(default_factory=list)
    evaluator: Evaluator
    trajectory: str | None = None
    proxy: bool = False
    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def base_dir(self) -> Path:
        """Directory relative file references are resolved against (the task file's folder)."""
        return self._path.parent if self._path else Path.cwd()

    @property
    def needs_network(self) -> bool:
        """True when the task asks for the network (OSWorld's ``proxy`` flag or ``"network": true``)."""
        extra = self.model_extra or {}
        return bool(self.proxy or extra.get("network", False))

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True)


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def parse_task(data: Any, *, source: str = "<task>") -> Task:
    """Validate an already-decoded JSON object as a task.

    Raises:
        TaskFileError: naming ``source`` and the offending field.
    """
    if not isinstance(data, dict):
        raise TaskFileError(f"{source}: a task file must hold one JSON object, got {type(data).__name__}")
    try:
        return Task.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            where = _field_path(tuple(err["loc"]))
            problems.append(f"field '{where}': {err['msg']}")
        raise TaskFileError(f"{source}: invalid task: " + "; ".join(problems)) from exc


def load_task(path: str | Path) -> Task:
    """Read and validate one task file.

    Raises:
        TaskFileError: unreadable file, bad JSON (with line and column), or a missing/ill-typed field.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError(f"{p}: cannot read task file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise TaskFileError(f"{p}: task file is not UTF-8 text ({exc.reason})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskFileError(f"{p}: bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    task = parse_task(data, source=str(p))
    task._path = p.resolve()
    return task


def load_tasks(directory: str | Path = BUNDLED_TASKS_DIR) -> list[Task]:
    """All ``*.json`` tasks under ``directory`` (recursively), sorted by path."""
    return [load_task(p) for p in sorted(Path(directory).rglob("*.json"))]


def solution_path(task: Task) -> Path | None:
    """The ``<id>.actions`` solution file next to a task file, if there is one."""
    if task.path is None:
        return None
    p = task.path.with_name(f"{task.id}.actions")
    return p if p.exists() else None
