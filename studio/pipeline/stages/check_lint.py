"""Sense checks of a model-written task's check, before any sandbox: refuse checks that cannot tell a done task
from an untouched desktop.

A small writer produces well-formed checks of the supported types (its grammar sees to that) that are often not
*meaningful*; each such check used to cost a sandbox start and, for a check that runs the app, a command
timeout before validation found it out (BENCHMARKS.md, "Verified tasks"). :func:`lint_check` refuses three
kinds statically, each a :class:`~studio.errors.BadCheckError` naming its ``rule``:

=========================  ========================================================================================
rule                       refused when
=========================  ========================================================================================
``check-runs-app``         a setup ``execute`` or the getter's command starts a desktop app (an app profile's
                           program or a known GUI launcher such as ``xterm``): it does not return until the window
                           is closed, so the step only ends at its timeout
``check-prints-expected``  the getter's command only prints fixed text (``echo`` / ``printf``, no ``$`` or
                           backquote): its output does not depend on anything the task changes
``setup-writes-expected``  a setup command prints into a file, with ``echo`` / ``printf``, every text the check
                           looks for in that file (and nothing it must not find): doing nothing would pass
=========================  ========================================================================================

The rules are narrow on purpose (whole words, exact printed literals for exact metrics, the file the check
reads), so a meaningful check is not refused; what they miss, validation in the sandbox still catches
(``no-op already scores 1``). Commands are read with :func:`envs.shell.parse_commands` (the one shell
splitter, shared with the setup's program lookup), never run.
"""

from __future__ import annotations

import functools
import re
from pathlib import PurePosixPath
from typing import Any

from envs.shell import PRINTERS, parse_commands
from studio.errors import BadCheckError, StudioError

__all__ = ["GUI_PROGRAMS", "desktop_programs", "home_relative", "lint_check", "parse_commands"]

#: Desktop programs besides the app profiles' own (launchers a writer reaches for).
GUI_PROGRAMS = frozenset(
    {
        "x-terminal-emulator",
        "gnome-terminal",
        "xdg-open",
        "gio",
        "gedit",
        "libreoffice",
        "soffice",
        "firefox",
        "google-chrome",
        "chromium",
        "gnome-calculator",
        "zenity",
        "xmessage",
    }
)
_CONSTANT = PRINTERS | {"true", ":"}
_TOKEN = re.compile(r"\n|\w+|[^\w\s]")
_INCLUDE_METRICS = frozenset({"check_include_exclude", "file_contains"})
_EXACT_METRICS = frozenset({"exact_match", "fuzzy_match"})


@functools.cache
def desktop_programs() -> frozenset[str]:
    """Programs that open a window: every app profile's program, and :data:`GUI_PROGRAMS`."""
    from envs.apps import list_profiles, load_profile

    names = set(GUI_PROGRAMS)
    for name in list_profiles():
        try:
            names.add(PurePosixPath(load_profile(name).argv[0]).name)
        except StudioError:
            continue
    return frozenset(names)


def home_relative(path: str) -> str:
    """``~/a``, ``/home/user/a``, ``$HOME/a`` and ``a`` all as ``a`` (other absolute paths unchanged)."""
    for prefix in ("~/", "/home/user/", "$HOME/", "${HOME}/", "./"):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.strip())


def _inside(needle: str, hay: str) -> bool:
    """``needle``'s words (and line breaks) appear in ``hay`` in a row (spaces and quoting ignored)."""
    n, h = _tokens(needle), _tokens(hay)
    return bool(n) and any(h[i : i + len(n)] == n for i in range(len(h) - len(n) + 1))


def _same(needle: str, hay: str) -> bool:
    return bool(_tokens(needle)) and _tokens(needle) == _tokens(hay)


