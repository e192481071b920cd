"""Committee with fake judges: votes, abstentions (errors, malformed), quorum, statuses, reviews, resume."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from studio import records
from studio import status as st
from studio.errors import ConfigError, MissingAPIKeyError, ModelCallError
from studio.llm.structured import parse_structured
from studio.pipeline.stages import committee as cm
from studio.status import CRITERIA


def Step(index: int, observation_text: str, action_code: str, reason: str = "") -> records.Step:  # noqa: N802
    """A step record from positional fields (short test tables)."""
    return records.Step(index=index, observation_text=observation_text, action_code=action_code, reason=reason)


@dataclass
class Reply:
    ok: bool
    value: Any
    raw: str
    error: str | None = None


YES = {c: {"vote": True, "rationale": f"{c} looks right"} for c in CRITERIA}


def votes(**no: bool) -> dict:
    return {c: {"vote": not no.get(c, False), "rationale": "r"} for c in CRITERIA}


@dataclass
class Judge:
    """A fake judge: a dict (sent through the real JSON validation), a str (malformed), or an exception."""

    answer: Any
    calls: list[list[dict]] = field(default_factory=list)

    def __call__(self, messages: list[dict], schema: type) -> Reply:
        self.calls.append(messages)
        if isinstance(self.answer, BaseException):
            raise self.answer
        raw = self.answer if isinstance(self.answer, str) else json.dumps(self.answer)
        value, error = parse_structured(schema, raw)
        return Reply(value is not None, value, raw, error)


STEPS = [
    Step(0, "id\trole\tname\n1\ttext\t", "pyautogui.click(10, 10)", "focus"),
    Step(1, "id\trole\tname\n1\ttext\t", "pyautogui.write('hi')", "type"),
    Step(2, "id\trole\tname\n1\ttext\thi", "DONE"),
]
EX = records.Example(
    id="e-1",
    trajectory_id="traj",
    start=0,
    end=2,
    step_indices=[0, 1],
    instruction="Type hi into the editor",
    kind="instruction",
    prompt_version="bi.v1",
    app="mousepad",
)


@dataclass(frozen=True)
class V:
    judge: str
    criterion: str
    vote: bool | None


@dataclass(frozen=True)
class Review:
    decision: Any
    when: float | None = None


def status_of(verdicts: list[V], reviews: list[Review] | tuple[()] = (), quorum: Any = "all") -> str:
    return st.StatusRule(quorum).status(verdicts, reviews)


def outcome_verdicts(*per_judge: bool | None) -> list[V]:
    out = []
    for k, o in enumerate(per_judge):
        for c in CRITERIA:
            vote = None if o is None else (o or c != "natural")
            out.append(V(f"j{k}", c, vote))
    return out


def test_all_yes_is_accepted_and_every_vote_recorded() -> None:
    j1, j2 = Judge(YES), Judge(YES)
    d = cm.judge_example(EX, STEPS, [("m1", j1), ("m2", j2)])
    assert d.accepted and d.status == "accepted" and d.judges_accepting == 2
    assert len(d.verdicts) == 8 and {v.judge for v in d.verdicts} == {"m1", "m2"}
    v = d.verdicts[0]
    assert (v.example_id, v.criterion, v.vote, v.prompt_version) == ("e-1", "aligned", True, "judge.v3")
    assert v.rationale == "aligned looks right" and v.raw and v.error == ""
    assert len({x.id for x in d.verdicts}) == 8
    prompt = j1.calls[0][0]["content"]
    assert "Type hi into the editor" in prompt and "pyautogui.write('hi')" in prompt and "mousepad" in prompt
    assert "appeared: row = '1\ttext\thi'" in prompt  # the screen after the span's last action (step 2)
    assert len(j1.calls) == 1  # one call per judge per example


def test_one_no_rejects_under_all_and_is_disputed() -> None:
    d = cm.judge_example(EX, STEPS, [("m1", Judge(YES)), ("m2", Judge(votes(reasonable=True)))])
    assert not d.accepted and d.status == "disputed"
    assert [v.vote for v in d.verdicts if v.judge == "m2"] == [True, True, True, False]
    d = cm.judge_example(EX, STEPS, [("m1", Judge(votes(aligned=True))), ("m2", Judge(votes(natural=True)))])
    assert d.status == "rejected"


@pytest.mark.parametrize("failure", [ModelCallError("timeout", model="m2"), "I think yes", {"aligned": 1}])
def test_failing_or_malformed_judge_abstains_and_blocks_default_quorum(failure: Any) -> None:
    d = cm.judge_example(EX, STEPS, [("m1", Judge(YES)), ("m2", Judge(failure))])
    bad = [v for v in d.verdicts if v.judge == "m2"]
    assert [v.criterion for v in bad] == list(CRITERIA)
    assert all(v.vote is None and v.error and v.rationale == v.error for v in bad)
    if not isinstance(failure, Exception):
        assert bad[0].raw and "malformed" in bad[0].error
    assert not d.accepted and d.judges_abstaining == 1
    assert d.status == "disputed"  # one judge said yes, the other could not be counted
    # Under an N=1 quorum the abstention does not block acceptance.
    d1 = cm.judge_example(EX, STEPS, [("m1", Judge(YES)), ("m2", Judge(failure))], quorum=1)
    assert d1.accepted


def test_missing_api_key_propagates() -> None:
    with pytest.raises(MissingAPIKeyError):
        cm.judge_example(EX, STEPS, [("m1", Judge(MissingAPIKeyError("set OPENAI_API_KEY")))])


def test_quorum_rules() -> None:
    assert st.quorum_met([True, True, True], "all")
    assert not st.quorum_met([True, True, None], "all")
    assert not st.quorum_met([True], "all", n_judges=2)  # a judge with no verdicts does not accept
    assert st.quorum_met([True, True, False], "majority")
    assert not st.quorum_met([True, False], "majority")
    assert not st.quorum_met([True, None, False], "majority")
    assert st.quorum_met([True, False, None], 1)
    assert not st.quorum_met([True, False, None], 2)
    assert not st.quorum_met([], "all")
    with pytest.raises(ConfigError, match="at least 1"):
        st.quorum_met([True], 0)
    with pytest.raises(ConfigError, match="quorum must be"):
        st.check_quorum("most")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="more judges"):
        cm.judge_example(EX, STEPS, [("m1", Judge(YES))], quorum=2)
    with pytest.raises(ConfigError, match="no judges"):
        cm.judge_example(EX, STEPS, [])


def test_majority_quorum_end_to_end() -> None:
    judges = [("a", Judge(YES)), ("b", Judge(YES)), ("c", Judge(votes(coherent=True)))]
    assert cm.judge_example(EX, STEPS, judges, quorum="majority").accepted
    assert not cm.judge_example(EX, STEPS, judges, quorum="all").accepted


def test_judge_outcomes_and_statuses() -> None:
    assert st.judge_outcomes(outcome_verdicts(True, False, None)) == {"j0": True, "j1": False, "j2": None}
    partial = [V("j", "aligned", True), V("j", "natural", True)]  # an ask judge that lost two votes
    assert st.judge_outcomes(partial) == {"j": None}
    assert st.judge_outcomes([V("fc", "aligned", True)]) == {"fc": True}  # an aligned-only judge
    assert status_of([], []) == "pending"
    assert status_of(outcome_verdicts(True, True)) == "accepted"
    assert status_of(outcome_verdicts(True, False)) == "disputed"
    assert status_of(outcome_verdicts(True, False), quorum=1) == "accepted"
    assert status_of(outcome_verdicts(False, None)) == "rejected"


def test_reviews_override_without_touching_verdicts() -> None:
    verdicts = outcome_verdicts(False, False)
    before = list(verdicts)
    assert status_of(verdicts, [Review("accept")]) == "overridden-accept"
    assert status_of(verdicts, [Review("accept"), Review("reject")]) == "overridden-reject"
    assert status_of(verdicts, [Review("reject", 5.0), Review("accept", 1.0)]) == "overridden-reject"
    assert status_of(outcome_verdicts(True), [Review(False)]) == "overridden-reject"
    assert status_of(verdicts, [Review("edit")]) == "overridden-accept"
    assert status_of(verdicts, [Review("note")]) == "rejected"  # not a decision: ignored
    assert verdicts == before


def test_prior_verdicts_are_not_asked_again() -> None:
    first = cm.judge_example(EX, STEPS, [("m1", Judge(YES))])
    j2 = Judge(YES)
    spy = Judge(YES)
    d = cm.judge_example(EX, STEPS, [("m1", spy), ("m2", j2)], prior=first.verdicts)
    assert spy.calls == [] and len(j2.calls) == 1
    assert {v.judge for v in d.verdicts} == {"m2"} and d.accepted and d.judges_accepting == 2


def test_labels_and_ids() -> None:
    assert cm.judge_labels(["a", "b", "a", "a"]) == ["a", "b", "a#2", "a#3"]
    assert cm.verdict_id("e", "j", "aligned", "judge.v1") == cm.verdict_id("e", "j", "aligned", "judge.v1")
    assert cm.verdict_id("e", "j", "aligned", "judge.v1") != cm.verdict_id("e", "j", "natural", "judge.v1")


def test_real_structured_result_satisfies_the_protocol() -> None:
    from studio.llm.structured import StructuredResult, parse_structured

    def real_parse_judge(messages: list[dict], schema: type) -> StructuredResult:
        raw = (
            '```json\n{"aligned": {"vote": "yes", "rationale": "ok"}, "coherent": {"vote": true},'
            ' "natural": {"vote": true}, "reasonable": {"vote": false, "rationale": "detour"}}\n```'
        )
        value, error = parse_structured(schema, raw)
        return StructuredResult(ok=value is not None, value=value, raw=raw, error=error)

    d = cm.judge_example(EX, STEPS, [("real", real_parse_judge)])
    assert [v.vote for v in d.verdicts] == [True, True, True, False] and d.status == "rejected"


def test_reply_schemas_stay_small_for_grammar_constrained_models() -> None:
    """No docstrings and no maxLength (llama.cpp expands it into one nested rule per character)."""
    from studio.pipeline.stages.backward import InstructionReply, ReplicateReply
    from studio.pipeline.stages.self_instruct import TaskList

    for schema in (TaskList, InstructionReply, ReplicateReply, cm.JudgeReply):
        text = json.dumps(schema.model_json_schema())
        assert "maxLength" not in text and "description" not in text, schema.__name__
    assert TaskList.model_json_schema()["properties"]["tasks"]["minItems"] == 1
