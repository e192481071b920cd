"""Offline judges that discriminate: forced choice against other instructions, and a values check.

Small local models are useless as plain yes/no judges: asked "does this trajectory complete the instruction?"
they answer yes to nearly anything (or always no), and even their probability of "yes" barely moves between
the right instruction and an unrelated one. What they do carry is the *backward* signal: how much more likely
the instruction becomes as a description of the trajectory once the model has seen the trajectory
(``log P(instruction | trajectory) - log P(instruction | no trajectory)``, pointwise mutual information). The
``forced_choice`` judge scores the candidate and ``k`` distractor instructions (other tasks of the app) this way
and votes aligned only when the candidate beats every distractor by ``margin``. ``score="yes"`` uses the
log-odds of answering "yes" instead (weaker with small models; kept for comparison and served models later).

The trajectory comes first in every prompt, so llama.cpp evaluates it once per trajectory and only the short
instruction after it for each candidate (prompt-prefix reuse); scores are memoized per trajectory and
instruction, and the no-trajectory scores per instruction.

A model cannot be trusted with values ("add 124 and 456" vs a run that typed ``123+456=``), so the judge also
runs the deterministic :func:`studio.pipeline.stages.values.check_values` (``check_values=True``); the
``values`` judge is that check alone (no model, abstains when the instruction names no value).

These judges vote on ``aligned`` only (one verdict per example); :func:`studio.pipeline.stages.committee.judge_outcomes`
counts a judge's own criteria.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from studio.pipeline.stages.values import change_action, check_values, trajectory_evidence

YES_PROMPT = "judge_choice.v1"
LIKELIHOOD_PROMPT = "judge_likelihood.v1"
VALUES_VERSION = "values.v1"
DEFAULT_DISTRACTORS = 4
NOT_SHOWN = "(not shown)"


class InstructionScorer(Protocol):
    """Scores instructions as descriptions of one trajectory: higher is a better match."""

    version: str

    @property
    def calls(self) -> int:
        """Model calls made so far."""
        ...

    def scores(self, app: str, trajectory_text: str, instructions: Sequence[str]) -> list[float]:
        """One score per instruction."""
        ...


class LogprobModel(Protocol):
    """What the scorers need from a model (``studio.llm.yes_no.LocalScorer`` satisfies it)."""

    calls: int

    def yes_margins(self, prompts: Sequence[str]) -> list[float]: ...

    def reply_logprob(self, prompt: str, reply: str) -> float: ...


@dataclass
class LikelihoodScorer:
    """``log P(instruction | trajectory) - log P(instruction | no trajectory)`` (memoized)."""

    model: LogprobModel
    version: str = LIKELIHOOD_PROMPT
    _cond: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)
    _prior: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    @property
    def calls(self) -> int:
        return self.model.calls

    def scores(self, app: str, trajectory_text: str, instructions: Sequence[str]) -> list[float]:
        from studio.pipeline.prompts import load_prompt, render

        template, self.version = load_prompt(LIKELIHOOD_PROMPT)
        key = hashlib.sha1(f"{app}\x1f{trajectory_text}".encode()).hexdigest()
        if len(self._cond) > 4096:
            self._cond.clear()
        for i in instructions:  # all with the trajectory first (one shared prefix), then without
            if (key, i) not in self._cond:
                self._cond[key, i] = self.model.reply_logprob(render(template, app=app, trajectory=trajectory_text), i)
        for i in instructions:
            if (app, i) not in self._prior:
                self._prior[app, i] = self.model.reply_logprob(render(template, app=app, trajectory=NOT_SHOWN), i)
        return [self._cond[key, i] - self._prior[app, i] for i in instructions]


_WORD = re.compile(r"[a-z0-9][a-z0-9_.~/-]*[a-z0-9]|[a-z0-9]")
_STOP = frozenset(
    "a an and are as at be by for from in into is it its of on or so that the then this to use using with "
    "your you new file folder home save saved calculator terminal editor text spreadsheet workbook".split()
)


def content_words(text: str) -> set[str]:
    """Lower-case words and values of ``text`` without stop words (and words every task of an app shares)."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


