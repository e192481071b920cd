"""``studio.commands.plain``: model- and task-file-written text for the terminal (escape tests with the real
commands: tests/security/test_markup.py)."""

from __future__ import annotations

import io

from rich.console import Console

from studio.commands.plain import plain, terminal_safe


def test_terminal_safe_replaces_control_characters_only() -> None:
    assert terminal_safe("a\x1b[31mb\x07c\x9bd\x7fe\rf") == "a?[31mb?c?d?e?f"  # C0, C1 (CSI), DEL, CR
    assert terminal_safe("line 1\n\tline 2") == "line 1\n\tline 2"
    assert terminal_safe("café\u00a0x 👩\u200d💻 [b]") == "café\u00a0x 👩\u200d💻 [b]"  # NBSP, ZWJ, brackets kept
    assert terminal_safe(42) == "42"


def test_plain_is_never_parsed_as_markup() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system="standard")
    console.print(plain("[link=file:///etc/passwd]x[/link] [/] :smile:", style="yellow"))
    text = out.getvalue()
    assert "[link=file:///etc/passwd]x[/link] [/] :smile:" in text
    assert "\x1b]8;" not in text  # no hyperlink escape
    assert "\x1b[33m" in text  # our style still applies
