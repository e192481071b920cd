"""Run a task's ``config`` (and ``evaluator.postconfig``) steps inside a sandbox, offline.

Supported step types (OSWorld names, plus our ``launch_app``):

- ``launch``: ``command`` (list or str), ``shell``. Start a program detached, then wait briefly for a window.
- ``open``: ``path``. Open a file with the bundled app for its extension (else ``xdg-open``).
- ``execute`` / ``command``: ``command``, ``shell``, ``timeout``. Run inside the sandbox and wait for it.
  Programs are looked up on the sandbox's PATH first: a missing one raises AppNotInstalledError (never a silent
  0). OSWorld names are mapped (``google-chrome`` -> ``chromium``, ``python`` -> ``python3``) and OSWorld's
  ``socat tcp-listen:9222 ...`` DevTools relay is skipped (DevTools is reached over a pipe).
  OSWorld's ``["python", "-c", "import pyautogui; ..."]`` is parsed into typed actions instead (never run).
- ``sleep``: ``seconds``.
- ``activate_window``: ``window_name``, ``strict``, ``by_class``. Retried for a few seconds while apps start.
- ``close_window``: ``window_name``, ``strict``, ``by_class``. Asks the window to close (``_NET_CLOSE_WINDOW``).
- ``chrome_open_tabs``: ``urls_to_open``. Opens tabs in the sandbox's Chromium (started if needed) over DevTools.
- ``chrome_close_tabs``: ``urls_to_close``. Closes the tabs showing those URLs.
- ``update_browse_history``: ``history`` entries added to Chromium's History before it starts
  (:mod:`envs.task_setup_chrome`).
- ``serve_site``: ``site``, ``port`` (ours). Serves a bundled web app (assets/web/) inside the sandbox on
  ``http://127.0.0.1:<port>/`` (:mod:`envs.websites`); put it before the step that starts the browser.
- ``download``: ``files: [{url, path}]``. http(s) URLs come from the offline mirror (:mod:`envs.mirror`;
  OfflineError names what is missing); local sources (a path relative to the task file or under assets/, or a
  ``file://`` URL inside those folders or the mirror) are copied in.
- ``launch_app``: ``name``, ``args``. Start an app profile from envs/apps/<name>.toml and wait until ready.
  ``chromium`` (and ``launch`` of ``google-chrome``/``chromium``) starts the browser with DevTools on a pipe
  (:mod:`envs.browser`); ``--remote-debugging-port`` arguments are dropped.

``~`` and ``/home/user`` in paths mean the sandbox's private home; relative paths are under it. Paths name
files *inside the sandbox*: ``download`` writes through a process in the sandbox (as its user), so ``..``,
absolute paths and symlinks resolve in the sandbox's own file system and never reach the host.
``download`` sources are read on the host, but only from the task file's folder and the assets folder
(plus ``SetupContext.source_dirs``): a task file cannot copy an arbitrary host file into the sandbox.

Failures follow OSWorld's ``SetupController.setup``: steps run in order; the first step that raises stops
the setup with :class:`~studio.errors.SetupStepError` naming its phase (``config`` or ``postconfig``, counted
separately), its number (1-based, of how many) and its type; the task does not run (or is not scored).

A command (``execute`` / ``command``) that merely exits non-zero does not stop the setup, as in OSWorld (whose
``execute`` ignores the exit status: its files run ``pkill`` of apps that may not run); it is logged and kept as
a :class:`CommandFailure` on :attr:`SetupContext.command_failures` (:attr:`envs.base.Env.setup_failures` after
a reset). Who reads them decides: validating a task's check (model-written or imported) refuses a setup with a
failed command (``setup failure: ...``); rollouts and the eval suites run on. A command that only runs
``pkill`` / ``killall`` (:data:`EXIT_STATUS_IGNORED`) is not kept: exit status 1 means "nothing to stop".
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from envs.errors import AppNotInstalledError, OfflineError, SetupStepError, TaskError, UnsupportedTaskTypeError
from envs.mirror import Mirror, is_network_url
from envs.shell import SHELL_BUILTINS, parse_commands
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
    **{ext: "gnumeric" for ext in (".csv", ".tsv", ".gnumeric")},
    **{ext: "libreoffice-calc" for ext in (".xlsx", ".xls", ".ods", ".xlsm", ".fods")},
    **{ext: "libreoffice-writer" for ext in (".docx", ".doc", ".odt", ".rtf", ".fodt")},
    **{ext: "libreoffice-impress" for ext in (".pptx", ".ppt", ".odp", ".fodp")},
}


#: Programs whose exit status says nothing about the setup (``pkill`` exits 1 when nothing matched).
EXIT_STATUS_IGNORED = frozenset({"pkill", "killall"})
STDERR_TAIL_CHARS = 240  # of a failed command's stderr, kept on its CommandFailure


@dataclass(frozen=True)
class CommandFailure:
    """A setup command that exited non-zero: which step ran it, what it ran, its exit status, its stderr's end.

    ``str()`` is the sentence a validation reason shows, ending with how to fix it.
    """

    phase: str
    number: int  # 1-based
    of: int
    step_type: str
    command: str
    returncode: int
    stderr_tail: str = ""

    def __str__(self) -> str:
        said = f"; stderr: {self.stderr_tail}" if self.stderr_tail else "; no stderr"
        return (
            f"{self.phase} step {self.number}/{self.of} ('{self.step_type}') ran {self.command!r}, which exited "
            f"with status {self.returncode}{said} (fix the command, or end it with '|| true' if its exit status "
            "does not matter)"
        )


def printable(text: str) -> str:
    """``text`` with every control character (an ANSI escape from a hostile command) shown as ``?``."""
    return "".join(c if c.isprintable() else "?" for c in text)


def stderr_tail(text: str | None, limit: int = STDERR_TAIL_CHARS) -> str:
    """The last lines of ``text`` that fit in ``limit`` characters, joined with `` | `` ("" for none); control
    characters shown as ``?`` (the text comes from inside the sandbox and ends up on terminals and in the GUI)."""
    lines = [printable(ln.strip()) for ln in (text or "").strip().splitlines() if ln.strip()]
    tail = " | ".join(lines[-3:])
    return tail if len(tail) <= limit else "..." + tail[-(limit - 3) :]


class SetupContext:
    """What a step needs besides the sandbox: where relative file references and mirrored URLs resolve, and
    what the steps report back (:attr:`command_failures`).

    Args:
        base_dir: the task file's folder (relative sources resolve here first).
        assets_dir: the bundled assets (relative sources resolve here second).
        mirror: the offline file mirror that serves http(s) URLs (default: :func:`envs.mirror.default_mirror_dir`).
    """

    def __init__(
        self, base_dir: Path | None = None, assets_dir: Path | None = None, mirror: Mirror | None = None
    ) -> None:
        self.base_dir = base_dir or Path.cwd()
        self.assets_dir = assets_dir or ASSETS_DIR
        self.mirror = mirror or Mirror()
        self._cache_dir: Path | None = None
        #: Commands that exited non-zero, in the order they ran (kept across :func:`run_setup` calls).
        self.command_failures: list[CommandFailure] = []
        self._step = ("config", 0, 0, "")  # (phase, number, of, type) of the step running, set by run_setup

    def command_failed(self, cmd: list[str] | str, returncode: int, stderr: str | None) -> None:
        """Log a command that exited non-zero and keep it (unless only :data:`EXIT_STATUS_IGNORED` programs)."""
        text = cmd if isinstance(cmd, str) else " ".join(cmd)
        programs = {c.program for c in parse_commands(text)} - {""}
        if programs and programs <= EXIT_STATUS_IGNORED:
            log.info("setup command %r exited %s (ignored: %s)", cmd, returncode, ", ".join(sorted(programs)))
            return
        phase, number, of, step_type = self._step
        shown = printable(text if len(text) <= 160 else text[:157] + "...")
        failure = CommandFailure(phase, number, of, step_type, shown, returncode, stderr_tail(stderr))
        log.warning("setup command failed: %s", failure)
        self.command_failures.append(failure)

    @property
    def cache_dir(self) -> Path:
        """A private host directory for files getters copy out of the sandbox (OSWorld's ``cache_dir``)."""
        if self._cache_dir is None:
            import tempfile

            self._cache_dir = Path(tempfile.mkdtemp(prefix="studio-eval-"))
        return self._cache_dir

    def cleanup(self) -> None:
        """Remove :attr:`cache_dir` (after the metrics ran)."""
        if self._cache_dir is not None:
            shutil.rmtree(self._cache_dir, ignore_errors=True)
            self._cache_dir = None

    def allowed_roots(self) -> list[Path]:
        """Directories a local source may come from: the task's folder, the assets and the mirror."""
        return [Path(os.path.realpath(d)) for d in (self.base_dir, self.assets_dir, self.mirror.root)]


#: OSWorld's Chrome profile directory -> Chromium's (applied to paths and command strings).
PATH_ALIASES = {"/.config/google-chrome/": "/.config/chromium/"}
#: OSWorld window names -> ours (``activate_window`` / ``close_window``).
WINDOW_ALIASES = {"Google Chrome": "Chromium", "google-chrome": "chromium"}


def map_paths(text: str) -> str:
    """``text`` with OSWorld's Chrome profile paths replaced by Chromium's."""
    for old, new in PATH_ALIASES.items():
        text = text.replace(old, new)
    return text


def sandbox_path(path: str) -> str:
    """A path as apps inside the sandbox see it: ``~`` -> ``/home/user``; Chrome's profile -> Chromium's."""
    if path == "~" or path.startswith("~/"):
        path = SANDBOX_HOME + path[1:]
    return map_paths(path + "/")[:-1]


def _inside(path: Path, roots: list[Path]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == r or r in real.parents for r in roots)


def resolve_local_source(url: str, ctx: SetupContext) -> Path:
    """Host path of a ``download`` / ``cloud_file`` source.

    http(s) URLs come from the offline mirror; local paths (plain, ``file://``, relative to the task file or
    the assets) must lie inside :meth:`SetupContext.allowed_roots` after symlinks are resolved, so a task file
    from a stranger cannot copy the host's files (``/etc/shadow``, ``~/.ssh``) into the sandbox.

    Raises:
        OfflineError: a network URL the mirror does not hold, or an unsupported scheme.
        TaskError: a local source that does not exist or lies outside the allowed directories.
    """
    parsed = urlparse(url)
    if is_network_url(url):
        return ctx.mirror.resolve(url)
    if parsed.scheme == "file":
        candidates = [Path(unquote(parsed.path))]
    elif parsed.scheme:
        raise OfflineError(
            f"the task downloads {url!r} with unsupported scheme '{parsed.scheme}'; use http(s) "
            "(served from the offline mirror) or a local path next to the task file"
        )
    else:
        p = Path(url)
        candidates = (
            [p]
            if p.is_absolute()
            else [
                ctx.base_dir / p,
                ctx.assets_dir / p,
                ctx.assets_dir.parent / p,
            ]
        )
    roots = ctx.allowed_roots()
    outside: list[Path] = []
    for c in candidates:
        if not _inside(c, roots):
            outside.append(c)
            continue
        if c.is_file():
            return c
    if any(c.exists() for c in outside) or (outside and len(outside) == len(candidates)):
        raise TaskError(
            f"download source {url!r} lies outside the task's folder, the bundled assets and the mirror "
            f"({', '.join(str(r) for r in roots)}); copy the file next to the task file and name it relatively"
        )
    raise TaskError(f"download source {url!r} not found (looked at: {', '.join(str(c) for c in candidates)})")


#: PATH inside the sandbox (programs are looked up here, not on the host's PATH).
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

#: OSWorld program names -> what runs here. Chrome is Debian's Chromium; Ubuntu's ``python`` is ``python3``.
PROGRAM_ALIASES: dict[str, str] = {
    "google-chrome": "chromium",
    "google-chrome-stable": "chromium",
    "/usr/bin/google-chrome": "chromium",
    "/usr/bin/google-chrome-stable": "chromium",
    "chrome": "chromium",
    "python": "python3",
}


def map_program(argv: list[str]) -> list[str]:
    """``argv`` with OSWorld program names mapped to ours (:data:`PROGRAM_ALIASES`)."""
    if argv and argv[0] in PROGRAM_ALIASES:
        return [PROGRAM_ALIASES[argv[0]], *argv[1:]]
    return argv


def missing_program(cmd: list[str] | str, shell: bool) -> str | None:
    """The program ``cmd`` starts when it is not installed in the sandbox, else None.

    Lists check ``argv[0]``; shell strings check the program of every command they run
    (:func:`envs.shell.parse_commands`), except shell builtins and relative paths (a script the task creates).
    """
    if isinstance(cmd, str) or shell:
        text = cmd if isinstance(cmd, str) else " ".join(cmd)  # as it runs (`_command`)
        for command in parse_commands(text):
            first = command.program_word
            if not first or first in SHELL_BUILTINS or first.startswith(("./", "../", "$", "~", "`")):
                continue
            missing = _not_installed(PROGRAM_ALIASES.get(first, first))
            if missing:
                return missing
        return None
    if not cmd:
        return None
    program = PROGRAM_ALIASES.get(cmd[0], cmd[0])
    if program.startswith(("./", "../", "~")):
        return None
    return _not_installed(program)


def _not_installed(program: str) -> str | None:
    if program.startswith("/"):
        return None if os.access(program, os.X_OK) else program
    return None if shutil.which(program, path=SANDBOX_PATH) else program


def _command(params: dict[str, Any]) -> tuple[list[str] | str, bool]:
    cmd = params.get("command")
    if cmd is None or cmd == "" or cmd == []:
        raise TaskError("a launch/execute step needs a 'command' (list of arguments or a shell string)")
    shell = bool(params.get("shell", isinstance(cmd, str)))
    if isinstance(cmd, list):
        cmd = map_program([sandbox_path(str(c)) for c in cmd])
        if shell:
            cmd = " ".join(cmd)
    else:
        cmd = map_paths(str(cmd))
    return cmd, shell


def _require_program(cmd: list[str] | str, shell: bool) -> None:
    missing = missing_program(cmd, shell)
    if missing is not None:
        raise AppNotInstalledError(
            f"the task runs {missing!r}, which is not installed in the sandbox; install the Debian package that "
            "provides it (`apt-file search` names it) or drop the task"
        )


def is_devtools_relay(cmd: list[str] | str) -> bool:
    """True for OSWorld's ``socat tcp-listen:9222,fork tcp:localhost:1337`` (DevTools port forwarding).

    The studio reaches Chromium's DevTools over a pipe from inside the sandbox (:mod:`envs.browser`), so the
    relay is not needed and is skipped.
    """
    words = cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]
    return bool(words) and words[0] == "socat" and any(w.lower().startswith("tcp-listen:") for w in words[1:])