@dataclass
class OverlapScorer:
    """No model: the share of an instruction's content words that the trajectory text contains.

    A deterministic baseline for forced choice: an instruction of another task names things the trajectory
    never typed or showed.
    """

    version: str = "overlap.v1"
    calls: int = 0

    def scores(self, app: str, trajectory_text: str, instructions: Sequence[str]) -> list[float]:
        seen = content_words(trajectory_text.replace("\\n", " "))
        out = []
        for i in instructions:
            words = content_words(i)
            out.append(len(words & seen) / len(words) if words else 0.0)
        return out


@dataclass
class YesScorer:
    """``log P(yes) - log P(no)`` asked per instruction, the trajectory first in the prompt."""

    model: LogprobModel
    version: str = YES_PROMPT

    @property
    def calls(self) -> int:
        return self.model.calls

    def scores(self, app: str, trajectory_text: str, instructions: Sequence[str]) -> list[float]:
        prompts, self.version = choice_prompts(app, trajectory_text, instructions)
        return self.model.yes_margins(prompts)


@dataclass(frozen=True)
class AlignedVote:
    """A judge's ``aligned`` vote: ``vote`` None is an abstention (``error`` says why)."""

    vote: bool | None
    rationale: str
    raw: str = ""
    version: str = ""
    error: str = ""


def choice_prompts(app: str, trajectory_text: str, instructions: Sequence[str]) -> tuple[list[str], str]:
    """One prompt per instruction, all sharing the same leading text (the trajectory); and the version."""
    from studio.pipeline.prompts import load_prompt, render

    template, version = load_prompt(YES_PROMPT)
    return [render(template, app=app, trajectory=trajectory_text, instruction=i) for i in instructions], version


def pick_distractors(instruction: str, pool: Sequence[str], k: int, seed: str) -> list[str]:
    """Up to ``k`` instructions of ``pool`` other than ``instruction``, deterministic for ``seed``."""
    norm = " ".join(instruction.lower().split())
    unique: list[str] = []
    for p in pool:
        if " ".join(p.lower().split()) != norm and p not in unique:
            unique.append(p)
    return sorted(unique, key=lambda p: hashlib.sha1(f"{seed}\x1f{p}".encode()).hexdigest())[:k]


class OfflineJudge(ABC):
    """A judge that votes on ``aligned`` only, from the rendered trajectory, its evidence and other instructions."""

    calls: int = 0

    @abstractmethod
    def vote(
        self, app: str, instruction: str, trajectory_text: str, evidence: str, pool: Sequence[str], seed: str
    ) -> AlignedVote:
        """The ``aligned`` vote (``pool``: other tasks' instructions to draw distractors from)."""


def bundled_instructions(app: str) -> list[str]:
    """Instructions of the bundled tasks and evaluation suite (``assets/tasks``, ``assets/eval``) for ``app``."""
    from envs.tasks import ASSETS_DIR, load_tasks

    out: list[str] = []
    for sub in ("tasks", "eval"):
        for task in load_tasks(ASSETS_DIR / sub):
            apps = set(task.related_apps) | {task.snapshot}
            if app in apps and task.instruction not in out:
                out.append(task.instruction)
    return out


def distractor_pool(app: str, own: str, workspace_instructions: Sequence[tuple[str, str]]) -> list[str]:
    """Instructions a ``forced_choice`` judge compares an example of ``app`` with.

    The workspace's other tasks of the same app first (``(app, instruction)`` pairs, the trajectory's own task
    instruction ``own`` left out), then the bundled tasks of the app.
    """
    pool = [i for a, i in workspace_instructions if a == app and i != own]
    pool.extend(i for i in bundled_instructions(app) if i != own and i not in pool)
    return pool


