"""Task checks: validate a task's OSWorld check in a real sandbox, give it a status, import task files as seeds.

Validation (:func:`validate_task`), in ONE fresh sandbox, before any rollout uses the check:

1. static: every setup type, getter and metric is supported (:func:`envs.evaluate.check_supported`); a
   model-written task also passes :func:`envs.task_schema.check_written` (only offered types, declared
   parameters, no host paths) and the sense checks of :mod:`studio.pipeline.stages.check_lint` (the setup
   does not write the expected text, the check does not just print it, no command starts a desktop app).
   Nothing runs when this fails.
2. the setup (``config``) runs without error, and every command it runs exits 0 (a command that exits
   non-zero makes the task ``unverified``: ``setup failure: config step 2/3 ('execute') ran 'cp a b', which
   exited with status 1; stderr: ...``; commands of only ``pkill`` / ``killall`` are exempt, see
   :mod:`envs.task_setup`). Rollouts and the eval suites run such a setup on; validation does not;
3. the evaluator runs without error on the untouched desktop, and that no-op scores 0.0;
4. with a solution: its pyautogui lines are parsed (never executed as code) and replayed; a score of 1.0
   makes the task **proven**.

Statuses (stored on the workspace task, ``check_status`` + ``check_reason``):

==============  ===========================================================================================
``proven``      1-3 passed and the solution scored 1.0
``verified``    1-3 passed; no solution, or it did not score 1.0 (the reason says which)
``unverified``  no check, or a step failed: ``unsupported: ...``, ``unsafe: ...``, ``invalid: ...``,
                ``bad check: ...``, ``setup failure: ...``, ``evaluator error: ...``, ``no-op already scores 1``
``pending``     a check that has not been validated yet (the ``verify`` stage validates it)
==============  ===========================================================================================

Seeds (:func:`import_tasks`): OSWorld-format task files a user brings are validated the same way and join the
task pool with origin ``imported`` (rolled out like any task, scored by their own evaluator); their
instructions and checks are shown to the task writer as examples of the shape for their app.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import (
    ActionError,
    BadCheckError,
    StudioError,
    TaskError,
    TaskFileError,
    UnsafeTaskError,
    UnsupportedTaskTypeError,
)

if TYPE_CHECKING:
    from envs.base import Env
    from envs.tasks import Task as EnvTask
    from studio.workspace import Task, Workspace

IMPORTED_DIR = "imported"  # under the workspace: copies of imported tasks and their input files


def _rows(ws: Workspace, table: str, names: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ws.columns(table, names)
    return rows


@dataclass
class CheckResult:
    """The outcome of validating one task (``status`` and ``reason`` go to the workspace)."""

    status: str  # proven | verified | unverified
    reason: str = ""
    noop_score: float | None = None
    solution_score: float | None = None
    sandbox_s: float = 0.0

    def info(self) -> dict[str, Any]:
        """The ``check_info`` stored on the task."""
        return {
            "noop_score": self.noop_score,
            "solution_score": self.solution_score,
            "sandbox_s": round(self.sandbox_s, 3),
            "validated": round(time.time(), 3),
        }


def static_reason(exc: StudioError) -> str:
    """The stored reason for a task refused before it runs: ``unsafe: ...``, ``unsupported: ...``,
    ``bad check: ...`` or ``invalid: ...``."""
    if isinstance(exc, UnsafeTaskError):
        return f"unsafe: {exc}"
    if isinstance(exc, UnsupportedTaskTypeError):
        return f"unsupported: {exc}"
    if isinstance(exc, BadCheckError):
        return f"bad check: {exc}"
    return f"invalid: {exc}"


def static_problem(task: EnvTask, *, written: bool) -> str:
    """Why ``task`` cannot be validated at all ("" if it can): the reason as stored on the task. A model-written
    task must also use only what writers are offered and pass the sense checks of
    :func:`studio.pipeline.stages.check_lint.lint_check`."""
    from envs.evaluate import check_supported
    from envs.task_schema import check_written
    from studio.pipeline.stages.check_lint import lint_check

    try:
        check_supported(task)
        if written:
            check_written(task)
            lint_check(task)
    except TaskError as exc:
        return static_reason(exc)
    return ""


def parse_solution(lines: Sequence[str]) -> list[list[Any]]:
    """Typed actions per solution line (pyautogui code parsed against the allowlist, never run).

    Raises:
        ActionError: the first line that is not an allowed action (with its number).
    """
    from envs.action_parser import parse_pyautogui

    plan: list[list[Any]] = []
    for n, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            plan.append(list(parse_pyautogui(text)))
        except ActionError as exc:
            raise ActionError(f"solution line {n}: {exc}") from exc
    return plan


SETTLE_LINE = "time.sleep(1)"  # after a solution's last action, before its check: a save or a redraw lands


def settled(lines: Sequence[str]) -> list[str]:
    """A solution's lines (blank lines and comments dropped), ending with a pause (:data:`SETTLE_LINE`) unless
    the last one already waits, so validation and replays check the desktop after the app caught up."""
    kept = [str(line).strip() for line in lines if str(line).strip() and not str(line).strip().startswith("#")]
    if kept and not kept[-1].startswith("time.sleep("):
        kept.append(SETTLE_LINE)
    return kept


def _first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.splitlines()[0][:300]


def setup_reason(env: Env, exc: BaseException | None = None) -> str:
    """The reason of a setup that failed: its first command that exited non-zero (a later step's error is
    often its consequence), else the error ``exc`` that stopped it."""
    if env.setup_failures:
        return f"setup failure: {env.setup_failures[0]}"
    return f"setup failure: {_first_line(exc)}" if exc is not None else ""


def validate_task(
    task: EnvTask,
    solution: Sequence[str] = (),
    *,
    env_factory: Callable[[], Env],
    written: bool = False,
) -> CheckResult:
    """Validate ``task``'s check in a fresh env from ``env_factory`` (see the module docstring).

    Never raises for a bad task: every problem becomes an ``unverified`` result with its reason.
    """
    problem = static_problem(task, written=written)
    if problem:
        return CheckResult("unverified", problem)
    plan: list[list[Any]] | None = None
    plan_error = ""
    try:
        plan = parse_solution(settled(solution)) if solution else None
    except ActionError as exc:
        plan_error = f"solution refused: {exc}"
    t0 = time.monotonic()
    env = env_factory()
    out = CheckResult("unverified")
    try:
        try:
            env.reset(task)
        except Exception as exc:  # noqa: BLE001 - any failure of model-written setup is a reason, not a crash
            out.reason = setup_reason(env, exc)
            return out
        if env.setup_failures:
            out.reason = setup_reason(env)
            return out
        try:
            out.noop_score = float(env.evaluate(task))
        except Exception as exc:  # noqa: BLE001
            out.reason = f"evaluator error: {_first_line(exc)}"
            return out
        if out.noop_score != 0.0:
            out.reason = f"no-op already scores {out.noop_score:g}"
            return out
        out.status, out.reason = "verified", plan_error or ("no solution" if not solution else "")
        if plan:
            try:
                for actions in plan:
                    for action in actions:
                        env.step(action)
                out.solution_score = float(env.evaluate(task))
            except Exception as exc:  # noqa: BLE001
                out.reason = f"solution failed: {_first_line(exc)}"
                return out
            if out.solution_score == 1.0:
                out.status, out.reason = "proven", ""
            else:
                out.reason = f"solution scored {out.solution_score:g}"
        return out
    finally:
        try:
            env.close()
        finally:
            out.sandbox_s = time.monotonic() - t0


# ------------------------------------------------------------------------------------ workspace tasks


def env_task(record: Task, workspace: Path | str | None = None) -> EnvTask:
    """The OSWorld task a workspace task stands for: its check's config and evaluator, or (no check) a bare
    instruction scored ``infeasible`` (never evaluated). Imported tasks resolve their files in the workspace."""
    from envs.tasks import parse_task

    check = record.check or {}
    data: dict[str, Any] = {
        "id": record.id,
        "instruction": record.instruction,
        "related_apps": [record.app] if record.app else [],
        "config": check.get("config") or [],
        "evaluator": check.get("evaluator") or {"func": "infeasible"},
    }
    task = parse_task(data, source=f"task {record.id}")
    if check.get("files") and workspace is not None:
        task._path = Path(workspace) / str(check["files"]) / "task.json"
    return task


def has_check(record: Task) -> bool:
    return bool((record.check or {}).get("evaluator"))


def validate_record(record: Task, *, env_factory: Callable[[], Env], workspace: Path | str | None) -> CheckResult:
    """Validate a workspace task's check (model-written unless it was imported)."""
    if not has_check(record):
        return CheckResult("unverified", "no check")
    try:
        task = env_task(record, workspace)
    except TaskFileError as exc:
        return CheckResult("unverified", f"invalid: {exc}")
    written = record.origin != "imported"
    return validate_task(task, list(record.check.get("solution") or []), env_factory=env_factory, written=written)


