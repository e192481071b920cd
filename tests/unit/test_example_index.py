"""The GUI's example index: same statuses as the workspace's own rule, and it follows appends by reading only
the new rows (a rewrite makes it start over)."""

from __future__ import annotations

import random
from pathlib import Path

from studio.gui.data import ExampleFilter
from studio.gui.data_workspace import WorkspaceData
from studio.gui.example_index import ExampleIndex
from studio.workspace import Example, Review, Trajectory, Verdict, Workspace

CRITERIA = ("aligned", "coherent", "natural", "reasonable")


def _add(ws: Workspace, rng: random.Random, n: int, tag: str) -> list[str]:
    """``n`` examples with random verdicts from up to three judges (some abstain) and a few reviews."""
    examples = [
        Example(trajectory_id="t1", start=0, end=1, instruction=f"{tag} example {i}", app=rng.choice(["a", "b"]))
        for i in range(n)
    ]
    ws.add_examples(examples)
    verdicts = [
        Verdict(example_id=e.id, judge=judge, criterion=c, vote=rng.choice([True, True, False, None]))
        for e in examples
        for judge in rng.sample(["j1", "j2", "j3"], rng.randint(0, 3))
        for c in CRITERIA
    ]
    ws.add_verdicts(verdicts)
    for e in rng.sample(examples, max(1, n // 5)):
        decision = rng.choice(["accept", "reject", "edit"])
        text = "edited" if decision == "edit" else ""
        ws.add_review(Review(example_id=e.id, decision=decision, edited_instruction=text))
    return [e.id for e in examples]


def _writer(tmp_path: Path) -> tuple[Path, Workspace]:
    path = tmp_path / "ws"
    ws = Workspace.init(path)
    ws.start_trajectory(Trajectory(id="t1", instruction="x", app="a"))
    return path, ws


def _expected(ws: Workspace, ids: list[str]) -> dict[str, str]:
    known = ws.example_statuses()
    out = {i: known.get(i, "pending") for i in ids}
    return {i: {"overridden-accept": "accepted", "overridden-reject": "rejected"}.get(s, s) for i, s in out.items()}


def test_index_matches_the_workspace_rule_and_follows_appends(tmp_path: Path) -> None:
    rng = random.Random(7)
    path, ws = _writer(tmp_path)
    ids = _add(ws, rng, 60, "first")
    reader = Workspace.open(path, readonly=True)
    index = ExampleIndex(reader)
    assert index.refresh() is True
    assert {i: index.status(i) for i in ids} == _expected(ws, ids)
    assert [r["id"] for r in index.rows] == ids  # creation order
    assert index.refresh() is False  # nothing new: no reads beyond the counts

    more = _add(ws, rng, 40, "second")
    ws.add_review(Review(example_id=ids[0], decision="edit", edited_instruction="renamed"))
    assert index.refresh() is True
    assert index.builds == 1  # only the new rows were read
    all_ids = ids + more
    assert {i: index.status(i) for i in all_ids} == _expected(ws, all_ids)
    assert index.by_id[ids[0]]["edited"] == "renamed" and index.status(ids[0]) == "accepted"
    fresh = ExampleIndex(reader)
    fresh.refresh()
    assert fresh.statuses == index.statuses and fresh.judges == index.judges
    assert fresh.status_counts() == index.status_counts()
    assert sum(index.status_counts().values()) == 100
    reader.close()
    ws.close()


def test_a_rewritten_table_makes_the_index_start_over(tmp_path: Path) -> None:
    rng = random.Random(3)
    path, ws = _writer(tmp_path)
    ids = _add(ws, rng, 10, "x")
    reader = Workspace.open(path, readonly=True)
    index = ExampleIndex(reader)
    index.refresh()
    # not something the studio does, but a user's script might: drop a verdict and write another one, so the
    # count is unchanged and the rows read before are no longer the table's first rows
    last = reader.scan("verdicts", ["id", "example_id"])
    ws.table("verdicts").delete(f"id = '{last['id'][0]}'")
    ws.add_verdicts([Verdict(example_id=ids[1], judge="j9", criterion="aligned", vote=False)])
    assert index.refresh() is True
    assert index.builds == 2
    assert {i: index.status(i) for i in ids} == _expected(ws, ids)
    assert "j9" in index.judges[ids[1]]
    reader.close()
    ws.close()


def test_gui_data_counts_and_filters_follow_a_writer(tmp_path: Path) -> None:
    rng = random.Random(11)
    path, ws = _writer(tmp_path)
    ids = _add(ws, rng, 30, "one")
    data = WorkspaceData(path)
    try:
        expected = _expected(ws, ids)
        counts = data.counts()
        assert counts.accepted == sum(s == "accepted" for s in expected.values())
        assert counts.rejected == sum(s == "rejected" for s in expected.values())
        accepted = data.count_examples(ExampleFilter(status="accepted"))
        assert accepted == counts.accepted
        more = _add(ws, rng, 30, "two")
        expected = _expected(ws, ids + more)
        assert data.counts().accepted == sum(s == "accepted" for s in expected.values())
        page = data.examples(ExampleFilter(search="two"), 0, 100)
        assert {r.id for r in page} == set(more)
        assert all(r.status == expected[r.id] for r in page)
        assert data.index.builds == 1
        assert data.counts().outcomes == {"running": 1}  # trajectory outcomes: read again once they change
        ws.finish_trajectory("t1", status="done", outcome="done", score=1.0)
        counts = data.counts()
        assert counts.outcomes == {"done": 1} and counts.mean_score == 1.0
    finally:
        data.close()
        ws.close()
