"""Everything that would stop a task file from running here, found before a sandbox starts.

:func:`task_problems` lists every problem of one task (not just the first): unsupported setup types (config and
postconfig steps numbered separately), getters, metrics and metric options; http downloads and gold files the
offline mirror does not hold; config scripts the action parser would refuse; programs the sandbox does not
have. ``studio task validate`` prints them; :func:`envs.tasks.check_supported` raises them together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envs.errors import StudioError

if TYPE_CHECKING:
    from envs.mirror import Mirror
    from envs.tasks import ConfigStep, Task


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _step_problems(where: str, step: ConfigStep, mirror: Mirror | None) -> list[str]:
    from envs.mirror import is_network_url
    from envs.task_setup import (
        OPEN_WITH,
        SETUP_TYPES,
        is_devtools_relay,
        map_program,
        missing_program,
        pyautogui_script,
    )

    if step.type not in SETUP_TYPES:
        return [f"{where} has unsupported type '{step.type}'; supported: {', '.join(sorted(SETUP_TYPES))}"]
    params = step.parameters
    problems: list[str] = []
    if step.type in ("launch", "execute", "command"):
        cmd = params.get("command")
        if not cmd:
            return [f"{where} ({step.type}) needs a 'command'"]
        shell = bool(params.get("shell", isinstance(cmd, str)))
        if isinstance(cmd, list):
            cmd = map_program([str(c) for c in cmd])
        script = pyautogui_script(cmd)
        if script is not None:
            from envs.action_parser import parse_pyautogui

            try:
                parse_pyautogui(script)
            except StudioError as exc:
                problems.append(f"{where} ({step.type}) runs a script that will be refused: {exc}")
        elif not (step.type == "launch" and is_devtools_relay(cmd)):
            missing = missing_program(cmd, shell)
            if missing is not None:
                problems.append(f"{where} ({step.type}) runs '{missing}', which is not installed in the sandbox")
    elif step.type == "open":
        from pathlib import Path

        from envs.apps import load_profile

        app = OPEN_WITH.get(Path(str(params.get("path", ""))).suffix.lower())
        if app is not None:
            try:
                exe = load_profile(app).executable()
            except StudioError:
                exe = None
            if exe is None:
                problems.append(f"{where} (open) needs the app '{app}', which is not installed")
    elif step.type == "download" and mirror is not None:
        for f in _as_list(params.get("files")):
            url = str(f.get("url", "")) if isinstance(f, dict) else ""
            if is_network_url(url) and not mirror.has(url):
                problems.append(f"{where} downloads {url}, which is not in the offline mirror {mirror.root}")
    return problems


def _getter_problems(where: str, spec: dict[str, Any], mirror: Mirror | None) -> list[str]:
    from envs.getters import GETTERS
    from envs.mirror import is_network_url

    kind = spec.get("type")
    if kind not in GETTERS:
        return [f"{where}: getter type '{kind}' is not supported; supported: {', '.join(sorted(GETTERS))}"]
    problems = []
    if kind in ("cloud_file", "local_file") and mirror is not None:
        for url in _as_list(spec.get("path") or spec.get("url")):
            if is_network_url(str(url)) and not mirror.has(str(url)):
                problems.append(f"{where}: gold file {url} is not in the offline mirror {mirror.root}")
    return problems


def task_problems(task: Task, *, mirror: Mirror | None = None) -> list[str]:
    """Every reason ``task`` would not run offline here (empty = it validates).

    Args:
        mirror: also report http(s) files the mirror lacks (None: skip that check).
    """
    from envs.metrics import METRIC_OPTION_CHECKS, METRICS

    problems: list[str] = []
    for i, step in enumerate(task.config):
        problems += _step_problems(f"config step {i}", step, mirror)
    ev = task.evaluator
    for i, step in enumerate(ev.postconfig):
        problems += _step_problems(f"postconfig step {i}", step, mirror)
    funcs = ev.funcs()
    n = len(funcs)
    if isinstance(ev.func, list):
        for name, value in (("result", ev.result), ("expected", ev.expected), ("options", ev.options)):
            if isinstance(value, list) and len(value) != n:
                problems.append(f"evaluator.{name} has {len(value)} entries but evaluator.func lists {n} metrics")
    options = ev.options if isinstance(ev.options, list) else [ev.options] * n
    for i, func in enumerate(funcs):
        label = f"metric {i} '{func}'" if n > 1 else f"metric '{func}'"
        if func == "infeasible":
            continue
        if func not in METRICS:
            problems.append(f"{label} is not supported; supported: {', '.join(sorted([*METRICS, 'infeasible']))}")
            continue
        check = METRIC_OPTION_CHECKS.get(func)
        opts = options[i] if i < len(options) else {}
        if check is not None and isinstance(opts, dict):
            problems += [f"{label}: {p}" for p in check(opts)]
    for side in ("result", "expected"):
        specs = _as_list(getattr(ev, side))
        for i, spec in enumerate(specs):
            if spec is None:
                continue
            where = f"evaluator.{side}[{i}]" if len(specs) > 1 else f"evaluator.{side}"
            problems += _getter_problems(where, spec, mirror)
    return problems


def task_urls(task: Task) -> list[str]:
    """The http(s) URLs ``task`` needs from the mirror: downloads (config and postconfig) and gold files."""
    from envs.mirror import is_network_url

    urls: list[str] = []
    for step in [*task.config, *task.evaluator.postconfig]:
        if step.type == "download":
            urls += [str(f.get("url", "")) for f in _as_list(step.parameters.get("files")) if isinstance(f, dict)]
    for spec in _as_list(task.evaluator.result) + _as_list(task.evaluator.expected):
        if isinstance(spec, dict) and spec.get("type") in ("cloud_file", "local_file"):
            urls += [str(u) for u in _as_list(spec.get("path") or spec.get("url"))]
    out: list[str] = []
    for u in urls:
        if is_network_url(u) and u not in out:
            out.append(u)
    return out
