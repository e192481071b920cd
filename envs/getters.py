"""Evaluator getters with OSWorld's names: turn ``{"type": ..., ...}`` specs into values the metrics compare.

=====================  ===========================================================================
``vm_file``            ``path`` (or ``multi`` + list ``path``, ``dest``, ``gives``, ``time_suffix``): the file
                       copied out of the sandbox into the evaluation cache (None if it does not exist);
                       ``"content": true`` returns its text instead
``cache_file``         ``path``: a file an earlier getter stored in the evaluation cache (its ``dest``)
``rule_relativeTime``  ``rules`` with dates relative to today filled in (``{Year}``, ``{Month}``, ...)
``vm_command_line``    ``command``, ``shell``: stdout of the command run INSIDE the sandbox
``vm_command_error``   ``command``, ``shell``: stderr of the command run inside the sandbox
``vm_terminal_output`` what the sandbox's terminals (ctrl+alt+t, the ``xterm`` app) showed, escape codes
                       removed (OSWorld reads the focused terminal's text; ours logs every terminal)
``accessibility_tree`` the linearized a11y table (TSV: id, role, name, text, position, size)
``vm_window_title``    title of the focused window ("" if none)
``window_titles``      list of all window titles (ours)
``vm_screen_size``     ``{"width": w, "height": h}``
``rule``               ``rules`` as given (the expected side of most evaluators)
``local_file``         ``path`` relative to the task file / assets: host path (ours, for gold files)
``cloud_file``         ``path`` (str or list, ``multi``/``gives``): http(s) from the offline mirror, or local
``list_directory``     ``path``: the directory tree inside the sandbox (``name``, ``type``, ``children``)
``audio_in_slide``     ``ppt_file_path``, ``slide_index``, ``dest``: the audio embedded in that slide
                       (:mod:`envs.getters_office`)
=====================  ===========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envs.errors import TaskError, UnsupportedTaskTypeError
from envs.sandbox_files import read_sandbox_file
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


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _picked(spec: dict[str, Any], values: list[Any]) -> Any:
    """OSWorld's ``gives``: the indices handed to the metric (default [0]); one value alone, several as a list.

    A single (non-``multi``) path gives its one value.
    """
    if not spec.get("multi") and not isinstance(spec.get("path"), list):
        return values[0]
    gives = spec.get("gives", [0])
    picked = [values[i] for i in gives if isinstance(i, int) and 0 <= i < len(values)]
    return picked[0] if len(picked) == 1 else picked


def _time_suffixed(name: str, fmt: str) -> str:
    from datetime import datetime

    stem, dot, ext = name.rpartition(".")
    if not dot or "/" in ext:
        return name + datetime.now().strftime(fmt)
    return f"{stem}{datetime.now().strftime(fmt)}.{ext}"


def _cache_name(ctx: SetupContext, dest: Any, fallback: str) -> Path:
    name = Path(str(dest or fallback)).name or "file"
    return ctx.cache_dir / name


def get_vm_file(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> Any:
    """Copy files out of the sandbox into the evaluation cache; return their host paths (None if missing).

    ``path`` (str, or a list with ``multi``), ``dest`` (cache file names, same shape), ``gives`` (indices
    returned, default [0]), ``time_suffix`` + ``time_format`` (append today's date before the extension),
    ``content: true`` (ours: return the text instead of a path).
    """
    paths = spec.get("path")
    if paths is None or paths == []:
        raise TaskError("getter 'vm_file' needs a 'path'")
    path_list = [str(p) for p in _as_list(paths)]
    dests = _as_list(spec.get("dest")) if spec.get("dest") is not None else [None] * len(path_list)
    if len(dests) != len(path_list):
        raise TaskError(f"getter 'vm_file' has {len(path_list)} paths but {len(dests)} dest names")
    if spec.get("time_suffix") and len(path_list) == 1:
        fmt = str(spec.get("time_format", "%Y_%m_%d"))
        path_list = [_time_suffixed(path_list[0], fmt)]
        dests = [_time_suffixed(str(dests[0]), fmt) if dests[0] else None]
    values: list[Any] = []
    for i, (p, d) in enumerate(zip(path_list, dests, strict=True)):
        data = read_sandbox_file(sb, p)
        if data is None:
            values.append(None)
            continue
        if spec.get("content"):
            values.append(data.decode("utf-8", errors="replace"))
            continue
        local = _cache_name(ctx, d, f"{i}-{Path(p).name}")
        local.write_bytes(data)
        values.append(str(local))
    return _picked(spec, values)


def get_cache_file(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str | None:
    """A file an earlier getter of this evaluation stored in the cache (``path`` = its ``dest`` name)."""
    rel = spec.get("path")
    if not rel:
        raise TaskError("getter 'cache_file' needs a 'path' (the dest name an earlier getter used)")
    local = _cache_name(ctx, rel, "file")
    return str(local) if local.is_file() else None


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def get_vm_terminal_output(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    from envs.sandbox.session import TERMINAL_LOG

    data = sb.read_file(TERMINAL_LOG)
    if data is None:
        return ""
    text = _ANSI.sub("", data.decode("utf-8", errors="replace")).replace("\r\n", "\n").replace("\r", "")
    lines = [ln for ln in text.split("\n") if not ln.startswith("Script started") and not ln.startswith("Script done")]
    return "\n".join(lines)


def get_vm_command_line(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    return str(_run(sb, spec).stdout or "")


def get_vm_command_error(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    return str(_run(sb, spec).stderr or "")


def get_accessibility_tree(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    from envs.browser import merge_page_rows
    from envs.observation import linearize

    nodes, _truncated = sb.a11y()
    merged, _ = merge_page_rows(sb, nodes)
    return linearize(merged)


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


def get_rule_relative_time(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> Any:
    """OSWorld's ``rule_relativeTime``: the ``rules`` with ``{Year}``/``{Month}``/... filled in from dates
    relative to today (``rules.relativeTime.from`` / ``to``, e.g. "tomorrow", "10th next month")."""
    from envs.relative_time import fill_relative_rules

    if "rules" not in spec:
        raise TaskError("getter 'rule_relativeTime' needs 'rules'")
    return fill_relative_rules(spec["rules"])


def get_local_file(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> Any:
    """Gold files: ``path`` (or ``url``) a local source or an http(s) URL served by the offline mirror;
    a list with ``multi`` (and ``gives``) like ``vm_file``."""
    src = spec.get("path") or spec.get("url")
    if not src:
        raise TaskError(f"getter {spec.get('type')!r} needs a 'path'")
    values = [str(resolve_local_source(str(s), ctx)) for s in _as_list(src)]
    return _picked(spec, values)


MAX_LISTING = 10000


def get_list_directory(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> dict[str, Any] | None:
    """OSWorld's ``list_directory``: ``{"name", "type": "directory", "children": [...]}`` of ``path`` inside the
    sandbox (files ``{"name", "type": "file"}``, subdirectories nested), read by ``find`` run inside it;
    at most 10000 entries; None if the directory does not exist."""
    path = spec.get("path")
    if not path:
        raise TaskError("getter 'list_directory' needs a 'path'")
    where = sandbox_path(str(path)).rstrip("/") or "/"
    res = sb.run(["find", where, "-mindepth", "1", "-printf", "%y\\t%P\\n"], timeout=float(spec.get("timeout", 30)))
    if res.returncode != 0 and not res.stdout:
        return None
    root: dict[str, Any] = {"name": Path(where).name or "/", "type": "directory", "children": []}
    dirs: dict[str, dict[str, Any]] = {"": root}
    for line in sorted(str(res.stdout).splitlines())[:MAX_LISTING]:
        kind, _, rel = line.partition("\t")
        parent, _, name = rel.rpartition("/")
        node: dict[str, Any] = {"name": name, "type": "directory" if kind == "d" else "file"}
        if kind == "d":
            node["children"] = []
            dirs[rel] = node
        dirs.get(parent, root)["children"].append(node)
    return root


Getter = Callable[["Sandbox", dict[str, Any], SetupContext], Any]

GETTERS: dict[str, Getter] = {
    "vm_file": get_vm_file,
    "vm_command_line": get_vm_command_line,
    "vm_command_error": get_vm_command_error,
    "vm_terminal_output": get_vm_terminal_output,
    "accessibility_tree": get_accessibility_tree,
    "vm_window_title": get_vm_window_title,
    "window_titles": get_window_titles,
    "vm_screen_size": get_vm_screen_size,
    "rule": get_rule,
    "local_file": get_local_file,
    "cloud_file": get_local_file,
    "cache_file": get_cache_file,
    "rule_relativeTime": get_rule_relative_time,
    "list_directory": get_list_directory,
}


def _register_app_getters() -> None:
    """Add the browser and office getters (:mod:`envs.getters_chrome`, :mod:`envs.getters_office`)."""
    from envs import getters_chrome, getters_chrome_profile, getters_office

    for module in (getters_chrome, getters_chrome_profile, getters_office):
        GETTERS.update(module.GETTERS)


_register_app_getters()


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
