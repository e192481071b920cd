"""The GUI's view of a workspace, without Qt: plain rows, paging, filters, reviews, search.

Every method here may touch disk or LanceDB, so the GUI calls them only through its worker helper
(:mod:`studio.gui.qt_worker`), never on the UI thread. Lists are paged (``offset``/``limit``) so a view can
show 100k rows while holding only what is on screen.

:class:`GuiData` is the small interface the views use. :class:`WorkspaceData` implements it over
:mod:`studio.workspace`; :class:`MemoryData` keeps rows in lists (benchmarks, and views shown before a workspace
exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from studio.status import StatusRule, display

if TYPE_CHECKING:
    from studio.pipeline.progress import RunProgress

#: Example statuses shown in the Examples view (:func:`studio.status.display` names).
EXAMPLE_STATUSES = ("accepted", "needs_review", "rejected", "disputed", "pending")

#: Committee outcomes that need a person: judges disagree, or only an advisory judge (or the verifier) said yes.
#: The review queue holds the examples with one of these statuses that no person has reviewed yet.
QUEUE_STATUSES = frozenset({"disputed", "needs_review"})


@dataclass
class Counts:
    """Rows per stage, for the Overview and for noticing new rows while a pipeline writes."""

    documents: int = 0
    tasks: int = 0
    trajectories: int = 0
    steps: int = 0
    examples: int = 0
    verdicts: int = 0
    reviews: int = 0
    accepted: int = 0
    rejected: int = 0
    disputed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # trajectory status -> count
    mean_score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CostRow:
    stage: str
    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    last: float = 0.0  # Unix time of the latest call (the Overview shows which stage is calling models now)


@dataclass
class DocumentRow:
    id: str
    source: str
    section: str
    text: str
    app: str = ""


@dataclass
class TaskRow:
    id: str
    instruction: str
    origin: str
    document_id: str = ""
    section: str = ""
    app: str = ""
    check_status: str = ""  # proven | verified | unverified | pending (see studio.records.CheckStatus)
    check_reason: str = ""
    runs: int = 0  # finished trajectories of this task
    score: float | None = None  # the latest scored run's check score (None: never scored)

    @property
    def check_text(self) -> str:
        """``proven`` / ``verified`` / ``unverified: <reason>`` / ``pending``: what the task list shows."""
        if self.check_status == "unverified" and self.check_reason:
            return f"unverified: {self.check_reason}"
        return self.check_status or "unverified"


@dataclass
class TrajectoryRow:
    id: str
    task_id: str
    instruction: str
    app: str
    policy: str
    status: str
    score: float | None
    n_steps: int
    created: float = 0.0


@dataclass
class StepRow:
    trajectory_id: str
    index: int
    reason: str
    action_code: str
    actions: list[dict[str, Any]]
    error: str
    observation_text: str
    screenshot: str  # blob reference, load with GuiData.screenshot()
    width: int
    height: int
    timings: dict[str, float] = field(default_factory=dict)
    final: bool = False  # not a step: the screen after the last action (no action of its own)
    #: What the step's action changed on the screen, one line each (``envs.changes``); None when unknown
    #: (an old step without stored changes and no screen after it).
    changes: list[str] | None = None


@dataclass
class ExampleRow:
    id: str
    instruction: str
    kind: str  # instruction | replicate
    trajectory_id: str
    start: int  # first step index of the span
    end: int  # last step index (inclusive)
    app: str
    status: str  # accepted | rejected | disputed | pending (a person's review wins over the committee)
    judges: list[str] = field(default_factory=list)
    edited: str = ""  # the reviewer's edited instruction, if any
    check: float | None = None  # the trajectory's check score (None: its task had no validated check)
    reviewed: bool = False  # a person has reviewed it (its status is theirs)
    origin: str = "backward"  # backward (a model wrote it) | human (a person made it by trimming a trajectory)
    author: str = ""

    @property
    def by(self) -> str:
        """Who wrote the instruction: ``model`` or the person who made the example."""
        return f"made by {self.author or 'a person'}" if self.origin == "human" else "model"

    @property
    def check_text(self) -> str:
        """``passed`` / ``failed (0.5)`` / ``""`` (not scored): did the trajectory pass its task's check."""
        if self.check is None:
            return ""
        return "passed" if self.check == 1.0 else f"failed ({self.check:g})"


@dataclass
class VerdictRow:
    example_id: str
    judge: str
    criterion: str
    vote: bool | None  # None = the judge abstained (failed or malformed answer)
    rationale: str


