"""The one shell-command splitter: a command line read with :mod:`shlex` into its simple commands, never run.

Task files name commands as shell strings (``"mkdir -p ~/a && echo hi > ~/a/b"``); the setup looks up their
programs before it runs them (:func:`envs.task_setup.missing_program`) and the sense checks of model-written
tasks read what they print and where (``studio.pipeline.stages.check_lint``). Both read a line through
:func:`parse_commands`:

- operators (``;``, ``&&``, ``||``, ``|``, ``&``, ``(``, ``)``, line breaks) separate commands; quoting is
  respected, so ``echo "a;b"`` is one command;
- redirections are not words: ``> file`` / ``>> file`` targets are the files the command writes (``2>&1`` and
  file-descriptor numbers are dropped);
- :attr:`SimpleCommand.program` skips assignments (``X=1``), wrappers (``sudo``, ``timeout 5``, ``env``, ...)
  and reserved words (``then``, ``do``, ``!``, ``{``); ``command -v x`` only looks ``x`` up and runs nothing.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath

__all__ = ["PRINTERS", "SHELL_BUILTINS", "SimpleCommand", "parse_commands"]

#: Commands the shell runs itself (bash's builtins): no program to look up.
SHELL_BUILTINS = frozenset(
    ". : [ alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo "
    "enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd "
    "printf pushd pwd read readarray readonly return set shift shopt source suspend test times trap true type "
    "typeset ulimit umask unalias unset wait".split()
)
#: Programs whose output is their arguments.
PRINTERS = frozenset({"echo", "printf"})
#: Words that run the program after them (their options, and a number such as ``timeout 5``'s, skipped).
WRAPPERS = frozenset({"sudo", "nohup", "env", "exec", "timeout", "setsid", "command", "nice", "stdbuf"})
#: Wrapper options that take the next word as their value (``exec -a NAME``, ``sudo -u USER``).
WRAPPER_OPTION_ARGS = {
    "exec": frozenset({"-a"}),
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
}
#: Reserved words that come before a command (``if x; then y; fi``: the programs are ``x`` and ``y``).
RESERVED_PREFIXES = frozenset({"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until"})
#: Compound commands whose words are not a program (``for i in a b``, ``case $x in``).
COMPOUND = frozenset({"for", "case", "select", "function", "esac", "in", "[[", "]]"})

_OPERATOR_CHARS = frozenset("();<>|&")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_FD_REDIRECT = re.compile(r"(?<![\w$])\d+(?=[<>])")


@dataclass
class SimpleCommand:
    """One command of a shell command line: its words (redirections removed) and the files it writes."""

    words: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)

    def _start(self) -> int:
        """Index of the program word (``len(words)`` when there is none)."""
        i = 0
        while i < len(self.words):
            word = self.words[i]
            if word in COMPOUND:
                return len(self.words)
            if _ASSIGNMENT.match(word) or word in RESERVED_PREFIXES:
                i += 1
            elif word in WRAPPERS:
                if word == "command" and any(w in ("-v", "-V") for w in self.words[i + 1 : i + 2]):
                    return len(self.words)  # `command -v x` looks x up; it runs nothing
                takes = WRAPPER_OPTION_ARGS.get(word, frozenset())
                i += 1
                while i < len(self.words) and (self.words[i].startswith("-") or self.words[i][:1].isdigit()):
                    i += 2 if self.words[i] in takes else 1
            else:
                return i
        return i

    @property
    def program_word(self) -> str:
        """The program as written (``/usr/bin/xterm``, ``./run.sh``); "" when the command runs no program."""
        i = self._start()
        return self.words[i] if i < len(self.words) else ""

    @property
    def program(self) -> str:
        """The program run, by base name ("" for a command of assignments only)."""
        word = self.program_word
        return PurePosixPath(word).name if word else ""

    def printed(self) -> str:
        """What an ``echo`` / ``printf`` prints (escapes ``\\n`` / ``\\t`` decoded); "" for other programs."""
        if self.program not in PRINTERS:
            return ""
        args = self.words[self._start() + 1 :]
        if self.program == "echo":
            while args and re.fullmatch(r"-[neE]+", args[0]):
                args = args[1:]
        return " ".join(args).replace("\\n", "\n").replace("\\t", "\t")


def parse_commands(line: str) -> list[SimpleCommand]:
    """The simple commands of a shell command line ([] when it does not split, e.g. an open quote)."""
    line = _FD_REDIRECT.sub("", line.replace("\n", ";"))  # "2>/dev/null": the 2 is not an argument
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    try:
        tokens = list(lex)
    except ValueError:
        return []
    out: list[SimpleCommand] = []
    current = SimpleCommand()
    redirect = ""
    for token in tokens:
        if token and set(token) <= _OPERATOR_CHARS:
            if ">" in token or "<" in token:
                redirect = token
                continue
            if current.words:
                out.append(current)
            current, redirect = SimpleCommand(), ""
            continue
        if redirect:
            if ">" in redirect and "&" not in redirect:
                current.writes.append(token)
            redirect = ""
            continue
        current.words.append(token)
    if current.words:
        out.append(current)
    return out
