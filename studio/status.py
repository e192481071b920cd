"""The one example-status rule: judges' verdicts and a person's reviews -> the status of an example.

Every place that shows or filters by an example's status calls this module: the committee stage
(:mod:`studio.pipeline.stages.committee`), the workspace (``Workspace.example_statuses``), the GUI's example
index and in-memory data, the retrieval index and the dataset export. Pure functions, no I/O.

The rule, in order (:meth:`StatusRule.status`):

1. **A person's latest review wins** (:func:`latest_review`): ``accept`` or ``edit`` -> ``overridden-accept``,
   ``reject`` -> ``overridden-reject``. Reviews never replace the judges' verdicts, which stay stored.
2. **Else the committee** (:meth:`StatusRule.committee`). A judge *accepts* an example when it votes yes on
   every criterion, *rejects* it when it votes no on one, and *abstains* otherwise (failed call, malformed
   reply, missing criteria). A judge that votes on ``aligned`` alone (the ``forced_choice`` and ``values``
   methods) is judged by that one vote. Then: ``pending`` (no verdicts), ``accepted`` (the quorum of accepting
   *binding* judges is met), ``needs_review`` (it is met only when the advisory judges' votes are counted too),
   ``disputed`` (not met but some judge accepted), ``rejected`` (no judge accepted).
3. **The verifier, when required** (``[verify] require_check``, :attr:`StatusRule.require_check`): a
   committee-``accepted`` example whose trajectory's executable check did not score 1.0 (it failed, or the run
   was not scored) is ``disputed`` — the judges and the verifier disagree. It never accepts on its own and
   never changes a person's decision.

Advisory judges (:attr:`StatusRule.advisory`, from ``StudioConfig.advisory_judges()``): judges whose accuracy
measured by ``studio judge-eval`` is below ``pipeline.judge_accuracy_floor``. Their votes are stored and shown,
but the quorum is applied to the other judges: an example they alone accept is ``needs_review``, never
``accepted``; their "no" does not reject an example the binding judges accept.

Quorum (``PipelineConfig.quorum``): ``"all"`` (the paper's rule, every configured judge accepts; a configured
judge without verdicts counts as not accepting), ``"majority"`` (more than half of the judges that voted) or an
int N (at least N judges accept).

"Latest" means the greatest ``when`` (or ``created_at``); equal times are broken by the order the reviews are
given in (table order: the later row wins). The text of an example is its latest ``edit`` review's text, even
when a later ``accept`` confirms it (:func:`latest_edit`).

Extending the rule: add an option (a field with a default that keeps today's behaviour) to :class:`StatusRule`
and a step in :meth:`StatusRule.status`, add the new status name to :data:`STATUSES` and, if the GUI should
show it under another name, to :data:`DISPLAY`. Every caller then gets it at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from studio.errors import ConfigError

#: The four questions every judge answers (Learn-by-Interact §2).
CRITERIA: tuple[str, ...] = ("aligned", "coherent", "natural", "reasonable")

Quorum = Literal["all", "majority"] | int
Status = Literal[
    "accepted", "needs_review", "rejected", "disputed", "pending", "overridden-accept", "overridden-reject"
]
#: Every status :meth:`StatusRule.status` can return.
STATUSES: tuple[str, ...] = (
    "accepted",
    "needs_review",
    "rejected",
    "disputed",
    "pending",
    "overridden-accept",
    "overridden-reject",
)
#: How browsing views name a status (a person's decision shows as the plain decision).
DISPLAY: Mapping[str, str] = {"overridden-accept": "accepted", "overridden-reject": "rejected"}
#: Statuses that count as accepted (retrieval index, ``export --status accepted``).
ACCEPTED: frozenset[str] = frozenset({"accepted", "overridden-accept"})

_ACCEPT_WORDS = frozenset({"accept", "accepted", "edit", "yes", "approve", "approved"})
_REJECT_WORDS = frozenset({"reject", "rejected", "no"})


class VoteLike(Protocol):
    """One judge's vote on one criterion (the :class:`studio.records.Verdict` record satisfies it)."""

    @property
    def judge(self) -> str: ...
    @property
    def criterion(self) -> str: ...
    @property
    def vote(self) -> bool | None: ...


@dataclass(frozen=True)
class Vote:
    """A vote reduced to what the rule reads (for callers that hold only these three columns)."""

    judge: str
    criterion: str
    vote: bool | None


