"""Offline judges with fakes: values check, forced choice by yes-margin, the advisory status rule, scoring."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from studio.config import JudgeSpec, StudioConfig, judge_labels, parse_config
from studio.errors import ConfigError, JudgeSetError, ModelCallError
from studio.llm.yes_no import LocalScorer, common_prefix, margin_from_logits
from studio.pipeline.eval.judge_eval import JudgeScore, format_report, run_judge_eval
from studio.pipeline.eval.judge_set import JudgeItem, SetStep, label_candidates, load_set, save_item
from studio.pipeline.stages.judges import (
    ForcedChoiceJudge,
    LikelihoodScorer,
    ValuesJudge,
    YesScorer,
    pick_distractors,
)
from studio.pipeline.stages.values import change_values, check_values, instruction_values, typed_text
from studio.status import CRITERIA, STATUSES, StatusRule, judge_outcomes

# ------------------------------------------------------------------------------------------------ values


def test_instruction_values_kinds_and_no_double_counting() -> None:
    vals = instruction_values("Rename ~/old-name.txt to ~/new-name.txt and write 'hello 2' then add 12 and 7.5")
    assert [(v.kind, v.text) for v in vals] == [
        ("quoted", "hello 2"),
        ("path", "~/old-name.txt"),
        ("path", "~/new-name.txt"),
        ("number", "12"),
        ("number", "7.5"),
    ]
    assert instruction_values("Put the sum in A3 with a formula") == []  # cell names are not numbers
    assert instruction_values("Make the script executable.") == []


def test_check_values_against_typed_text_and_whole_numbers() -> None:
    evidence = typed_text(["pyautogui.typewrite('123+456=', interval=0.2)"]) + "\nlabel: 579"
    assert check_values("Use the calculator to add 123 and 456.", evidence).vote is True
    wrong = check_values("Use the calculator to add 124 and 456.", evidence)
    assert wrong.vote is False and wrong.missing == ("124",)
    assert check_values("Add 12 and 3", "123").vote is False  # 12 is not a part of 123
    assert check_values("Save the file", evidence).vote is None
    assert check_values("Save it as ~/notes.txt", "typed /home/user/notes.txt").vote is True
    assert check_values("Write 'Best Regards,'", "best   regards,").vote is True


def test_change_action_swaps_one_action_word_not_values() -> None:
    from studio.pipeline.stages.values import change_action

    assert change_action("Use the calculator to add 123 and 456.") == "Use the calculator to subtract 123 and 456."
    assert change_action("Delete the file ~/junk.tmp") == "Copy the file ~/junk.tmp"
    assert change_action("In ~/status.txt write 'done'") is None  # no action word outside the values
    assert change_action("Open ~/remove.txt and save") is None


def test_change_values_changes_every_value() -> None:
    changed = change_values("Use the calculator to add 1.5 and 2.25.")
    assert changed == "Use the calculator to add 2.5 and 3.25."
    moved = change_values("In the terminal, rename ~/old-name.txt to ~/new-name.txt.")
    assert moved is not None and "~/old-name-copy.txt" in moved and "~/new-name-copy.txt" in moved
    quoted = change_values("Append 'Best regards,' to ~/email.txt")
    assert quoted is not None and "'Best regards,'" not in quoted
    assert change_values("Make the script executable.") is None
    for text in ("Compute 5 minus 12.", "Flip 42 so it shows -42", "Type 'Roses are red'"):
        new = change_values(text)
        assert new is not None and check_values(new, typed_text([f"pyautogui.write({text!r})"])).vote is False


# ------------------------------------------------------------------------------------------ forced choice


@dataclass
class FakeModel:
    """A stand-in model: log P(reply | prompt) = words of the reply found in the prompt; yes-margin alike."""

    calls: int = 0
    seen: list[tuple[str, str]] = field(default_factory=list)

    def reply_logprob(self, prompt: str, reply: str) -> float:
        self.calls += 1
        self.seen.append((prompt, reply))
        return float(sum(w in prompt.lower() for w in reply.lower().split())) - len(reply.split())

    def yes_margins(self, prompts: list[str]) -> list[float]:
        out = []
        for p in prompts:
            self.calls += 1
            traj, _, rest = p.partition("Instruction: ")
            out.append(float(sum(w in traj.lower() for w in rest.splitlines()[0].lower().split())))
        return out


TRAJ = "Step 1\nAction: pyautogui.write('add 123 and 456')\nWhat changed:\nlabel: '0' -> '579'"


@pytest.mark.parametrize("scorer", [LikelihoodScorer, YesScorer])
def test_forced_choice_accepts_only_the_best_scoring_instruction(scorer: type) -> None:
    model = FakeModel()
    judge = ForcedChoiceJudge(scorer(model), distractors=2, values=False)
    pool = ["Make the script executable.", "Open the file menu.", "add 123 and 456"]
    yes = judge.vote("galculator", "add 123 and 456", TRAJ, "", pool, "t1")
    assert yes.vote is True and "score" in yes.rationale
    assert yes.version in ("judge_likelihood.v1", "judge_choice.v1")
    no = judge.vote("galculator", "Open the file menu.", TRAJ, "", ["add 123 and 456", "x y"], "t2")
    assert no.vote is False and "add 123" in no.rationale
    assert judge.calls == model.calls > 0


def test_likelihood_scorer_shares_the_trajectory_prefix_and_memoizes() -> None:
    model = FakeModel()
    scorer = LikelihoodScorer(model)
    first = scorer.scores("galculator", TRAJ, ["add 123 and 456", "square 13"])
    assert first[0] > first[1]
    conditional = [p for p, _ in model.seen[:2]]
    assert conditional[0] == conditional[1] and "add 123" in conditional[0]  # the same prompt, the trajectory in it
    assert "(not shown)" in model.seen[2][0] and "add 123" not in model.seen[2][0]
    calls = model.calls
    assert scorer.scores("galculator", TRAJ, ["square 13", "add 123 and 456"]) == first[::-1]
    assert model.calls == calls  # memoized
    scorer.scores("galculator", TRAJ + " more", ["square 13"])
    assert model.calls == calls + 1  # a new trajectory: only its conditional score; the prior is reused


def test_forced_choice_contrasts_with_its_own_counterfactual() -> None:
    traj = "Step 1\nAction: pyautogui.write('123+456=')\nWhat changed: add add add"
    judge = ForcedChoiceJudge(LikelihoodScorer(FakeModel()), distractors=1, values=True, contrast=True)
    right = judge.vote("galculator", "add 123 and 456", traj, "123+456=", ["Open the menu"], "t")
    assert right.vote is True
    wrong = judge.vote("galculator", "subtract 123 and 456", traj, "123+456=", ["Open the menu"], "t")
    assert wrong.vote is False and "'add 123 and 456'" in wrong.rationale  # lost to its counterfactual


def test_forced_choice_values_veto_and_no_distractors() -> None:
    judge = ForcedChoiceJudge(YesScorer(FakeModel()), distractors=3, values=True)
    evidence = "add 123 and 456"
    vote = judge.vote("galculator", "add 124 and 456", TRAJ, evidence, ["Open the menu"], "e")
    assert vote.vote is False and "'124'" in vote.rationale
    lone = ForcedChoiceJudge(YesScorer(FakeModel()), values=False).vote("g", "add 123", TRAJ, "", [], "e")
    assert lone.vote is True and "no other instruction" in lone.rationale


def test_pick_distractors_is_deterministic_and_excludes_the_candidate() -> None:
    pool = [f"task {i}" for i in range(10)] + ["Add 1 and 2"]
    a = pick_distractors("add 1 and 2", pool, 4, "seed")
    assert a == pick_distractors("add 1 and 2", pool, 4, "seed") and len(a) == 4 and "Add 1 and 2" not in a


def test_margin_math_and_prefix() -> None:
    logits = [0.0, math.log(3.0), 0.0, 5.0]
    assert margin_from_logits(logits, [1, 2], [0]) == pytest.approx(math.log(4.0))
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2 and common_prefix([], [1]) == 0


class FakeLlama:
    """The parts of ``llama_cpp.Llama`` that ``LocalScorer._extend`` uses; counts evaluated tokens."""

    def __init__(self, cache: dict[tuple[int, ...], SimpleNamespace] | None) -> None:
        self.input_ids = np.zeros(512, dtype=np.intc)
        self.n_tokens = 0
        self.evaluated = 0
        self.cache = None if cache is None else FakeStateCache(cache)

    def n_ctx(self) -> int:
        return 512

    def eval(self, tokens: list[int]) -> None:
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self.evaluated += len(tokens)

    def save_state(self) -> SimpleNamespace:
        return SimpleNamespace(input_ids=self.input_ids.copy(), n_tokens=self.n_tokens)

    def load_state(self, state: SimpleNamespace) -> None:
        self.input_ids, self.n_tokens = state.input_ids.copy(), state.n_tokens


@dataclass
class FakeStateCache:
    """``LlamaRAMCache``'s contract: the state whose key shares the longest prefix, KeyError when none does."""

    states: dict[tuple[int, ...], SimpleNamespace]

    def __getitem__(self, key: list[int]) -> SimpleNamespace:
        best = max(self.states, key=lambda k: common_prefix(k, key), default=None)
        if best is None or common_prefix(best, key) == 0:
            raise KeyError(key)
        return self.states[best]

    def __setitem__(self, key: list[int], state: SimpleNamespace) -> None:
        self.states[tuple(key)] = state


