"""`studio task validate` problems, the offline mirror, OSWorld getter shapes and relative-time rules."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from envs.mirror import Mirror
from envs.relative_time import absolute_day, fill_relative_rules, format_day
from envs.task_check import task_problems, task_urls
from envs.task_setup import SetupContext, missing_program, resolve_local_source
from envs.tasks import parse_task
from studio.errors import OfflineError, TaskError

EVAL = {"func": "exact_match", "result": {"type": "vm_command_line", "command": "echo"}, "expected": None}


def task(**kw: Any) -> Any:
    return parse_task({"id": "t", "instruction": "do", "evaluator": EVAL, **kw})


def test_every_problem_listed_and_steps_numbered_separately(tmp_path: Path) -> None:
    t = task(
        config=[
            {"type": "sleep", "parameters": {"seconds": 0}},
            {"type": "googledrive", "parameters": {}},
            {"type": "launch", "parameters": {"command": ["no-such-program-xyz"]}},
            {"type": "execute", "parameters": {"command": ["python", "-c", "import pyautogui, os; os.system('x')"]}},
            {"type": "download", "parameters": {"files": [{"url": "https://example.com/a.xlsx", "path": "~/a"}]}},
        ],
        evaluator={
            "func": ["check_mp3_meta", "compare_table"],
            "result": [{"type": "vlc_config"}, {"type": "vm_file", "path": "~/a.xlsx", "dest": "a.xlsx"}],
            "expected": [None, {"type": "cloud_file", "path": "https://example.com/gold.xlsx", "dest": "g.xlsx"}],
            "options": [{}, {"rules": [{"type": "sparkline"}, {"type": "sheet_data"}]}],
            "postconfig": [{"type": "login", "parameters": {}}],
        },
    )
    problems = task_problems(t, mirror=Mirror(tmp_path))
    text = "\n".join(problems)
    assert "config step 1 has unsupported type 'googledrive'" in text
    assert "config step 2 (launch) runs 'no-such-program-xyz', which is not installed" in text
    assert "config step 3 (execute) runs a script that will be refused" in text
    assert "config step 4 downloads https://example.com/a.xlsx, which is not in the offline mirror" in text
    assert "postconfig step 0 has unsupported type 'login'" in text  # numbered from 0, not after config
    assert "metric 0 'check_mp3_meta' is not supported" in text
    assert "metric 1 'compare_table': compare_table rule type 'sparkline' is not supported" in text
    assert "evaluator.result[0]: getter type 'vlc_config' is not supported" in text
    assert "gold file https://example.com/gold.xlsx is not in the offline mirror" in text
    assert len(problems) == 9
    assert task_urls(t) == ["https://example.com/a.xlsx", "https://example.com/gold.xlsx"]
    Mirror(tmp_path).put("https://example.com/a.xlsx", _file(tmp_path / "a.xlsx", b"x"))
    assert not any("a.xlsx, which" in p for p in task_problems(t, mirror=Mirror(tmp_path)))


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_program_mapping_and_devtools_relay() -> None:
    assert missing_program(["google-chrome", "--remote-debugging-port=1337"], False) is None  # -> chromium
    assert missing_program(["python", "-c", "print(1)"], False) is None  # -> python3
    assert missing_program("export X=1\ngnome-terminal", True) == "gnome-terminal"  # every command of a script
    assert missing_program("export X=1", True) is None  # a shell builtin
    assert missing_program(["gimp", "a.png"], False) == "gimp"
    assert missing_program("vlc --x", True) == "vlc"
    t = task(config=[{"type": "launch", "parameters": {"command": ["socat", "tcp-listen:9222,fork", "tcp:x:1"]}}])
    assert task_problems(t) == []


def test_mirror_put_resolve_and_missing(tmp_path: Path) -> None:
    m = Mirror(tmp_path / "m")
    url = "https://drive.example.com/download?id=1&export=download"
    with pytest.raises(OfflineError, match="not in the offline mirror.*--put"):
        m.resolve(url)
    stored = m.put(url, _file(tmp_path / "src.bin", b"data"))
    assert m.resolve(url) == stored and stored.read_bytes() == b"data"
    assert stored.is_relative_to(m.root)
    assert url in (m.root / "urls.tsv").read_text()
    ctx = SetupContext(base_dir=tmp_path, mirror=m)
    assert resolve_local_source(url, ctx) == stored
    with pytest.raises(OfflineError):  # no network in tests: a refused connection is an OfflineError
        m.fetch("http://127.0.0.1:9/nothing", timeout=2)
    assert not m.has("http://127.0.0.1:9/nothing")


def test_cli_validate_prints_path_once_and_every_problem(tmp_path: Path) -> None:
    from studio.commands import task as task_cmd

    app = typer.Typer()
    task_cmd.register(app)

    @app.callback()
    def _root() -> None:
        pass

    data = {
        "id": "t",
        "instruction": "x",
        "config": [{"type": "googledrive"}, {"type": "login"}],
        "evaluator": {"func": "check_mp3_meta", "result": {"type": "vm_file", "path": "~/a"}},
    }
    f = tmp_path / "t.json"
    f.write_text(json.dumps(data))
    r = CliRunner().invoke(app, ["task", "validate", str(f), "--mirror", str(tmp_path / "m")])
    assert r.exit_code == 1
    assert r.output.count(str(f)) == 1
    assert "config step 0" in r.output and "config step 1" in r.output and "check_mp3_meta" in r.output
    r = CliRunner().invoke(app, ["task", "run", str(f), "--mirror", str(tmp_path / "m")])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["score"] == 0.0 and "cannot run here" in out["error"] and "googledrive" in out["error"]


def test_cli_mirror_put_and_offline_listing(tmp_path: Path) -> None:
    from studio.commands import task as task_cmd

    app = typer.Typer()
    task_cmd.register(app)

    @app.callback()
    def _root() -> None:
        pass

    url = "https://example.com/in.txt"
    data = {
        "id": "t",
        "instruction": "x",
        "config": [{"type": "download", "parameters": {"files": [{"url": url, "path": "~/in.txt"}]}}],
        "evaluator": EVAL,
    }
    f = tmp_path / "t.json"
    f.write_text(json.dumps(data))
    m = str(tmp_path / "m")
    r = CliRunner().invoke(app, ["task", "mirror", str(f), "--mirror", m, "--offline"])
    assert r.exit_code == 1 and f"missing {url}" in r.output
    r = CliRunner().invoke(app, ["task", "mirror", "--mirror", m, "--put", url, str(_file(tmp_path / "s", b"s"))])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["task", "mirror", str(f), "--mirror", m, "--offline"])
    assert r.exit_code == 0 and "missing" not in r.output


def test_relative_time_rules() -> None:
    today = date(2026, 12, 2)  # a Wednesday
    assert absolute_day("tomorrow", today) == date(2026, 12, 3)
    assert absolute_day("10th next month", today) == date(2027, 1, 10)
    assert absolute_day("next Monday", today) == date(2026, 12, 7)
    assert absolute_day("this Saturday", today) == date(2026, 12, 5)
    assert absolute_day("first monday four months later", today) == date(2027, 4, 5)
    assert format_day("{DoW}, {DayD} {Month} {Year} {MonthFull} {month} {Day0D}/{Month0D}", today) == (
        "Wed, 2 Dec 2026 December december 02/12"
    )
    rules = {"relativeTime": {"from": "tomorrow", "to": "next Friday"}, "expected": {"from": "{DayD}", "to": "{DayD}"}}
    filled = fill_relative_rules(rules, today)
    assert filled["expected"] == {"from": "3", "to": "4"} and rules["expected"]["from"] == "{DayD}"
    with pytest.raises(TaskError, match="not known"):
        absolute_day("someday", today)


def test_chrome_profile_paths_windows_and_pipelines() -> None:
    from envs.task_setup import WINDOW_ALIASES, _command, sandbox_path

    assert sandbox_path("~/.config/google-chrome/Default/Bookmarks") == "/home/user/.config/chromium/Default/Bookmarks"
    assert sandbox_path("/home/user/.config/google-chrome") == "/home/user/.config/chromium"
    cmd, shell = _command({"command": "cd /home/user/.config/google-chrome/Default && jq . Preferences", "shell": True})
    assert shell and cmd == "cd /home/user/.config/chromium/Default && jq . Preferences"
    assert WINDOW_ALIASES["Google Chrome"] == "Chromium"
    assert missing_program("echo password | sudo -S no-such-tool-xyz -y && ls", True) == "no-such-tool-xyz"
    assert missing_program("cd /tmp && ls | sort; true", True) is None