def check_quorum(quorum: object, n_judges: int | None = None) -> None:
    """Raise ``ConfigError`` for a quorum that is not ``"all"``, ``"majority"`` or 1..n_judges."""
    if isinstance(quorum, bool) or not (quorum in ("all", "majority") or isinstance(quorum, int)):
        raise ConfigError(f"quorum must be 'all', 'majority' or a number of judges, got {quorum!r}")
    if isinstance(quorum, int):
        if quorum < 1:
            raise ConfigError(f"quorum {quorum} must be at least 1 judge; set pipeline.quorum")
        if n_judges is not None and quorum > n_judges:
            raise ConfigError(
                f"quorum {quorum} needs more judges than the {n_judges} configured; "
                "add [[roles.judges]] tables or lower pipeline.quorum"
            )


def judge_outcomes(verdicts: Iterable[VoteLike], criteria: Sequence[str] = CRITERIA) -> dict[str, bool | None]:
    """Per judge: True (yes on every criterion), False (some no), None (abstained or incomplete, no no).

    A judge whose only verdict is on ``aligned`` (``forced_choice``, ``values``) is judged by that one vote.
    """
    by_judge: dict[str, dict[str, bool | None]] = {}
    for v in verdicts:
        by_judge.setdefault(v.judge, {})[v.criterion] = v.vote
    out: dict[str, bool | None] = {}
    for judge, votes in by_judge.items():
        values = [votes.get(c) for c in (criteria if set(votes) != {"aligned"} else ("aligned",))]
        if any(x is False for x in values):
            out[judge] = False
        elif all(x is True for x in values):
            out[judge] = True
        else:
            out[judge] = None
    return out


def quorum_met(outcomes: Sequence[bool | None], quorum: Quorum, n_judges: int | None = None) -> bool:
    """Whether enough judges accepted.

    Args:
        outcomes: One entry per judge that produced verdicts (see :func:`judge_outcomes`).
        quorum: ``"all"``, ``"majority"`` or a number of judges.
        n_judges: Judges in the committee (defaults to ``len(outcomes)``); judges with no verdicts count as
            not accepting.
    """
    check_quorum(quorum)
    total = max(n_judges if n_judges is not None else 0, len(outcomes))
    yes = sum(1 for o in outcomes if o is True)
    if total == 0:
        return False
    if quorum == "all":
        return yes == total
    if quorum == "majority":
        return yes * 2 > total
    return yes >= int(quorum)


def review_time(review: Any) -> float:
    """A review's time: its ``when`` (or ``created_at``) attribute or key; 0 when it has none."""
    t = _field(review, "when")
    if t is None:
        t = _field(review, "created_at")
    return float(t) if isinstance(t, int | float) and not isinstance(t, bool) else 0.0


def review_decision(review: Any) -> bool | None:
    """True (accept, edit), False (reject) or None (not a decision, e.g. a note) from ``decision``."""
    d = _field(review, "decision")
    if isinstance(d, bool):
        return d
    if isinstance(d, str):
        d = d.strip().lower()
        if d in _ACCEPT_WORDS:
            return True
        if d in _REJECT_WORDS:
            return False
    return None


def latest_review(reviews: Iterable[Any]) -> Any | None:
    """The review that decides: the latest one whose decision is accept/edit/reject (None if there is none).

    Reviews may be records, objects or dicts with ``decision`` and ``when``; ties on time go to the later one in
    ``reviews``.
    """
    best: Any | None = None
    best_key: tuple[float, int] = (float("-inf"), -1)
    for i, r in enumerate(reviews):
        if review_decision(r) is None:
            continue
        key = (review_time(r), i)
        if key >= best_key:
            best, best_key = r, key
    return best


def latest_edit(reviews: Iterable[Any]) -> str:
    """The instruction text of the latest ``edit`` review ("" when there is none): the example's text."""
    best = ""
    best_key: tuple[float, int] = (float("-inf"), -1)
    for i, r in enumerate(reviews):
        if _field(r, "decision") != "edit":
            continue
        key = (review_time(r), i)
        if key >= best_key:
            best, best_key = str(_field(r, "edited_instruction") or ""), key
    return best


def latest_edits(reviews: Iterable[Any]) -> dict[str, str]:
    """:func:`latest_edit` for many examples at once: ``example_id -> edited text`` (only non-empty edits)."""
    by_example: dict[str, list[Any]] = {}
    for r in reviews:
        by_example.setdefault(str(_field(r, "example_id")), []).append(r)
    out = {eid: latest_edit(rs) for eid, rs in by_example.items()}
    return {eid: text for eid, text in out.items() if text}


