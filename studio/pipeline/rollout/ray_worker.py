"""The Ray actor that owns one sandbox at a time on a worker node (the driver side is ``ray_executor``).

:class:`SandboxWorker` is a plain class; :class:`~studio.pipeline.rollout.ray_executor.RayExecutor` turns it into a
threaded Ray actor (several methods may run at once), so ``stop``, ``pause`` and ``frame`` answer while ``run``
streams an episode:

- ``run(job, attempt)`` is a generator: the episode runs on a thread of the actor and every event
  (:class:`EpisodeStart`, :class:`StepEvent` with its screenshot, :class:`EpisodeResult`) is yielded to the
  driver the moment it happens (a Ray streaming generator).
- ``stop()`` sets the episode's stop event and interrupts the action in flight (``Sandbox.stop``).
- ``frame()`` is the sandbox's current screen as JPEG, for the GUI's live tiles.

The policy is built here, in the actor, from the job's policy dict: in-process local models load on the worker
node; served models (``api_base``) are reached from it.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import socket
import threading
import traceback
from collections.abc import Iterator
from typing import Any

from studio.pipeline.agent.policies import PausablePolicy, Policy
from studio.pipeline.rollout.episode import (
    EnvFactory,
    EpisodeResult,
    EpisodeStart,
    Event,
    PolicyFactory,
    RolloutJob,
    run_job,
)

FRAME_JPEG_QUALITY = 80
_END = object()


class SandboxWorker:
    """One sandbox at a time: runs episodes, streams their events, answers stop / pause / frame requests."""

    def __init__(self, env_factory: EnvFactory, policy_factory: PolicyFactory) -> None:
        self._env_factory = env_factory
        self._policy_factory = policy_factory
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._env: Any = None
        self._local = threading.local()  # one mss handle per thread that grabs frames
        self.niceness = _normal_priority()

    def info(self) -> dict[str, Any]:
        """Where this actor runs (also the driver's "actor is up" check)."""
        import ray

        node_id = ray.get_runtime_context().get_node_id()
        return {"pid": os.getpid(), "host": socket.gethostname(), "node_id": node_id, "niceness": self.niceness}

    def run(self, job: RolloutJob, attempt: int = 0) -> Iterator[Event]:
        """Run ``job``'s episode; yield its events as they happen (the last one is its EpisodeResult)."""
        events: queue.Queue[Any] = queue.Queue()

        def emit(event: Event) -> None:
            if isinstance(event, EpisodeStart):
                event.attempt = attempt
            events.put(event)

        def work() -> None:
            try:
                run_job(job, self._make_env, self._make_policy, emit, self._stop)
            except BaseException:  # noqa: BLE001 - the driver records it as the episode's error
                events.put(
                    EpisodeResult(
                        job.trajectory_id,
                        str(getattr(job.task, "id", "")),
                        "error",
                        0,
                        error=traceback.format_exc(limit=3),
                    )
                )
            finally:
                self._env = None
                events.put(_END)

        thread = threading.Thread(target=work, name=f"episode-{job.trajectory_id}", daemon=True)
        thread.start()
        while (item := events.get()) is not _END:
            yield item
        thread.join()

    def _make_env(self, job: RolloutJob) -> Any:
        env = self._env_factory(job)
        self._env = env
        return env

    def _make_policy(self, spec: dict[str, Any]) -> Policy:
        return PausablePolicy(self._policy_factory(spec), self._paused, self._stop)

    def stop(self) -> None:
        """Stop the episode: no further step, and the action in flight is interrupted (within ~100 ms)."""
        self._stop.set()
        self._paused.clear()
        sandbox = self._sandbox()
        if sandbox is not None and hasattr(sandbox, "stop"):
            with contextlib.suppress(Exception):
                sandbox.stop()

    def pause(self, paused: bool) -> None:
        """Hold the episode before its next decision (``True``) or let it go on (``False``)."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    def _sandbox(self) -> Any:
        env = self._env
        try:
            return getattr(env, "sandbox", None) if env is not None else None
        except Exception:  # noqa: BLE001 - DesktopEnv.sandbox raises before reset and after close
            return None

    def frame(self) -> tuple[int, int, bytes] | None:
        """The sandbox's current screen as ``(width, height, JPEG)``; None while no sandbox is up."""
        import mss
        from PIL import Image

        sandbox = self._sandbox()
        display = getattr(sandbox, "display", "") if sandbox is not None else ""
        if not display:
            return None
        grabber = getattr(self._local, "mss", None)
        if grabber is None or getattr(self._local, "display", "") != display:
            if grabber is not None:
                with contextlib.suppress(Exception):
                    grabber.close()
            factory = getattr(mss, "MSS", None) or mss.mss
            grabber = factory(display=display)
            self._local.mss, self._local.display = grabber, display
        try:
            shot = grabber.grab(grabber.monitors[1] if len(grabber.monitors) > 1 else grabber.monitors[0])
        except Exception:  # noqa: BLE001 - the sandbox closed between the check and the grab
            self._local.mss = None
            return None
        image = Image.frombytes("RGB", (shot.width, shot.height), shot.raw, "raw", "BGRX")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=FRAME_JPEG_QUALITY)
        return shot.width, shot.height, out.getvalue()


def _normal_priority() -> int:
    """Undo Ray's nice 15 for this worker (and the sandbox it starts) where allowed; returns the niceness."""
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:  # no CAP_SYS_NICE: start the node with RAY_worker_niceness=0 instead
        pass
    return os.getpriority(os.PRIO_PROCESS, 0)
