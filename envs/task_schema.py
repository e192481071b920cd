"""Which task types a model may write, their parameters, the JSON schema that constrains a task writer, and the
check every model-written task passes before anything of it runs.

The registries (``envs.task_setup.SETUP_TYPES``, ``envs.getters.GETTERS``, ``envs.metrics.METRICS``) say what
*runs*; this module says what a *model may write*: each offered type declares its parameters as a small pydantic
model (``extra="forbid"``), registered with :func:`offer`. The writer's JSON schema (:func:`writer_schema`) and the
validation of its output (:func:`check_written`) are both derived from those declarations and from the live
registries, so a type another module adds to a registry is offered to writers as soon as it is declared here,
and a declared type missing from the registries is silently not offered.

What is *not* offered, and why (the sandbox's threat model: model output is hostile):

- ``download`` (copies a host file into the sandbox) and the getters ``local_file`` / ``cloud_file`` (read host
  files): a model could name any host file. Files a task needs are created inside the sandbox by an
  ``execute`` step instead (``printf 'a\\nb\\n' > ~/list.txt``).
- ``launch`` (any program): ``launch_app`` starts an app profile; ``execute`` runs commands inside the sandbox.
- Paths (``open``, ``vm_file``) must name the sandbox's home (``~``, ``/home/user``, relative) or ``/tmp``,
  without ``..``: :class:`~studio.errors.UnsafeTaskError` otherwise. Commands (``execute``,
  ``vm_command_line``) always run inside the sandbox, never on the host.

A written task looks like (one item of the writer's ``tasks`` list)::

    {"instruction": "Save the text 'hello' in ~/hello.txt using mousepad.",
     "config": [{"type": "launch_app", "parameters": {"name": "mousepad"}}],
     "evaluator": {"func": "check_include_exclude",
                   "result": {"type": "vm_command_line", "command": "cat ~/hello.txt"},
                   "expected": {"type": "rule", "rules": {"include": ["hello"], "exclude": []}}},
     "solution": ["pyautogui.write('hello')", "pyautogui.hotkey('ctrl', 's')", ...]}
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from envs.errors import TaskFileError, UnsafeTaskError, UnsupportedTaskTypeError

SANDBOX_HOME = "/home/user"
MAX_CONFIG_STEPS = 4
MAX_SOLUTION_LINES = 12
MIN_INSTRUCTION_CHARS = 12
#: Seconds a model-written command (setup ``execute``, getter ``vm_command_line``) may run: a writer that
#: starts a GUI program as a "check" (``xterm``) then costs 10 s of sandbox time, not the default 30.
WRITTEN_COMMAND_TIMEOUT = 10.0
Kind = Literal["setup", "getter", "metric"]


def sandbox_relative(path: str) -> str:
    """Raise unless ``path`` names a place inside the sandbox (home or /tmp, no ``..``); returns it unchanged.

    Raises:
        PydanticCustomError: ``unsafe_path``, saying why (used inside the parameter models).
    """
    raw = str(path)
    if "\x00" in raw:
        raise PydanticCustomError("unsafe_path", "path '{path}' contains a NUL byte", {"path": raw})
    if raw == "~" or raw.startswith("~/"):
        rest = raw[2:]
    elif raw == SANDBOX_HOME or raw.startswith(SANDBOX_HOME + "/"):
        rest = raw[len(SANDBOX_HOME) + 1 :]
    elif raw == "/tmp" or raw.startswith("/tmp/"):
        rest = raw[5:]
    elif raw.startswith(("/", "~")):
        raise PydanticCustomError(
            "unsafe_path",
            "path '{path}' is outside the sandbox: use ~/..., /home/user/... or /tmp/...",
            {"path": raw},
        )
    else:
        rest = raw
    if ".." in PurePosixPath(rest).parts:
        raise PydanticCustomError("unsafe_path", "path '{path}' climbs out with '..'", {"path": raw})
    return raw


SandboxPath = Annotated[str, Field(min_length=1), AfterValidator(sandbox_relative)]
Command = Annotated[str, Field(min_length=2)]


class Params(BaseModel):
    """Base of parameter declarations: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------- setup types


class LaunchAppParams(Params):
    """``launch_app``: start an app profile (envs/apps/<name>.toml) inside the sandbox."""

    name: str = Field(min_length=2)
    args: list[str] = Field(default_factory=list, max_length=3)


class ExecuteParams(Params):
    """``execute``: a shell command run inside the sandbox (creates the files the task needs)."""

    command: Command
    shell: Literal[True] = True
    timeout: float = Field(default=WRITTEN_COMMAND_TIMEOUT, gt=0, le=WRITTEN_COMMAND_TIMEOUT)


