"""Rollouts on a Ray cluster: one actor per sandbox, events streamed back to the one writer on the driver.

:class:`RayExecutor` implements the same :class:`~studio.pipeline.rollout.episode.Executor` interface as the
local executors, so ``studio rollout``, ``studio run``, ``studio eval`` and the GUI's Live view use it unchanged:

- **Placement.** Every node that declares the sandbox resource (``ray start --resources='{"sandbox": N}'``) is
  checked first (:mod:`~studio.pipeline.rollout.cluster`: same studio version and code, system binaries,
  a working sandbox); refused nodes get no work and are named in :attr:`RayExecutor.notes`. Each sandbox is a
  :class:`~studio.pipeline.rollout.ray_worker.SandboxWorker` actor pinned to a fit node and holding one unit of
  the resource, so a node never runs more sandboxes than it declares.
- **Streaming.** ``SandboxWorker.run`` is a Ray streaming generator; the driver waits on all of them at once and
  hands each event to ``on_event`` in this thread, in order per episode, the moment it arrives.
- **Faults.** An episode whose actor or node dies is run again on a fresh actor, on another node when one has
  room, up to ``max_retries`` times. The retry's :class:`EpisodeStart` has ``attempt`` > 0 and the workspace
  starts that trajectory over (``Workspace.start_trajectory``), and events of a dead attempt are dropped, so an
  episode is recorded once. When the retries are used up the episode ends as ``error`` and says why.
- **Stop.** A stop (the ``stop`` event, :meth:`RayExecutor.request_stop`, Ctrl-C) sends ``stop`` to every actor
  at once: the episode loop ends before its next step and the action in flight is interrupted. A second Ctrl-C
  (``KeyboardInterrupt``) kills every actor, and with it its sandbox.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from studio.errors import ClusterError
from studio.pipeline.rollout import cluster
from studio.pipeline.rollout.episode import (
    EnvFactory,
    EpisodeResult,
    Event,
    Executor,
    PolicyFactory,
    RolloutJob,
)

log = logging.getLogger(__name__)

#: How long a stopped run waits for episodes to finish before it kills their actors.
STOP_GRACE_S = 15.0
_WAIT_S = 0.1  # the driver's loop wakes at least this often to notice a stop


@dataclass
class _Slot:
    """One live actor: the node it sits on and the job it runs (None while idle)."""

    actor: Any
    node: cluster.NodeReport
    job: RolloutJob | None = None
    attempt: int = 0
    gen: Any = None
    result: EpisodeResult | None = None


class RayFrameSource:
    """Live frames of a sandbox on a Ray actor (the GUI's ``FrameSource``): JPEG there, BGRA here."""

    def __init__(self, actor: Any, timeout: float = 2.0) -> None:
        self.actor = actor
        self.timeout = timeout

    def grab(self) -> Any:
        import ray
        from PIL import Image

        from envs.frame import Frame

        try:
            got = ray.get(self.actor.frame.remote(), timeout=self.timeout)
        except Exception:  # noqa: BLE001 - the actor is gone or busy: no frame this tick
            return None
        if got is None:
            return None
        width, height, jpeg = got
        image = Image.open(io.BytesIO(jpeg)).convert("RGBA")
        return Frame(width, height, image.tobytes("raw", "BGRA"))

    def close(self) -> None:
        return None


class RayExecutor(Executor):
    """Runs rollout jobs as Ray actors (one sandbox each) on every fit node of a Ray cluster.

    Args:
        env_factory: ``(job) -> Env``; runs on the worker node (module level: pickled by reference).
        policy_factory: ``(job.policy) -> Policy``; runs on the worker node, next to the env.
        address: Ray cluster to join (``host:port``, ``ray://host:port``, ``auto``); ``""`` joins the Ray this
            process already joined, or starts one on loopback declaring ``sandboxes`` sandboxes.
        sandboxes: Actors at once; 0 = every sandbox the fit nodes declare.
        resource: The custom resource nodes declare per sandbox.
        max_retries: Runs of an episode after the first whose actor or node died.
        check_nodes: Probe nodes and refuse unfit ones (see :mod:`~studio.pipeline.rollout.cluster`).
    """

    def __init__(
        self,
        env_factory: EnvFactory,
        policy_factory: PolicyFactory,
        *,
        address: str = "",
        sandboxes: int = 0,
        resource: str = "sandbox",
        max_retries: int = 2,
        check_nodes: bool = True,
    ) -> None:
        self._env_factory = env_factory
        self._make_policy = policy_factory
        self.address = address
        self.sandboxes = sandboxes
        self.resource = resource
        self.max_retries = max_retries
        self.check_nodes = check_nodes
        self.notes: list[str] = []  # refused nodes, retries: what the caller should show
        self.retries = 0
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []
        self._stop: threading.Event | None = None
        self._paused = False

    # ------------------------------------------------------------------------------------ control (any thread)

    def request_stop(self) -> None:
        """Stop every episode on every node now (also what the ``stop`` event of :meth:`run` does)."""
        if self._stop is not None:
            self._stop.set()
        self._broadcast("stop")

    def set_paused(self, paused: bool) -> None:
        """Hold (or release) every episode before its next decision."""
        self._paused = paused
        self._broadcast("pause", paused)

    def frame_sources(self) -> dict[str, RayFrameSource]:
        """Live frame sources of the running episodes, by trajectory id (the GUI polls them)."""
        with self._lock:
            return {s.job.trajectory_id: RayFrameSource(s.actor) for s in self._slots if s.job is not None}

    def _broadcast(self, method: str, *args: Any) -> None:
        with self._lock:
            actors = [s.actor for s in self._slots]
        for actor in actors:
            try:
                getattr(actor, method).remote(*args)
            except Exception:  # noqa: BLE001 - a dead actor needs no message
                log.debug("could not send %s to an actor", method, exc_info=True)

    # ---------------------------------------------------------------------------------------------- running

    def run(
        self, jobs: list[RolloutJob], on_event: Callable[[Event], None], stop: threading.Event | None = None
    ) -> list[EpisodeResult]:
        if not jobs:
            return []
        self._stop = stop if stop is not None else threading.Event()
        started_here = cluster.connect(self.address, sandboxes=self.sandboxes or 1, resource=self.resource)
        try:
            nodes = self._fit_nodes()
            return self._run(jobs, nodes, on_event, self._stop)
        finally:
            self._kill_all()
            if started_here:
                cluster.disconnect()

    def _fit_nodes(self) -> list[cluster.NodeReport]:
        if not self.check_nodes:
            nodes = cluster.sandbox_nodes(self.resource)
            if not nodes:
                raise ClusterError(f"no node of the Ray cluster declares the '{self.resource}' resource")
            return nodes
        reports = cluster.check_nodes(self.resource)
        refused = [n for n in reports if not n.ok]
        if refused:
            message = cluster.refusal_message(refused, self.resource)
            log.warning("%s", message)
            self.notes.extend(message.splitlines())
        return cluster.fit_nodes(reports, self.resource)

    def _capacity(self, nodes: list[cluster.NodeReport]) -> int:
        total = sum(n.sandboxes for n in nodes)
        return min(self.sandboxes, total) if self.sandboxes > 0 else total

    def _run(
        self,
        jobs: list[RolloutJob],
        nodes: list[cluster.NodeReport],
        on_event: Callable[[Event], None],
        stop: threading.Event,
    ) -> list[EpisodeResult]:
        import ray

        pending: deque[tuple[RolloutJob, int, str]] = deque((j, 0, "") for j in jobs)  # job, attempt, avoid node
        results: dict[str, EpisodeResult] = {}
        k = min(self._capacity(nodes), len(jobs))
        stop_sent_at: float | None = None
        try:
            while pending or self._busy():
                if stop.is_set() and stop_sent_at is None:
                    stop_sent_at = time.monotonic()
                    pending.clear()
                    self._broadcast("stop")
                if stop_sent_at is not None and time.monotonic() - stop_sent_at > STOP_GRACE_S:
                    self._give_up_running(on_event, results)
                    break
                while pending and not stop.is_set():
                    slot = self._idle_slot(nodes, k, avoid=pending[0][2])
                    if slot is None:
                        break
                    job, attempt, _ = pending.popleft()
                    self._dispatch(slot, job, attempt)
                busy = {s.gen: s for s in self._busy()}
                if not busy:
                    if pending and not nodes:
                        raise ClusterError(
                            "no fit node is left to run sandboxes on (they died or were refused); see the notes above"
                        )
                    stop.wait(_WAIT_S)  # nothing runs and nothing can start yet: do not spin
                    continue
                ready, _ = ray.wait(list(busy), num_returns=1, timeout=_WAIT_S)
                for gen in ready:
                    self._advance(busy[gen], on_event, results, pending, nodes)
        except KeyboardInterrupt:
            self._kill_all()
            raise
        return [results[j.trajectory_id] for j in jobs if j.trajectory_id in results]

    def _busy(self) -> list[_Slot]:
        with self._lock:
            return [s for s in self._slots if s.gen is not None]

    def _advance(
        self,
        slot: _Slot,
        on_event: Callable[[Event], None],
        results: dict[str, EpisodeResult],
        pending: deque[tuple[RolloutJob, int, str]],
        nodes: list[cluster.NodeReport],
    ) -> None:
        """Take the next event of ``slot``'s stream; handle the end of the stream and a dead actor."""
        import ray

        assert slot.job is not None
        try:
            event = ray.get(next(slot.gen))
        except StopIteration:
            if slot.result is None:  # the stream ended without a result: count it as a dead worker
                self._failed(slot, "its worker ended the episode without a result", on_event, results, pending, nodes)
            else:
                self._finish(slot)
            return
        except ray.exceptions.RayError as exc:
            self._failed(slot, _short(exc), on_event, results, pending, nodes)
            return
        if isinstance(event, EpisodeResult):
            slot.result = event
            results[event.trajectory_id] = event
        on_event(event)

    def _failed(
        self,
        slot: _Slot,
        why: str,
        on_event: Callable[[Event], None],
        results: dict[str, EpisodeResult],
        pending: deque[tuple[RolloutJob, int, str]],
        nodes: list[cluster.NodeReport],
    ) -> None:
        """``slot``'s actor died (or misbehaved): retire it; run its episode again or record why it failed."""
        import ray

        job, attempt = slot.job, slot.attempt
        assert job is not None
        self._retire(slot)
        with contextlib.suppress(Exception):
            ray.kill(slot.actor, no_restart=True)
        self._drop_dead_nodes(nodes)
        if slot.result is not None:  # the episode had finished: nothing to redo
            return
        where = f"on node {slot.node.label}"
        if self._stop is not None and self._stop.is_set():
            result = EpisodeResult(
                job.trajectory_id,
                str(getattr(job.task, "id", "")),
                "stopped",
                0,
                error=f"stopped; its worker {where} died while stopping: {why}",
            )
        elif attempt < self.max_retries:
            self.retries += 1
            self.notes.append(
                f"{job.trajectory_id}: worker {where} died ({why}); retry {attempt + 1} of {self.max_retries}"
            )
            log.warning("%s", self.notes[-1])
            pending.appendleft((job, attempt + 1, slot.node.node_id))
            return
        else:
            result = EpisodeResult(
                job.trajectory_id,
                str(getattr(job.task, "id", "")),
                "error",
                0,
                error=f"its worker died {attempt + 1} time(s), last {where}: {why}",
            )
        results[job.trajectory_id] = result
        on_event(result)

    def _finish(self, slot: _Slot) -> None:
        with self._lock:
            slot.job, slot.gen, slot.result = None, None, None

    def _retire(self, slot: _Slot) -> None:
        with self._lock:
            if slot in self._slots:
                self._slots.remove(slot)

    def _give_up_running(self, on_event: Callable[[Event], None], results: dict[str, EpisodeResult]) -> None:
        """A stop's grace period is over: kill what still runs and record those episodes as stopped."""
        for slot in self._busy():
            if slot.job is not None and slot.result is None:
                result = EpisodeResult(
                    slot.job.trajectory_id,
                    str(getattr(slot.job.task, "id", "")),
                    "stopped",
                    0,
                    error=f"stopped; it did not finish within {STOP_GRACE_S:.0f} s",
                )
                results[result.trajectory_id] = result
                on_event(result)
        self._kill_all()

    # ------------------------------------------------------------------------------------------- placement

    def _idle_slot(self, nodes: list[cluster.NodeReport], k: int, *, avoid: str = "") -> _Slot | None:
        """An idle actor off node ``avoid``; else a new actor while fewer than ``k`` (elsewhere if there is room);
        else an idle actor on ``avoid``; else None (wait)."""
        alive = {n.node_id for n in nodes}
        with self._lock:
            idle = [s for s in self._slots if s.job is None and s.node.node_id in alive]
            n_slots = len(self._slots)
        elsewhere = [s for s in idle if s.node.node_id != avoid]
        if elsewhere:
            return elsewhere[0]
        if n_slots < k:
            node = self._room(nodes, avoid) or self._room(nodes, "")
            if node is not None:
                return self._new_actor(node)
        return idle[0] if idle else None

    def _room(self, nodes: list[cluster.NodeReport], avoid: str) -> cluster.NodeReport | None:
        """The fit node with the most free sandboxes (not ``avoid``), or None."""
        with self._lock:
            used = {n.node_id: sum(1 for s in self._slots if s.node.node_id == n.node_id) for n in nodes}
        free = [n for n in nodes if n.node_id != avoid and used[n.node_id] < n.sandboxes]
        return max(free, key=lambda n: n.sandboxes - used[n.node_id], default=None)

    def _new_actor(self, node: cluster.NodeReport) -> _Slot:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from studio.pipeline.rollout.ray_worker import SandboxWorker

        actor_cls = ray.remote(SandboxWorker)
        actor: Any = actor_cls.options(
            num_cpus=0,
            resources={self.resource: 1},
            max_concurrency=4,
            max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, soft=False),
        ).remote(self._env_factory, self._make_policy)
        if self._paused:
            actor.pause.remote(True)
        slot = _Slot(actor, node)
        with self._lock:
            self._slots.append(slot)
        return slot

    def _dispatch(self, slot: _Slot, job: RolloutJob, attempt: int) -> None:
        with self._lock:
            slot.job, slot.attempt, slot.result = job, attempt, None
            slot.gen = slot.actor.run.options(num_returns="streaming").remote(job, attempt)

    def _drop_dead_nodes(self, nodes: list[cluster.NodeReport]) -> None:
        alive = {n.node_id for n in cluster.sandbox_nodes(self.resource)}
        dead = [n for n in nodes if n.node_id not in alive]
        for n in dead:
            nodes.remove(n)
            self.notes.append(f"node {n.label} left the cluster")
            log.warning("%s", self.notes[-1])

    def _kill_all(self) -> None:
        import ray

        with self._lock:
            slots, self._slots = list(self._slots), []
        for slot in slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor, no_restart=True)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"