@pytest.mark.parametrize("cached", [False, True])
def test_scorer_restores_a_long_prefix_after_another_prompt(cached: bool) -> None:
    trajectory = list(range(1, 201))  # a long shared prompt head (scored with the trajectory) ...
    prior = [900 + i for i in range(80)]  # ... and the prompt without it, scored in between
    llm = FakeLlama({} if cached else None)
    scorer = LocalScorer("local/x")
    for tail in ([7, 8], None, [9, 10], None, [11]):
        tokens = trajectory + tail if tail else prior + [5]
        scorer._extend(llm, tokens, len(tokens))
        assert llm.input_ids[: llm.n_tokens].tolist() == tokens  # the context holds exactly the prompt
    # without the state cache the trajectory is evaluated again after every prior; with it, once
    assert llm.evaluated == (200 + 2 + 81 + 202 + 81 + 201 if not cached else 200 + 2 + 81 + 2 + 2 + 2)
    assert scorer.evaluated_tokens == llm.evaluated


def test_forced_choice_needs_a_local_model() -> None:
    with pytest.raises(ModelCallError, match="local/"):
        LocalScorer("openai/gpt-4o-mini").yes_margins(["x"])


# ---------------------------------------------------------------------------------------------- status


@dataclass(frozen=True)
class V:
    judge: str
    criterion: str
    vote: bool | None


