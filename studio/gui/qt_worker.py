"""THE one worker helper of the GUI: run callables off the UI thread, deliver results and errors back to it.

Everything slow (disk, LanceDB, models, X, sandboxes) goes through :class:`WorkerPool.submit`. The callable runs
on a ``QThreadPool`` thread; ``on_result`` / ``on_error`` / ``on_progress`` run on the UI thread (queued signal
connections). An error without its own handler goes to the pool's ``error`` signal, which the main window shows
in its one notification bar, so a failing worker never takes the app down.

Two pools: short jobs (queries, page fetches) and long-running ones (a rollout, a frame poller, which would
otherwise starve the short pool on a 2-core machine).

Example::

    pool.submit(data.counts, on_result=self._on_counts)
    pool.submit(poll_frames, stop, on_progress=self._on_frame, long=True)   # fn(..., progress=emit)
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class WorkerHandle:
    """What :meth:`WorkerPool.submit` returns: lets the caller ask whether the job is still running."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.done = False
        self.failed = False


class _Hub(QObject):
    """Lives on the UI thread, one per pool. Workers emit its signals with their job id; because they are
    connected to the hub's own slots, every emit from a worker thread is queued to the UI thread."""

    result = Signal(int, object)
    error = Signal(int, object)  # the exception
    progress = Signal(int, object)
    finished = Signal(int)


@dataclass
class _Job:
    """Everything a job references. Held by the pool on the UI thread until the job's ``finished`` arrives
    there, so the last reference to a callable (a bound method of a widget, a closure over a model) is never
    dropped on a worker thread: PySide6 defers such a deletion to the UI thread and runs it from inside
    whatever Python code happens to run next, which crashed the GUI (a segfault in
    ``Shiboken::BindingManager::runDeletionInMainThread`` while a view called ``canFetchMore``)."""

    handle: WorkerHandle
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    on_result: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None] | None
    on_progress: Callable[[Any], None] | None
    on_finished: Callable[[], None] | None


class _Runnable(QRunnable):
    """Runs one job on a worker thread. It borrows the job's references and lets go of them before it reports
    ``finished``, so the UI thread's copy is always the last one."""

    def __init__(self, job_id: int, job: _Job, hub: _Hub) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._id = job_id
        self._hub = hub
        self._fn: Callable[..., Any] | None = job.fn
        self._args: tuple[Any, ...] = job.args
        self._kwargs: dict[str, Any] = job.kwargs

    def run(self) -> None:  # worker thread
        fn, args, kwargs = self._fn, self._args, self._kwargs
        self._fn, self._args, self._kwargs = None, (), {}
        assert fn is not None
        ok, value = _call(fn, args, kwargs)
        del fn, args, kwargs  # borrowed: the pool's job still holds them
        if ok:
            self._hub.result.emit(self._id, value)
        else:
            self._hub.error.emit(self._id, value)
        del value
        self._hub.finished.emit(self._id)


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[bool, Any]:
    try:
        return True, fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the UI thread
        exc.__gui_traceback__ = traceback.format_exc()  # type: ignore[attr-defined]
        exc.__traceback__ = None  # its frames hold the job's locals (widgets); the text above is kept
        return False, exc


class WorkerPool(QObject):
    """Runs callables on thread pools; results/errors/progress arrive on the UI thread.

    Signals:
        error(str, str): (short message, details) of every error that had no ``on_error`` handler.
        busy_changed(int): number of jobs in flight, for a busy indicator.
    """

    error = Signal(str, str)
    busy_changed = Signal(int)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4, max_long: int = 8) -> None:
        super().__init__(parent)
        self._short = QThreadPool(self)
        self._short.setMaxThreadCount(max_threads)
        self._long = QThreadPool(self)
        self._long.setMaxThreadCount(max_long)
        self._hub = _Hub(self)
        self._hub.result.connect(self._on_result)
        self._hub.error.connect(self._on_job_error)
        self._hub.progress.connect(self._on_progress)
        self._hub.finished.connect(self._on_finished)
        self._jobs: dict[int, _Job] = {}
        self._next_id = 0

    @property
    def in_flight(self) -> int:
        return len(self._jobs)

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        long: bool = False,
        name: str = "",
        **kwargs: Any,
    ) -> WorkerHandle:
        """Run ``fn(*args, **kwargs)`` on a worker thread.

        Args:
            on_result: called on the UI thread with the return value.
            on_error: called on the UI thread with the exception; without it the error goes to ``error``.
            on_progress: when given, ``fn`` gets a ``progress`` keyword: a thread-safe callable whose argument
                arrives here on the UI thread.
            on_finished: called on the UI thread after result or error.
            long: run on the pool for long-running jobs (rollouts, pollers).
            name: what the job does, used in error messages ("loading trajectories").

        The return value must be plain data (not a QObject): it crosses to the UI thread.
        """
        handle = WorkerHandle(name or getattr(fn, "__name__", "background job"))
        self._next_id += 1
        job_id = self._next_id
        if on_progress is not None:
            kwargs["progress"] = partial(self._hub.progress.emit, job_id)
        job = _Job(handle, fn, args, kwargs, on_result, on_error, on_progress, on_finished)
        self._jobs[job_id] = job
        (self._long if long else self._short).start(_Runnable(job_id, job, self._hub))
        self.busy_changed.emit(len(self._jobs))
        return handle

    # ---------------------------------------------------------------- UI thread: a job's signals

    @Slot(int, object)
    def _on_result(self, job_id: int, value: Any) -> None:
        job = self._jobs.get(job_id)
        if job is not None and job.on_result is not None:
            job.on_result(value)

    @Slot(int, object)
    def _on_job_error(self, job_id: int, exc: BaseException) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            self._on_error(job.handle, exc, job.on_error)

    @Slot(int, object)
    def _on_progress(self, job_id: int, value: Any) -> None:
        job = self._jobs.get(job_id)
        if job is not None and job.on_progress is not None:
            job.on_progress(value)

    @Slot(int)
    def _on_finished(self, job_id: int) -> None:
        job = self._jobs.pop(job_id, None)  # the job's last references go here, on the UI thread
        if job is None:
            return
        job.handle.done = True
        self.busy_changed.emit(len(self._jobs))
        if job.on_finished is not None:
            job.on_finished()

    def _on_error(
        self, handle: WorkerHandle, exc: BaseException, on_error: Callable[[BaseException], None] | None
    ) -> None:
        handle.failed = True
        if on_error is not None:
            try:
                on_error(exc)
                return
            except Exception as inner:  # noqa: BLE001 - a failing handler is reported like the job
                exc = inner
        self.report(exc, context=handle.name)

    def report(self, exc: BaseException, *, context: str = "") -> None:
        """Send an exception to the notification bar (also usable for errors raised on the UI thread)."""
        from studio.errors import StudioError

        what = f"{context} failed" if context else "A background job failed"
        if isinstance(exc, StudioError):
            message = f"{what}: {exc}"
        else:
            message = f"{what}: {type(exc).__name__}: {exc}"
        details = getattr(exc, "__gui_traceback__", "") or "".join(traceback.format_exception(exc))
        self.error.emit(message, details)

    def wait(self, msecs: int = 5000) -> bool:
        """Wait for both pools to drain (shutdown and tests)."""
        ok_short = self._short.waitForDone(msecs)
        ok_long = self._long.waitForDone(msecs)
        return bool(ok_short and ok_long)
