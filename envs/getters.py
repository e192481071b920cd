"""Evaluator getters with OSWorld's names: turn ``{"type": ..., ...}`` specs into values the metrics compare.

=====================  ===========================================================================
``vm_file``            ``path`` (or ``multi`` + list ``path``): host path of the file inside the sandbox
                       (None if it does not exist); ``"content": true`` returns its text instead
``vm_command_line``    ``command``, ``shell``: stdout of the command run INSIDE the sandbox
``vm_command_error``   ``command``, ``shell``: stderr of the command run inside the sandbox
``accessibility_tree`` the linearized a11y table (TSV: id, role, name, text, position, size)
``vm_window_title``    title of the focused window ("" if none)
``window_titles``      list of all window titles (ours)
``vm_screen_size``     ``{"width": w, "height": h}``
``rule``               ``rules`` as given (the expected side of most evaluators)
``local_file``         ``path`` relative to the task file / assets: host path (ours, for gold files)
``cloud_file``         local paths and file:// are allowed; http(s) raises OfflineError
=====================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envs.errors import TaskError, UnsupportedTaskTypeError
from envs.task_setup import SetupContext, resolve_local_source, sandbox_path

if TYPE_CHECKING:
    from envs.sandbox import Sandbox


def _run(sb: Sandbox, spec: dict[str, Any]) -> Any:
    cmd = spec.get("command")
    if not cmd:
        raise TaskError(f"getter {spec.get('type')!r} needs a 'command'")
    shell = bool(spec.get("shell", isinstance(cmd, str)))
    if isinstance(cmd, list):
        cmd = [sandbox_path(str(c)) for c in cmd]
        if shell:
            cmd = " ".join(cmd)
    return sb.run(cmd, shell=shell, timeout=float(spec.get("timeout", 30)))


def get_vm_file(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> Any:
    paths = spec.get("path")
    if paths is None:
        raise TaskError("getter 'vm_file' needs a 'path'")
    if spec.get("multi") or isinstance(paths, list):
        return [
            get_vm_file(sb, {**spec, "path": p, "multi": False}, ctx)
            for p in (paths if isinstance(paths, list) else [paths])
        ]
    host = Path(sb.host_path(str(paths)))
    if not host.is_file():
        return None
    if spec.get("content"):
        return host.read_text(encoding="utf-8", errors="replace")
    return str(host)


def get_vm_command_line(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    return str(_run(sb, spec).stdout or "")


def get_vm_command_error(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    return str(_run(sb, spec).stderr or "")


def get_accessibility_tree(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    from envs.observation import linearize

    nodes, _truncated = sb.a11y()
    return linearize(nodes)


def get_vm_window_title(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    for w in sb.windows():
        if w.focused:
            return w.title
    return ""


def get_window_titles(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> list[str]:
    return [w.title for w in sb.windows()]


def get_vm_screen_size(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> dict[str, int]:
    return {"width": sb.width, "height": sb.height}


def get_rule(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> Any:
    if "rules" not in spec:
        raise TaskError("getter 'rule' needs 'rules'")
    return spec["rules"]


def get_local_file(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    src = spec.get("path") or spec.get("url")
    if not src:
        raise TaskError(f"getter {spec.get('type')!r} needs a 'path'")
    return str(resolve_local_source(str(src), ctx))


Getter = Callable[["Sandbox", dict[str, Any], SetupContext], Any]

GETTERS: dict[str, Getter] = {
    "vm_file": get_vm_file,
    "vm_command_line": get_vm_command_line,
    "vm_command_error": get_vm_command_error,
    "accessibility_tree": get_accessibility_tree,
    "vm_window_title": get_vm_window_title,
    "window_titles": get_window_titles,
    "vm_screen_size": get_vm_screen_size,
    "rule": get_rule,
    "local_file": get_local_file,
    "cloud_file": get_local_file,
}


def get_value(sb: Sandbox, spec: dict[str, Any] | None, ctx: SetupContext) -> Any:
    """Evaluate one getter spec. ``None`` spec -> ``None``. Unknown type -> UnsupportedTaskTypeError."""
    if spec is None:
        return None
    kind = spec.get("type")
    fn = GETTERS.get(str(kind))
    if fn is None:
        raise UnsupportedTaskTypeError(
            f"evaluator getter type '{kind}' is not supported; supported: {', '.join(sorted(GETTERS))}"
        )
    return fn(sb, spec, ctx)
