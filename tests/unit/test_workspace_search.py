"""Workspace search: full text on examples/steps/tasks, vectors (exact, indexed), hybrid, embedder checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.errors import EmbeddingMismatchError
from studio.workspace import Example, Step, Task, Workspace
from studio.workspace import search as ws_search


@pytest.fixture()
def ws(tmp_path: Path):
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


INSTRUCTIONS = [
    "Save the document as CSV",
    "Open the file menu",
    "Compute the square root of 81",
    "Change the font size to 14",
    "Insert a new sheet",
]


def add_examples(ws: Workspace) -> list[Example]:
    exs = [Example(trajectory_id="t", start=0, end=1, instruction=s) for s in INSTRUCTIONS]
    ws.add(exs)
    return exs


def test_text_search_examples_steps_tasks(ws: Workspace) -> None:
    exs = add_examples(ws)
    hits = ws.search_examples_text("save csv", k=3)
    assert hits[0][0].id == exs[0].id and hits[0][1] > 0
    ws.optimize()  # indexed rows and rows appended later are both found
    ws.add(Example(trajectory_id="t", start=0, end=1, instruction="Save a copy with another name"))
    assert {e.instruction for e, _ in ws.search_examples_text("save", k=5)} >= {
        INSTRUCTIONS[0],
        "Save a copy with another name",
    }
    ws.add(Step(trajectory_id="t", index=0, observation_text="push button\tSquare root\t(10, 10)"))
    ws.add(Task(instruction="Find the square root of 2"))
    assert ws.search_steps_text("square root", k=2)[0][0].index == 0
    assert ws.search_tasks_text("square", k=2)[0][0].instruction == "Find the square root of 2"
    assert ws.search_examples_text("   ", k=3) == []


def test_vector_and_hybrid_search(ws: Workspace) -> None:
    exs = add_examples(ws)
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(len(exs), 16)).astype(np.float32)
    ws.set_example_vectors([e.id for e in exs], vecs, "test-embedder")
    assert ws.meta["embedder"] == {"name": "test-embedder", "dim": 16}
    hits = ws.search_examples_vector(vecs[3] + 0.01, k=2)
    assert hits[0][0].id == exs[3].id and hits[0][1] < 0.01
    hybrid = ws.search_examples_hybrid("font size", vecs[3], k=3)
    assert hybrid[0][0].id == exs[3].id  # first in both lists
    assert len(hybrid) == 3


def test_embedding_mismatch_refused(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        exs = add_examples(ws)
        ws.set_example_vectors([exs[0].id], np.ones((1, 8)), "a")
        with pytest.raises(EmbeddingMismatchError, match="8-dim.*'a'"):
            ws.set_example_vectors([exs[1].id], np.ones((1, 4)), "a")
        with pytest.raises(EmbeddingMismatchError, match="'b'"):
            ws.set_example_vectors([exs[1].id], np.ones((1, 8)), "b")
    with Workspace.open(tmp_path / "ws", readonly=True) as r:  # recorded in workspace.json
        with pytest.raises(EmbeddingMismatchError):
            r.search_examples_vector(np.ones(5), k=1)
        assert r.search_examples_vector(np.ones(8), k=1)[0][0].id == exs[0].id


def test_no_vectors_yet_returns_nothing(ws: Workspace) -> None:
    add_examples(ws)
    assert ws.search_examples_vector(np.ones(4), k=3) == []


def test_vector_index_built_above_threshold_keeps_recall(ws: Workspace, monkeypatch) -> None:
    monkeypatch.setattr(ws_search, "VECTOR_INDEX_MIN_ROWS", 2000)
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(20, 32))
    vecs = (centers[rng.integers(0, 20, 3000)] + 0.3 * rng.normal(size=(3000, 32))).astype(np.float32)
    exs = [Example(id=f"e{i}", trajectory_id="t", start=0, end=1, instruction=f"x {i}") for i in range(3000)]
    ws.add(exs)
    ws.set_example_vectors([e.id for e in exs], vecs, "clustered")
    ws.optimize()
    assert any("vector" in ix.columns for ix in ws.table(ws_search.VECTOR_TABLE).list_indices())
    norm = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    recall = []
    for qi in rng.integers(0, 3000, 20):
        q = vecs[qi] + 0.05 * rng.normal(size=32).astype(np.float32)
        exact = set(np.argsort(-(norm @ (q / np.linalg.norm(q))))[:5])
        got = {int(e.id[1:]) for e, _ in ws.search_examples_vector(q, k=5)}
        recall.append(len(got & {int(i) for i in exact}) / 5)
    assert np.mean(recall) >= 0.9


def test_add_examples_with_vectors_and_unknown_ids(ws: Workspace) -> None:
    from studio.errors import WorkspaceError

    exs = [Example(trajectory_id="t", start=0, end=1, instruction=s) for s in INSTRUCTIONS]
    vecs = np.eye(len(exs), 8, dtype=np.float32)
    ws.add_examples(exs, vectors=vecs, embedder="eye")
    (hit, dist), *_ = ws.search_examples_vector(vecs[2], k=1)
    assert hit == exs[2] and dist < 1e-5  # the whole example comes back from one query
    with pytest.raises(WorkspaceError, match="add the examples first"):
        ws.set_example_vectors(["nope"], np.ones((1, 8)), "eye")
    with pytest.raises(WorkspaceError, match="embedder="):
        ws.add_examples(exs[:1], vectors=vecs[:1])


def test_reader_opened_before_first_vectors_finds_them(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws, Workspace.open(tmp_path / "ws", readonly=True) as reader:
        assert reader.search_examples_vector(np.ones(4), k=1) == []
        ex = Example(trajectory_id="t", start=0, end=1, instruction="late")
        ws.add_examples([ex], vectors=np.ones((1, 4)), embedder="e")
        assert reader.search_examples_vector(np.ones(4), k=1)[0][0] == ex


def test_rrf_is_lancedbs_reciprocal_rank_fusion() -> None:
    from studio.workspace.search import RRF_K, rrf

    fused = rrf(["a", "b", "c"], ["c", "d"])
    expected = {
        "a": 1 / (RRF_K + 1),
        "b": 1 / (RRF_K + 2),
        "c": 1 / (RRF_K + 3) + 1 / (RRF_K + 1),
        "d": 1 / (RRF_K + 2),
    }
    assert [i for i, _ in fused] == ["c", "a", "b", "d"]  # b and d tie: the first list leads
    assert all(abs(score - expected[i]) < 1e-6 for i, score in fused)
    assert rrf([], []) == [] and [i for i, _ in rrf([], ["x"])] == ["x"]