@dataclass
class JudgeInfo:
    """A configured judge: its label (as on its verdicts), measured accuracy and whether it is advisory."""

    label: str
    model: str
    method: str = ""
    accuracy: float | None = None  # balanced accuracy measured by `studio judge-eval` (None: not measured)
    advisory: bool = False  # measured below pipeline.judge_accuracy_floor: its vote alone never accepts

    @property
    def mark(self) -> str:
        """``acc 0.81`` / ``acc 0.52 · advisory`` / ``not measured``: shown next to the judge's votes."""
        acc = "not measured" if self.accuracy is None else f"acc {self.accuracy:.2f}"
        return f"{acc} · advisory" if self.advisory else acc


@dataclass
class ReviewRow:
    example_id: str
    decision: str  # accept | reject | edit
    instruction: str
    reviewer: str
    time: float
    id: str = ""


@dataclass
class ExampleFilter:
    """What the Examples view shows. Empty fields do not filter."""

    status: str = ""  # one of EXAMPLE_STATUSES or ""
    app: str = ""
    kind: str = ""
    judge: str = ""
    search: str = ""
    queue: bool = False  # only the review queue: QUEUE_STATUSES, not yet reviewed by a person

    def key(self) -> tuple[Any, ...]:
        return (self.status, self.app, self.kind, self.judge, self.search, self.queue)

    def empty(self) -> bool:
        return not any(self.key())

    def matches(self, ex: ExampleRow) -> bool:
        if self.status and ex.status != self.status:
            return False
        if self.queue and (ex.reviewed or ex.status not in QUEUE_STATUSES):
            return False
        if self.app and ex.app != self.app:
            return False
        if self.kind and ex.kind != self.kind:
            return False
        if self.judge and self.judge not in ex.judges:
            return False
        if self.search:
            hay = f"{ex.instruction}\n{ex.edited}".lower()
            if not all(w in hay for w in self.search.lower().split()):
                return False
        return True


@dataclass
class SearchHit:
    example_id: str
    instruction: str
    score: float
    method: str  # observation (full text) | model (dense) | hybrid
    kind: str = ""


def overlay_actions(actions: list[dict[str, Any]], action_code: str = "") -> list[dict[str, Any]]:
    """Actions with screen coordinates, for drawing: element clicks are resolved from the stored code string."""
    if not any(a.get("kind") == "click_element" for a in actions):
        return list(actions)
    try:
        from envs.action_parser import parse_action_text
        from envs.actions import action_to_dict

        parsed = [action_to_dict(a) for a in parse_action_text(action_code)] if action_code else []
    except Exception:  # noqa: BLE001 - drawing is best effort; the step keeps its recorded actions
        parsed = []
    out: list[dict[str, Any]] = []
    coords = [p for p in parsed if p.get("kind") == "click"]
    for a in actions:
        if a.get("kind") == "click_element" and coords:
            out.append(coords.pop(0))
        else:
            out.append(a)
    return out


class GuiData(Protocol):
    """What the views read and write. Every call may block: call through the worker helper."""

    path: Path

    def counts(self) -> Counts: ...
    def costs(self) -> list[CostRow]: ...
    def documents(self, offset: int, limit: int) -> list[DocumentRow]: ...
    def count_documents(self) -> int: ...
    def tasks_for(self, document_id: str) -> list[TaskRow]: ...
    def count_trajectories(self) -> int: ...
    def trajectories(self, offset: int, limit: int) -> list[TrajectoryRow]: ...
    def steps(self, trajectory_id: str) -> list[StepRow]: ...
    def screenshot(self, ref: str) -> bytes: ...
    def thumbnail(self, ref: str) -> bytes: ...
    def count_examples(self, flt: ExampleFilter) -> int: ...
    def examples(self, flt: ExampleFilter, offset: int, limit: int) -> list[ExampleRow]: ...
    def facets(self) -> dict[str, list[str]]: ...  # apps, kinds, judges present
    def verdicts(self, example_id: str) -> list[VerdictRow]: ...
    def reviews(self, example_id: str) -> list[ReviewRow]: ...
    def add_review(self, example_id: str, decision: str, instruction: str = "", reviewer: str = "") -> str: ...
    def add_reviews(self, example_ids: list[str], decision: str, reviewer: str = "") -> list[str]: ...
    def remove_reviews(self, review_ids: list[str]) -> int: ...
    def example_ids(self, flt: ExampleFilter) -> list[str]: ...
    def review_progress(self, flt: ExampleFilter) -> tuple[int, int]: ...  # (reviewed, total) under flt
    def search(self, query: str, k: int = 10) -> list[SearchHit]: ...
    def count_tasks(self) -> int: ...
    def tasks(self, offset: int, limit: int) -> list[TaskRow]: ...  # every task, documents or not
    def judges(self) -> list[JudgeInfo]: ...
    def make_example(
        self, trajectory_id: str, start: int, end: int, instruction: str, author: str, kind: str = "instruction"
    ) -> str: ...  # the new example's id (origin human, with the author's accept review)
    def suggest_instruction(self, trajectory_id: str, start: int, end: int, kind: str = "instruction") -> str: ...
    def run_progress(self) -> RunProgress | None: ...  # the running (or last) pipeline run's stage progress
    def rollout_job(self, task_id: str, policy: str, max_steps: int | None = None) -> Any: ...  # "run it"