def rollout_order(records: Sequence[Task], statuses: Sequence[str]) -> list[Task]:
    """The tasks to roll out, in the order of ``statuses`` (a pending check counts as unverified)."""
    rank = {s: i for i, s in enumerate(statuses)}

    def status(t: Task) -> str:
        return "unverified" if t.check_status == "pending" else t.check_status

    chosen = [t for t in records if status(t) in rank]
    return sorted(chosen, key=lambda t: rank[status(t)])  # stable: workspace order within a status


#: The policy kind of solution replays (``studio.pipeline.agent.factory``'s ``scripted``: pyautogui lines, one per
#: step, then DONE); trajectories of this policy are the replays, whatever ``[pipeline] policy`` rolls out.
REPLAY_POLICY = "scripted"


def replay_lines(record: Task, statuses: Sequence[str]) -> list[str]:
    """The written solution to replay as a rollout of ``record`` ([] when its status is not in ``statuses``
    (``[verify] replay_solutions``) or it has no solution). A proven task's replay scores 1.0 as in validation,
    so it yields a scored trajectory that becomes an example with the task's original instruction."""
    if record.check_status not in statuses:
        return []
    return settled((record.check or {}).get("solution") or [])


def scored(record: Task) -> bool:
    """True when rollouts of this task are evaluated (its check was validated)."""
    return record.check_status in ("proven", "verified")


