"""Sense checks of model-written checks (``studio.pipeline.stages.check_lint``): one test per rule, the checks
that must NOT be refused, and where the refusal lands (writer, validation) without a sandbox."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from envs.base import Env
from envs.task_schema import parse_written
from studio.errors import BadCheckError
from studio.pipeline.stages import task_check as tc
from studio.pipeline.stages.check_lint import lint_check, parse_commands
from studio.pipeline.stages.checked_tasks import GENERIC_EXAMPLE, app_examples, write_checked_tasks


def written(
    command: str = "cat ~/a.txt",
    rules: dict[str, Any] | None = None,
    *,
    setup: str = "printf 'start\\n' > ~/a.txt",
    func: str = "check_include_exclude",
    result: dict[str, Any] | None = None,
    config: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A written task: an execute setup, then a metric over a command (or ``result``)."""
    steps = config if config is not None else [{"type": "execute", "parameters": {"command": setup}}]
    return {
        "instruction": "Do the thing the documentation describes in the app.",
        "config": [*steps, {"type": "launch_app", "parameters": {"name": "mousepad"}}],
        "evaluator": {
            "func": func,
            "result": result or {"type": "vm_command_line", "command": command},
            "expected": {"type": "rule", "rules": rules or {"include": ["done"], "exclude": []}},
        },
        "solution": ["pyautogui.write('done')"],
    }


def rule_of(item: dict[str, Any]) -> str:
    """The rule that refuses ``item`` ("" when it passes)."""
    task = parse_written(item, task_id="t", app="mousepad").task
    try:
        lint_check(task)
    except BadCheckError as exc:
        assert str(exc)  # a message that says what to do instead
        return exc.rule
    return ""


def test_commands_are_split_into_programs_files_written_and_printed_text() -> None:
    (printf,) = parse_commands("printf 'one\\ntwo\\n' > ~/list.txt")
    assert (printf.program, printf.writes, printf.printed()) == ("printf", ["~/list.txt"], "one\ntwo\n")
    test, present, absent = parse_commands("test -d ~/p && echo present || echo absent")
    assert [c.program for c in (test, present, absent)] == ["test", "echo", "echo"] and not present.writes
    (wrapped,) = parse_commands("X=1 sudo timeout 5 /usr/bin/xterm -e bash &")
    assert wrapped.program == "xterm"
    echo, cat = parse_commands("echo -e 'a\\tb' >> /tmp/x 2>/dev/null; cat ~/f 2>&1")
    assert (echo.printed(), echo.writes, cat.words) == ("a\tb", ["/tmp/x", "/dev/null"], ["cat", "~/f"])
    assert parse_commands("echo 'unbalanced") == []


# --------------------------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    "item",
    [
        written("xterm"),  # the benchmark's failure: the "check" starts the app and never returns
        written("sudo timeout 5 mousepad ~/a.txt; cat ~/a.txt"),
        written(setup="galculator &"),  # setup starting an app by command instead of launch_app
        written(setup="printf 'x' > ~/a.txt && xdg-open ~/a.txt"),
    ],
)
def test_rule_check_runs_app(item: dict[str, Any]) -> None:
    assert rule_of(item) == "check-runs-app"


@pytest.mark.parametrize("command", ["echo done", "printf 'done\\n'", "echo 'all done'; true"])
def test_rule_check_prints_expected(command: str) -> None:
    assert rule_of(written(command)) == "check-prints-expected"


@pytest.mark.parametrize(
    "item",
    [
        written(setup="printf 'done\\n' > ~/a.txt"),  # the benchmark's mousepad failure
        written(setup="echo 'all done' > /home/user/a.txt", rules={"include": ["all done"], "exclude": ["x"]}),
        written(
            setup="printf 'one\\ntwo\\n' > ~/a.txt",
            func="file_contains",
            result={"type": "vm_file", "path": "/home/user/a.txt"},
            rules={"include": ["one\ntwo"], "exclude": []},
        ),
        written(setup="echo hello > ~/a.txt", func="exact_match", rules={"expected": "hello"}),
        written(
            config=[
                {"type": "execute", "parameters": {"command": "printf 'Total: 84' > ~/r.txt"}},
                {"type": "open", "parameters": {"path": "~/r.txt"}},
            ],
            func="a11y_contains",
            result={"type": "accessibility_tree"},
            rules={"include": [{"role": "text", "text": "Total: 84"}]},
        ),
    ],
)
def test_rule_setup_writes_expected(item: dict[str, Any]) -> None:
    assert rule_of(item) == "setup-writes-expected"


