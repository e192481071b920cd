"""The typed record methods of the workspace: tasks, trajectories and steps, examples, verdicts, reviews, ledger.

Each writes or reads one record type of :mod:`studio.records` through the generic operations of
:class:`~studio.workspace.tables.TableStore`; example statuses follow the one rule in :mod:`studio.status`.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable, Sequence
from typing import Any

from studio.errors import WorkspaceError
from studio.records import Document, Example, LedgerEntry, Review, Step, Task, Trajectory, Verdict
from studio.status import StatusRule, latest_edits
from studio.workspace import search as _search
from studio.workspace.schema import to_row
from studio.workspace.sql import where_eq
from studio.workspace.tables import LEDGER_JSONL, TableStore


class TypedRecords(TableStore):
    """The typed writers and readers of :class:`~studio.workspace.store.Workspace`."""

    # ------------------------------------------------------------------------------------------ typed

    def add_documents(self, docs: Sequence[Document]) -> builtins.list[str]:
        return self.add(docs)

    def add_tasks(self, tasks: Sequence[Task]) -> builtins.list[str]:
        return self.add(tasks)

    def update_task(self, task_id: str, **values: Any) -> None:
        """Change fields of a task (e.g. ``check_status="proven", check_info={...}``).

        Raises:
            WorkspaceError: unknown field, or no task ``task_id`` (an update never passes silently).
        """
        self.update_record(Task, task_id, values, required={"instruction": ""})  # values typed like a new row

    def start_trajectory(self, trajectory: Trajectory) -> str:
        """Record a rollout as ``running`` before its first step.

        Idempotent by id: starting a trajectory that is already recorded (a retry of the same episode after its
        worker died) starts it over: the earlier attempt's steps and row are removed first, so an episode is
        never recorded twice. Screenshot blobs are content-addressed and stay.
        """
        if self.count(Trajectory, id=trajectory.id):
            self.check_writable()
            with self._mutex:
                self.table(Step.table).delete(where_eq(trajectory_id=trajectory.id))
                self._note_write(Step.table)
                self.table(Trajectory.table).delete(where_eq(id=trajectory.id))
                self._note_write(Trajectory.table)
        return self.add(trajectory.model_copy(update={"status": "running"}))[0]

    def update_trajectory(self, trajectory_id: str, **values: Any) -> None:
        """Change fields of a trajectory (e.g. ``status="done", outcome="done", score=1.0``).

        Raises:
            WorkspaceError: unknown field, or no trajectory ``trajectory_id`` (an update never passes silently).
        """
        self.update_record(Trajectory, trajectory_id, values, hint="; start it (start_trajectory) first")

    def finish_trajectory(
        self,
        trajectory_id: str,
        *,
        status: str = "done",
        outcome: str = "",
        score: float | None = None,
        error: str = "",
        final_observation: str | None = None,
        final_screenshot: Any = None,
    ) -> None:
        """Mark a rollout finished; ``n_steps`` is counted from the stored steps.

        ``final_observation`` (a11y table) and ``final_screenshot`` (PNG bytes / PIL image) are the screen after
        the last action, when known. The screenshot blob is stored first and the row is then updated in one
        commit, so a kill leaves either the finished row or the old ``running`` one (plus an unused blob).
        """
        Trajectory.model_validate({"status": status})  # refuses unknown statuses with pydantic's message
        extra: dict[str, Any] = {}
        if final_observation is not None:
            extra["final_observation"] = final_observation
        if final_screenshot is not None and not (
            isinstance(final_screenshot, bytes | bytearray) and not final_screenshot
        ):
            extra["final_screenshot"] = self.put_screenshot(final_screenshot)
        self.update_trajectory(
            trajectory_id,
            status=status,
            outcome=outcome,
            score=score,
            error=error,
            n_steps=self.count(Step, trajectory_id=trajectory_id),
            finished=time.time(),
            **extra,
        )

    def put_screenshot(self, image: Any) -> str:
        """Store a screenshot (PNG bytes or PIL image) in ``blobs/``; returns its content hash."""
        self.check_writable()
        return self.blobs.put(image)

    def add_step(self, step: Step, screenshot: Any = None) -> Step:
        """Append one step as its own commit. ``screenshot`` (PNG bytes / PIL image) is stored first."""
        if screenshot is not None:
            step = step.model_copy(update={"screenshot": self.put_screenshot(screenshot)})
        self.add(step)
        return step

    def add_examples(
        self, examples: Sequence[Example], vectors: Any = None, embedder: str | None = None
    ) -> builtins.list[str]:
        """Append examples; with ``vectors`` (one row per example) and ``embedder`` also their embeddings."""
        if vectors is not None and not embedder:
            raise WorkspaceError("add_examples(vectors=...) needs embedder= (the embedding model's name)")
        ids = self.add(examples)
        if vectors is not None and embedder:
            with self._mutex:
                _search.add_vector_rows(self, [to_row(e) for e in examples], vectors, embedder)
                self._note_write(_search.VECTOR_TABLE)
        return ids

    def add_verdicts(self, verdicts: Sequence[Verdict]) -> builtins.list[str]:
        return self.add(verdicts)

    def add_review(self, review: Review) -> str:
        return self.add(review)[0]

    def add_reviews(self, reviews: Sequence[Review]) -> builtins.list[str]:
        """Append several reviews in one write (a reviewer's bulk accept/reject); returns their ids."""
        return self.add(reviews)

    def remove_reviews(self, review_ids: Sequence[str]) -> int:
        """Delete the reviews with these ids (a reviewer's undo); returns how many existed.

        Reviews are the one table a person writes; removing a review brings back the status the example had
        before it (the latest remaining review, else the committee's). Verdicts are never touched.
        """
        self.check_writable()
        ids = [str(i) for i in review_ids]
        if not ids:
            return 0
        where = where_eq(id=ids)
        with self._mutex:
            table = self.table(Review.table)
            n = table.count_rows(where)
            if n:
                table.delete(where)
                self._note_write(Review.table)
        return int(n)

    def add_ledger_records(self, records: Iterable[dict[str, Any]]) -> int:
        """Append ledger rows (dicts with ``LedgerEntry``'s fields; unknown keys are ignored) to ``ledger.jsonl``."""
        from studio.llm.ledger import record_from_dict

        rows = [record_from_dict(rec) for rec in records]
        for row in rows:
            self.append(row)
        return len(rows)

    def append(self, record: LedgerEntry) -> None:
        """``LedgerSink`` interface: append one ledger record to the workspace's ``ledger.jsonl``."""
        from studio.llm.ledger import JsonlLedger

        JsonlLedger(self.path / LEDGER_JSONL).append(record)

    def ledger(self) -> builtins.list[LedgerEntry]:
        """Every model call recorded in the workspace (``ledger.jsonl``, the one ledger; see LedgerTail to follow
        it as it grows)."""
        from studio.llm.ledger import read_ledger

        return read_ledger(self.path / LEDGER_JSONL)

    # ------------------------------------------------------------------------------------------ reading

    def steps_of(self, trajectory_id: str) -> builtins.list[Step]:
        """Every stored step of a trajectory, by index."""
        steps = self.list(Step, trajectory_id=trajectory_id, limit=None)
        return sorted(steps, key=lambda s: (s.index, s.created))

    def verdicts_of(self, example_id: str) -> builtins.list[Verdict]:
        return sorted(self.list(Verdict, example_id=example_id, limit=None), key=lambda v: v.created)

    def reviews_of(self, example_id: str) -> builtins.list[Review]:
        return sorted(self.list(Review, example_id=example_id, limit=None), key=lambda r: r.when)

    def screenshot(self, digest: str, *, thumb: bool = False) -> bytes:
        """WebP bytes of a stored screenshot (``thumb=True``: the small list thumbnail)."""
        return self.blobs.read(digest, thumb=thumb)

    def status_rule(self, quorum: str | int | None = None) -> StatusRule:
        """The example-status rule of this workspace's config (``quorum`` overrides ``pipeline.quorum``)."""
        return StatusRule.from_config(self.config, quorum)

    def example_status(self, example_id: str, quorum: str | int | None = None) -> str:
        """accepted / rejected / disputed / pending; overridden-accept / overridden-reject after a review
        (the rule is :mod:`studio.status`; with ``[verify] require_check`` the trajectory's check counts too)."""
        rule = self.status_rule(quorum)
        check = None
        if rule.require_check:
            traj_id = self.get(Example, example_id).trajectory_id
            rows = self.columns("trajectories", ["score"], where=where_eq(id=traj_id))
            check = rows[0]["score"] if rows else None
        return rule.status(self.verdicts_of(example_id), self.reviews_of(example_id), check)

    def example_statuses(self, quorum: str | int | None = None) -> dict[str, str]:
        """Status of every example that has verdicts or reviews (one scan of each table; others: pending)."""
        verdicts = self.columns("verdicts", ["example_id", "judge", "criterion", "vote"])
        reviews = self.columns("reviews", ["example_id", "decision", "when"])
        rule = self.status_rule(quorum)
        return dict(rule.statuses(verdicts, reviews, self.example_checks() if rule.require_check else None))

    def example_checks(self) -> dict[str, float | None]:
        """``example_id -> its trajectory's check score`` (None: the run was not scored)."""
        scores = {r["id"]: r["score"] for r in self.columns("trajectories", ["id", "score"])}
        return {r["id"]: scores.get(r["trajectory_id"]) for r in self.columns("examples", ["id", "trajectory_id"])}

    def edited_instructions(self) -> dict[str, str]:
        """``example_id -> instruction`` of every example a person edited (the latest edit wins)."""
        return latest_edits(self.columns("reviews", ["example_id", "decision", "edited_instruction", "when"]))
