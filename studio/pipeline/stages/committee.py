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

Judges of other methods (``JudgeSpec.method``, :mod:`studio.pipeline.stages.judges`) vote on ``aligned`` only:
``forced_choice`` (a local model compares the instruction with distractor instructions, plus the values check)
and ``values`` (the values check alone). They are given a compact rendering of the span (the first screen
clipped to :data:`COMPACT_OBS_LINES` rows, then each action and what it changed) and the other tasks'
instructions of the app (``distractors``).

The quorum (``PipelineConfig.quorum``: ``"all"``, ``"majority"`` or N judges) and the status of an example
(accepted, needs_review when only advisory judges accept it, disputed, rejected, pending, or overridden by a
person's review) are the one rule of :mod:`studio.status`; this stage applies it to the verdicts it just made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import Field

from studio.errors import ConfigError, MissingAPIKeyError, ModelError
from studio.pipeline.prompts import ReplySchema, StructuredModel, render_prompt
from studio.pipeline.stages.backward import render_trajectory, span_view
from studio.pipeline.stages.judges import OfflineJudge, span_evidence
from studio.records import Verdict
from studio.status import CRITERIA, Quorum, Status, StatusRule, VoteLike, check_quorum, judge_outcomes

PROMPT = "judge.v3"
#: First-screen rows shown to offline (comparing) judges: what the actions changed matters to them, and a short
#: prompt keeps a small local model fast.
COMPACT_OBS_LINES = 12


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
    """An example to judge (the :class:`studio.records.Example` record satisfies it)."""

    id: str
    trajectory_id: str
    start: int
    end: int
    instruction: str
    app: str


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
    """Deterministic verdict id: example, judge, criterion and prompt version (a re-run maps to the same row)."""
    key = f"{example_id}\x1f{judge}\x1f{criterion}\x1f{prompt_version}"
    return "v-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- judging


def _verdict(example_id: str, judge: str, criterion: str, version: str, **values: Any) -> Verdict:
    return Verdict(
        id=verdict_id(example_id, judge, criterion, version),
        example_id=example_id,
        judge=judge,
        criterion=criterion,  # type: ignore[arg-type]  # one of CRITERIA, checked by pydantic
        prompt_version=version,
        **values,
    )


def _abstain(example_id: str, judge: str, version: str, error: str, raw: str) -> list[Verdict]:
    return [_verdict(example_id, judge, c, version, vote=None, rationale=error, raw=raw, error=error) for c in CRITERIA]


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
            _verdict(
                example.id,
                judge,
                c,
                version,
                vote=bool(cv.vote),
                rationale=" ".join(cv.rationale.split()),
                raw=reply.raw or "",
            )
        )
    return out


def judge_aligned(
    example: ExampleLike,
    trajectory_text: str,
    evidence: str,
    judge: str,
    model: OfflineJudge,
    pool: Sequence[str],
) -> list[Verdict]:
    """Ask an offline judge (``forced_choice``, ``values``): one ``aligned`` verdict (or an abstention).

    The distractors are drawn with the trajectory id as seed, so every example of a trajectory is compared with
    the same instructions (whose scores are then computed once).

    Raises:
        MissingAPIKeyError: The judge's API key is not set.
    """
    try:
        av = model.vote(example.app, example.instruction, trajectory_text, evidence, pool, example.trajectory_id)
    except MissingAPIKeyError:
        raise
    except ModelError as exc:
        error = f"judge call failed: {exc}"
        return [_verdict(example.id, judge, "aligned", "error", vote=None, rationale=error, error=error)]
    return [
        _verdict(
            example.id, judge, "aligned", av.version, vote=av.vote, rationale=av.rationale, raw=av.raw, error=av.error
        )
    ]


def judge_example(
    example: ExampleLike,
    steps: Sequence[Any],
    judges: Sequence[tuple[str, StructuredModel | OfflineJudge]],
    *,
    quorum: Quorum = "all",
    final_observation: str | None = None,
    prior: Sequence[VoteLike] = (),
    prompt: str = PROMPT,
    check: str = "",
    distractors: Sequence[str] = (),
    advisory: Collection[str] = (),
) -> Decision:
    """Judge one example by every judge and apply the quorum.

    Args:
        example: The example (``id, trajectory_id, start, end, instruction, app``; ``step_indices`` if
            present).
        steps: The steps of the example's trajectory (all of them, or just the span); the span is selected by
            ``start <= index < end`` (or ``step_indices``) and cleaned like in backward construction.
        judges: ``(label, judge)`` pairs; labels from :func:`studio.config.judge_labels`, judges from
            :func:`studio.pipeline.stages.judges.make_judge` (a model bound for role ``judge``, or an
            :class:`~studio.pipeline.stages.judges.OfflineJudge`).
        quorum: ``"all"``, ``"majority"`` or a number of judges.
        final_observation: The trajectory's screen after its last step, if recorded.
        prior: Verdicts already stored for this example (resume): judges that appear there are not asked
            again, and their votes count in the decision.
        prompt: Prompt name or exact version.
        check: What the trajectory's executable check said (``task_check.check_note``), appended to the
            trajectory the judges read; "" when the run was not scored.
        distractors: Other tasks' instructions of the app, which ``forced_choice`` judges compare with.
        advisory: Labels of the judges measured below the accuracy floor (see :class:`studio.status.StatusRule`).

    Returns:
        The decision, with the new verdicts only (``prior`` ones are not repeated).

    Raises:
        ConfigError: Bad quorum, or N greater than the number of judges.
        MissingAPIKeyError: A judge's API key is not set.
    """
    if not judges:
        raise ConfigError("no judges configured: add at least one [[roles.judges]] table to studio.toml")
    check_quorum(quorum, len(judges))
    rule = StatusRule(quorum, len(judges), advisory=frozenset(advisory))
    done = {v.judge for v in prior}
    todo = [(label, m) for label, m in judges if label not in done]
    new: list[Verdict] = []
    if todo:
        span, after = span_view(
            steps, example.start, example.end, getattr(example, "step_indices", None), final_observation
        )
        text = render_trajectory(span, after)
        if check:
            text = f"{text}\n\n{check}"
        compact = render_trajectory(span, after, max_obs_lines=COMPACT_OBS_LINES)
        evidence = span_evidence(span, after)
        for label, model in todo:
            if isinstance(model, OfflineJudge):
                new.extend(judge_aligned(example, compact, evidence, label, model, distractors))
            else:
                new.extend(judge_once(example, text, label, model, prompt=prompt))
    everything: list[VoteLike] = [*prior, *new]
    outcomes = judge_outcomes(everything)
    status = rule.committee(everything)
    return Decision(
        example_id=example.id,
        accepted=status == "accepted",
        status=status,
        verdicts=new,
        judges_total=len(judges),
        judges_accepting=sum(1 for o in outcomes.values() if o is True),
        judges_abstaining=sum(1 for o in outcomes.values() if o is None),
    )
