"""Text that may come from a model or a task file, made safe to print on the user's terminal.

Instructions, check reasons, rationales, queries, notes and ids can be written by a hostile model or a stranger's
task file. Printed through rich as ``str`` they would be parsed as console markup (``[link=file:///...]``,
``[bold red]``; a stray ``[/]`` raises ``MarkupError``), and an ANSI/OSC escape would reach the terminal (window
title, clipboard). Every command prints such text through :func:`plain` (rich) or :func:`terminal_safe`
(``typer.echo``): shown verbatim, control characters as ``?``.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["plain", "terminal_safe"]

_KEEP = frozenset("\n\t")


def terminal_safe(text: object) -> str:
    """``str(text)`` with every control character (Unicode category Cc: C0, DEL, C1; what starts an ANSI or OSC
    escape) but newline and tab shown as ``?``; every other character, spaces and joiners included, kept."""
    return "".join("?" if unicodedata.category(c) == "Cc" and c not in _KEEP else c for c in str(text))


def plain(text: object, style: str = "") -> Text:
    """``text`` as a rich :class:`~rich.text.Text`: never parsed as markup, control characters shown as ``?``.

    Args:
        text: What to show (``str()`` is taken of anything else).
        style: A rich style for the whole text (ours, e.g. ``"yellow"``), never taken from ``text``.
    """
    from rich.text import Text

    return Text(terminal_safe(text), style=style)