@pytest.mark.parametrize(
    "item",
    [
        GENERIC_EXAMPLE,  # setup writes 'one\ntwo', the check wants 'one\ntwo\nthree'
        written("test -d ~/p && echo present || echo absent", {"include": ["present"], "exclude": ["absent"]}),
        written("test -f ~/a.txt && echo done"),  # prints fixed text only when the file is there
        written("echo $(cat ~/a.txt)"),  # prints what the task changed
        written(setup="printf 'done\\n' > ~/in.txt"),  # the check reads another file
        written(setup="printf 'done\\ncolour\\n' > ~/a.txt", rules={"include": ["done"], "exclude": ["colour"]}),
        written(setup="echo 'hello world' > ~/a.txt", func="exact_match", rules={"expected": "hello"}),
        written(setup="printf 'undone\\n' > ~/a.txt"),  # whole words: 'done' is not in 'undone'
        written("ls ~/backup", setup="touch ~/report.txt", rules={"include": ["report.txt"], "exclude": []}),
        written("ssconvert ~/d.gnumeric /tmp/o.csv >/dev/null 2>&1; cat /tmp/o.csv"),
    ],
)
def test_meaningful_checks_are_not_refused(item: dict[str, Any]) -> None:
    assert rule_of(item) == ""


@pytest.mark.parametrize("app", ["xterm", "mousepad", "galculator", "gnumeric"])
def test_built_in_examples_pass_every_static_check(app: str) -> None:
    examples = app_examples(app)
    assert examples
    for item in examples:
        assert rule_of(item) == ""
        assert tc.static_problem(parse_written(item, task_id="t", app=app).task, written=True) == ""


# ---------------------------------------------------------------------------------- where refusals land


class NoEnv(Env):
    """Fails the test if validation starts a sandbox."""

    def __init__(self) -> None:
        raise AssertionError("a refused check must not start a sandbox")

    def reset(self, task: Any) -> Any: ...

    def step(self, action: Any) -> Any: ...

    def evaluate(self, task: Any) -> float:
        return 0.0

    def close(self) -> None: ...


def test_validation_refuses_a_bad_check_before_any_sandbox() -> None:
    task = parse_written(written("xterm"), task_id="t", app="mousepad").task
    res = tc.validate_task(task, env_factory=NoEnv, written=True)
    assert res.status == "unverified" and res.reason.startswith("bad check: the check runs 'xterm'")
    imported = tc.validate_task(task, env_factory=lambda: _Scores(), written=False)  # a user's file: sandbox decides
    assert imported.status == "verified"


class _Scores(Env):
    def reset(self, task: Any) -> Any:
        from envs.observation import Observation

        return Observation(screenshot_png=b"", width=1, height=1)

    def step(self, action: Any) -> Any:
        return self.reset(None)

    def evaluate(self, task: Any) -> float:
        return 0.0

    def close(self) -> None: ...


def test_writer_stores_a_bad_check_unverified_with_the_reason_validation_would_give() -> None:
    from tests.unit.test_task_checks_written import Sec, Writer

    echo = copy.deepcopy(GENERIC_EXAMPLE)
    echo["instruction"] = "Write the word done into ~/a.txt with the text editor and save it."
    echo["config"] = [{"type": "execute", "parameters": {"command": "printf 'done\\n' > ~/a.txt"}}]
    echo["evaluator"]["result"]["command"] = "cat ~/a.txt"
    echo["evaluator"]["expected"]["rules"]["include"] = ["done"]
    result = write_checked_tasks([Sec()], Writer([echo]), app="mousepad", builtin_examples=False)
    (task,) = result.tasks
    assert task.problem.startswith("bad check: the setup writes 'done' into ~/a.txt")
    assert task.check["evaluator"]["result"]["command"] == "cat ~/a.txt"  # kept as written, for inspection