def _expected_texts(func: str, rules: dict[str, Any]) -> tuple[list[str], list[str], bool] | None:
    """(texts the check needs, texts it must not find, exact?) of a metric's rules; None for metrics this
    module does not reason about."""
    if func in _INCLUDE_METRICS:
        return [str(x) for x in rules.get("include", [])], [str(x) for x in rules.get("exclude", [])], False
    if func in _EXACT_METRICS:
        return [str(rules.get("expected", ""))], [], True
    if func == "a11y_contains":

        def texts(patterns: list[dict[str, Any]]) -> list[str]:
            return [str(p.get("text") or p.get("name") or "") for p in patterns]

        exact = rules.get("match", "exact") == "exact"
        return texts(rules.get("include", [])), texts(rules.get("exclude", [])), exact
    return None


def _getter_command(result: dict[str, Any]) -> str:
    return str(result.get("command") or "") if result.get("type") in ("vm_command_line", "vm_command_error") else ""


def _read_files(result: dict[str, Any], config: list[Any]) -> set[str]:
    """The files (home-relative) whose content the getter shows: the ``vm_file``, the command's path words,
    or (screen getters) the files the setup opens."""
    if result.get("type") == "vm_file":
        return {home_relative(str(result.get("path", "")))}
    command = _getter_command(result)
    if command:
        return {home_relative(w) for c in parse_commands(command) for w in c.words[1:]}
    if result.get("type") == "accessibility_tree":
        opened = [s.parameters.get("path") for s in config if s.type == "open"]
        opened += [a for s in config if s.type == "launch_app" for a in s.parameters.get("args", [])]
        return {home_relative(str(p)) for p in opened if p}
    return set()


def _setup_writes(config: list[Any]) -> dict[str, str]:
    """File (home-relative) -> the text setup ``execute`` steps print into it with echo / printf."""
    out: dict[str, str] = {}
    for step in config:
        if step.type != "execute":
            continue
        for cmd in parse_commands(str(step.parameters.get("command") or "")):
            text = cmd.printed()
            for target in cmd.writes if text else []:
                key = home_relative(target)
                out[key] = out.get(key, "") + text
    return out


def _runs_app(command: str) -> str:
    gui = desktop_programs()
    return next((c.program for c in parse_commands(command) if c.program in gui), "")


def lint_check(task: Any) -> None:
    """Refuse a model-written check (an ``envs.tasks.Task`` that passed ``check_written``) that cannot tell a
    done task from an untouched desktop.

    Raises:
        BadCheckError: which rule refused it and how to write the check instead.
    """
    for i, step in enumerate(task.config):
        app = _runs_app(str(step.parameters.get("command") or "")) if step.type == "execute" else ""
        if app:
            raise BadCheckError(
                f"config step {i} (execute) starts the desktop app '{app}', which does not return until it is "
                "closed: start apps with launch_app or open",
                rule="check-runs-app",
            )
    ev = task.evaluator
    result = ev.result if isinstance(ev.result, dict) else {}
    command = _getter_command(result)
    app = _runs_app(command)
    if app:
        raise BadCheckError(
            f"the check runs '{app}', a desktop app that does not return until it is closed: read the file the "
            "task changes (cat ~/file.txt) or the screen (accessibility_tree) instead",
            rule="check-runs-app",
        )
    commands = parse_commands(command)
    if commands and all(c.program in _CONSTANT for c in commands) and not set(command) & {"$", "`"}:
        raise BadCheckError(
            f"the check's command only prints fixed text ({command!r}): its output does not depend on what "
            "the task does; read the file the task changes or test for it (test -f ~/x && echo yes)",
            rule="check-prints-expected",
        )
    expected = ev.expected if isinstance(ev.expected, dict) else {}
    texts = _expected_texts(str(ev.func), expected.get("rules") or {})
    if texts is None:
        return
    include, exclude, exact = texts
    written = _setup_writes(task.config)
    for path in _read_files(result, task.config) & set(written):
        content = written[path]
        match = _same if exact else _inside
        if include and all(match(t, content) for t in include) and not any(_inside(t, content) for t in exclude):
            shown = ", ".join(repr(t) for t in include)
            raise BadCheckError(
                f"the setup writes {shown} into ~/{path}, the very text the check looks for: doing nothing "
                "would pass; write the input the task starts from, and check for the text the task produces",
                rule="setup-writes-expected",
            )
