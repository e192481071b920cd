"""Committee filtering (Learn-by-Interact §2): every judge votes on four criteria for every example.

Criteria (the paper's four questions): ``aligned`` (the trajectory completes the instruction), ``coherent``,
``natural`` (a user would ask it) and ``reasonable`` (no back-and-forth, no detours).

One call per judge per example asks for all four votes at once (schema :class:`JudgeReply`). Why not four
calls: the trajectory text is by far the longest part of the prompt and is the same for every
criterion, so one call costs about a quarter of the tokens and calls; the criteria are also not independent (a
reviewer reads the trajectory once), and the recorded rationale stays per criterion, so nothing is lost for
inspection.

A judge whose call fails (``ModelError``) or whose reply does not match the schema *abstains*: four verdicts
with ``vote=None``, the error and the raw text. An abstaining judge does not accept, so under the default rule
``quorum="all"`` the example is **not** accepted (under ``"majority"``/N it simply does not count as a yes).

Quorum rules (``PipelineConfig.quorum``): a judge *accepts* an example when it votes yes on all four criteria.

* ``"all"`` (default, the paper's rule): every judge accepts.
* ``"majority"``: more than half of the judges accept.
* ``N`` (int): at least N judges accept.

Status of an example (:func:`example_status`), for browsing: ``accepted`` (quorum met), ``disputed`` (quorum
not met but some judge accepted), ``rejected`` (no judge accepted), ``pending`` (no verdicts yet), or
``overridden-accept`` / ``overridden-reject`` when a person reviewed it (the latest review wins; reviews never
replace the judges' verdicts, which stay stored).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import Field

from studio.errors import ConfigError, MissingAPIKeyError, ModelError
from studio.pipeline.prompts import ReplySchema, StructuredModel, render_prompt
from studio.pipeline.stages.backward import render_trajectory, span_view

PROMPT = "judge.v2"
CRITERIA: tuple[str, ...] = ("aligned", "coherent", "natural", "reasonable")
Quorum = Literal["all", "majority"] | int
Status = Literal["accepted", "rejected", "disputed", "pending", "overridden-accept", "overridden-reject"]


class CriterionVote(ReplySchema):
    """One criterion's answer."""

    vote: bool
    rationale: str = Field(default="", json_schema_extra={"minLength": 3})


class JudgeReply(ReplySchema):
    """Reply schema: ``{"aligned": {"vote": bool, "rationale": str}, "coherent": ..., ...}``."""

    aligned: CriterionVote
    coherent: CriterionVote
    natural: CriterionVote
    reasonable: CriterionVote


class ExampleLike(Protocol):
    """An example to judge (``backward.ExampleCandidate`` and the workspace example record satisfy it)."""

    id: str
    trajectory_id: str
    start: int
    end: int
    instruction: str
    app: str


class VerdictLike(Protocol):
    judge: str
    criterion: str
    vote: bool | None


class ReviewLike(Protocol):
    """A person's review: ``decision`` is ``"accept"``/``"reject"``/``"edit"`` (an edit accepts) or a bool."""

    decision: Any


@dataclass(frozen=True)
class Verdict:
    """One judge's vote on one criterion of one example.

    Attributes:
        id: Deterministic: example, judge, criterion and prompt version.
        example_id: The example judged.
        judge: Judge label (the model string; ``model#2`` for a repeated model), see :func:`judge_labels`.
        criterion: One of :data:`CRITERIA`.
        vote: True (yes), False (no) or None (abstained: the call failed or the reply was malformed).
        rationale: The judge's reason (for an abstention: what went wrong).
        raw: The judge's raw reply text (same for the four criteria of one call).
        prompt_version: Prompt file stem used.
        error: Why the judge abstained ("" when it voted).
    """

    id: str
    example_id: str
    judge: str
    criterion: str
    vote: bool | None
    rationale: str
    raw: str
    prompt_version: str
    error: str = ""


@dataclass
class Decision:
    """The committee's outcome for one example."""

    example_id: str
    accepted: bool
    status: Status
    verdicts: list[Verdict] = field(default_factory=list)  # only the verdicts made by this call
    judges_total: int = 0
    judges_accepting: int = 0
    judges_abstaining: int = 0


def judge_labels(models: Sequence[str]) -> list[str]:
    """Unique judge labels from model strings: the model, then ``model#2``, ``model#3`` for repeats."""
    seen: dict[str, int] = {}
    labels = []
    for m in models:
        seen[m] = seen.get(m, 0) + 1
        labels.append(m if seen[m] == 1 else f"{m}#{seen[m]}")
    return labels


def verdict_id(example_id: str, judge: str, criterion: str, prompt_version: str) -> str:
    key = f"{example_id}\x1f{judge}\x1f{criterion}\x1f{prompt_version}"
    return "v-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def check_quorum(quorum: Quorum, n_judges: int | None = None) -> None:
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


# ---------------------------------------------------------------------------------------------- aggregation


def judge_outcomes(verdicts: Sequence[VerdictLike]) -> dict[str, bool | None]:
    """Per judge: True (yes on every criterion), False (some no), None (abstained or incomplete, no no)."""
    by_judge: dict[str, dict[str, bool | None]] = {}
    for v in verdicts:
        by_judge.setdefault(v.judge, {})[v.criterion] = v.vote
    out: dict[str, bool | None] = {}
    for judge, votes in by_judge.items():
        values = [votes.get(c) for c in CRITERIA]
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


