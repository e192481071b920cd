"""Escape attempts through model-written task checks (the task writer is hostile).

Static: a written check that names a host path, copies a host file in, reads a host file in its evaluator or
launches an arbitrary program is refused before any sandbox starts. Dynamic (real sandbox): commands a written
check runs (setup ``execute``, getter ``vm_command_line``) run inside the sandbox; files they write to ``/tmp``,
to the task's own home and to the project checkout never appear on the host.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from envs.task_schema import parse_written
from studio.errors import StudioError, UnsafeTaskError
from studio.pipeline.stages import task_check as tc

REPO = Path(__file__).resolve().parents[2]
#: A host file by its absolute path. A checkout under /tmp or the sandbox user's home would name a path the
#: sandbox has too (its own, private /tmp and home: allowed), so such a checkout uses a host-only path instead.
HOST_FILE = (
    str(REPO / "pyproject.toml")
    if not str(REPO).startswith(("/tmp/", "/home/user/"))
    else "/srv/studio-checkout/pyproject.toml"
)


def _written(config: list[dict[str, Any]], result: dict[str, Any], func: str = "file_contains") -> dict[str, Any]:
    return {
        "instruction": "Do something harmless-looking in the text editor, please.",
        "config": config,
        "evaluator": {
            "func": func,
            "result": result,
            "expected": {"type": "rule", "rules": {"include": ["root"], "exclude": []}},
        },
        "solution": [],
    }


HOSTILE = [
    _written([], {"type": "vm_file", "path": "/etc/shadow"}),
    _written([], {"type": "vm_file", "path": "~/../../../../etc/passwd"}),
    _written([], {"type": "vm_file", "path": "/home/user/../../root/.bash_history"}),
    _written([], {"type": "local_file", "path": "/etc/hostname"}),
    _written([], {"type": "cloud_file", "path": "file:///etc/hostname"}),
    _written(
        [{"type": "download", "parameters": {"files": [{"url": "/etc/passwd", "path": "~/p.txt"}]}}],
        {"type": "vm_file", "path": "~/p.txt"},
    ),
    _written([{"type": "open", "parameters": {"path": HOST_FILE}}], {"type": "vm_file", "path": "~/x"}),
    _written(
        [{"type": "launch", "parameters": {"command": ["x-terminal-emulator"]}}], {"type": "vm_file", "path": "~/x"}
    ),
]


@pytest.mark.parametrize("item", HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_host_reaching_checks_are_refused_before_a_sandbox_starts(item: dict[str, Any]) -> None:
    with pytest.raises(StudioError) as info:
        parse_written(item, task_id="evil", app="mousepad")
    assert isinstance(info.value, UnsafeTaskError), info.value
    from envs.tasks import parse_task

    task = parse_task(
        {"id": "evil", "instruction": item["instruction"], "config": item["config"], "evaluator": item["evaluator"]}
    )
    started: list[str] = []
    res = tc.validate_task(task, env_factory=lambda: started.append("env"), written=True)  # type: ignore[arg-type,return-value]
    assert res.status == "unverified" and res.reason.startswith(("unsafe:", "unsupported:"))
    assert started == []


@pytest.mark.integration
def test_written_commands_run_only_inside_the_sandbox(tmp_path: Path) -> None:
    from envs.desktop import DesktopEnv

    tag = uuid.uuid4().hex[:12]
    host_tmp = Path("/tmp") / f"studio-escape-{tag}"
    in_repo = REPO / f"studio-escape-{tag}"
    host_home = Path.home() / f"studio-escape-{tag}"
    cmd = (
        f"touch /tmp/studio-escape-{tag}; touch {in_repo}; touch {host_home}; "
        f"echo escaped > ~/../../../tmp/studio-escape-{tag}; echo inside | tee ~/proof.txt >/dev/null"
    )
    item = {
        "instruction": "Write the word inside into the file proof.txt in your home folder.",
        "config": [{"type": "execute", "parameters": {"command": cmd}}],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": f"touch /tmp/studio-escape-{tag}-2; cat ~/proof.txt"},
            "expected": {"type": "rule", "rules": {"include": ["inside"], "exclude": []}},
        },
        "solution": [],
    }
    written = parse_written(item, task_id="probe", app="xterm")  # commands are allowed: they run inside
    res = tc.validate_task(written.task, env_factory=lambda: DesktopEnv(width=640, height=480), written=True)
    # the setup ran and the getter saw its file: the commands did run, just not on the host (tee, not a redirect
    # of echo: the sense checks would refuse a setup that visibly writes the expected text)
    assert (res.status, res.reason) == ("unverified", "no-op already scores 1")
    for p in (host_tmp, Path(f"{host_tmp}-2"), in_repo, host_home):
        assert not p.exists(), f"a model-written command reached the host: {p}"


@pytest.mark.integration
def test_replayed_solutions_are_parsed_actions_never_code(tmp_path: Path) -> None:
    """A stored solution is replayed as a rollout ([verify] replay_solutions): a tampered one (workspace rows are
    data, not trusted code) is refused line by line by the action parser; nothing of it runs on the host."""
    from studio.config import default_config
    from studio.pipeline.run import RunContext, stage_rollouts
    from studio.workspace import Step, Task, Trajectory, Workspace

    tag = uuid.uuid4().hex[:12]
    host_file = Path("/tmp") / f"studio-replay-escape-{tag}"
    evil = [
        f"import os; os.system('touch {host_file}')",
        f"__import__('subprocess').run(['touch', '{host_file}'])",
        f"pyautogui.write(open('{host_file}', 'w').name)",
        f"pyautogui.press('enter'), __import__('os').system('touch {host_file}')",  # calls joined by a comma
    ]
    check = {
        "config": [{"type": "launch_app", "parameters": {"name": "xterm"}}],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": "cat ~/out.txt"},
            "expected": {"type": "rule", "rules": {"include": ["x"], "exclude": []}},
        },
        "solution": evil,
    }
    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_tasks([Task(id="t", instruction="Tampered.", app="xterm", check=check, check_status="proven")])
        cfg = default_config()
        cfg.sandbox.width, cfg.sandbox.height = 640, 480
        cfg.verify.rollout = []
        stage_rollouts(RunContext(ws=ws, cfg=cfg, client=None))
        (traj,) = ws.list(Trajectory, limit=None)
        steps: list[Step] = ws.steps_of(traj.id)
        assert traj.policy == tc.REPLAY_POLICY and traj.score == 0.0
        refused = [s for s in steps if s.error]
        assert len(refused) == len(evil) and not any(s.actions for s in refused)
    assert not host_file.exists(), "a replayed solution line ran as code on the host"


@pytest.mark.integration
def test_a_failed_setup_commands_output_reaches_the_host_only_as_printable_text() -> None:
    """A written setup command that fails reports its stderr in the task's reason (stored, printed by the CLI,
    shown in the GUI): terminal escapes it prints (clear the screen, hyperlinks, a window title) arrive as
    ``?``, and a huge stderr arrives as a short tail."""
    from envs.desktop import DesktopEnv

    escapes = "printf '\\033[2J\\033]0;pwned\\007\\033]8;;file:///etc/passwd\\033\\\\' >&2"
    noisy = f"head -c 100000 /dev/zero | tr '\\0' x >&2; echo >&2; {escapes}; echo done >&2; exit 7"
    item = _written([{"type": "execute", "parameters": {"command": noisy}}], {"type": "vm_file", "path": "~/x.txt"})
    written = parse_written(item, task_id="noisy", app="xterm")
    res = tc.validate_task(written.task, env_factory=lambda: DesktopEnv(width=640, height=480), written=True)
    assert res.status == "unverified" and "exited with status 7" in res.reason, res.reason
    assert "?[2J?]0;pwned?" in res.reason and res.reason.isprintable()  # the escapes arrived, defused
    assert len(res.reason) < 1000