class OpenParams(Params):
    """``open``: open a file inside the sandbox with the bundled app for its extension."""

    path: SandboxPath


class SleepParams(Params):
    seconds: float = Field(ge=0, le=10)


class ActivateWindowParams(Params):
    window_name: str = Field(min_length=1)


# ---------------------------------------------------------------------------------------------- getters


class NoParams(Params):
    """A getter without parameters."""


class VmFileParams(Params):
    """``vm_file``: a file inside the sandbox (the metric reads it)."""

    path: SandboxPath


class CommandParams(Params):
    """``vm_command_line`` / ``vm_command_error``: output of a command run inside the sandbox."""

    command: Command
    shell: Literal[True] = True
    timeout: float = Field(default=WRITTEN_COMMAND_TIMEOUT, gt=0, le=WRITTEN_COMMAND_TIMEOUT)


# ---------------------------------------------------------------------------------------------- metrics


class ExpectedText(Params):
    expected: str


class ExpectedList(Params):
    expected: list[str] = Field(min_length=1, max_length=8)


class IncludeExclude(Params):
    include: list[str] = Field(min_length=1, max_length=6)
    exclude: list[str] = Field(default_factory=list, max_length=6)


class CsvRules(Params):
    expect: list[dict[str, str]] = Field(min_length=1, max_length=6)
    unexpect: list[dict[str, str]] = Field(default_factory=list, max_length=6)


class A11yPattern(Params):
    role: str | None = None
    name: str | None = None
    text: str | None = None


class A11yRules(Params):
    include: list[A11yPattern] = Field(min_length=1, max_length=4)
    exclude: list[A11yPattern] = Field(default_factory=list, max_length=4)
    match: Literal["exact", "contains"] = "exact"


@dataclass(frozen=True)
class Offered:
    """One type a model may write.

    Attributes:
        kind: ``setup``, ``getter`` or ``metric``.
        name: The registry name.
        params: Setup: the step's ``parameters``; getter: the spec's keys besides ``type``; metric: the
            ``rules`` of its ``{"type": "rule"}`` expected side.
        returns: Getter: what it yields (``text``, ``file``, ``a11y``, ``list``).
        accepts: Metric: which getter results it compares.
    """

    kind: Kind
    name: str
    params: type[BaseModel]
    returns: str = ""
    accepts: tuple[str, ...] = ()


OFFERED: dict[tuple[str, str], Offered] = {}


def offer(kind: Kind, name: str, params: type[BaseModel], *, returns: str = "", accepts: tuple[str, ...] = ()) -> None:
    """Declare that task writers may use ``name`` (a setup type, getter or metric) with these parameters."""
    OFFERED[(kind, name)] = Offered(kind, name, params, returns, accepts)


for _name, _params in (
    ("launch_app", LaunchAppParams),
    ("execute", ExecuteParams),
    ("open", OpenParams),
    ("sleep", SleepParams),
    ("activate_window", ActivateWindowParams),
):
    offer("setup", _name, _params)
offer("getter", "vm_command_line", CommandParams, returns="text")
offer("getter", "vm_command_error", CommandParams, returns="text")
offer("getter", "vm_file", VmFileParams, returns="file")
offer("getter", "accessibility_tree", NoParams, returns="a11y")
offer("getter", "vm_window_title", NoParams, returns="text")
offer("getter", "window_titles", NoParams, returns="list")
offer("metric", "check_include_exclude", IncludeExclude, accepts=("text", "list"))
offer("metric", "exact_match", ExpectedText, accepts=("text",))
offer("metric", "fuzzy_match", ExpectedText, accepts=("text",))
offer("metric", "is_in_list", ExpectedText, accepts=("list", "text"))
offer("metric", "match_in_list", ExpectedList, accepts=("text",))
offer("metric", "file_contains", IncludeExclude, accepts=("file",))
offer("metric", "check_csv", CsvRules, accepts=("file",))
offer("metric", "a11y_contains", A11yRules, accepts=("a11y",))


def _registry(kind: Kind) -> dict[str, Any]:
    if kind == "setup":
        from envs.task_setup import SETUP_TYPES

        return SETUP_TYPES
    if kind == "getter":
        from envs.getters import GETTERS

        return GETTERS
    from envs.metrics import METRICS

    return METRICS


def offered(kind: Kind) -> list[Offered]:
    """The types of ``kind`` a writer may use: declared here AND present in the live registry, by name."""
    live = _registry(kind)
    return sorted((o for (k, n), o in OFFERED.items() if k == kind and n in live), key=lambda o: o.name)