def committee_status(
    verdicts: Sequence[VerdictLike], quorum: Quorum = "all", n_judges: int | None = None
) -> Status:
    """``accepted`` / ``disputed`` / ``rejected`` / ``pending`` from the judges' verdicts alone."""
    outcomes = judge_outcomes(verdicts)
    if not outcomes:
        return "pending"
    if quorum_met(list(outcomes.values()), quorum, n_judges):
        return "accepted"
    return "disputed" if any(o is True for o in outcomes.values()) else "rejected"


def _review_time(review: Any) -> float:
    t = getattr(review, "when", None)
    if t is None:
        t = getattr(review, "created_at", None)
    return float(t) if isinstance(t, int | float) else 0.0


def _review_decision(review: Any) -> bool | None:
    d = getattr(review, "decision", None)
    if isinstance(d, bool):
        return d
    if isinstance(d, str):
        d = d.strip().lower()
        if d in ("accept", "accepted", "edit", "yes", "approve", "approved"):
            return True
        if d in ("reject", "rejected", "no"):
            return False
    return None


def example_status(
    verdicts: Sequence[VerdictLike],
    reviews: Sequence[ReviewLike] = (),
    quorum: Quorum = "all",
    n_judges: int | None = None,
) -> Status:
    """The status shown for an example: a person's latest review wins, else the committee's status.

    Reviews are ordered by their ``when`` (or ``created_at``) attribute, else by their order in ``reviews``;
    reviews whose ``decision`` is neither accept nor reject (e.g. notes) are ignored.
    """
    decided = [(i, r) for i, r in enumerate(reviews) if _review_decision(r) is not None]
    if decided:
        _, latest = max(decided, key=lambda ir: (_review_time(ir[1]), ir[0]))
        return "overridden-accept" if _review_decision(latest) else "overridden-reject"
    return committee_status(verdicts, quorum, n_judges)


# ---------------------------------------------------------------------------------------------- judging


def _abstain(example_id: str, judge: str, version: str, error: str, raw: str) -> list[Verdict]:
    return [
        Verdict(
            verdict_id(example_id, judge, c, version), example_id, judge, c, None, error, raw, version, error
        )
        for c in CRITERIA
    ]


def judge_once(
    example: ExampleLike, trajectory_text: str, judge: str, model: StructuredModel, *, prompt: str = PROMPT
) -> list[Verdict]:
    """Ask one judge about one example: four verdicts (votes, or abstentions with the error and raw text).

    Raises:
        MissingAPIKeyError: The judge's API key is not set.
    """
    messages, version = render_prompt(
        prompt, app=example.app, instruction=example.instruction, trajectory=trajectory_text
    )
    try:
        reply = model(messages, JudgeReply)
    except MissingAPIKeyError:
        raise
    except ModelError as exc:
        return _abstain(example.id, judge, version, f"judge call failed: {exc}", "")
    if not reply.ok or reply.value is None:
        return _abstain(
            example.id, judge, version, f"malformed judge reply: {reply.error or 'no value'}", reply.raw or ""
        )
    out = []
    for c in CRITERIA:
        cv: CriterionVote = getattr(reply.value, c)
        out.append(
            Verdict(
                verdict_id(example.id, judge, c, version),
                example.id,
                judge,
                c,
                bool(cv.vote),
                " ".join(cv.rationale.split()),
                reply.raw or "",
                version,
            )
        )
    return out


def judge_example(
    example: ExampleLike,
    steps: Sequence[Any],
    judges: Sequence[tuple[str, StructuredModel]],
    *,
    quorum: Quorum = "all",
    final_observation: str | None = None,
    prior: Sequence[VerdictLike] = (),
    prompt: str = PROMPT,
) -> Decision:
    """Judge one example by every judge and apply the quorum.

    Args:
        example: The example (``id, trajectory_id, start, end, instruction, app``; ``step_indices`` if
            present).
        steps: The steps of the example's trajectory (all of them, or just the span); the span is selected by
            ``start <= index < end`` (or ``step_indices``) and cleaned like in backward construction.
        judges: ``(label, model)`` pairs; labels from :func:`judge_labels`, models bound with
            :func:`studio.pipeline.prompts.bind_model` for role ``judge``.
        quorum: ``"all"``, ``"majority"`` or a number of judges.
        final_observation: The trajectory's screen after its last step, if recorded.
        prior: Verdicts already stored for this example (resume): judges that appear there are not asked
            again, and their votes count in the decision.
        prompt: Prompt name or exact version.

    Returns:
        The decision, with the new verdicts only (``prior`` ones are not repeated).

    Raises:
        ConfigError: Bad quorum, or N greater than the number of judges.
        MissingAPIKeyError: A judge's API key is not set.
    """
    if not judges:
        raise ConfigError("no judges configured: add at least one [[roles.judges]] table to studio.toml")
    check_quorum(quorum, len(judges))
    done = {v.judge for v in prior}
    todo = [(label, m) for label, m in judges if label not in done]
    new: list[Verdict] = []
    if todo:
        span, after = span_view(
            steps, example.start, example.end, getattr(example, "step_indices", None), final_observation
        )
        text = render_trajectory(span, after)
        for label, model in todo:
            new.extend(judge_once(example, text, label, model, prompt=prompt))
    everything: list[VerdictLike] = [*prior, *new]
    outcomes = judge_outcomes(everything)
    status = committee_status(everything, quorum, len(judges))
    return Decision(
        example_id=example.id,
        accepted=status == "accepted",
        status=status,
        verdicts=new,
        judges_total=len(judges),
        judges_accepting=sum(1 for o in outcomes.values() if o is True),
        judges_abstaining=sum(1 for o in outcomes.values() if o is None),
    )
