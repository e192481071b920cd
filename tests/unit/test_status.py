"""The one example-status rule (studio.status): committee, quorum, a person's latest review, the latest edit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from studio.errors import ConfigError
from studio.records import Review, Verdict
from studio.status import (
    ACCEPTED,
    CRITERIA,
    STATUSES,
    StatusRule,
    display,
    latest_edit,
    latest_edits,
    latest_review,
)


def votes(example_id: str, judge: str, yes: bool | None) -> list[Verdict]:
    return [Verdict(example_id=example_id, judge=judge, criterion=c, vote=yes) for c in CRITERIA]  # type: ignore[arg-type]


def test_committee_under_each_quorum() -> None:
    two = votes("e", "a", True) + votes("e", "b", False)
    assert StatusRule("all").committee(two) == "disputed"
    assert StatusRule(1).committee(two) == "accepted"
    assert StatusRule("majority").committee(two) == "disputed"  # 1 of 2 is not more than half
    assert StatusRule("all").committee(votes("e", "a", False) + votes("e", "b", None)) == "rejected"
    assert StatusRule("all").committee([]) == "pending"
    # Under "all" a configured judge that has not voted yet does not accept.
    assert StatusRule("all", n_judges=2).committee(votes("e", "a", True)) == "disputed"
    assert StatusRule("all", n_judges=1).committee(votes("e", "a", True)) == "accepted"
    # An incomplete judge (some criteria missing) abstains.
    assert StatusRule("all").committee(votes("e", "a", True)[:2]) == "rejected"


def test_bad_quorum_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="quorum must be"):
        StatusRule("most")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least 1"):
        StatusRule(0)


def test_the_latest_review_wins_and_ties_go_to_the_later_row() -> None:
    v = votes("e", "a", False)
    rule = StatusRule()
    assert rule.status(v, [Review(example_id="e", decision="accept", when=1.0)]) == "overridden-accept"
    reviews = [
        Review(example_id="e", decision="reject", when=5.0),
        Review(example_id="e", decision="accept", when=1.0),
    ]
    assert rule.status(v, reviews) == "overridden-reject"
    same_time = [{"decision": "accept", "when": 2.0}, {"decision": "reject", "when": 2.0}]
    assert rule.status(v, same_time) == "overridden-reject"
    assert latest_review([{"decision": "note", "when": 9.0}]) is None
    assert rule.status(v, [SimpleNamespace(decision="edit", when=None)]) == "overridden-accept"


def test_latest_edit_survives_a_later_accept() -> None:
    reviews = [
        {"example_id": "e", "decision": "edit", "edited_instruction": "first", "when": 1.0},
        {"example_id": "e", "decision": "edit", "edited_instruction": "second", "when": 2.0},
        {"example_id": "e", "decision": "accept", "edited_instruction": "", "when": 3.0},
        {"example_id": "f", "decision": "reject", "edited_instruction": "", "when": 3.0},
    ]
    assert latest_edit(reviews) == "second"
    assert latest_edits(reviews) == {"e": "second"}


def test_statuses_of_many_examples_from_columns() -> None:
    verdict_rows = [
        {"example_id": v.example_id, "judge": v.judge, "criterion": v.criterion, "vote": v.vote}
        for v in votes("e1", "a", True) + votes("e2", "a", False)
    ]
    review_rows = [{"example_id": "e3", "decision": "reject", "when": 1.0}]
    got = StatusRule().statuses(verdict_rows, review_rows)
    assert got == {"e1": "accepted", "e2": "rejected", "e3": "overridden-reject"}
    assert set(got.values()) <= set(STATUSES)


def test_display_names_and_accepted_set() -> None:
    assert display("overridden-accept") == "accepted" and display("overridden-reject") == "rejected"
    assert display("disputed") == "disputed"
    assert ACCEPTED == {"accepted", "overridden-accept"}


def test_rule_from_config() -> None:
    from studio.config import StudioConfig

    cfg = StudioConfig()
    rule = StatusRule.from_config(cfg)
    assert rule.quorum == cfg.pipeline.quorum and rule.n_judges == len(cfg.roles.judges)
    assert StatusRule.from_config(cfg, 1).quorum == 1
