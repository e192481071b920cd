"""Measure judges on a labelled judge set: balanced accuracy, true-positive and true-negative rates, calls, cost.

Every configured judge (``roles.judges`` of a config, :class:`studio.config.JudgeSpec`) judges every candidate
instruction of every item (:mod:`studio.pipeline.eval.judge_set`) exactly as the committee stage judges an
example: the same trajectory rendering, the same evidence for the values check, and, for ``forced_choice``
judges, distractors drawn the same way (other items' true instructions of the app, then the bundled tasks of
the app, the item's own true instruction left out, as the committee leaves out the trajectory's own task).

``votes`` keeps what every judge said about every candidate (``studio judge-eval --votes FILE`` writes them as
JSON lines), so other committees of the same judges can be scored without calling the models again.

A judge *predicts* right when it accepts (yes on every criterion it voted on); an abstention predicts wrong and
is counted. The committee's prediction is its status being ``accepted`` under the configured quorum, with the
judges measured below ``pipeline.judge_accuracy_floor`` advisory (their acceptance alone gives
``needs_review``, counted as not accepted).

Balanced accuracy is ``(TPR + TNR) / 2``: the set has several wrong candidates per right one, so plain accuracy
would reward a judge that always says no.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from studio.pipeline.eval.judge_set import JudgeItem

COMMITTEE = "committee"


@dataclass
class JudgeScore:
    """Confusion counts of one judge (or the committee) and what it cost."""

    label: str
    tp: int = 0
    fn: int = 0
    tn: int = 0
    fp: int = 0
    abstained: int = 0
    needs_review: int = 0
    calls: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [right, total]

    def add(self, label: bool, predicted: bool | None, kind: str = "") -> None:
        """Count one candidate: its true ``label`` and the prediction (None: abstained, counts as no)."""
        if predicted is None:
            self.abstained += 1
        yes = predicted is True
        if label:
            self.tp, self.fn = self.tp + yes, self.fn + (not yes)
        else:
            self.tn, self.fp = self.tn + (not yes), self.fp + yes
        right_total = self.by_kind.setdefault(kind or ("true" if label else "wrong"), [0, 0])
        right_total[0] += int(yes == label)
        right_total[1] += 1

    @property
    def tpr(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def tnr(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else 0.0

    @property
    def balanced_accuracy(self) -> float:
        return (self.tpr + self.tnr) / 2

    @property
    def n(self) -> int:
        return self.tp + self.fn + self.tn + self.fp

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.label,
            "n": self.n,
            "balanced_accuracy": round(self.balanced_accuracy, 4),
            "tpr": round(self.tpr, 4),
            "tnr": round(self.tnr, 4),
            "tp": self.tp,
            "fn": self.fn,
            "tn": self.tn,
            "fp": self.fp,
            "abstained": self.abstained,
            "needs_review": self.needs_review,
            "calls": self.calls,
            "cost": round(self.cost, 6),
            "seconds": round(self.seconds, 1),
            "by_kind": {k: f"{r}/{t}" for k, (r, t) in sorted(self.by_kind.items())},
        }


@dataclass
class JudgeEvalReport:
    """Scores per judge (config order) and of the committee."""

    judges: list[JudgeScore]
    committee: JudgeScore
    items: int
    candidates: int
    advisory: list[str]
    votes: list[dict[str, Any]] = field(default_factory=list)  # one row per candidate and judge, see run_judge_eval

    def rows(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in [*self.judges, self.committee]]


def _pool(items: Sequence[JudgeItem], item: JudgeItem) -> list[str]:
    from studio.pipeline.stages.judges import distractor_pool

    own = next((c.instruction for c in item.candidates if c.label), "")
    others = [(o.app, c.instruction) for o in items if o.id != item.id for c in o.candidates if c.label]
    return distractor_pool(item.app, own, others)


def run_judge_eval(
    items: Sequence[JudgeItem],
    cfg: Any,
    client: Any,
    *,
    on_progress: Callable[[str], None] | None = None,
) -> JudgeEvalReport:
    """Judge every candidate of every item with every judge of ``cfg`` (a ``StudioConfig``).

    Args:
        items: The labelled set.
        cfg: Its ``roles.judges``, ``pipeline.quorum`` and ``pipeline.judge_accuracy_floor`` are used.
        client: A ``studio.llm.client.ModelClient`` whose ledger is a ``MemoryLedger`` (calls and cost of
            ``ask`` judges are read from it).
        on_progress: Called with a short line after each item.
    """
    from studio.config import judge_labels
    from studio.pipeline.prompts import bind_model
    from studio.pipeline.stages.backward import clean_steps, render_trajectory
    from studio.pipeline.stages.committee import COMPACT_OBS_LINES, judge_aligned, judge_once
    from studio.pipeline.stages.judges import OfflineJudge, make_judge, span_evidence
    from studio.status import StatusRule, judge_outcomes

    specs = list(cfg.roles.judges)
    labels = judge_labels(specs)
    judges = [
        (label, bind_model(client, "judge", spec, label) if spec.method == "ask" else make_judge(spec))
        for label, spec in zip(labels, specs, strict=True)
    ]
    advisory = cfg.advisory_judges()
    rule = StatusRule(cfg.pipeline.quorum, len(judges), advisory=frozenset(advisory))
    scores = {label: JudgeScore(label) for label in labels}
    committee = JudgeScore(COMMITTEE)
    n_candidates = 0
    votes: list[dict[str, Any]] = []
    started = time.perf_counter()
    for item in items:
        steps = clean_steps(item.steps)
        text = render_trajectory(steps, item.final_observation)
        compact = render_trajectory(steps, item.final_observation, max_obs_lines=COMPACT_OBS_LINES)
        evidence = span_evidence(steps, item.final_observation)
        pool = _pool(items, item)
        for k, cand in enumerate(item.candidates):
            n_candidates += 1
            example = SimpleNamespace(
                id=f"{item.id}#{k}",
                app=item.app,
                instruction=cand.instruction,
                trajectory_id=item.id,
                start=0,
                end=len(steps),
            )
            verdicts: list[Any] = []
            for label, judge in judges:
                t0 = time.perf_counter()
                if isinstance(judge, OfflineJudge):
                    got = judge_aligned(example, compact, evidence, label, judge, pool)
                else:
                    got = judge_once(example, text, label, judge)
                scores[label].seconds += time.perf_counter() - t0
                verdicts.extend(got)
                scores[label].add(cand.label, judge_outcomes(got).get(label), cand.kind)
            status = rule.committee(verdicts)
            committee.needs_review += status == "needs_review"
            committee.add(cand.label, status == "accepted", cand.kind)
            votes.extend(_vote_rows(item.id, k, cand, verdicts, status))
        if on_progress:
            on_progress(
                f"{item.id}: {len(item.candidates)} candidates; committee so far: balanced accuracy "
                f"{committee.balanced_accuracy:.3f} on {committee.n} (TP {committee.tp} FN {committee.fn} "
                f"TN {committee.tn} FP {committee.fp}), {time.perf_counter() - started:.0f} s"
            )
    _count_calls(scores, judges, client)
    committee.calls = sum(s.calls for s in scores.values())
    committee.cost = sum(s.cost for s in scores.values())
    committee.seconds = sum(s.seconds for s in scores.values())
    return JudgeEvalReport(list(scores.values()), committee, len(items), n_candidates, sorted(advisory), votes)


def _vote_rows(item_id: str, k: int, cand: Any, verdicts: Sequence[Any], status: str) -> list[dict[str, Any]]:
    """What every judge said about one candidate (its ``aligned`` verdict and the judge's outcome), for
    ``studio judge-eval --votes``: other committees can be scored from these rows without calling a model."""
    from studio.status import judge_outcomes

    outcomes = judge_outcomes(verdicts)
    rows = []
    for judge, outcome in outcomes.items():
        aligned = next((v for v in verdicts if v.judge == judge and v.criterion == "aligned"), None)
        rows.append(
            {
                "item": item_id,
                "candidate": k,
                "kind": cand.kind,
                "label": cand.label,
                "instruction": cand.instruction,
                "judge": judge,
                "accepts": outcome,
                "rationale": aligned.rationale if aligned is not None else "",
                "committee": status,
            }
        )
    return rows


def _count_calls(scores: dict[str, JudgeScore], judges: Sequence[tuple[str, Any]], client: Any) -> None:
    from studio.pipeline.stages.judges import OfflineJudge

    records = getattr(client.ledger, "records", [])
    for label, judge in judges:
        if isinstance(judge, OfflineJudge):
            scores[label].calls = judge.calls
            continue
        mine = [r for r in records if r.stage == label and not r.cache_hit]
        scores[label].calls = len(mine)
        scores[label].cost = sum(r.cost for r in mine)


def format_report(report: JudgeEvalReport) -> str:
    """A plain-text table, one row per judge and one for the committee."""
    head = f"{'judge':44} {'bal.acc':>7} {'TPR':>5} {'TNR':>5} {'n':>4} {'abst':>4} {'calls':>6} {'cost $':>8} {'s':>6}"
    lines = [f"{report.items} items, {report.candidates} candidates", head]
    for s in [*report.judges, report.committee]:
        tag = " (advisory)" if s.label in report.advisory else ""
        name = (s.label + tag)[:44]
        lines.append(
            f"{name:44} {s.balanced_accuracy:7.3f} {s.tpr:5.2f} {s.tnr:5.2f} {s.n:4d} {s.abstained:4d} "
            f"{s.calls:6d} {s.cost:8.4f} {s.seconds:6.0f}"
        )
    c = report.committee
    lines.append(
        f"committee: {c.needs_review} needs_review; right by kind: "
        + ", ".join(f"{k} {r}/{t}" for k, (r, t) in sorted(c.by_kind.items()))
    )
    return "\n".join(lines)