def seeds_for(ws: Workspace, app: str, limit: int = 2) -> list[dict[str, Any]]:
    """Written-task dicts shown to the writer: imported tasks of ``app`` first, then proven tasks of ``app``
    whose checks only use what writers may write."""
    from envs.task_schema import check_written
    from studio.workspace import Task as TaskRecord

    out: list[dict[str, Any]] = []
    rows = ws.list(TaskRecord, limit=None, app=app)
    ordered = [t for t in rows if t.origin == "imported"] + [t for t in rows if t.check_status == "proven"]
    for t in ordered:
        if len(out) >= limit or not has_check(t):
            continue
        try:
            check_written(env_task(t))
        except StudioError:
            continue
        item: dict[str, Any] = {
            "instruction": t.instruction,
            **{k: t.check[k] for k in ("config", "evaluator", "solution") if k in t.check},
        }
        if item not in out:
            out.append(item)
    return out


# ---------------------------------------------------------------------------------- scored rollouts

CHECK_PROMPT_VERSION = "task-check"  # the prompt_version of examples made from a run that passed its check


def passed_example(traj: Any, n_steps: int) -> Any | None:
    """The example a full trajectory becomes when its check scored 1.0: the task's original instruction over
    every step (deterministic id, ``prompt_version="task-check"``); None for any other trajectory."""
    import hashlib

    from studio.workspace import Example

    if traj.score != 1.0 or n_steps <= 0 or not traj.instruction:
        return None
    eid = "x-" + hashlib.sha1(f"{traj.id}\x1f{CHECK_PROMPT_VERSION}".encode()).hexdigest()[:16]
    return Example(
        id=eid,
        trajectory_id=traj.id,
        start=0,
        end=n_steps,
        step_indices=list(range(n_steps)),
        instruction=traj.instruction,
        kind="instruction",
        prompt_version=CHECK_PROMPT_VERSION,
        app=traj.app,
    )


def check_note(score: float | None) -> str:
    """What the committee is told about a trajectory's check ("" when it was not scored)."""
    if score is None:
        return ""
    verdict = "PASSED" if score == 1.0 else "did NOT pass"
    return (
        f"Automatic check of the task this run was given: score {score:g} ({verdict}). The check tests the "
        "original task, which may differ from the instruction under review."
    )


# -------------------------------------------------------------------------------------------- import


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already in the workspace
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why)


