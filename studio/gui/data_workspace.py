""":class:`WorkspaceData`: the GUI's :class:`studio.gui.data.GuiData` over :class:`studio.workspace.Workspace`
(no Qt). The workspace is opened read-only, so the GUI sees a writer's appends (another process or this GUI's
Live view) within a second. Reviews are the one thing the GUI writes; they go through a short-lived writer.

Example filters that the table cannot answer in SQL (status from verdicts + reviews, judge, word search) run
over :class:`studio.gui.example_index.ExampleIndex`, which reads only the rows added since its last refresh.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.gui.data import (
    QUEUE_STATUSES,
    CostRow,
    Counts,
    DocumentRow,
    ExampleFilter,
    ExampleRow,
    JudgeInfo,
    ReviewRow,
    SearchHit,
    StepRow,
    TaskRow,
    TrajectoryRow,
    VerdictRow,
    check_review,
    default_reviewer,
)
from studio.gui.example_index import ExampleIndex
from studio.llm.ledger import LEDGER_NAME, LedgerTail

if TYPE_CHECKING:
    from studio.pipeline.progress import RunProgress


class WorkspaceData:
    """Read-only view of a workspace for the GUI; every method may block (call it from a worker)."""

    def __init__(self, path: Path) -> None:
        from studio.workspace import Workspace

        self.ws = Workspace.open(path, readonly=True)
        self.path = self.ws.path
        self._lock = threading.RLock()
        # Reviews are written through a short-lived writer; fast keyboard reviews run on several worker threads,
        # and a second writer in this process would be refused by the workspace lock, so they take turns.
        self._write_lock = threading.Lock()
        self._filtered: dict[tuple[Any, ...], list[str]] = {}
        self._embedder: Any = None
        self.index = ExampleIndex(self.ws)
        self._outcome_cache: tuple[int, dict[str, int], float | None] | None = None
        self._ledger = LedgerTail(self.path / LEDGER_NAME)
        self._costs: dict[tuple[str, str], CostRow] = {}

    # ---------------------------------------------------------------- helpers

    def _refresh_index(self) -> ExampleIndex:
        """Bring the example index up to date (only rows added since the last call are read); hold the lock."""
        if self.index.refresh():
            self._filtered = {}
        return self.index

    def _filter_ids(self, flt: ExampleFilter) -> list[str]:
        fkey = flt.key()
        with self._lock:
            index = self._refresh_index()
            if fkey in self._filtered:
                return self._filtered[fkey]
            words = flt.search.lower().split()
            out = []
            for r in index.rows:
                if flt.app and r["app"] != flt.app or flt.kind and r["kind"] != flt.kind:
                    continue
                if flt.status and index.status(r["id"]) != flt.status:
                    continue
                if flt.queue and (r["id"] in index.reviewed or index.status(r["id"]) not in QUEUE_STATUSES):
                    continue
                if flt.judge and flt.judge not in index.judges.get(r["id"], ()):
                    continue
                if words:
                    hay = f"{r['instruction']}\n{r['edited']}".lower()
                    if not all(w in hay for w in words):
                        continue
                out.append(r["id"])
            self._filtered[fkey] = out
            return out

    @staticmethod
    def _empty(flt: ExampleFilter) -> bool:
        return flt.empty()

    # ---------------------------------------------------------------- GuiData

    def counts(self) -> Counts:
        raw = self.ws.counts()
        c = Counts(
            documents=raw.get("documents", 0),
            tasks=raw.get("tasks", 0),
            trajectories=raw.get("trajectories", 0),
            steps=raw.get("steps", 0),
            examples=raw.get("examples", 0),
            verdicts=raw.get("verdicts", 0),
            reviews=raw.get("reviews", 0),
        )
        outcomes, c.mean_score = self._outcomes()
        c.outcomes = dict(outcomes)
        with self._lock:
            per_status = self._refresh_index().status_counts()
            c.accepted, c.rejected, c.disputed = (per_status[s] for s in ("accepted", "rejected", "disputed"))
        return c

    def _outcomes(self) -> tuple[dict[str, int], float | None]:
        """Trajectories per outcome and their mean score, read again only when the table has a new version
        (the GUI polls every second; trajectory rows change only when a rollout starts or ends)."""
        version = self.ws.table("trajectories").version
        if self._outcome_cache is None or self._outcome_cache[0] != version:
            outcomes: dict[str, int] = {}
            scores = []
            cols = self.ws.scan("trajectories", ["status", "outcome", "score"])
            for status, outcome, score in zip(cols["status"], cols["outcome"], cols["score"], strict=True):
                key = outcome or status
                outcomes[key] = outcomes.get(key, 0) + 1
                if score is not None:
                    scores.append(float(score))
            self._outcome_cache = (version, outcomes, sum(scores) / len(scores) if scores else None)
        return self._outcome_cache[1], self._outcome_cache[2]

    def costs(self) -> list[CostRow]:
        """Calls, tokens and cost per (stage, model), live: only the ledger lines added since the last call are
        read (the ledger is the workspace's ``ledger.jsonl``, appended by every process as calls happen)."""
        with self._lock:
            for r in self._ledger.read_new():
                key = (r.stage or "-", r.model or "")
                row = self._costs.setdefault(key, CostRow(key[0], key[1], 0, 0, 0, 0.0))
                row.calls += 1
                row.prompt_tokens += int(r.prompt_tokens or 0)
                row.completion_tokens += int(r.completion_tokens or 0)
                row.cost += float(r.cost or 0.0)
                row.last = max(row.last, float(r.time or 0.0))
            return [replace(self._costs[k]) for k in sorted(self._costs)]

    def count_documents(self) -> int:
        return self.ws.count("documents")

    def documents(self, offset: int, limit: int) -> list[DocumentRow]:
        from studio.workspace import Document

        return [
            DocumentRow(d.id, d.source, d.section or d.title, d.text, d.app)
            for d in self.ws.list(Document, offset=offset, limit=limit)
        ]

    def tasks_for(self, document_id: str) -> list[TaskRow]:
        from studio.workspace import Task

        return self._task_rows(self.ws.list(Task, document_id=document_id, limit=None))

    def count_tasks(self) -> int:
        return self.ws.count("tasks")

    def tasks(self, offset: int, limit: int) -> list[TaskRow]:
        """Every task (self-instructed, bundled, backward or imported with ``studio tasks import``), paged."""
        from studio.workspace import Task

        return self._task_rows(self.ws.list(Task, offset=offset, limit=limit))

    def _task_rows(self, tasks: list[Any]) -> list[TaskRow]:
        """Task rows with their finished runs and the latest run's check score."""
        from studio.records import FINISHED
        from studio.workspace.sql import where_eq

        runs: dict[str, list[tuple[float, float | None]]] = {}
        ids = [t.id for t in tasks]
        if ids:
            for r in self.ws.columns(
                "trajectories", ["task_id", "status", "score", "started"], where=where_eq(task_id=ids)
            ):
                if r["status"] in FINISHED:
                    runs.setdefault(r["task_id"], []).append((r["started"] or 0.0, r["score"]))
        rows = []
        for t in tasks:
            mine = sorted(runs.get(t.id, []), key=lambda x: x[0])
            scores = [sc for _when, sc in mine if sc is not None]
            rows.append(
                TaskRow(
                    t.id,
                    t.instruction,
                    t.origin,
                    t.document_id,
                    t.section,
                    t.app,
                    t.check_status,
                    t.check_reason,
                    runs=len(mine),
                    score=scores[-1] if scores else None,
                )
            )
        return rows

    def judges(self) -> list[JudgeInfo]:
        """The configured judges with their measured accuracy and advisory mark (``studio.toml``'s judges)."""
        from studio.config import judge_labels

        cfg = self.ws.config
        specs = cfg.roles.judges
        advisory = cfg.advisory_judges()
        return [
            JudgeInfo(label, spec.model, spec.method, spec.accuracy, label in advisory)
            for label, spec in zip(judge_labels(specs), specs, strict=True)
        ]

    def make_example(
        self, trajectory_id: str, start: int, end: int, instruction: str, author: str, kind: str = "instruction"
    ) -> str:
        """Store an example a person made from steps ``[start, end)`` (:func:`studio.workspace.human.make_example`,
        through a short-lived writer like reviews); its id."""
        from studio.workspace import Workspace
        from studio.workspace.human import make_example

        with self._write_lock, Workspace.open(self.path) as ws:
            example, _review = make_example(ws, trajectory_id, start, end, instruction, author, kind=kind)
        return example.id

    def rollout_job(self, task_id: str, policy: str, max_steps: int | None = None) -> Any:
        """The rollout job that runs task ``task_id`` in a sandbox (:func:`studio.gui.task_run.rollout_job`)."""
        from studio.gui.task_run import rollout_job

        return rollout_job(self.ws, task_id, policy, max_steps)

    def run_progress(self) -> RunProgress | None:
        """Stage progress of the pipeline run writing this workspace (or the last one): ``run-progress.json``."""
        from studio.pipeline.progress import read_progress

        return read_progress(self.path)

    def suggest_instruction(self, trajectory_id: str, start: int, end: int, kind: str = "instruction") -> str:
        """The backward writer's instruction for steps ``[start, end)`` (a model call: seconds to minutes)."""
        from studio.gui.trim import suggest_instruction

        return suggest_instruction(self.ws, trajectory_id, start, end, kind)

    def count_trajectories(self) -> int:
        return self.ws.count("trajectories")

    def trajectories(self, offset: int, limit: int) -> list[TrajectoryRow]:
        from studio.workspace import Trajectory

        return [
            TrajectoryRow(
                t.id,
                t.task_id,
                t.instruction,
                t.app,
                t.policy,
                t.outcome or t.status,
                t.score,
                t.n_steps if t.n_steps else -1,
                t.started,
            )
            for t in self.ws.list(Trajectory, offset=offset, limit=limit)
        ]

    def steps(self, trajectory_id: str) -> list[StepRow]:
        """The trajectory's steps, then (when it was recorded) the screen after the last action."""
        from studio.errors import WorkspaceError
        from studio.workspace import Trajectory

        records = self.ws.steps_of(trajectory_id)
        stored = {s.index: s.changes for s in records}
        rows = [
            StepRow(
                s.trajectory_id,
                s.index,
                s.reason,
                s.action_code,
                s.actions,
                s.error,
                s.observation_text,
                s.screenshot,
                s.width,
                s.height,
                dict(s.timings),
            )
            for s in records
        ]
        try:
            traj = self.ws.get(Trajectory, trajectory_id)
        except WorkspaceError:
            _fill_changes(rows, stored)
            return rows
        if traj.final_screenshot or traj.final_observation is not None:
            last = rows[-1] if rows else None
            rows.append(
                StepRow(
                    trajectory_id,
                    last.index + 1 if last else 0,
                    "",
                    "",
                    [],
                    "",
                    traj.final_observation or "",
                    traj.final_screenshot or "",
                    last.width if last else 0,
                    last.height if last else 0,
                    final=True,
                )
            )
        _fill_changes(rows, stored)
        return rows

    def screenshot(self, ref: str) -> bytes:
        return self.ws.screenshot(ref)

    def thumbnail(self, ref: str) -> bytes:
        return self.ws.screenshot(ref, thumb=True)

    def count_examples(self, flt: ExampleFilter) -> int:
        if self._empty(flt):
            return self.ws.count("examples")
        return len(self._filter_ids(flt))

    def examples(self, flt: ExampleFilter, offset: int, limit: int) -> list[ExampleRow]:
        from studio.workspace import Example
        from studio.workspace.sql import where_eq

        with self._lock:
            index = self._refresh_index()
            if self._empty(flt):
                ids = [r["id"] for r in index.rows[offset : offset + limit]]
            else:
                ids = self._filter_ids(flt)[offset : offset + limit]
        if not ids:
            return []
        rows = {e.id: e for e in self.ws.list(Example, id=list(ids), limit=len(ids))}
        trajs = sorted({e.trajectory_id for e in rows.values()})
        scored = self.ws.columns("trajectories", ["id", "score"], where=where_eq(id=trajs))
        scores = {r["id"]: r["score"] for r in scored}
        out = []
        for i in ids:
            e = rows.get(i)
            if e is None:
                continue
            out.append(
                ExampleRow(
                    e.id,
                    e.instruction,
                    e.kind,
                    e.trajectory_id,
                    e.start,
                    max(e.start, e.end - 1),
                    e.app,
                    index.status(e.id),
                    sorted(index.judges.get(e.id, ())),
                    index.by_id.get(e.id, {}).get("edited", ""),
                    scores.get(e.trajectory_id),
                    reviewed=e.id in index.reviewed,
                    origin=e.origin,
                    author=e.author,
                )
            )
        return out

    def facets(self) -> dict[str, list[str]]:
        with self._lock:
            index = self._refresh_index()
            return {
                "app": sorted({r["app"] for r in index.rows if r["app"]}),
                "kind": sorted({r["kind"] for r in index.rows if r["kind"]}),
                "judge": sorted({j for js in index.judges.values() for j in js}),
            }

    def verdicts(self, example_id: str) -> list[VerdictRow]:
        return [
            VerdictRow(v.example_id, v.judge, v.criterion, v.vote, v.rationale or v.error)
            for v in self.ws.verdicts_of(example_id)
        ]

    def reviews(self, example_id: str) -> list[ReviewRow]:
        return [
            ReviewRow(r.example_id, r.decision, r.edited_instruction, r.who, r.when, r.id)
            for r in self.ws.reviews_of(example_id)
        ]

    def add_review(self, example_id: str, decision: str, instruction: str = "", reviewer: str = "") -> str:
        """Store a review through a short-lived writer (verdicts stay as the judges wrote them); its id."""
        check_review(decision, instruction)
        return self._write_reviews([example_id], decision, instruction, reviewer)[0]

    def add_reviews(self, example_ids: list[str], decision: str, reviewer: str = "") -> list[str]:
        """One accept/reject review per example, in one write (a bulk action); their ids, for undo."""
        if decision == "edit":
            from studio.errors import WorkspaceError

            raise WorkspaceError("a bulk review can accept or reject; edit examples one at a time")
        check_review(decision, "")
        return self._write_reviews(example_ids, decision, "", reviewer)

    def _write_reviews(self, example_ids: list[str], decision: str, instruction: str, reviewer: str) -> list[str]:
        from studio.workspace import Review, Workspace

        who = reviewer or default_reviewer()
        reviews = [
            Review(
                example_id=eid,
                decision=decision,  # type: ignore[arg-type]
                edited_instruction=instruction if decision == "edit" else "",
                who=who,
            )
            for eid in example_ids
        ]
        with self._write_lock, Workspace.open(self.path) as ws:
            return ws.add_reviews(reviews)

    def remove_reviews(self, review_ids: list[str]) -> int:
        """Undo: delete these reviews (the examples get back the status they had before them)."""
        from studio.workspace import Workspace

        with self._write_lock, Workspace.open(self.path) as ws:
            return ws.remove_reviews(review_ids)

    def example_ids(self, flt: ExampleFilter) -> list[str]:
        """Every example id under ``flt`` in list order (for a bulk action on the whole filtered list)."""
        with self._lock:
            index = self._refresh_index()
            if self._empty(flt):
                return [r["id"] for r in index.rows]
            return list(self._filter_ids(flt))

    def review_progress(self, flt: ExampleFilter) -> tuple[int, int]:
        """(examples a person reviewed, examples) under ``flt`` without its queue flag: the "reviewed N of M"."""
        from dataclasses import replace

        ids = self.example_ids(replace(flt, queue=False))
        with self._lock:
            reviewed = self.index.reviewed
            return sum(1 for i in ids if i in reviewed), len(ids)

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        """The pipeline's retrieval (observation BM25 + dense, with why each matched) when its index exists;
        otherwise plain workspace search (BM25 over instructions, dense when vectors exist)."""
        from studio.pipeline.retrieval.index import index_table

        if index_table(self.ws) is not None:
            from studio.pipeline.retrieval.retriever import search as retrieval_search

            if self._embedder is None:
                from studio.llm import make_embedder

                self._embedder = make_embedder(self.ws.config.roles.embedder)
            out = []
            for h in retrieval_search(self.ws, query, "both", k, embedder=self._embedder):
                label = {"fts": "observation (BM25)", "vector": "model (dense)", "both": "observation + model"}
                out.append(
                    SearchHit(
                        h.example.id,
                        h.example.instruction,
                        float(h.score),
                        f"{label.get(h.source, h.source)} · {h.why}",
                        h.example.kind,
                    )
                )
            return out
        hits = [
            SearchHit(e.id, e.instruction, float(s), "observation (BM25)", e.kind)
            for e, s in self.ws.search_examples_text(query, k)
        ]
        if self.ws.meta.get("embedder"):
            seen = {h.example_id for h in hits}
            try:
                dense = self.ws.search_examples_vector(self._embed(query), k)
            except Exception as exc:  # noqa: BLE001 - keep the BM25 hits, say why dense ones are missing
                hits.append(SearchHit("", f"dense retrieval unavailable: {exc}", 0.0, "model (dense)"))
                dense = []
            for e, dist in dense:
                hits.append(
                    SearchHit(
                        e.id,
                        e.instruction,
                        1.0 - float(dist),
                        "model (dense)" + (" · also BM25" if e.id in seen else ""),
                        e.kind,
                    )
                )
        return hits

    def _embed(self, text: str) -> Any:
        if self._embedder is None:
            from studio.llm import make_embedder

            self._embedder = make_embedder(self.ws.config.roles.embedder)
        return self._embedder.embed([text])[0]

    def close(self) -> None:
        self.ws.close()


def event_recorder(
    workspace: Path, meta: Mapping[str, Any] | None = None
) -> tuple[Callable[[Any], None], Callable[[], None]]:
    """``(record(event), close())`` writing GUI-started rollout events to the workspace as they happen.

    The workspace is opened for writing at the first event and written by the pipeline's one
    :class:`studio.pipeline.rollout.recorder.Recorder`; ``meta`` (trajectory id -> ``TrajectoryMeta``) carries
    the model and sandbox of each job. Raises ``WorkspaceLockedError`` (from the first ``record``) when another
    process is writing the workspace; later events are then dropped (reported once, the rollout goes on).
    """
    from studio.pipeline.rollout.recorder import Recorder
    from studio.workspace import Workspace

    state: dict[str, Any] = {"recorder": None, "failed": False}

    def record(event: Any) -> None:
        if state["failed"]:
            return
        if state["recorder"] is None:
            try:
                state["recorder"] = Recorder(Workspace.open(workspace), meta)
            except Exception:
                state["failed"] = True  # reported once; the rollout goes on unrecorded
                raise
        state["recorder"](event)

    def close() -> None:
        if state["recorder"] is not None:
            state["recorder"].ws.close()
            state["recorder"] = None

    return record, close


def prewarm_imports() -> threading.Thread:
    """Import the workspace stack (LanceDB, pyarrow: about 1.5 s) on a daemon thread, so it overlaps with the
    Qt start-up and the window is filled sooner. ``open_data`` on a worker simply finds the modules loaded (or
    waits on the import lock for this thread)."""

    def run() -> None:
        try:
            from studio.workspace.lancedb_import import import_lancedb

            import_lancedb()  # the slow one (~1.2 s even with its pydantic validators deferred)

            import studio.workspace.store  # noqa: F401
        except Exception:  # noqa: BLE001 - open_data reports the same failure with its message
            pass

    thread = threading.Thread(target=run, name="studio-prewarm", daemon=True)
    thread.start()
    return thread


def open_data(path: Path | str) -> WorkspaceData:
    """Open the workspace at ``path`` read-only for the GUI (raises ``WorkspaceError`` with the fix)."""
    return WorkspaceData(Path(path))


def _fill_changes(rows: list[StepRow], stored: dict[int, list[dict[str, Any]] | None]) -> None:
    """Each step's state changes as lines: stored with the step, else computed from the next screen."""
    from envs.changes import Change, render_change, screen_changes

    for k, row in enumerate(rows):
        if row.final:
            continue
        found = stored.get(row.index)
        if found is not None:
            changes = [Change.from_dict(c) for c in found]
        elif k + 1 < len(rows):
            changes = screen_changes(row.observation_text, rows[k + 1].observation_text)
        else:
            continue
        row.changes = [render_change(c) for c in changes]
