"""A setup command that exits non-zero: logged and kept by the setup (which runs on, as OSWorld's does), exposed
by the env after a reset, and refused by validation (``setup failure: ...``) for written and imported tasks
alike. Fake sandbox (no X, no processes); the real-sandbox test is in tests/integration/test_verified_tasks.py."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from test_tasks import BASE, FakeSandbox

from envs.desktop import DesktopEnv
from envs.task_setup import CommandFailure, SetupContext, run_setup, stderr_tail
from envs.tasks import parse_task
from studio.pipeline.stages import task_check as tc


def _steps(*commands: Any) -> list[Any]:
    return parse_task({**BASE, "config": [{"type": "execute", "parameters": {"command": c}} for c in commands]}).config


def test_a_failed_command_is_kept_with_step_status_and_stderr_and_the_setup_runs_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sb = FakeSandbox(tmp_path)
    sb.outputs["cp ~/a ~/b"] = ("", "cp: cannot stat '/home/user/a': No such file or directory\n", 1)
    ctx = SetupContext()
    with caplog.at_level(logging.WARNING, logger="envs.task_setup"):
        run_setup(sb, _steps("touch ~/x", "cp ~/a ~/b", ["ls", "~"]), ctx)
    assert [c[1] for c in sb.calls if c[0] == "run"] == ["touch ~/x", "cp ~/a ~/b", ["ls", "/home/user"]]
    (failure,) = ctx.command_failures
    assert failure == CommandFailure(
        "config", 2, 3, "execute", "cp ~/a ~/b", 1, "cp: cannot stat '/home/user/a': No such file or directory"
    )
    assert str(failure).startswith("config step 2/3 ('execute') ran 'cp ~/a ~/b', which exited with status 1; stderr:")
    assert "|| true" in str(failure) and "setup command failed" in caplog.text


def test_postconfig_failures_name_their_phase(tmp_path: Path) -> None:
    sb = FakeSandbox(tmp_path)
    sb.outputs["ssconvert ~/a.gnumeric ~/a.csv"] = ("", "", 2)
    ctx = SetupContext()
    run_setup(sb, _steps("ssconvert ~/a.gnumeric ~/a.csv"), ctx, phase="postconfig")
    assert [(f.phase, f.number, f.returncode, f.stderr_tail) for f in ctx.command_failures] == [
        ("postconfig", 1, 2, "")
    ]
    assert "; no stderr" in str(ctx.command_failures[0])


def test_pkill_and_killall_exit_status_is_ignored_but_not_in_a_longer_line(tmp_path: Path) -> None:
    sb = FakeSandbox(tmp_path)
    for cmd in ("pkill -f chromium", "killall gedit", "pkill a; killall b", "mkdir /x && pkill a"):
        sb.outputs[cmd] = ("", "boom", 1)
    sb.outputs["pkill -f chromium"] = ("", "", 1)
    ctx = SetupContext()
    run_setup(sb, _steps("pkill -f chromium", "killall gedit", "pkill a; killall b", "mkdir /x && pkill a"), ctx)
    assert [f.command for f in ctx.command_failures] == ["mkdir /x && pkill a"]


def test_stderr_tail_keeps_the_last_lines_within_the_limit() -> None:
    assert stderr_tail("\n  one\n\ntwo\nthree\nfour\n") == "two | three | four"
    assert stderr_tail(None) == ""
    long = stderr_tail("x" * 1000, limit=50)
    assert len(long) == 50 and long.startswith("...")
    assert stderr_tail("\x1b[2J\x1b]8;;file:///etc\x07gone\r\n") == "?[2J?]8;;file:///etc?gone"  # no terminal escapes


def test_a_hostile_command_line_is_shown_without_control_characters(tmp_path: Path) -> None:
    sb = FakeSandbox(tmp_path)
    sb.outputs["printf '\x1b[2J'; false"] = ("", "", 1)
    ctx = SetupContext()
    run_setup(sb, _steps("printf '\x1b[2J'; false"), ctx)
    assert ctx.command_failures[0].command == "printf '?[2J'; false"


def _env(tmp_path: Path, outputs: dict[str, tuple[str, str, int]]) -> DesktopEnv:
    def factory(**kw: Any) -> FakeSandbox:
        sb = FakeSandbox(tmp_path / "sbx", **kw)
        sb.outputs.update(outputs)
        return sb

    return DesktopEnv(sandbox_factory=factory)


def test_desktop_env_exposes_the_last_resets_failures(tmp_path: Path) -> None:
    env = _env(tmp_path, {"false": ("", "", 1)})
    env.reset(parse_task({**BASE, "config": [{"type": "execute", "parameters": {"command": "false"}}]}))
    assert [(f.number, f.command, f.returncode) for f in env.setup_failures] == [(1, "false", 1)]
    env.reset(parse_task(BASE))
    assert list(env.setup_failures) == []
    env.close()


def test_a_failure_before_a_later_step_raised_is_still_known(tmp_path: Path) -> None:
    env = _env(tmp_path, {"false": ("", "", 1)})
    task = parse_task(
        {
            **BASE,
            "config": [
                {"type": "execute", "parameters": {"command": "false"}},
                {"type": "activate_window", "parameters": {}},  # raises: no window_name
            ],
        }
    )
    with pytest.raises(Exception, match="activate_window"):
        env.reset(task)
    assert [f.command for f in env.setup_failures] == ["false"]


CHECKED = {
    **BASE,
    "config": [
        {"type": "execute", "parameters": {"command": "printf 'no\\n' > ~/a"}},
        {"type": "execute", "parameters": {"command": "cp ~/missing ~/b"}},
    ],
}
COPY_FAILS = {"cp ~/missing ~/b": ("", "cp: cannot stat '/home/user/missing': No such file or directory", 1)}


@pytest.mark.parametrize("written", [True, False], ids=["model-written", "imported"])
def test_validation_refuses_a_setup_whose_command_failed(tmp_path: Path, written: bool) -> None:
    res = tc.validate_task(parse_task(CHECKED), env_factory=lambda: _env(tmp_path, COPY_FAILS), written=written)
    assert res.status == "unverified"
    assert res.reason.startswith(
        "setup failure: config step 2/2 ('execute') ran 'cp ~/missing ~/b', which exited with status 1; "
        "stderr: cp: cannot stat '/home/user/missing': No such file or directory"
    )
    assert res.noop_score is None  # the evaluator never ran


def test_validation_passes_the_same_setup_when_its_commands_succeed(tmp_path: Path) -> None:
    res = tc.validate_task(parse_task(CHECKED), env_factory=lambda: _env(tmp_path, {}), written=False)
    assert (res.status, res.noop_score) == ("verified", 0.0)  # the fake's `cat ~/a` prints nothing: no-op 0


def test_validation_names_the_failed_command_not_the_error_it_caused(tmp_path: Path) -> None:
    task = parse_task(
        {
            **CHECKED,
            "config": [*CHECKED["config"], {"type": "activate_window", "parameters": {}}],
        }
    )
    res = tc.validate_task(task, env_factory=lambda: _env(tmp_path, COPY_FAILS), written=False)
    assert res.status == "unverified" and res.reason.startswith("setup failure: config step 2/3 ('execute') ran 'cp")


def test_rollouts_and_eval_run_on_after_a_failed_command(tmp_path: Path) -> None:
    env = _env(tmp_path, COPY_FAILS)
    task = parse_task(CHECKED)
    env.reset(task)  # no error: the eval suites and rollouts are lenient, as OSWorld is
    assert env.evaluate(task) == 0.0 and len(env.setup_failures) == 1
    env.close()


def test_a_failed_postconfig_command_does_not_fail_validation(tmp_path: Path) -> None:
    """postconfig runs before the check (e.g. ``ssconvert`` of a file the agent should have saved): on the
    untouched desktop it may well fail, and that is what the no-op is for."""
    task = parse_task(
        {
            **BASE,
            "evaluator": {
                **BASE["evaluator"],
                "postconfig": [{"type": "execute", "parameters": {"command": "ssconvert ~/a.gnumeric ~/a.csv"}}],
            },
        }
    )
    convert_fails = {"ssconvert ~/a.gnumeric ~/a.csv": ("", "no such file", 1)}
    res = tc.validate_task(task, env_factory=lambda: _env(tmp_path, convert_fails), written=False)
    assert (res.status, res.noop_score) == ("verified", 0.0)


def test_a_rollout_of_a_task_whose_setup_command_failed_runs_and_is_scored(tmp_path: Path) -> None:
    from studio.pipeline.agent.policies import ScriptedPolicy
    from studio.pipeline.rollout.episode import run_episode

    result = run_episode(
        _env(tmp_path, COPY_FAILS),
        parse_task(CHECKED),
        ScriptedPolicy(["pyautogui.write('x')"]),
        trajectory_id="t",
        max_steps=3,
        emit=lambda e: None,
        evaluate=True,
    )
    assert (result.status, result.score, result.error) == ("done", 0.0, "")
