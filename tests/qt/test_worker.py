"""The worker helper: results, errors and progress reach the UI thread, and a job's references die there.

The last test guards the fix for a segfault: a job's callable (a bound method of a widget, a closure over a
table model) used to be released on the worker thread when the runnable was deleted. PySide6 then deferred the
object's deletion to the UI thread and ran it from inside unrelated Python code (a view calling
``canFetchMore``), which crashed in ``Shiboken::BindingManager::runDeletionInMainThread``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest


def test_result_progress_and_finished_arrive_on_the_ui_thread(qtbot: Any, pool: Any) -> None:
    seen: dict[str, Any] = {"progress": [], "threads": set()}
    ui = threading.current_thread()

    def job(n: int, progress: Any) -> int:
        seen["worker"] = threading.current_thread()
        for i in range(n):
            progress(i)
        return n * 10

    def on_progress(v: int) -> None:
        seen["progress"].append(v)
        seen["threads"].add(threading.current_thread())

    def on_result(v: int) -> None:
        seen["result"] = v
        seen["threads"].add(threading.current_thread())

    handle = pool.submit(job, 3, on_result=on_result, on_progress=on_progress, name="counting")
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert seen["result"] == 30
    assert seen["progress"] == [0, 1, 2]
    assert seen["threads"] == {ui}
    assert seen["worker"] is not ui
    assert pool.in_flight == 0 and not handle.failed


def test_an_error_without_handler_goes_to_the_error_signal(qtbot: Any, pool: Any) -> None:
    def boom() -> None:
        raise ValueError("the table is gone")

    with qtbot.waitSignal(pool.error, timeout=5000) as blocker:
        handle = pool.submit(boom, name="loading rows")
    message, details = blocker.args
    assert message == "loading rows failed: ValueError: the table is gone"
    assert "raise ValueError" in details  # the worker's traceback text is kept
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert handle.failed


def test_an_error_handler_gets_the_exception(qtbot: Any, pool: Any) -> None:
    got: list[BaseException] = []

    def boom() -> None:
        raise KeyError("x")

    handle = pool.submit(boom, on_error=got.append)
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert len(got) == 1 and isinstance(got[0], KeyError)


class _Tracked:
    """Records the thread its last reference was dropped on."""

    deaths: list[threading.Thread] = []

    def __call__(self, *_: Any) -> str:
        time.sleep(0.001)
        return "ok"

    def __del__(self) -> None:
        _Tracked.deaths.append(threading.current_thread())


def _submit_tracked(pool: Any, fails: bool) -> Any:
    """Submit a job whose callable and callbacks hold the only references to two tracked objects."""
    fn = _Tracked()
    owner = _Tracked()  # stands for a widget that a callback closes over
    if fails:

        def failing(fn: Any = fn) -> None:
            fn()
            raise RuntimeError("no rows")

        return pool.submit(failing, on_error=lambda exc, o=owner: o(exc))
    return pool.submit(fn, on_result=lambda v, o=owner: o(v), on_finished=lambda o=owner: o())


@pytest.mark.parametrize("fails", [False, True])
def test_a_jobs_references_are_released_on_the_ui_thread(qtbot: Any, pool: Any, fails: bool) -> None:
    _Tracked.deaths.clear()
    ui = threading.current_thread()
    handles = []
    n = 60
    for _ in range(n):
        handles.append(_submit_tracked(pool, fails))
    qtbot.waitUntil(lambda: all(h.done for h in handles), timeout=10000)
    pool.wait(5000)
    qtbot.wait(50)
    assert len(_Tracked.deaths) == 2 * n
    assert all(t is ui for t in _Tracked.deaths), "a job's reference was dropped on a worker thread"


def test_emitting_a_signal_keeps_the_reference_count_of_true(qtbot: Any) -> None:
    """PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without a new reference: every emit from Python
    lowered ``True``'s count by one until the interpreter aborted (``bool_dealloc``) after some thousand signals,
    minutes into a live run. pyproject pins PySide6 below 6.12; this fails if an affected version comes back."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal(int)

    probe = Probe()
    probe.ping.connect(lambda _: None)
    before = sys.getrefcount(True)
    for i in range(500):
        probe.ping.emit(i)
    assert sys.getrefcount(True) - before > -250, "this PySide6 build loses a reference to True on every emit"
