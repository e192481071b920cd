"""Stage progress of a running pipeline, written to the workspace so other processes (the GUI's Overview) can
follow it: ``run-progress.json``, replaced atomically as stages start, advance and finish.

:class:`ProgressFile` is a :class:`studio.pipeline.run.RunObserver`-shaped observer (``stage_started``,
``advanced``, ``stage_finished``, ``event``); :class:`TeeObserver` passes every call to several observers (the
CLI's rich display and the file). Writes are throttled to :data:`MIN_INTERVAL_S` except when a stage starts or
finishes, so a fast stage costs a few small writes a second. :func:`read_progress` is the reader's side; a
missing or half-written file reads as None.

The file::

    {"pid": 1234, "started": 1764670000.0, "updated": 1764670042.5, "finished": null,
     "stages": [{"stage": "rollouts", "total": 4, "done": 2, "state": "running", "detail": "done after 6 steps",
                 "started": ..., "finished": null, "new": 0, "kept": 0, "failed": 0}]}
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROGRESS_NAME = "run-progress.json"
MIN_INTERVAL_S = 0.5


@dataclass
class StageProgress:
    """One stage of a run: items done of total, running or finished, the latest detail."""

    stage: str
    total: int = 0
    done: int = 0
    state: str = "running"  # running | finished
    detail: str = ""
    started: float = 0.0
    finished: float | None = None
    new: int = 0  # from the stage's summary when it finished
    kept: int = 0
    failed: int = 0

    @property
    def fraction(self) -> float:
        """0..1 (a finished stage is 1 even when its total was unknown)."""
        if self.state == "finished":
            return 1.0
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0


@dataclass
class RunProgress:
    """A pipeline run as the progress file describes it."""

    pid: int = 0
    started: float = 0.0
    updated: float = 0.0
    finished: float | None = None
    stages: list[StageProgress] = field(default_factory=list)

    @property
    def running(self) -> bool:
        """Not finished and its process is still alive (a killed run leaves an unfinished file behind)."""
        return self.finished is None and _alive(self.pid)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProgressFile:
    """Writes a run's stage progress to ``<workspace>/run-progress.json`` (see the module docstring)."""

    def __init__(self, workspace: Path | str) -> None:
        self.path = Path(workspace) / PROGRESS_NAME
        self.run = RunProgress(pid=os.getpid(), started=time.time())
        self._lock = threading.Lock()
        self._last = 0.0
        self._write(force=True)

    def _stage(self, stage: str) -> StageProgress:
        for s in self.run.stages:
            if s.stage == stage:
                return s
        s = StageProgress(stage, started=time.time())
        self.run.stages.append(s)
        return s

    def _write(self, *, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last < MIN_INTERVAL_S:
            return
        self._last = now
        self.run.updated = now
        data = asdict(self.run)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):  # progress is advisory: a full disk must not stop the pipeline
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self.path)

    def stage_started(self, stage: str, total: int) -> None:
        with self._lock:
            s = self._stage(stage)
            s.total, s.done, s.state, s.started, s.finished = max(total, 0), 0, "running", time.time(), None
            self._write(force=True)

    def advanced(self, stage: str, n: int = 1, *, detail: str = "") -> None:
        with self._lock:
            s = self._stage(stage)
            s.done += n
            if detail:
                s.detail = detail[:120]
            self._write()

    def stage_finished(self, summary: Any) -> None:
        with self._lock:
            s = self._stage(str(summary.stage))
            s.state, s.finished = "finished", time.time()
            s.new, s.kept, s.failed = int(summary.done), int(summary.skipped), int(summary.failed)
            self._write(force=True)

    def event(self, event: Any) -> None:
        """Rollout events carry nothing the file keeps (the steps are in the workspace)."""

    def flush(self) -> None:
        """Write the current state now (advances are otherwise written at most every :data:`MIN_INTERVAL_S`)."""
        with self._lock:
            self._write(force=True)

    def close(self) -> None:
        """The run ended (finished, stopped or failed)."""
        with self._lock:
            self.run.finished = time.time()
            self._write(force=True)


class TeeObserver:
    """Passes every observer call to each of ``observers`` in order."""

    def __init__(self, *observers: Any) -> None:
        self.observers = observers

    def stage_started(self, stage: str, total: int) -> None:
        for o in self.observers:
            o.stage_started(stage, total)

    def advanced(self, stage: str, n: int = 1, *, detail: str = "") -> None:
        for o in self.observers:
            o.advanced(stage, n, detail=detail)

    def stage_finished(self, summary: Any) -> None:
        for o in self.observers:
            o.stage_finished(summary)

    def event(self, event: Any) -> None:
        for o in self.observers:
            o.event(event)


def read_progress(workspace: Path | str) -> RunProgress | None:
    """The latest run's progress in ``workspace`` (None: no run has written one, or it is unreadable)."""
    path = Path(workspace) / PROGRESS_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stages = [StageProgress(**s) for s in data.pop("stages", [])]
        return RunProgress(**data, stages=stages)
    except (OSError, ValueError, TypeError):
        return None