def _wait_new_window(sb: Sandbox, before: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(sb.windows()) > before:
                return
        except Exception:  # noqa: BLE001 - window list is best effort here
            return
        time.sleep(0.1)


def start_app(sb: Sandbox, name: str, args: list[str] | tuple[str, ...] = ()) -> None:
    """Start the app profile ``name`` with ``args``: Chromium with DevTools on a pipe, others as profiles."""
    from envs.browser import PROFILE, start_browser

    if name == PROFILE:
        start_browser(sb, list(args))
    else:
        sb.launch_app(name, list(args))


def step_launch(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    cmd, shell = _command(params)
    if is_devtools_relay(cmd):
        return
    _require_program(cmd, shell)
    if isinstance(cmd, list) and Path(cmd[0]).name == "chromium":
        start_app(sb, "chromium", cmd[1:])
        return
    before = len(sb.windows())
    sb.launch(cmd, shell=shell)
    _wait_new_window(sb, before, float(params.get("wait_window", 5.0)))


def step_launch_app(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    name = params.get("name")
    if not name:
        raise TaskError("a launch_app step needs 'name' (an app profile in envs/apps/)")
    args = [sandbox_path(str(a)) for a in params.get("args", [])]
    start_app(sb, str(name), args)


def step_open(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    path = params.get("path")
    if not path:
        raise TaskError("an open step needs 'path' (a file inside the sandbox, e.g. ~/notes.txt)")
    inside = sandbox_path(str(path))
    app = OPEN_WITH.get(Path(inside).suffix.lower())
    if app is not None:
        start_app(sb, app, [inside])
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


def pyautogui_script(cmd: list[str] | str) -> str | None:
    """The code of an OSWorld ``["python", "-c", "import pyautogui; ..."]`` command, else None."""
    if isinstance(cmd, list) and len(cmd) == 3 and Path(cmd[0]).name.startswith("python") and cmd[1] == "-c":
        if "pyautogui" in cmd[2]:
            return cmd[2]
    return None


def step_execute(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    cmd, shell = _command(params)
    script = pyautogui_script(cmd)
    if script is not None:
        # OSWorld drives the GUI in setup/postconfig with `python -c "import pyautogui; ..."`. We never run
        # that code: it is parsed against the action allowlist and executed as typed actions.
        from envs.action_parser import parse_pyautogui

        for action in parse_pyautogui(script):
            sb.execute(action)
        sb.wait_settled()
        return
    _require_program(cmd, shell)
    proc = sb.run(cmd, shell=shell, timeout=float(params.get("timeout", 30)))
    if proc.returncode != 0:
        ctx.command_failed(cmd, proc.returncode, proc.stderr)


def step_sleep(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    time.sleep(float(params.get("seconds", 1.0)))


def step_activate_window(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    name = params.get("window_name")
    if not name:
        raise TaskError("an activate_window step needs 'window_name'")
    name = WINDOW_ALIASES.get(str(name), name)
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


def step_close_window(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    name = params.get("window_name")
    if not name:
        raise TaskError("a close_window step needs 'window_name'")
    name = WINDOW_ALIASES.get(str(name), name)
    if not sb.close_window(
        str(name), strict=bool(params.get("strict", False)), by_class=bool(params.get("by_class", False))
    ):
        log.warning("close_window: no window matching %r", name)


def step_chrome_open_tabs(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    from envs.browser import browser_of, start_browser

    urls = params.get("urls_to_open")
    if not isinstance(urls, list) or not urls:
        raise TaskError("a chrome_open_tabs step needs 'urls_to_open': [url, ...]")
    browser = browser_of(sb) or start_browser(sb)
    for url in urls:
        browser.open_tab(str(url))


def step_chrome_close_tabs(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    from envs.browser import require_browser
    from envs.metrics_chrome import same_url

    urls = params.get("urls_to_close")
    if not isinstance(urls, list):
        raise TaskError("a chrome_close_tabs step needs 'urls_to_close': [url, ...]")
    browser = require_browser(sb)
    for page in browser.pages():
        if any(same_url(page["url"], u) for u in urls):
            browser.close_tab(page["targetId"])


def step_serve_site(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    from envs.browser import browser_of
    from envs.websites import DEFAULT_PORT, serve_site

    site = params.get("site")
    if not site:
        raise TaskError("a serve_site step needs 'site' (a bundled site in assets/web/, e.g. 'shop')")
    serve_site(sb, str(site), params.get("port", DEFAULT_PORT), start_now=browser_of(sb) is not None)


def step_download(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    files = params.get("files")
    if not isinstance(files, list) or not files:
        raise TaskError('a download step needs \'files\': [{"url": <local source>, "path": <sandbox path>}]')
    for f in files:
        if not isinstance(f, dict) or "url" not in f or "path" not in f:
            raise TaskError(f"download entry {f!r} needs both 'url' and 'path'")
        src = resolve_local_source(str(f["url"]), ctx)
        sb.write_file(str(f["path"]), src.read_bytes())


StepFn = Callable[["Sandbox", dict[str, Any], SetupContext], None]

SETUP_TYPES: dict[str, StepFn] = {
    "launch": step_launch,
    "launch_app": step_launch_app,
    "open": step_open,
    "execute": step_execute,
    "command": step_execute,
    "sleep": step_sleep,
    "activate_window": step_activate_window,
    "close_window": step_close_window,
    "chrome_open_tabs": step_chrome_open_tabs,
    "chrome_close_tabs": step_chrome_close_tabs,
    "serve_site": step_serve_site,
    "download": step_download,
}


def _register_app_steps() -> None:
    """Add the steps that edit an app's profile (:mod:`envs.task_setup_chrome`)."""
    from envs import task_setup_chrome

    SETUP_TYPES.update(task_setup_chrome.SETUP_TYPES)


_register_app_steps()


def run_setup(sb: Sandbox, steps: list[ConfigStep], ctx: SetupContext | None = None, *, phase: str = "config") -> None:
    """Run ``steps`` in order (``phase`` is ``"config"`` or ``"postconfig"``, named in errors). Commands that
    exit non-zero are logged and added to ``ctx.command_failures`` (see the module docstring).

    Raises:
        UnsupportedTaskTypeError: before running anything, if a step type is unknown.
        SetupStepError: the first step that failed (phase, 1-based number, type; the cause is chained).
    """
    ctx = ctx or SetupContext()
    n = len(steps)
    for i, step in enumerate(steps, 1):
        if step.type not in SETUP_TYPES:
            raise UnsupportedTaskTypeError(
                f"config step {i} has unsupported type '{step.type}'; supported: {', '.join(sorted(SETUP_TYPES))}"
            )
    for i, step in enumerate(steps, 1):
        log.debug("%s step %d/%d %s %s", phase, i, n, step.type, step.parameters)
        ctx._step = (phase, i, n, step.type)
        try:
            SETUP_TYPES[step.type](sb, step.parameters, ctx)
        except UnsupportedTaskTypeError as exc:  # a support question, not a failure: keep its type
            raise UnsupportedTaskTypeError(f"{phase} step {i}/{n} ('{step.type}'): {exc}") from exc
        except Exception as exc:
            raise SetupStepError(
                f"{phase} step {i}/{n} ('{step.type}') failed: {type(exc).__name__}: {exc}",
                phase=phase,
                number=i,
                step_type=step.type,
            ) from exc


def launches_app(steps: list[ConfigStep]) -> bool:
    """True if any step starts a program (so related_apps need not be launched automatically)."""
    return any(s.type in ("launch", "launch_app", "open") for s in steps)
