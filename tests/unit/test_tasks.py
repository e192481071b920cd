"""Task loader, setup steps, getters and the evaluator runner against a FakeSandbox (no X, no processes).

The fake's ``run()`` never executes anything: it returns canned outputs registered per command.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from envs.actions import Done, Fail, TypeText
from envs.desktop import DesktopEnv
from envs.evaluate import check_supported, evaluate_task
from envs.mirror import Mirror
from envs.observation import A11yNode, Observation, WindowInfo, linearize
from envs.replay import ReplayEnv, load_recording, save_recording
from envs.task_setup import SetupContext, run_setup
from envs.tasks import BUNDLED_TASKS_DIR, load_task, load_tasks, parse_task
from studio.errors import (
    ActionError,
    OfflineError,
    SandboxError,
    SetupStepError,
    TaskError,
    TaskFileError,
    UnsupportedTaskTypeError,
)


class FakeSandbox:
    """Tmp dir as home; canned command outputs; records calls. Never runs a process."""

    def __init__(self, root: Path, *, width: int = 1280, height: int = 800, network: bool = False, **_: Any) -> None:
        self.root = root
        self.home = root / "home"
        self.tmp = root / "tmp"
        self.home.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.width, self.height, self.network = width, height, network
        self.display = ":99"
        self.calls: list[tuple[str, Any]] = []
        self.outputs: dict[str, tuple[str, str, int]] = {}
        self.window_list: list[WindowInfo] = []
        self.nodes: list[A11yNode] = []
        self.started = self.closed = False

    def start(self) -> FakeSandbox:
        self.started = True
        return self

    def close(self) -> None:
        self.closed = True

    def _map(self, path: str) -> Path:
        """The fake's stand-in for the sandbox's file system: home and /tmp only (the real one runs inside)."""
        if path == "~" or path.startswith("~/"):
            return self.home / path[2:]
        if path.startswith("/home/user"):
            return self.home / path[len("/home/user") :].lstrip("/")
        if path.startswith("/tmp"):
            return self.tmp / path[len("/tmp") :].lstrip("/")
        if not path.startswith("/"):
            return self.home / path
        raise AssertionError(f"the fake sandbox has no {path}")

    def write_file(self, path: str, data: bytes) -> None:
        self.calls.append(("write_file", path))
        dest = self._map(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)

    def read_file(self, path: str) -> bytes | None:
        p = self._map(path)
        return p.read_bytes() if p.is_file() else None

    def copy_out(self, path: str) -> Path | None:
        p = self._map(path)
        return p if p.is_file() else None

    def launch(self, argv: Any, *, shell: bool = False, cwd: str | None = None) -> None:
        self.calls.append(("launch", argv))

    def launch_app(self, name: str, args: Any = (), *, wait_ready: bool = True, timeout: float = 20) -> None:
        self.calls.append(("launch_app", (name, list(args))))

    def run(
        self, argv: Any, *, shell: bool = False, timeout: float = 30, cwd: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        if isinstance(argv, list) and argv[:2] == ["sh", "-c"] and argv[3:4] == ["read"]:
            return self._read_file(argv)  # the getters' in-sandbox file read (envs.getters.read_sandbox_file)
        self.calls.append(("run", argv))
        key = argv if isinstance(argv, str) else " ".join(argv)
        out, err, rc = self.outputs.get(key, ("", "", 0))
        return subprocess.CompletedProcess(argv, rc, out, err)

    def _read_file(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        import base64

        host = self._map(argv[4])
        if not host.is_file():
            return subprocess.CompletedProcess(argv, 3, "", "")
        return subprocess.CompletedProcess(argv, 0, base64.b64encode(host.read_bytes()).decode(), "")

    def windows(self) -> list[WindowInfo]:
        return list(self.window_list)

    def close_window(self, title: str, *, strict: bool = False, by_class: bool = False) -> bool:
        self.calls.append(("close_window", title))
        return any(title in w.title for w in self.window_list)

    def activate_window(self, title: str, *, strict: bool = False, by_class: bool = False) -> bool:
        self.calls.append(("activate_window", title))
        return any((w.title == title) if strict else (title in w.title) for w in self.window_list)

    def a11y(self, *, max_nodes: int = 1500, timeout: float = 3.0) -> tuple[list[A11yNode], bool]:
        return list(self.nodes), False

    def wait_settled(self, *, timeout: float = 3.0, interval: float = 0.05, stable: int = 3) -> float:
        return 0.01

    def observe(self, *, a11y: bool = True) -> Observation:
        return Observation(b"", self.width, self.height, list(self.nodes), list(self.window_list), {})

    def execute(self, action: Any, *, last_observation: Observation | None = None) -> None:
        self.calls.append(("execute", action))


@pytest.fixture()
def sb(tmp_path: Path) -> FakeSandbox:
    return FakeSandbox(tmp_path / "sbx")


def write(tmp_path: Path, data: Any, name: str = "t.json") -> Path:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


BASE: dict[str, Any] = {
    "id": "t1",
    "instruction": "do it",
    "config": [],
    "evaluator": {
        "func": "exact_match",
        "result": {"type": "vm_command_line", "command": "cat ~/a"},
        "expected": {"type": "rule", "rules": {"expected": "yes\n"}},
    },
}


# ---------------------------------------------------------------- loader


def test_load_minimal_and_extras_tolerated(tmp_path: Path) -> None:
    data = {
        **BASE,
        "snapshot": "os",
        "source": "x",
        "trajectory": "trajectories/",
        "possibility_of_env_change": "low",
        "unknown_extra": {"a": 1},
    }
    task = load_task(write(tmp_path, data))
    assert task.id == "t1" and task.path == (tmp_path / "t.json").resolve()
    assert task.model_extra and task.model_extra["unknown_extra"] == {"a": 1}
    assert task.evaluator.conj == "and" and task.needs_network is False


def test_bad_json_names_line_and_column(tmp_path: Path) -> None:
    p = write(tmp_path, '{\n  "id": "x",\n  "instruction": oops\n}')
    with pytest.raises(TaskFileError) as exc:
        load_task(p)
    assert str(p) in str(exc.value) and "line 3" in str(exc.value) and "column" in str(exc.value)


def test_missing_field_named(tmp_path: Path) -> None:
    data = {k: v for k, v in BASE.items() if k != "instruction"}
    with pytest.raises(TaskFileError, match=r"t\.json.*'instruction'"):
        load_task(write(tmp_path, data))


def test_wrong_type_named(tmp_path: Path) -> None:
    data = {**BASE, "config": [{"type": "sleep", "parameters": "soon"}]}
    with pytest.raises(TaskFileError, match=r"config\[0\]\.parameters"):
        load_task(write(tmp_path, data))
    with pytest.raises(TaskFileError, match="conj"):
        parse_task({**BASE, "evaluator": {**BASE["evaluator"], "conj": "xor"}})
    with pytest.raises(TaskFileError, match="one JSON object"):
        parse_task([1, 2])


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="cannot read"):
        load_task(tmp_path / "missing.json")


def test_check_supported_unknown_types() -> None:
    t = parse_task({**BASE, "config": [{"type": "googledrive", "parameters": {}}]})
    with pytest.raises(UnsupportedTaskTypeError, match="googledrive.*supported:.*download"):
        check_supported(t)
    t = parse_task({**BASE, "evaluator": {**BASE["evaluator"], "func": "check_mp3_meta"}})
    with pytest.raises(UnsupportedTaskTypeError, match="check_mp3_meta"):
        check_supported(t)
    t = parse_task({**BASE, "evaluator": {**BASE["evaluator"], "result": {"type": "chrome_history"}}})
    with pytest.raises(UnsupportedTaskTypeError, match="chrome_history"):
        check_supported(t)
    t = parse_task(
        {
            **BASE,
            "evaluator": {
                **BASE["evaluator"],
                "func": ["exact_match", "exact_match"],
                "result": [BASE["evaluator"]["result"]],
            },
        }
    )
    with pytest.raises(TaskError, match="1 entries.*2 metrics"):
        check_supported(t)


# ---------------------------------------------------------------- setup


def test_run_setup_rejects_unknown_type_before_running(sb: FakeSandbox) -> None:
    t = parse_task(
        {
            **BASE,
            "config": [
                {"type": "sleep", "parameters": {"seconds": 0}},
                {"type": "googledrive", "parameters": {}},
            ],
        }
    )
    with pytest.raises(UnsupportedTaskTypeError, match="'googledrive'.*launch_app"):
        run_setup(sb, t.config)


def test_setup_steps(sb: FakeSandbox, tmp_path: Path) -> None:
    src = tmp_path / "data.csv"
    src.write_text("a,b\n1,2\n")
    sb.window_list = [WindowInfo("notes.txt - Mousepad", "mousepad", 0, 0, 10, 10, True)]
    steps = parse_task(
        {
            **BASE,
            "config": [
                {
                    "type": "download",
                    "parameters": {
                        "files": [
                            {"url": "data.csv", "path": "~/in/data.csv"},
                            {"url": f"file://{src}", "path": "/home/user/b.csv"},
                        ]
                    },
                },
                {"type": "open", "parameters": {"path": "~/in/data.csv"}},
                {"type": "open", "parameters": {"path": "/home/user/notes.txt"}},
                {"type": "launch", "parameters": {"command": ["xterm", "-e", "ls ~"], "wait_window": 0}},
                {"type": "launch_app", "parameters": {"name": "galculator"}},
                {"type": "execute", "parameters": {"command": "touch ~/x", "shell": True}},
                {"type": "command", "parameters": {"command": ["ls", "~/in"]}},
                {"type": "sleep", "parameters": {"seconds": 0}},
                {"type": "activate_window", "parameters": {"window_name": "Mousepad"}},
            ],
        }
    ).config
    run_setup(sb, steps, SetupContext(base_dir=tmp_path))
    assert (sb.home / "in" / "data.csv").read_text() == "a,b\n1,2\n"
    assert (sb.home / "b.csv").exists()
    assert sb.calls == [
        ("write_file", "~/in/data.csv"),
        ("write_file", "/home/user/b.csv"),
        ("launch_app", ("gnumeric", ["/home/user/in/data.csv"])),
        ("launch_app", ("mousepad", ["/home/user/notes.txt"])),
        ("launch", ["xterm", "-e", "ls ~"]),
        ("launch_app", ("galculator", [])),
        ("run", "touch ~/x"),
        ("run", ["ls", "/home/user/in"]),
        ("activate_window", "Mousepad"),
    ]


def test_execute_python_pyautogui_is_parsed_not_run(sb: FakeSandbox) -> None:
    code = "import pyautogui; import time; pyautogui.hotkey('ctrl', 's'); time.sleep(0)"
    step = {"type": "execute", "parameters": {"command": ["python", "-c", code]}}
    steps = parse_task({**BASE, "config": [step]})
    run_setup(sb, steps.config)
    assert [c for c in sb.calls if c[0] == "run"] == []
    assert [c[1].kind for c in sb.calls if c[0] == "execute"] == ["hotkey", "wait"]
    bad = parse_task(
        {
            **BASE,
            "config": [
                {
                    "type": "execute",
                    "parameters": {"command": ["python3", "-c", "import pyautogui, os; os.system('rm -rf /')"]},
                }
            ],
        }
    )
    with pytest.raises(SetupStepError, match=r"config step 1/1 \('execute'\) failed: ActionError") as err:
        run_setup(sb, bad.config)
    assert isinstance(err.value.__cause__, ActionError)
    assert [c for c in sb.calls if c[0] == "run"] == []


def test_download_http_is_offline_error(sb: FakeSandbox, tmp_path: Path) -> None:
    steps = parse_task(
        {
            **BASE,
            "config": [
                {
                    "type": "download",
                    "parameters": {"files": [{"url": "https://example.com/x.xlsx", "path": "~/x.xlsx"}]},
                }
            ],
        }
    ).config
    with pytest.raises(SetupStepError, match="not in the offline mirror") as err:
        run_setup(sb, steps, SetupContext(mirror=Mirror(tmp_path / "mirror")))
    assert isinstance(err.value.__cause__, OfflineError) and err.value.number == 1


def test_download_missing_local_source(sb: FakeSandbox, tmp_path: Path) -> None:
    steps = parse_task(
        {
            **BASE,
            "config": [{"type": "download", "parameters": {"files": [{"url": "nope/missing.txt", "path": "~/x"}]}}],
        }
    ).config
    with pytest.raises(TaskError, match="not found"):
        run_setup(sb, steps, SetupContext(base_dir=tmp_path))


def test_download_from_assets_dir(sb: FakeSandbox, tmp_path: Path) -> None:
    (tmp_path / "assets" / "files").mkdir(parents=True)
    (tmp_path / "assets" / "files" / "f.txt").write_text("hi")
    steps = parse_task(
        {
            **BASE,
            "config": [{"type": "download", "parameters": {"files": [{"url": "files/f.txt", "path": "~/f.txt"}]}}],
        }
    ).config
    run_setup(sb, steps, SetupContext(base_dir=tmp_path / "elsewhere", assets_dir=tmp_path / "assets"))
    assert (sb.home / "f.txt").read_text() == "hi"


# ---------------------------------------------------------------- evaluator


def ev(evaluator: dict[str, Any], **extra: Any) -> Any:
    return parse_task({**BASE, "evaluator": evaluator, **extra})


def test_vm_command_line_exact_match(sb: FakeSandbox) -> None:
    task = ev(BASE["evaluator"])
    assert evaluate_task(sb, task).score == 0.0
    sb.outputs["cat ~/a"] = ("yes\n", "", 0)
    assert evaluate_task(sb, task).score == 1.0


def test_vm_command_error_getter(sb: FakeSandbox) -> None:
    sb.outputs["ls /nope"] = ("", "No such file", 2)
    task = ev(
        {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_error", "command": "ls /nope"},
            "expected": {"type": "rule", "rules": {"include": ["No such"]}},
        }
    )
    assert evaluate_task(sb, task).score == 1.0


def test_vm_file_compare_text_file(sb: FakeSandbox, tmp_path: Path) -> None:
    gold = tmp_path / "gold.txt"
    gold.write_text("Hello  world\n")
    task = ev(
        {
            "func": "compare_text_file",
            "result": {"type": "vm_file", "path": "/home/user/out.txt", "dest": "o"},
            "expected": {"type": "local_file", "path": str(gold)},
            "options": {"ignore_blanks": True},
        }
    )
    ctx = SetupContext(base_dir=tmp_path)
    assert evaluate_task(sb, task, ctx=ctx).score == 0.0  # file missing -> getter None -> 0
    (sb.home / "out.txt").write_text("Hello world")
    assert evaluate_task(sb, task, ctx=SetupContext(base_dir=tmp_path)).score == 1.0


def test_vm_file_content_and_multi(sb: FakeSandbox) -> None:
    (sb.home / "a.txt").write_text("A")
    task = ev(
        {
            "func": "exact_match",
            "result": {"type": "vm_file", "path": "~/a.txt", "content": True},
            "expected": {"type": "rule", "rules": {"expected": "A"}},
        }
    )
    assert evaluate_task(sb, task).score == 1.0
    from envs.getters import get_value

    ctx = SetupContext()
    spec = {"type": "vm_file", "path": ["~/a.txt", "~/b.txt"], "dest": ["a.txt", "b.txt"], "multi": True}
    got = get_value(sb, {**spec, "gives": [0, 1]}, ctx)
    assert got == [str(ctx.cache_dir / "a.txt"), None]
    assert Path(got[0]).read_text() == "A"
    assert get_value(sb, spec, ctx) == str(ctx.cache_dir / "a.txt")  # OSWorld: gives defaults to [0]
    ctx.cleanup()
    assert not Path(got[0]).exists()


def test_a11y_window_title_and_screen_getters(sb: FakeSandbox) -> None:
    sb.nodes = [
        A11yNode(0, "label", "", "84", 10, 10, 50, 20),
        A11yNode(1, "push button", "8", "", 184, 0, 5, 5),
    ]
    sb.window_list = [WindowInfo("galculator", "galculator", 0, 0, 1, 1, True)]
    task = ev(
        {
            "func": ["a11y_contains", "exact_match", "literal_match", "exact_match"],
            "result": [
                {"type": "accessibility_tree"},
                {"type": "vm_window_title"},
                {"type": "window_titles"},
                {"type": "vm_screen_size"},
            ],
            "expected": [
                {"type": "rule", "rules": {"include": [{"role": "label", "text": "84"}]}},
                {"type": "rule", "rules": {"expected": "galculator"}},
                {"type": "rule", "rules": ["galculator"]},
                {"type": "rule", "rules": {"expected": {"width": 1280, "height": 800}}},
            ],
            "options": [{}, {}, {"type": "list"}, {}],
        }
    )
    res = evaluate_task(sb, task)
    assert res.score == 1.0 and len(res.parts) == 4


def test_conj_and_or(sb: FakeSandbox) -> None:
    sb.outputs["echo a"] = ("a\n", "", 0)
    yes = {"type": "rule", "rules": {"include": ["a"]}}
    no = {"type": "rule", "rules": {"include": ["zzz"]}}
    res = {"type": "vm_command_line", "command": "echo a"}
    both = {"func": ["check_include_exclude", "check_include_exclude"], "result": [res, res]}
    assert evaluate_task(sb, ev({**both, "expected": [yes, no], "conj": "and"})).score == 0.0
    assert evaluate_task(sb, ev({**both, "expected": [yes, yes], "conj": "and"})).score == 1.0
    assert evaluate_task(sb, ev({**both, "expected": [no, yes], "conj": "or"})).score == 1.0
    r = evaluate_task(sb, ev({**both, "expected": [yes, no], "conj": "or"}))
    assert r.score == 1.0 and len(r.parts) == 1  # short-circuits at the first 1
    assert evaluate_task(sb, ev({**both, "expected": [no, no], "conj": "or"})).score == 0.0


def test_postconfig_runs_before_getters(sb: FakeSandbox) -> None:
    task = ev({**BASE["evaluator"], "postconfig": [{"type": "execute", "parameters": {"command": "sync"}}]})
    evaluate_task(sb, task)
    kinds = [c for c in sb.calls if c[0] == "run"]
    assert kinds == [("run", "sync"), ("run", "cat ~/a")]


def test_infeasible_and_last_action_fail(sb: FakeSandbox) -> None:
    inf = ev({"func": "infeasible"})
    assert evaluate_task(sb, inf, last_action=Fail()).score == 1.0
    assert evaluate_task(sb, inf, last_action="FAIL").score == 1.0
    assert evaluate_task(sb, inf, last_action=Done()).score == 0.0
    assert evaluate_task(sb, inf).score == 0.0
    sb.outputs["cat ~/a"] = ("yes\n", "", 0)
    normal = ev(BASE["evaluator"])
    assert evaluate_task(sb, normal, last_action=Done()).score == 1.0
    assert evaluate_task(sb, normal, last_action=Fail()).score == 0.0


def test_unknown_metric_and_getter_at_evaluate(sb: FakeSandbox) -> None:
    with pytest.raises(UnsupportedTaskTypeError, match="'check_mp3_meta'"):
        evaluate_task(sb, ev({**BASE["evaluator"], "func": "check_mp3_meta"}))
    with pytest.raises(UnsupportedTaskTypeError, match="'chrome_history'"):
        evaluate_task(sb, ev({**BASE["evaluator"], "result": {"type": "chrome_history"}}))


def test_cloud_file_http_offline(sb: FakeSandbox) -> None:
    task = ev(
        {
            "func": "compare_text_file",
            "result": {"type": "vm_file", "path": "~/a"},
            "expected": {"type": "cloud_file", "path": "https://x.org/gold.txt", "dest": "gold.txt"},
        }
    )
    (sb.home / "a").write_text("x")
    with pytest.raises(OfflineError, match="offline"):
        evaluate_task(sb, task)


# ---------------------------------------------------------------- envs


def test_desktop_env_with_fake(tmp_path: Path) -> None:
    made: list[FakeSandbox] = []

    def factory(**kw: Any) -> FakeSandbox:
        made.append(FakeSandbox(tmp_path / f"s{len(made)}", **kw))
        return made[-1]

    env = DesktopEnv(sandbox_factory=factory, width=800, height=600)
    task = parse_task({**BASE, "related_apps": ["mousepad", "os"], "proxy": True})
    obs = env.reset(task)
    assert made[0].started and made[0].network is True and (obs.width, obs.height) == (800, 600)
    assert ("launch_app", ("mousepad", [])) in made[0].calls  # related app launched: config starts nothing
    obs = env.step(TypeText("hi"))
    assert "settle" in obs.timings and ("execute", TypeText("hi")) in made[0].calls
    env.step(Fail())
    assert ("execute", Fail()) not in made[0].calls
    assert env.evaluate(task) == 0.0  # last action FAIL
    env.reset(parse_task({**BASE, "config": [{"type": "launch_app", "parameters": {"name": "xterm"}}]}))
    assert made[0].closed and made[1].network is False
    assert [c for c in made[1].calls if c[0] == "launch_app"] == [("launch_app", ("xterm", []))]
    env.close()
    env.close()
    assert made[1].closed


def test_replay_env_list_and_dir(tmp_path: Path) -> None:
    import struct
    import zlib

    def png(w: int, h: int) -> bytes:
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        chunk = b"IHDR" + ihdr
        return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))

    (tmp_path / "000.png").write_bytes(png(640, 480))
    (tmp_path / "001.png").write_bytes(png(640, 480))
    (tmp_path / "001.a11y.tsv").write_text(linearize([A11yNode(3, "label", "n", "t x", 1, 2, 3, 4)]))
    (tmp_path / "score.txt").write_text("0.5\n")
    obs, score = load_recording(tmp_path)
    assert score == 0.5 and obs[1].a11y_nodes == [A11yNode(3, "label", "n", "t x", 1, 2, 3, 4)]
    env = ReplayEnv(tmp_path)
    task = parse_task(BASE)
    assert env.reset(task).width == 640 and env.reset(task).a11y_nodes == []
    assert env.step(Done()).a11y_nodes and env.step(Done()).a11y_nodes  # last one repeats
    assert env.evaluate(task) == 0.5 and len(env.actions) == 2
    assert ReplayEnv([obs[0]], score=1.0).evaluate(task) == 1.0
    copy = save_recording(tmp_path / "copy", obs, 0.25)
    again, score2 = load_recording(copy)
    assert score2 == 0.25 and [o.a11y_nodes for o in again] == [o.a11y_nodes for o in obs]
    with pytest.raises(SandboxError, match="no recorded screenshots"):
        ReplayEnv(tmp_path / "empty-dir-that-does-not-exist")


def test_open_unknown_extension_without_xdg_open(sb: FakeSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import envs.task_setup

    monkeypatch.setattr(envs.task_setup.shutil, "which", lambda name: None)
    steps = parse_task({**BASE, "config": [{"type": "open", "parameters": {"path": "~/a.blend"}}]}).config
    with pytest.raises(UnsupportedTaskTypeError, match=r"\.blend.*xdg-open"):
        run_setup(sb, steps)


# ---------------------------------------------------------------- CLI and bundled files


def test_cli_register_and_validate(tmp_path: Path) -> None:
    from studio.commands import task as task_cmd

    app = typer.Typer()
    task_cmd.register(app)

    @app.callback()
    def _root() -> None:  # make "task" a sub-command, not the root
        pass

    runner = CliRunner()
    good = write(tmp_path, BASE, "good.json")
    r = runner.invoke(app, ["task", "validate", str(good)])
    assert r.exit_code == 0, r.output
    bad = write(tmp_path, {**BASE, "config": [{"type": "vlc_playing"}]}, "bad.json")
    r = runner.invoke(app, ["task", "validate", str(bad)])
    assert r.exit_code == 1 and "vlc_playing" in r.output
    r = runner.invoke(app, ["task", "run", str(tmp_path / "nope.json")])
    assert r.exit_code == 2 and "cannot read" in r.output


def test_bundled_tasks_load_and_are_supported() -> None:
    tasks = load_tasks(BUNDLED_TASKS_DIR)
    assert len(tasks) >= 14
    assert len({t.id for t in tasks}) == len(tasks)
    for t in tasks:
        check_supported(t)
        assert t.path is not None and t.path.stem == t.id
        assert t.path.with_name(f"{t.id}.actions").exists(), f"{t.id} has no solution file"


def test_cli_run_with_fake_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import envs.desktop
    from studio.commands import task as task_cmd

    made: list[FakeSandbox] = []

    def factory(**kw: Any) -> FakeSandbox:
        made.append(FakeSandbox(tmp_path / f"s{len(made)}", **kw))
        made[-1].outputs["cat ~/a"] = ("yes\n", "", 0)
        return made[-1]

    monkeypatch.setattr(envs.desktop, "_default_sandbox_factory", factory)
    app = typer.Typer()
    task_cmd.register(app)
    app.callback()(lambda: None)
    runner = CliRunner()
    task_file = write(tmp_path, BASE, "t1.json")
    actions = tmp_path / "sol.actions"
    actions.write_text("# comment\n\npyautogui.typewrite('hi')\npyautogui.hotkey('ctrl', 's'); time.sleep(0)\nDONE\n")
    r = runner.invoke(app, ["task", "run", str(task_file), "--actions", str(actions), "--width", "800"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["task_id"] == "t1" and out["score"] == 1.0 and out["steps"] == 3 and out["error"] is None
    assert made[0].width == 800 and made[0].closed
    assert [c[1].kind for c in made[0].calls if c[0] == "execute"] == ["type", "hotkey", "wait"]

    actions.write_text("pyautogui.press('enter')\nos.system('rm -rf ~')\n")
    r = runner.invoke(app, ["task", "run", str(task_file), "--actions", str(actions)])
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and out["score"] == 0.0 and out["steps"] == 0 and "line 2" in out["error"]

    r = runner.invoke(app, ["task", "run", str(task_file)])  # no actions: the no-op score
    assert r.exit_code == 0 and json.loads(r.stdout)["steps"] == 0

    r = runner.invoke(app, ["task", "run", str(task_file), "--actions", str(tmp_path / "missing")])
    assert r.exit_code == 2