def span_evidence(steps: Sequence[Any], screen_after: str | None) -> str:
    """What a span did, for the values check: typed text, action code, the values its steps changed, and the
    values (not the labels) on the screen after it."""
    from envs.changes import changes_text, table_values
    from studio.pipeline.stages.backward import step_changes

    ordered = list(steps)
    changed: list[str] = []
    for k, step in enumerate(ordered):
        after = ordered[k + 1].observation_text if k + 1 < len(ordered) else screen_after
        changed.append(changes_text(step_changes(step, after) or []))
    final = table_values(screen_after) if screen_after else None
    return trajectory_evidence([s.action_code for s in ordered], "\n".join(changed), final)


@dataclass
class ForcedChoiceJudge(OfflineJudge):
    """Votes aligned when the candidate's score beats every distractor's (and its values check out).

    Attributes:
        scorer: How instructions are scored against the trajectory (:class:`LikelihoodScorer`, :class:`YesScorer`).
        distractors: How many distractor instructions to compare against.
        margin: How much the candidate must beat the best distractor by (in nats).
        values: Also require :func:`check_values` not to fail.
        contrast: Also compare with the instruction's own counterfactual (its action word swapped, same
            values: "subtract 123 and 456" for "add 123 and 456"), which other tasks' instructions never test.
    """

    scorer: InstructionScorer
    distractors: int = DEFAULT_DISTRACTORS
    margin: float = 0.0
    values: bool = True
    contrast: bool = False

    @property
    def calls(self) -> int:  # type: ignore[override]
        return self.scorer.calls

    def vote(
        self, app: str, instruction: str, trajectory_text: str, evidence: str, pool: Sequence[str], seed: str
    ) -> AlignedVote:
        """The ``aligned`` vote for ``instruction`` against distractors drawn from ``pool``.

        ``seed`` picks the distractors; the committee passes the trajectory id, so all examples of one
        trajectory are compared with the same instructions (and their scores are computed once).
        """
        others = pick_distractors(instruction, pool, self.distractors, seed)
        counterfactual = change_action(instruction) if self.contrast else None
        if counterfactual and counterfactual not in others:
            others.append(counterfactual)
        scores = self.scorer.scores(app, trajectory_text, [instruction, *others])
        mine, rest = scores[0], scores[1:]
        if rest:
            best = max(range(len(rest)), key=lambda i: rest[i])
            ok = mine > rest[best] + self.margin
            why = (
                f"score {mine:+.2f} vs best of {len(rest)} other instructions {rest[best]:+.2f} ({others[best][:60]!r})"
            )
        else:
            ok = mine > self.margin
            why = f"score {mine:+.2f} (no other instruction to compare with)"
        raw = " ".join(f"{m:+.3f}" for m in scores)
        if self.values:
            check = check_values(instruction, evidence)
            why += f"; values: {check.rationale}"
            ok = ok and check.vote is not False
        return AlignedVote(ok, why, raw, self.scorer.version)


class ValuesJudge(OfflineJudge):
    """The values check as a judge: no model; abstains when the instruction names no value."""

    def vote(
        self, app: str, instruction: str, trajectory_text: str, evidence: str, pool: Sequence[str], seed: str
    ) -> AlignedVote:
        check = check_values(instruction, evidence)
        return AlignedVote(
            check.vote, check.rationale, "", VALUES_VERSION, "" if check.vote is not None else "nothing to check"
        )


def make_judge(spec: Any, client: Any = None) -> Any:
    """The judge for a ``studio.config.JudgeSpec``: an :class:`OfflineJudge`, or a ``StructuredModel`` for
    ``method="ask"`` (bound to ``client``, a ``studio.llm.client.ModelClient``)."""
    if spec.method == "values":
        return ValuesJudge()
    if spec.method == "forced_choice":
        from studio.llm.yes_no import LocalScorer

        scorer: InstructionScorer
        if spec.score == "overlap":
            scorer = OverlapScorer()
        elif spec.score == "yes":
            scorer = YesScorer(LocalScorer(spec.model))
        else:
            scorer = LikelihoodScorer(LocalScorer(spec.model))
        return ForcedChoiceJudge(scorer, spec.distractors, spec.margin, spec.check_values, spec.contrast)
    from studio.pipeline.prompts import bind_model

    return bind_model(client, "judge", spec, "committee")