class MemoryData:
    """:class:`GuiData` over in-memory lists: for benchmarks and for tests of paging/filter logic."""

    def __init__(self, path: Path | str = ".") -> None:
        self.path = Path(path)
        self.document_rows: list[DocumentRow] = []
        self.task_rows: list[TaskRow] = []
        self.trajectory_rows: list[TrajectoryRow] = []
        self.step_rows: dict[str, list[StepRow]] = {}
        self.example_rows: list[ExampleRow] = []
        self.verdict_rows: dict[str, list[VerdictRow]] = {}
        self.review_rows: dict[str, list[ReviewRow]] = {}
        self.blobs: dict[str, bytes] = {}
        self.cost_rows: list[CostRow] = []
        self.judge_rows: list[JudgeInfo] = []
        #: ``(trajectory_id, start, end, kind) -> instruction``: what :meth:`suggest_instruction` answers
        #: (benchmarks and fast tests; the workspace asks the backward writer).
        self.suggestions: dict[tuple[str, int, int, str], str] = {}
        self.progress: RunProgress | None = None
        self._review_seq = 0
        self._committee: dict[str, str] = {}

    def counts(self) -> Counts:
        c = Counts(
            documents=len(self.document_rows),
            tasks=len(self.task_rows),
            trajectories=len(self.trajectory_rows),
            steps=sum(len(s) for s in self.step_rows.values()),
            examples=len(self.example_rows),
            verdicts=sum(len(v) for v in self.verdict_rows.values()),
            reviews=sum(len(v) for v in self.review_rows.values()),
        )
        for ex in self.example_rows:
            if ex.status in ("accepted", "rejected", "disputed"):
                setattr(c, ex.status, getattr(c, ex.status) + 1)
        scores = [t.score for t in self.trajectory_rows if t.score is not None]
        for t in self.trajectory_rows:
            c.outcomes[t.status] = c.outcomes.get(t.status, 0) + 1
        c.mean_score = sum(scores) / len(scores) if scores else None
        return c

    def costs(self) -> list[CostRow]:
        return list(self.cost_rows)

    def documents(self, offset: int, limit: int) -> list[DocumentRow]:
        return self.document_rows[offset : offset + limit]

    def count_documents(self) -> int:
        return len(self.document_rows)

    def tasks_for(self, document_id: str) -> list[TaskRow]:
        return [t for t in self.task_rows if t.document_id == document_id]

    def count_trajectories(self) -> int:
        return len(self.trajectory_rows)

    def trajectories(self, offset: int, limit: int) -> list[TrajectoryRow]:
        return self.trajectory_rows[offset : offset + limit]

    def steps(self, trajectory_id: str) -> list[StepRow]:
        return list(self.step_rows.get(trajectory_id, []))

    def screenshot(self, ref: str) -> bytes:
        return self.blobs.get(ref, b"")

    def thumbnail(self, ref: str) -> bytes:
        return self.blobs.get(ref, b"")

    def _filtered(self, flt: ExampleFilter) -> list[ExampleRow]:
        return [e for e in self.example_rows if flt.matches(e)]

    def count_examples(self, flt: ExampleFilter) -> int:
        return len(self._filtered(flt))

    def examples(self, flt: ExampleFilter, offset: int, limit: int) -> list[ExampleRow]:
        return self._filtered(flt)[offset : offset + limit]

    def facets(self) -> dict[str, list[str]]:
        return {
            "app": sorted({e.app for e in self.example_rows if e.app}),
            "kind": sorted({e.kind for e in self.example_rows if e.kind}),
            "judge": sorted({j for e in self.example_rows for j in e.judges}),
        }

    def verdicts(self, example_id: str) -> list[VerdictRow]:
        return list(self.verdict_rows.get(example_id, []))

    def reviews(self, example_id: str) -> list[ReviewRow]:
        return list(self.review_rows.get(example_id, []))

    def add_review(self, example_id: str, decision: str, instruction: str = "", reviewer: str = "") -> str:
        import time

        check_review(decision, instruction)
        self._review_seq += 1
        rid = f"review-{self._review_seq}"
        self.review_rows.setdefault(example_id, []).append(
            ReviewRow(example_id, decision, instruction, reviewer or default_reviewer(), time.time(), rid)
        )
        self._restatus(example_id)
        return rid

    def add_reviews(self, example_ids: list[str], decision: str, reviewer: str = "") -> list[str]:
        if decision == "edit":
            raise _review_error("a bulk review can accept or reject; edit examples one at a time")
        check_review(decision, "")
        return [self.add_review(eid, decision, "", reviewer) for eid in example_ids]

    def remove_reviews(self, review_ids: list[str]) -> int:
        drop = set(review_ids)
        n = 0
        for eid, rows in self.review_rows.items():
            keep = [r for r in rows if r.id not in drop]
            if len(keep) != len(rows):
                n += len(rows) - len(keep)
                self.review_rows[eid] = keep
                self._restatus(eid)
        return n

    def _restatus(self, example_id: str) -> None:
        from studio.status import latest_edit

        reviews = [
            {"decision": r.decision, "edited_instruction": r.instruction, "when": r.time}
            for r in self.review_rows.get(example_id, [])
        ]
        for ex in self.example_rows:
            if ex.id == example_id:
                committee = self._committee.setdefault(ex.id, ex.status)  # the status before any review
                ex.reviewed = bool(reviews)
                ex.status = display(StatusRule().status((), reviews)) if reviews else committee
                ex.edited = latest_edit(reviews)

    def example_ids(self, flt: ExampleFilter) -> list[str]:
        return [e.id for e in self._filtered(flt)]

    def review_progress(self, flt: ExampleFilter) -> tuple[int, int]:
        rows = self._filtered(replace(flt, queue=False))
        return sum(1 for e in rows if e.reviewed), len(rows)

    def count_tasks(self) -> int:
        return len(self.task_rows)

    def tasks(self, offset: int, limit: int) -> list[TaskRow]:
        return self.task_rows[offset : offset + limit]

    def judges(self) -> list[JudgeInfo]:
        return list(self.judge_rows)

    def make_example(
        self, trajectory_id: str, start: int, end: int, instruction: str, author: str, kind: str = "instruction"
    ) -> str:
        from studio.workspace.human import check_made, made_example_id

        text = check_made(instruction, author, kind)
        indices = [s.index for s in self.step_rows.get(trajectory_id, []) if not s.final]
        if not indices or start >= end or start < min(indices) or end - 1 > max(indices):
            raise _review_error(f"the span {start}:{end} is not within the recorded steps of {trajectory_id}")
        app = next((t.app for t in self.trajectory_rows if t.id == trajectory_id), "")
        eid = made_example_id()
        self.example_rows.append(
            ExampleRow(eid, text, kind, trajectory_id, start, end - 1, app, "pending", origin="human", author=author)
        )
        self.add_review(eid, "accept", "", author)
        return eid

    def suggest_instruction(self, trajectory_id: str, start: int, end: int, kind: str = "instruction") -> str:
        found = self.suggestions.get((trajectory_id, start, end, kind))
        if found is None:
            from studio.errors import ModelError

            raise ModelError("no suggestion for this span; type the instruction")
        return found

    def run_progress(self) -> RunProgress | None:
        return self.progress

    def rollout_job(self, task_id: str, policy: str, max_steps: int | None = None) -> Any:
        raise _review_error("running a task needs a workspace: open one (File > Open workspace)")

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        words = [w for w in query.lower().split() if w]
        hits = []
        for ex in self.example_rows:
            text = ex.instruction.lower()
            score = sum(text.count(w) for w in words)
            if score:
                hits.append(SearchHit(ex.id, ex.instruction, float(score), "observation", ex.kind))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]


def _review_error(message: str) -> Exception:
    from studio.errors import WorkspaceError

    return WorkspaceError(message)


def check_review(decision: str, instruction: str) -> None:
    """Refuse reviews the workspace should not store."""
    from studio.errors import WorkspaceError

    if decision not in ("accept", "reject", "edit"):
        raise WorkspaceError(f"unknown review decision {decision!r}; use accept, reject or edit")
    if decision == "edit" and not instruction.strip():
        raise WorkspaceError("an edit review needs the new instruction text; type it before saving")


def default_reviewer() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "reviewer"
