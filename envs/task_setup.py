"""Run a task's ``config`` (and ``evaluator.postconfig``) steps inside a sandbox, offline.

Supported step types (OSWorld names, plus our ``launch_app``):

- ``launch``: ``command`` (list or str), ``shell``. Start a program detached, then wait briefly for a window.
- ``open``: ``path``. Open a file with the bundled app for its extension (else ``xdg-open``).
- ``execute`` / ``command``: ``command``, ``shell``, ``timeout``. Run inside the sandbox and wait for it.
  OSWorld's ``["python", "-c", "import pyautogui; ..."]`` is parsed into typed actions instead (never run).
- ``sleep``: ``seconds``.
- ``activate_window``: ``window_name``, ``strict``, ``by_class``. Retried for a few seconds while apps start.
- ``download``: ``files: [{url, path}]``. ``url`` is a local path, a ``file://`` URL or a path under
  assets/; http(s) raises OfflineError (the sandbox has no network).
- ``launch_app``: ``name``, ``args``. Start an app profile from envs/apps/<name>.toml and wait until ready.

``~`` and ``/home/user`` in paths mean the sandbox's private home.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from envs.errors import OfflineError, TaskError, UnsupportedTaskTypeError
from envs.tasks import ASSETS_DIR

if TYPE_CHECKING:
    from envs.sandbox import Sandbox
    from envs.tasks import ConfigStep

log = logging.getLogger(__name__)

SANDBOX_HOME = "/home/user"

#: File extension -> bundled app profile used by the ``open`` step.
OPEN_WITH: dict[str, str] = {
    **{
        ext: "mousepad"
        for ext in (
            ".txt",
            ".md",
            ".py",
            ".sh",
            ".log",
            ".json",
            ".xml",
            ".html",
            ".css",
            ".js",
            ".c",
            ".h",
            ".ini",
            ".conf",
            ".cfg",
            ".yaml",
            ".yml",
            ".toml",
            "",
        )
    },
    **{ext: "gnumeric" for ext in (".csv", ".tsv", ".gnumeric", ".xls", ".xlsx", ".ods")},
}


class SetupContext:
    """What a step needs besides the sandbox: where relative file references are resolved."""

    def __init__(self, base_dir: Path | None = None, assets_dir: Path | None = None) -> None:
        self.base_dir = base_dir or Path.cwd()
        self.assets_dir = assets_dir or ASSETS_DIR


def sandbox_path(path: str) -> str:
    """A path as apps inside the sandbox see it: ``~`` -> ``/home/user``."""
    if path == "~" or path.startswith("~/"):
        return SANDBOX_HOME + path[1:]
    return path


def resolve_local_source(url: str, ctx: SetupContext) -> Path:
    """Host path of a ``download`` source. Raises OfflineError for network URLs, TaskError if missing."""
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https", "ftp"):
        raise OfflineError(
            f"the task downloads {url!r}, but the sandbox is offline. Put the file on disk and give "
            f"its local path (absolute, file://, relative to the task file, or under {ctx.assets_dir}) "
            "as 'url' instead"
        )
    if parsed.scheme == "file":
        candidates = [Path(unquote(parsed.path))]
    elif parsed.scheme:
        raise OfflineError(
            f"the task downloads {url!r} with unsupported scheme '{parsed.scheme}'; use a local path"
        )
    else:
        p = Path(url).expanduser()
        candidates = (
            [p]
            if p.is_absolute()
            else [
                ctx.base_dir / p,
                ctx.assets_dir / p,
                ctx.assets_dir.parent / p,
            ]
        )
    for c in candidates:
        if c.is_file():
            return c
    raise TaskError(f"download source {url!r} not found (looked at: {', '.join(str(c) for c in candidates)})")


def _command(params: dict[str, Any]) -> tuple[list[str] | str, bool]:
    cmd = params.get("command")
    if cmd is None or cmd == "" or cmd == []:
        raise TaskError("a launch/execute step needs a 'command' (list of arguments or a shell string)")
    shell = bool(params.get("shell", isinstance(cmd, str)))
    if isinstance(cmd, list):
        cmd = [sandbox_path(str(c)) for c in cmd]
        if shell:
            cmd = " ".join(cmd)
    return cmd, shell


def _wait_new_window(sb: Sandbox, before: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(sb.windows()) > before:
                return
        except Exception:  # noqa: BLE001 - window list is best effort here
            return
        time.sleep(0.1)


def step_launch(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    cmd, shell = _command(params)
    before = len(sb.windows())
    sb.launch(cmd, shell=shell)
    _wait_new_window(sb, before, float(params.get("wait_window", 5.0)))


def step_launch_app(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    name = params.get("name")
    if not name:
        raise TaskError("a launch_app step needs 'name' (an app profile in envs/apps/)")
    args = [sandbox_path(str(a)) for a in params.get("args", [])]
    sb.launch_app(str(name), args)


def step_open(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    path = params.get("path")
    if not path:
        raise TaskError("an open step needs 'path' (a file inside the sandbox, e.g. ~/notes.txt)")
    inside = sandbox_path(str(path))
    app = OPEN_WITH.get(Path(inside).suffix.lower())
    if app is not None:
        sb.launch_app(app, [inside])
        return
    if shutil.which("xdg-open") is None:
        raise UnsupportedTaskTypeError(
            f"open: no bundled app opens '{Path(inside).suffix or inside}' files "
            "and xdg-open is not installed; "
            f"bundled extensions: {', '.join(sorted(e for e in OPEN_WITH if e))} "
            "(or use a 'launch' step with the program to open it)"
        )
    before = len(sb.windows())
    sb.launch(["xdg-open", inside])
    _wait_new_window(sb, before, 5.0)


def _pyautogui_script(cmd: list[str] | str) -> str | None:
    """The code of an OSWorld ``["python", "-c", "import pyautogui; ..."]`` command, else None."""
    if isinstance(cmd, list) and len(cmd) == 3 and Path(cmd[0]).name.startswith("python") and cmd[1] == "-c":
        if "pyautogui" in cmd[2]:
            return cmd[2]
    return None


def step_execute(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    cmd, shell = _command(params)
    script = _pyautogui_script(cmd)
    if script is not None:
        # OSWorld drives the GUI in setup/postconfig with `python -c "import pyautogui; ..."`. We never run
        # that code: it is parsed against the action allowlist and executed as typed actions.
        from envs.action_parser import parse_pyautogui

        for action in parse_pyautogui(script):
            sb.execute(action)
        sb.wait_settled()
        return
    proc = sb.run(cmd, shell=shell, timeout=float(params.get("timeout", 30)))
    if proc.returncode != 0:
        log.warning("setup command %r exited %s: %s", cmd, proc.returncode, (proc.stderr or "").strip()[:500])


def step_sleep(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    time.sleep(float(params.get("seconds", 1.0)))


def step_activate_window(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    name = params.get("window_name")
    if not name:
        raise TaskError("an activate_window step needs 'window_name'")
    deadline = time.monotonic() + float(params.get("timeout", 5.0))
    while True:
        if sb.activate_window(
            str(name), strict=bool(params.get("strict", False)), by_class=bool(params.get("by_class", False))
        ):
            return
        if time.monotonic() > deadline:
            log.warning("activate_window: no window matching %r", name)
            return
        time.sleep(0.2)


def step_download(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    files = params.get("files")
    if not isinstance(files, list) or not files:
        raise TaskError('a download step needs \'files\': [{"url": <local source>, "path": <sandbox path>}]')
    for f in files:
        if not isinstance(f, dict) or "url" not in f or "path" not in f:
            raise TaskError(f"download entry {f!r} needs both 'url' and 'path'")
        src = resolve_local_source(str(f["url"]), ctx)
        dest = Path(sb.host_path(str(f["path"])))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)


StepFn = Callable[["Sandbox", dict[str, Any], SetupContext], None]

SETUP_TYPES: dict[str, StepFn] = {
    "launch": step_launch,
    "launch_app": step_launch_app,
    "open": step_open,
    "execute": step_execute,
    "command": step_execute,
    "sleep": step_sleep,
    "activate_window": step_activate_window,
    "download": step_download,
}


def run_setup(sb: Sandbox, steps: list[ConfigStep], ctx: SetupContext | None = None) -> None:
    """Run ``steps`` in order.

    Raises:
        UnsupportedTaskTypeError: before running anything, if a step type is unknown.
    """
    ctx = ctx or SetupContext()
    for i, step in enumerate(steps):
        if step.type not in SETUP_TYPES:
            raise UnsupportedTaskTypeError(
                f"config step {i} has unsupported type '{step.type}'; "
                f"supported: {', '.join(sorted(SETUP_TYPES))}"
            )
    for step in steps:
        log.debug("setup step %s %s", step.type, step.parameters)
        SETUP_TYPES[step.type](sb, step.parameters, ctx)


def launches_app(steps: list[ConfigStep]) -> bool:
    """True if any step starts a program (so related_apps need not be launched automatically)."""
    return any(s.type in ("launch", "launch_app", "open") for s in steps)
