""":class:`ExampleIndex`: what the GUI needs to filter and count examples (status, judges, edited text), kept up
to date by reading only the rows added since the last refresh (no Qt).

Examples and verdicts are only ever appended to the workspace, and reviews too except for a reviewer's undo,
so the index remembers how many rows of each table it has read and the id of the last one. A refresh that sees
a new table version reads the rows past that point (``Workspace.scan(offset=...)``) and recomputes the status of
the examples they touch. If a table shrank (an undo) or
its boundary row is no longer the one remembered (a rewrite, a migration), the index starts over. At 100k
examples a full build is a few seconds of Python on a worker thread, which also slows the UI thread (they
share the GIL); following a running pipeline costs only the new rows.

Statuses follow the one rule of :mod:`studio.status` (a person's latest accept/reject/edit review overrides the
committee), shown under their browsing names (:func:`studio.status.display`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from studio.status import StatusRule, Vote, display, latest_edit, latest_review

if TYPE_CHECKING:
    from studio.workspace import Workspace

TABLES = ("examples", "verdicts", "reviews")


class ExampleIndex:
    """Examples in creation order with their status, judges and edited text. Not thread-safe: the caller
    holds a lock around :meth:`refresh` and every read."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._rule = StatusRule.from_config(ws.config)
        self.builds = 0  # full (re)builds, for tests and benchmarks
        self._reset()

    def _reset(self) -> None:
        self.rows: list[dict[str, Any]] = []  # id, app, kind, instruction, created, edited; by created
        self.by_id: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, str] = {}
        self.judges: dict[str, set[str]] = {}
        self._votes: dict[str, list[tuple[str, str, bool | None]]] = {}  # (judge, criterion, vote)
        self._reviews: dict[str, list[dict[str, Any]]] = {}  # per example, in table order
        self._edit: dict[str, str] = {}  # the latest edit's text
        self.reviewed: set[str] = set()  # examples a person has reviewed
        self._seen: dict[str, tuple[int, str | None]] = {t: (0, None) for t in TABLES}
        self._versions: dict[str, int] = {}  # table versions at the last refresh
        self._status_counts: Counter[str] | None = None
        self._rule_cache: dict[tuple[Any, ...], str] = {}

    # ---------------------------------------------------------------- reading

    def refresh(self) -> bool:
        """Read what was added since the last call; True when anything changed."""
        versions = {t: self.ws.table(t).version for t in TABLES}
        if versions == self._versions:
            return False
        counts = {t: self.ws.count(t) for t in TABLES}
        if not all(self._continues(t, counts[t]) for t in TABLES):
            self._reset()
        self._versions = versions
        if self._seen["examples"][0] == 0:
            self.builds += 1
        touched: set[str] = set()
        self._add_examples(self._read("examples", ["id", "app", "kind", "instruction", "created"]))
        touched |= self._add_verdicts(self._read("verdicts", ["id", "example_id", "judge", "criterion", "vote"]))
        touched |= self._add_reviews(
            self._read("reviews", ["id", "example_id", "decision", "edited_instruction", "when"])
        )
        for eid in touched:
            self._restatus(eid)
        self._status_counts = None
        return True

    def _continues(self, table: str, count: int) -> bool:
        """Whether the rows read so far are still the table's first rows (so only appends happened)."""
        seen, last_id = self._seen[table]
        if count < seen:
            return False
        if seen == 0:
            return True
        boundary = self.ws.scan(table, ["id"], offset=seen - 1, limit=1)["id"]
        return boundary == [last_id]

    def _read(self, table: str, names: list[str]) -> dict[str, list[Any]]:
        seen = self._seen[table][0]
        cols = self.ws.scan(table, names, offset=seen)
        ids = cols["id"]
        if ids:
            self._seen[table] = (seen + len(ids), ids[-1])
        return cols

    def _add_examples(self, cols: dict[str, list[Any]]) -> None:
        if not cols["id"]:
            return
        last = self.rows[-1]["created"] or 0 if self.rows else None
        new = []
        for eid, app, kind, instruction, created in zip(
            cols["id"], cols["app"], cols["kind"], cols["instruction"], cols["created"], strict=True
        ):
            row = {
                "id": eid,
                "app": app,
                "kind": kind,
                "instruction": instruction,
                "created": created,
                "edited": self._edit.get(eid, ""),
            }
            self.by_id[eid] = row
            new.append(row)
        self.rows.extend(new)
        if last is None or min((r["created"] or 0) for r in new) < last:
            self.rows.sort(key=lambda r: r["created"] or 0)  # nearly sorted: linear for timsort

    def _add_verdicts(self, cols: dict[str, list[Any]]) -> set[str]:
        touched = set(cols["example_id"])
        for eid, judge, criterion, vote in zip(
            cols["example_id"], cols["judge"], cols["criterion"], cols["vote"], strict=True
        ):
            self._votes.setdefault(eid, []).append((judge, criterion, vote))
            self.judges.setdefault(eid, set()).add(judge)
        return touched

    def _add_reviews(self, cols: dict[str, list[Any]]) -> set[str]:
        touched: set[str] = set()
        for eid, decision, text, when in zip(
            cols["example_id"], cols["decision"], cols["edited_instruction"], cols["when"], strict=True
        ):
            self._reviews.setdefault(eid, []).append({"decision": decision, "edited_instruction": text, "when": when})
            touched.add(eid)
        self.reviewed |= touched
        for eid in touched:
            self._edit[eid] = latest_edit(self._reviews[eid])
            if eid in self.by_id:
                self.by_id[eid]["edited"] = self._edit[eid]
        return touched

    def _restatus(self, eid: str) -> None:
        reviews = self._reviews.get(eid, [])
        if latest_review(reviews) is not None:
            self.statuses[eid] = display(self._rule.status((), reviews))
            return
        votes = self._votes.get(eid)
        if not votes:
            self.statuses.pop(eid, None)
            return
        key = tuple(votes)  # few distinct vote patterns: the committee rule runs once per pattern
        status = self._rule_cache.get(key)
        if status is None:
            status = self._rule_cache[key] = display(self._rule.committee([Vote(*v) for v in votes]))
        self.statuses[eid] = status

    # ---------------------------------------------------------------- answers

    def status(self, eid: str) -> str:
        return self.statuses.get(eid, "pending")

    def status_counts(self) -> Counter[str]:
        """Examples per status (``pending`` included), cached until the next change."""
        if self._status_counts is None:
            self._status_counts = Counter(self.statuses.get(r["id"], "pending") for r in self.rows)
        return self._status_counts