def aligned(judge: str, vote: bool | None) -> list[V]:
    return [V(judge, "aligned", vote)]


def asked(judge: str, vote: bool | None) -> list[V]:
    return [V(judge, c, vote) for c in CRITERIA]


def test_aligned_only_judges_count_their_one_vote() -> None:
    assert judge_outcomes(aligned("values", True)) == {"values": True}
    assert judge_outcomes([*asked("m", True)[:3]]) == {"m": None}  # an ask judge needs all four


def test_advisory_judge_alone_gives_needs_review_never_accepted() -> None:
    def status(verdicts: list[V], quorum: str = "all", n: int | None = None, advisory: frozenset = frozenset()) -> str:
        return StatusRule(quorum, n, advisory=advisory).committee(verdicts)  # type: ignore[arg-type]

    weak = frozenset({"weak"})
    both_yes = [*asked("weak", True), *aligned("fc", True)]
    assert status(both_yes, "all", 2) == "accepted"
    assert status(both_yes, "all", 2, weak) == "accepted"  # fc is binding
    only_weak = [*asked("weak", True), *aligned("fc", False)]
    assert status(only_weak, "all", 2, weak) == "disputed"
    assert status(asked("weak", True), "all", 1, weak) == "needs_review"
    weak_no = [*asked("weak", False), *aligned("fc", True)]
    assert status(weak_no, "all", 2, weak) == "accepted"  # its no is advisory too
    majority = [*aligned("a", True), *aligned("b", False), *asked("weak", True)]
    assert status(majority, "majority", None, weak) == "needs_review"
    assert status(majority, "majority") == "accepted"
    rule = StatusRule("all", 1, advisory=weak)
    assert rule.status(asked("weak", True), [SimpleNamespace(decision="accept")]) == "overridden-accept"
    assert rule.status(asked("weak", True)) == "needs_review" and "needs_review" in STATUSES