# ------------------------------------------------------------------------------------------------ schema


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` inlined and titles/descriptions/defaults dropped (a smaller
    grammar for constrained decoding)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {
                k: walk(v)
                for k, v in node.items()
                if k not in ("$defs", "title", "description", "default") and not k.startswith("x-")
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    if out.get("type") == "object":
        out["additionalProperties"] = False
    return out


def params_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The inlined JSON schema of one parameter model."""
    return _inline(model.model_json_schema())


def _const_object(key: str, value: str, extra: dict[str, Any]) -> dict[str, Any]:
    props = {key: {"const": value}, **extra.get("properties", {})}
    return {
        "type": "object",
        "properties": props,
        "required": [key, *extra.get("required", [])],
        "additionalProperties": False,
    }


def _getter_variant(o: Offered) -> dict[str, Any]:
    return _const_object("type", o.name, params_schema(o.params))


def _result_defs() -> dict[str, Any]:
    """One definition per result kind (``text``, ``file``, ...): the getters that give it. Metrics refer to
    these, so each getter is spelled out once (a shorter prompt and a smaller grammar)."""
    kinds: dict[str, list[dict[str, Any]]] = {}
    for g in offered("getter"):
        kinds.setdefault(g.returns, []).append(_getter_variant(g))
    return {f"result_{k}": v[0] if len(v) == 1 else {"anyOf": v} for k, v in sorted(kinds.items())}


def _metric_variant(o: Offered, kinds: set[str]) -> dict[str, Any] | None:
    refs = [{"$ref": f"#/$defs/result_{k}"} for k in o.accepts if k in kinds]
    if not refs:
        return None
    expected = _const_object("type", "rule", {"properties": {"rules": params_schema(o.params)}, "required": ["rules"]})
    return {
        "type": "object",
        "properties": {
            "func": {"const": o.name},
            "result": refs[0] if len(refs) == 1 else {"anyOf": refs},
            "expected": expected,
        },
        "required": ["func", "result", "expected"],
        "additionalProperties": False,
    }


def written_task_schema(*, solution: bool = True) -> dict[str, Any]:
    """JSON schema of ONE written task: instruction, config steps, evaluator and (optionally) a solution.

    Getters are referenced from ``$defs`` (``#/$defs/result_<kind>``), which this schema carries at its root.
    """
    setups = [
        {
            "type": "object",
            "properties": {"type": {"const": o.name}, "parameters": params_schema(o.params)},
            "required": ["type", "parameters"],
            "additionalProperties": False,
        }
        for o in offered("setup")
    ]
    defs = _result_defs()
    kinds = {name.removeprefix("result_") for name in defs}
    metrics = [v for o in offered("metric") if (v := _metric_variant(o, kinds)) is not None]
    props: dict[str, Any] = {
        "instruction": {"type": "string", "minLength": MIN_INSTRUCTION_CHARS},
        "config": {"type": "array", "maxItems": MAX_CONFIG_STEPS, "items": {"anyOf": setups}},
        "evaluator": {"anyOf": metrics},
    }
    if solution:
        props["solution"] = {"type": "array", "maxItems": MAX_SOLUTION_LINES, "items": {"type": "string"}}
    return {
        "$defs": defs,
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def writer_schema(n: int, *, solution: bool = True) -> dict[str, Any]:
    """JSON schema of a writer's reply ``{"tasks": [written task, ...]}`` with 1..``n`` items."""
    item = written_task_schema(solution=solution)
    defs = item.pop("$defs")
    return {
        "$defs": defs,
        "type": "object",
        "properties": {"tasks": {"type": "array", "minItems": 1, "maxItems": max(1, n), "items": item}},
        "required": ["tasks"],
        "additionalProperties": False,
    }


# ----------------------------------------------------------------------------------------------- checking


def _problem(exc: ValidationError, where: str) -> UnsafeTaskError | TaskFileError:
    errors = exc.errors()
    unsafe = [e for e in errors if e["type"] == "unsafe_path"]
    if unsafe:
        return UnsafeTaskError(f"{where}: {unsafe[0]['msg']}")
    parts = []
    for e in errors[:3]:
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        parts.append(f"{loc}: {e['msg']}")
    return TaskFileError(f"{where}: " + "; ".join(parts))


def _validate(o: Offered, data: Any, where: str) -> None:
    try:
        o.params.model_validate(data)
    except ValidationError as exc:
        raise _problem(exc, where) from exc


def _lookup(kind: Kind, name: Any, where: str) -> Offered:
    for o in offered(kind):
        if o.name == name:
            return o
    names = ", ".join(o.name for o in offered(kind))
    if kind == "setup" and name in ("download", "launch"):
        raise UnsafeTaskError(
            f"{where}: '{name}' is not allowed in a model-written task (it reaches the host); use: {names}"
        )
    if kind == "getter" and name in ("local_file", "cloud_file"):
        raise UnsafeTaskError(f"{where}: getter '{name}' reads host files; a model-written task may use: {names}")
    raise UnsupportedTaskTypeError(f"{where}: {kind} type {name!r} is not offered to task writers; use: {names}")


def check_written(task: Any) -> None:
    """Check a model-written task (an ``envs.tasks.Task``) against what writers may use, before it runs.

    Raises:
        UnsupportedTaskTypeError: a setup type, getter or metric that is not offered (names it and the choices).
        UnsafeTaskError: a host path, ``..``, ``download``, ``launch`` or a host-file getter.
        TaskFileError: parameters that do not match the type's declaration (names the field).
    """
    for i, step in enumerate(task.config):
        where = f"config step {i} ({step.type})"
        _validate(_lookup("setup", step.type, where), step.parameters, where)
    ev = task.evaluator
    if ev.postconfig:
        raise UnsupportedTaskTypeError("evaluator.postconfig is not offered to task writers; put setup in config")
    if isinstance(ev.func, list) or not isinstance(ev.result, dict) or not isinstance(ev.expected, dict):
        raise TaskFileError("a written evaluator has one 'func', one 'result' getter and one 'expected' rule")
    if ev.options:
        raise TaskFileError("evaluator.options are not offered to task writers; leave them out")
    metric = _lookup("metric", ev.func, "evaluator")
    getter = _lookup("getter", ev.result.get("type"), "evaluator.result")
    _validate(getter, {k: v for k, v in ev.result.items() if k != "type"}, f"evaluator.result ({getter.name})")
    if getter.returns not in metric.accepts:
        raise TaskFileError(
            f"evaluator: metric '{metric.name}' compares {'/'.join(metric.accepts)} results, but getter "
            f"'{getter.name}' gives {getter.returns}"
        )
    if ev.expected.get("type") != "rule" or "rules" not in ev.expected:
        raise TaskFileError('evaluator.expected must be {"type": "rule", "rules": {...}} in a written task')
    _validate(metric, ev.expected["rules"], f"evaluator.expected.rules ({metric.name})")


@dataclass(frozen=True)
class WrittenTask:
    """A model-written task as an OSWorld task plus its solution lines (pyautogui code, not parsed yet)."""

    task: Any  # envs.tasks.Task
    solution: tuple[str, ...] = ()


def parse_written(item: Any, *, task_id: str, app: str) -> WrittenTask:
    """Turn one item of a writer's reply into an OSWorld task and check it with :func:`check_written`.

    Raises:
        TaskFileError, UnsupportedTaskTypeError, UnsafeTaskError: what is wrong with it (nothing has run).
    """
    from envs.evaluate import check_supported
    from envs.tasks import parse_task

    if not isinstance(item, dict):
        raise TaskFileError(f"a written task is a JSON object, got {type(item).__name__}")
    unknown = sorted(set(item) - {"instruction", "config", "evaluator", "solution"})
    if unknown:
        raise TaskFileError(f"a written task has unknown keys {unknown}")
    solution = item.get("solution") or []
    if not isinstance(solution, list) or not all(isinstance(line, str) for line in solution):
        raise TaskFileError("'solution' must be a list of pyautogui code lines")
    task = parse_task(
        {
            "id": task_id,
            "instruction": item.get("instruction", ""),
            "config": item.get("config") or [],
            "related_apps": [app] if app else [],
            "evaluator": item.get("evaluator") or {},
        },
        source=f"written task {task_id}",
    )
    check_supported(task)
    check_written(task)
    for spec in [*(s.parameters for s in task.config if s.type == "execute"), task.evaluator.result]:
        if isinstance(spec, dict) and "command" in spec:
            spec.setdefault("timeout", WRITTEN_COMMAND_TIMEOUT)
    return WrittenTask(task, tuple(line for line in solution if line.strip()))


def written_check(written: WrittenTask) -> dict[str, Any]:
    """The check to store for a written task: its config and evaluator as checked (command timeouts made
    explicit) and its solution."""
    task = written.task
    return {
        "config": [s.model_dump() for s in task.config],
        "evaluator": task.evaluator.model_dump(include={"func", "result", "expected"}),
        "solution": list(written.solution),
    }