@dataclass(frozen=True)
class StatusRule:
    """The status rule with its options. Immutable and cheap: build one per call site or per config.

    Attributes:
        quorum: ``"all"``, ``"majority"`` or a number of judges.
        n_judges: Judges configured. Under ``"all"`` a configured judge that has not voted counts as not
            accepting; None counts only the judges that voted.
        criteria: The criteria a judge must answer yes to in order to accept.
        require_check: The verifier must agree too: see step 3 of the rule (the module docstring).
        advisory: Labels of the advisory judges (measured below the accuracy floor; see the module docstring).
    """

    quorum: Quorum = "all"
    n_judges: int | None = None
    criteria: tuple[str, ...] = CRITERIA
    require_check: bool = False
    advisory: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        check_quorum(self.quorum)

    @classmethod
    def from_config(cls, config: Any, quorum: str | int | None = None) -> StatusRule:
        """The rule of a ``StudioConfig`` (``pipeline.quorum``, the number of ``roles.judges``).

        Raises:
            ConfigError: ``quorum`` is not ``"all"``, ``"majority"`` or a positive number.
        """
        q = config.pipeline.quorum if quorum is None else quorum
        check_quorum(q)
        verify = getattr(config, "verify", None)
        advisory = config.advisory_judges() if hasattr(config, "advisory_judges") else frozenset()
        return cls(
            quorum=cast(Quorum, q),
            n_judges=len(config.roles.judges),
            require_check=bool(getattr(verify, "require_check", False)),
            advisory=frozenset(advisory),
        )

    def committee(self, verdicts: Sequence[VoteLike]) -> Status:
        """``accepted`` / ``needs_review`` / ``disputed`` / ``rejected`` / ``pending`` from the verdicts alone."""
        outcomes = judge_outcomes(verdicts, self.criteria)
        if not outcomes:
            return "pending"
        n = self.n_judges if self.quorum == "all" else None
        advisory = set(self.advisory) if n is not None else set(self.advisory) & set(outcomes)
        if not advisory:
            if quorum_met(list(outcomes.values()), self.quorum, n):
                return "accepted"
        else:
            binding = [o for j, o in outcomes.items() if j not in advisory]
            n_binding = max(n or 0, len(outcomes)) - len(advisory)
            if n_binding > 0 and quorum_met(binding, self.quorum, n_binding if n is not None else None):
                return "accepted"
            if quorum_met(list(outcomes.values()), self.quorum, n):
                return "needs_review"
        return "disputed" if any(o is True for o in outcomes.values()) else "rejected"

    def status(self, verdicts: Sequence[VoteLike], reviews: Iterable[Any] = (), check: float | None = None) -> Status:
        """The status of one example: a person's latest review wins, else the committee's status (with the
        verifier's say when :attr:`require_check`; ``check`` is the example's trajectory's check score)."""
        review = latest_review(reviews)
        if review is not None:
            return "overridden-accept" if review_decision(review) else "overridden-reject"
        status = self.committee(verdicts)
        if self.require_check and status == "accepted" and check != 1.0:
            return "disputed"
        return status

    def statuses(
        self, verdicts: Iterable[Any], reviews: Iterable[Any] = (), checks: Mapping[str, float | None] | None = None
    ) -> dict[str, Status]:
        """Status of every example that has verdicts or reviews (others are ``pending``).

        ``verdicts`` and ``reviews`` carry an ``example_id`` (records, objects or dicts with the columns
        ``example_id, judge, criterion, vote`` and ``example_id, decision, when``); ``checks`` maps an example id
        to its trajectory's check score (read only when :attr:`require_check`).
        """
        checks = checks or {}
        votes: dict[str, list[VoteLike]] = {}
        for v in verdicts:
            votes.setdefault(str(_field(v, "example_id")), []).append(
                v if not isinstance(v, Mapping) else Vote(v["judge"], v["criterion"], v["vote"])
            )
        by_example: dict[str, list[Any]] = {}
        for r in reviews:
            by_example.setdefault(str(_field(r, "example_id")), []).append(r)
        return {
            eid: self.status(votes.get(eid, []), by_example.get(eid, []), checks.get(eid))
            for eid in set(votes) | set(by_example)
        }


def display(status: str) -> str:
    """How browsing views name a status (``overridden-accept`` -> ``accepted``...)."""
    return DISPLAY.get(status, status)


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)
