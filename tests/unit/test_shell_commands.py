"""The one shell splitter (:mod:`envs.shell`) and what its two callers read through it: the setup's program
lookup (``envs.task_setup.missing_program``) and the sense checks (``check_lint``)."""

from __future__ import annotations

from envs.shell import parse_commands
from envs.task_setup import missing_program
from studio.pipeline.stages import check_lint


def programs(line: str) -> list[str]:
    return [c.program for c in parse_commands(line)]


def test_operators_split_commands_but_quotes_do_not() -> None:
    assert programs("mkdir -p ~/a && echo 'a;b|c' > ~/a/x || true; ls | sort &") == [
        "mkdir",
        "echo",
        "true",
        "ls",
        "sort",
    ]
    (echo,) = parse_commands('echo "x && y" >> ~/f')
    assert echo.words == ["echo", "x && y"] and echo.writes == ["~/f"]


def test_program_skips_assignments_wrappers_and_reserved_words() -> None:
    assert programs("X=1 Y=2 env Z=3 nice -n 5 timeout 5 python3 -c pass") == ["python3"]
    assert programs("if test -f ~/a; then cat ~/a; else touch ~/a; fi") == ["test", "cat", "touch", ""]
    assert programs("for f in a b; do gzip $f; done") == ["", "gzip", ""]
    assert programs("{ date; } && ! grep -q x ~/f") == ["date", "", "grep"]
    assert programs("command -v vlc || command ls") == ["", "ls"]  # -v looks vlc up and runs nothing
    assert programs("exec -a runaway-job sleep 9; sudo -u user -H xterm; timeout -s KILL 5 cat") == [
        "sleep",
        "xterm",
        "cat",
    ]


def test_unbalanced_quote_is_no_commands() -> None:
    assert parse_commands("echo 'open") == []


def test_setup_program_lookup_reads_every_command() -> None:
    assert missing_program("timeout 5 sleep 1", True) is None  # the 5 is timeout's, not a program
    assert missing_program("command -v no-such-tool-xyz || echo none", True) is None
    assert missing_program("true && (cd /tmp; no-such-tool-xyz)", True) == "no-such-tool-xyz"
    assert missing_program("echo 'no-such-tool-xyz; ls'", True) is None  # quoted: an argument of echo
    assert missing_program(["pkill -f no-such-app"], True) is None  # a one-string list runs as one shell line
    assert missing_program("cd ~ && false; exit 7", True) is None  # builtins: nothing to look up


def test_sense_checks_use_the_same_splitter() -> None:
    assert check_lint.parse_commands is parse_commands
    (cmd,) = check_lint.parse_commands("sudo timeout 5 /usr/bin/galculator &")
    assert cmd.program == "galculator" and cmd.program_word == "/usr/bin/galculator"