def test_config_advisory_judges_and_labels() -> None:
    cfg = parse_config(
        """
[[roles.judges]]
model = "local/smollm2"
accuracy = 0.55
[[roles.judges]]
method = "forced_choice"
model = "local/qwen2.5-coder-0.5b"
accuracy = 0.9
[[roles.judges]]
method = "values"
[pipeline]
judge_accuracy_floor = 0.7
"""
    )
    assert judge_labels(cfg.roles.judges) == ["local/smollm2", "forced_choice:local/qwen2.5-coder-0.5b", "values"]
    assert cfg.advisory_judges() == frozenset({"local/smollm2"})
    with pytest.raises(ConfigError, match="method"):
        parse_config('[[roles.judges]]\nmethod = "vibes"\n')
    default = JudgeSpec().model  # the default judge model (whichever it is): two of them get numbered labels
    assert judge_labels([JudgeSpec(), JudgeSpec()]) == [default, f"{default}#2"]


# ----------------------------------------------------------------------------------------- scoring math


def test_judge_score_balanced_accuracy() -> None:
    s = JudgeScore("j")
    for label, pred in [(True, True), (True, None), (False, False), (False, False), (False, True), (False, False)]:
        s.add(label, pred)
    assert (s.tp, s.fn, s.tn, s.fp, s.abstained) == (1, 1, 3, 1, 1)
    assert s.tpr == 0.5 and s.tnr == 0.75 and s.balanced_accuracy == pytest.approx(0.625)
    always_no = JudgeScore("no")
    for label in [True, False, False, False]:
        always_no.add(label, False)
    assert always_no.balanced_accuracy == 0.5  # plain accuracy would be 0.75


# ----------------------------------------------------------------------------------------------- the set


def item(item_id: str, typed: str, instruction: str, app: str = "galculator") -> JudgeItem:
    steps = [
        SetStep(
            index=0,
            action_code=f"pyautogui.typewrite({typed!r})",
            observation_text="id\trole\tname\ttext\tposition\tsize\n0\tlabel\t\t0\t(0, 0)\t(9, 9)",
        )
    ]
    final = f"id\trole\tname\ttext\tposition\tsize\n0\tlabel\t\t{typed}\t(0, 0)\t(9, 9)"
    return JudgeItem(
        id=item_id,
        app=app,
        steps=steps,
        final_observation=final,
        candidates=label_candidates(item_id, instruction, app, []),
    )


def test_label_candidates_and_round_trip(tmp_path: Path) -> None:
    others = [
        ("a", "galculator", "Use the calculator to add 1 and 2."),
        ("b", "xterm", "Make run.sh executable."),
        ("c", "galculator", "Square 13."),
        ("me", "galculator", "Compute 12 times 7."),
    ]
    cands = label_candidates("me", "Compute 12 times 7.", "galculator", others)
    kinds = [(c.kind, c.label) for c in cands]
    assert kinds == [
        ("true", True),
        ("changed_values", False),
        ("changed_action", False),
        ("other_task", False),
        ("other_task", False),
        ("other_task", False),
    ]
    assert cands[2].instruction == "Compute 12 plus 7."
    assert {c.source for c in cands if c.kind == "other_task"} == {"a", "b", "c"}
    it = item("me", "12*7=", "Compute 12 times 7.")
    save_item(tmp_path, it)
    assert load_set(tmp_path)[0] == it


