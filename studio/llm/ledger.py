"""The cost ledger: one record per model call (cache hits and errors included).

``LedgerSink`` is the small interface the client writes to. ``JsonlLedger`` appends JSON lines to a file
(``<workspace>/ledger.jsonl``) under a thread lock plus an ``flock`` so several processes can share it. That file
is the workspace's one ledger: ``studio costs``, the GUI (:class:`LedgerTail`, live) and the export's dataset
card read it; nothing copies it into a table.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from studio.records import LedgerEntry

LEDGER_NAME = "ledger.jsonl"


#: One model call: the ledger row is the one record type :class:`studio.records.LedgerEntry`.
LedgerRecord = LedgerEntry


def record_from_dict(data: dict[str, Any]) -> LedgerEntry:
    """A ledger record from a JSON line's object (unknown keys ignored, a null error read as none)."""
    return LedgerEntry.model_validate({k: v for k, v in data.items() if k in LedgerEntry.model_fields})


@runtime_checkable
class LedgerSink(Protocol):
    """Where ledger records go. Implementations must be safe to call from several threads."""

    def append(self, record: LedgerRecord) -> None: ...


class NullLedger:
    """Discards records."""

    def append(self, record: LedgerRecord) -> None:
        return None


class MemoryLedger:
    """Keeps records in a list (tests, benchmarks)."""

    def __init__(self) -> None:
        self.records: list[LedgerRecord] = []
        self._lock = threading.Lock()

    def append(self, record: LedgerRecord) -> None:
        with self._lock:
            self.records.append(record)


class JsonlLedger:
    """Appends records as JSON lines to ``path``; safe across threads and processes.

    Each record is one ``write`` of one line on an ``O_APPEND`` descriptor while holding an exclusive
    ``flock``; lines are flushed but not fsynced (a crash may lose the last records,
    never corrupt older ones).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: LedgerRecord) -> None:
        line = (record.model_dump_json() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line)
            finally:
                os.close(fd)  # closing releases the flock

    def __iter__(self) -> Iterator[LedgerRecord]:
        return iter(read_ledger(self.path))


def read_ledger(path: Path | str) -> list[LedgerRecord]:
    """Read all records of a JSONL ledger; a missing file is an empty ledger, a torn last line is skipped."""
    return LedgerTail(path).read_new()


class LedgerTail:
    """Reads a JSONL ledger as it grows: each :meth:`read_new` returns only the records appended since the last
    call (complete lines only, so a line being written is read next time). Readers of a live run (the GUI's
    costs) see every call the moment its line lands, without copying the ledger anywhere.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.offset = 0

    def read_new(self) -> list[LedgerRecord]:
        """Records appended since the last call (starting over if the file was replaced by a shorter one)."""
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:
                    self.offset = 0
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            self.offset = 0
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        out: list[LedgerRecord] = []
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if isinstance(obj, dict):
                    out.append(record_from_dict(obj))
            except (ValueError, TypeError):
                continue  # a torn line from a killed writer
        return out


@dataclass
class LedgerTotals:
    """Totals for one (stage, model) group or for everything."""

    calls: int = 0
    cache_hits: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency_s: float = 0.0

    def add(self, r: LedgerRecord) -> None:
        self.calls += 1
        self.cache_hits += int(r.cache_hit)
        self.errors += int(bool(r.error))
        self.prompt_tokens += r.prompt_tokens
        self.completion_tokens += r.completion_tokens
        self.cost += r.cost
        self.latency_s += r.latency_s


@dataclass
class LedgerSummary:
    by_stage_model: dict[tuple[str, str], LedgerTotals]
    total: LedgerTotals


def summarize(records: Iterable[LedgerRecord]) -> LedgerSummary:
    """Group records by (stage, model) and sum calls, cache hits, errors, tokens, cost and latency."""
    groups: dict[tuple[str, str], LedgerTotals] = {}
    total = LedgerTotals()
    for r in records:
        groups.setdefault((r.stage or "-", r.model), LedgerTotals()).add(r)
        total.add(r)
    return LedgerSummary(dict(sorted(groups.items())), total)