def _copy_file(url: str, task: EnvTask, root: Path, dest: Path, n: int) -> str:
    """Copy one local input file of an imported task into ``dest/files``; returns its url relative to ``dest``.

    Raises:
        UnsafeTaskError: the file lies outside ``root`` (the directory given to the import), e.g. an absolute
            host path or ``..``: a stranger's task file must not pull host files into a sandbox.
    """
    from envs.task_setup import SetupContext, resolve_local_source

    src = resolve_local_source(url, SetupContext(task.base_dir)).resolve()
    if not src.is_relative_to(root.resolve()):
        raise UnsafeTaskError(
            f"input file {url!r} resolves to {src}, outside {root}: an imported task may only use files "
            "inside the directory it is imported from"
        )
    (dest / "files").mkdir(parents=True, exist_ok=True)
    name = f"files/{n}-{src.name}"
    shutil.copyfile(src, dest / name)
    return name


def _copy_inputs(task: EnvTask, root: Path, dest: Path) -> dict[str, Any]:
    """The task's config and evaluator with local input files (``download`` sources, ``local_file`` /
    ``cloud_file`` getters) copied into ``dest/files`` and their references rewritten."""
    config = [s.model_dump() for s in task.config]
    evaluator = task.evaluator.model_dump(exclude_none=True)
    n = 0
    for step in [*config, *evaluator.get("postconfig", [])]:
        if step.get("type") == "download":
            for f in step.get("parameters", {}).get("files") or []:
                f["url"] = _copy_file(str(f["url"]), task, root, dest, n)
                n += 1
    for side in ("result", "expected"):
        specs = evaluator.get(side)
        for spec in specs if isinstance(specs, list) else [specs]:
            if isinstance(spec, dict) and spec.get("type") in ("local_file", "cloud_file"):
                key = "path" if spec.get("path") else "url"
                spec[key] = _copy_file(str(spec[key]), task, root, dest, n)
                n += 1
    return {"config": config, "evaluator": evaluator}


def import_tasks(ws: Workspace, paths: Sequence[Path]) -> ImportResult:
    """Import OSWorld-format task files (files or directories of ``*.json``) into the workspace.

    Each is loaded and statically checked like ``studio task validate``; its local input files are copied into
    ``<workspace>/imported/<id>/``; a ``<id>.actions`` solution next to it is kept. Imported tasks are
    ``pending`` until the ``verify`` stage validates them in a sandbox.
    """
    from envs.desktop import app_profile_for
    from envs.evaluate import check_supported
    from envs.tasks import load_task, solution_path
    from studio.workspace import Task as TaskRecord

    result = ImportResult()
    files: list[tuple[Path, Path]] = []  # (task file, the root its input files must stay in)
    for p in paths:
        if p.is_dir():
            files.extend((f, p) for f in sorted(p.rglob("*.json")))
        else:
            files.append((p, p.parent))
    have = {r["id"] for r in _rows(ws, "tasks", ["id"])}
    new: list[TaskRecord] = []
    for f, root in files:
        try:
            task = load_task(f)
            check_supported(task)
            tid = f"imported-{task.id}"
            if tid in have:
                result.skipped.append(str(f))
                continue
            dest = Path(ws.path) / IMPORTED_DIR / task.id
            check = _copy_inputs(task, root, dest)
            sol = solution_path(task)
            if sol is not None:
                check["solution"] = sol.read_text(encoding="utf-8").splitlines()
            check["files"] = f"{IMPORTED_DIR}/{task.id}"
            (dest / "task.json").parent.mkdir(parents=True, exist_ok=True)
            (dest / "task.json").write_text(task.to_json(), encoding="utf-8")
        except (StudioError, OSError) as exc:
            result.failed.append((str(f), f"{type(exc).__name__}: {exc}"))
            continue
        app = next((a for a in (app_profile_for(x) for x in task.related_apps) if a), "")
        new.append(
            TaskRecord(
                id=tid,
                instruction=task.instruction,
                app=app,
                origin="imported",
                section=str(f.name),
                check=check,
                check_status="pending",
                check_reason="not validated yet",
            )
        )
        have.add(tid)
        result.added.append(tid)
    if new:
        ws.add_tasks(new)
    return result


def status_counts(ws: Workspace) -> dict[str, int]:
    """Tasks per check status."""
    out: dict[str, int] = {}
    for r in _rows(ws, "tasks", ["check_status"]):
        out[r["check_status"] or "unverified"] = out.get(r["check_status"] or "unverified", 0) + 1
    return out


def task_json(record: Task) -> str:
    """A workspace task as an OSWorld task file (for export and ``studio tasks list --json``)."""
    return json.dumps(json.loads(env_task(record).to_json()), ensure_ascii=False)