def test_load_set_errors_name_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(JudgeSetError, match="does not exist"):
        load_set(tmp_path / "nope")
    with pytest.raises(JudgeSetError, match="no item files"):
        load_set(tmp_path)
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(JudgeSetError, match="bad.json is not valid JSON"):
        load_set(tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"id": "x", "steps": [], "candidates": []}))
    with pytest.raises(JudgeSetError, match="steps"):
        load_set(tmp_path)


def test_judge_eval_runs_the_committee_with_advisory_floor() -> None:
    items = [
        item("add", "123+456=", "Use the calculator to add 123 and 456."),
        item("mul", "12*7=", "Use the calculator to multiply 12 by 7."),
    ]
    cfg = StudioConfig()
    cfg.roles.judges = [JudgeSpec(method="values", accuracy=0.6)]
    cfg.pipeline.judge_accuracy_floor = 0.7
    report = run_judge_eval(items, cfg, SimpleNamespace(ledger=SimpleNamespace(records=[])))
    [values] = report.judges
    assert values.tp == 2 and values.tn == 2 and values.abstained == 0
    assert values.by_kind["changed_action"] == [0, 2]  # same values, another action: the values check cannot see it
    assert report.advisory == ["values"]
    c = report.committee
    assert c.tp == 0 and c.needs_review == 4 and c.fp == 0  # advisory: its acceptances need review
    assert "needs_review" in format_report(report) and "(advisory)" in format_report(report)
    cfg.pipeline.judge_accuracy_floor = 0.5
    assert run_judge_eval(items, cfg, SimpleNamespace(ledger=SimpleNamespace(records=[]))).committee.tp == 2


def test_judge_eval_keeps_every_vote_for_scoring_other_committees() -> None:
    items = [item("add", "123+456=", "Use the calculator to add 123 and 456.")]
    cfg = StudioConfig()
    cfg.roles.judges = [JudgeSpec(method="values"), JudgeSpec(method="forced_choice", score="overlap")]
    report = run_judge_eval(items, cfg, SimpleNamespace(ledger=SimpleNamespace(records=[])))
    assert len(report.votes) == 2 * report.candidates  # one row per candidate and judge
    rows = {(r["candidate"], r["judge"]): r for r in report.votes}
    true = next(k for k, c in enumerate(items[0].candidates) if c.label)
    assert rows[true, "values"]["accepts"] is True and rows[true, "values"]["label"] is True
    assert "123" in rows[true, "values"]["rationale"]
    # the committee's status is recorded beside each vote, and agrees with the report's committee counts
    accepted = {r["candidate"] for r in report.votes if r["committee"] == "accepted"}
    assert len(accepted) == report.committee.tp + report.committee.fp


def test_values_judge_abstains_without_values() -> None:
    v = ValuesJudge().vote("xterm", "Make the script executable.", "", "chmod +x", [], "e")
    assert v.vote is None and v.error


def test_overlap_scorer_and_judge_options() -> None:
    from studio.commands.judge import parse_judge_option
    from studio.pipeline.stages.judges import OverlapScorer, make_judge

    s = OverlapScorer().scores(
        "xterm", "Action: pyautogui.write('chmod +x ~/run.sh')", ["Make ~/run.sh executable", "Delete ~/junk.tmp"]
    )
    assert s[0] > s[1] == 0.0
    assert parse_judge_option("values").method == "values"
    fc = parse_judge_option("forced_choice:local/qwen2.5-coder-0.5b:yes")
    assert (fc.method, fc.model, fc.score) == ("forced_choice", "local/qwen2.5-coder-0.5b", "yes")
    assert fc.label == "forced_choice:local/qwen2.5-coder-0.5b:yes"
    assert parse_judge_option("forced_choice:overlap").label == "forced_choice:overlap"
    assert isinstance(make_judge(parse_judge_option("forced_choice:overlap")).scorer, OverlapScorer)
    with pytest.raises(ConfigError, match="forced_choice:MODEL"):
        parse_judge_option("vibes:local/smollm2")
