"""Fusion of the two retrieval lists (LanceDB rerankers with weights), de-duplication by span, MMR diversity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.config import RetrievalConfig
from studio.errors import PipelineError
from studio.llm.embedders import LexicalEmbedder
from studio.pipeline.retrieval.fusion import FusionSettings, dedup, fuse, merge, mmr, weighted_rrf_reranker
from studio.pipeline.retrieval.index import IndexedExample
from studio.pipeline.retrieval.retriever import Hit, Retriever, build_index
from studio.workspace import Workspace
from tests.unit.test_retrieval import SCREENS, FixedWriter, populate


def hit(
    eid: str, score: float, source: str, traj: str = "", span: tuple[int, int] = (0, 1), vec: list[float] | None = None
) -> Hit:
    ex = IndexedExample(id=eid, instruction=f"do {eid}", trajectory_id=traj or f"t-{eid}", start=span[0], end=span[1])
    return Hit(ex, score, source, f"{source} {eid}", [eid], vec)


def ids(hits: list[Hit]) -> list[str]:
    return [h.example.id for h in hits]


DENSE = [hit("a", 0.9, "model"), hit("b", 0.8, "model"), hit("c", 0.7, "model")]
FTS = [hit("x", 12.0, "observation"), hit("b", 9.0, "observation"), hit("y", 3.0, "observation")]


def test_rrf_puts_an_example_both_searches_found_first_and_weights_move_the_rest() -> None:
    even = fuse(DENSE, FTS, FusionSettings(fusion="rrf", dense_weight=0.5))
    assert ids(even)[0] == "b"  # rank 2 in both beats rank 1 in one
    assert even[0].source == "model+observation" and "model b" in even[0].why and "observation b" in even[0].why
    assert set(ids(even)) == {"a", "b", "c", "x", "y"} and len(even) == 5
    dense_heavy = fuse(DENSE, FTS, FusionSettings(fusion="rrf", dense_weight=0.9))
    fts_heavy = fuse(DENSE, FTS, FusionSettings(fusion="rrf", dense_weight=0.1))
    assert ids(dense_heavy).index("a") < ids(dense_heavy).index("x")
    assert ids(fts_heavy).index("x") < ids(fts_heavy).index("a")
    assert ids(dense_heavy)[-1] == "y" and ids(fts_heavy)[-1] == "c"
    scores = [h.score for h in even]
    assert scores == sorted(scores, reverse=True)
    # the score is the weighted RRF score: 0.5 / (60 + 2) twice for b
    assert even[0].score == pytest.approx(2 * 0.5 / 62, rel=1e-5)


def test_rrf_of_three_lists_weights_the_task_list() -> None:
    task = [hit("c", 0.95, "instruction"), hit("y", 0.9, "instruction")]
    s = FusionSettings(fusion="rrf", dense_weight=0.5, task_weight=0.25)
    assert s.three_lists
    three = fuse(DENSE, FTS, s, task)
    # b: 0.5/62 twice; c: 0.5/63 + 0.25/61; y: 0.5/63 + 0.25/62; x: 0.5/61 (the dense list's a ties x)
    assert ids(three)[:3] == ["b", "c", "y"]
    assert three[0].score == pytest.approx(1.0 / 62) and three[1].score == pytest.approx(0.5 / 63 + 0.25 / 61)
    assert three[1].source == "model+instruction" and set(ids(three)) == {"a", "b", "c", "x", "y"}
    # no task hits: the two lists, fused as before
    assert ids(fuse(DENSE, FTS, s)) == ids(fuse(DENSE, FTS, FusionSettings(dense_weight=0.5, task_weight=0.0)))
    assert not FusionSettings(fusion="mrr", task_weight=0.25).three_lists  # the other fusions take two lists
    with pytest.raises(PipelineError, match="task_weight"):
        FusionSettings(task_weight=1.5)


def test_weighted_rrf_is_a_lancedb_reranker() -> None:
    from lancedb.rerankers import RRFReranker

    r = weighted_rrf_reranker(10, 0.75)
    assert isinstance(r, RRFReranker) and "weight_vector=0.75" in str(r)


def test_mrr_and_linear_rerankers() -> None:
    mrr_hits = fuse(DENSE, FTS, FusionSettings(fusion="mrr", dense_weight=0.7))
    assert ids(mrr_hits)[:2] == ["a", "b"]  # 0.7 * 1 beats 0.7/2 + 0.3/2
    assert mrr_hits[0].score == pytest.approx(0.7)
    lin = fuse(DENSE, FTS, FusionSettings(fusion="linear", dense_weight=0.7))
    # BM25 is divided by the list's best, so x (1.0 BM25, no cosine) does not drown a (0.9 cosine)
    assert ids(lin)[0] == "b" and ids(lin).index("a") < ids(lin).index("x")


def test_one_empty_list_and_interleave() -> None:
    assert ids(fuse(DENSE, [], FusionSettings())) == ["a", "b", "c"]
    assert ids(fuse([], FTS, FusionSettings())) == ["x", "b", "y"]
    assert ids(fuse(DENSE, FTS, FusionSettings(fusion="interleave", dense_weight=0.5))) == ["x", "a", "b", "y", "c"]


def test_dedup_by_span_and_trajectory() -> None:
    hits = [
        hit("1", 1, "m", "T", (0, 3)),
        hit("2", 1, "m", "T", (1, 2)),  # inside 1's span: a near copy
        hit("3", 1, "m", "T", (3, 5)),  # same rollout, other steps
        hit("1", 1, "o", "T", (0, 3)),  # the same example again
        hit("4", 1, "m", "U", (0, 1)),
    ]
    assert ids(dedup(hits, "none")) == ["1", "2", "3", "4"]
    assert ids(dedup(hits, "span")) == ["1", "3", "4"]
    assert ids(dedup(hits, "trajectory")) == ["1", "4"]
    with pytest.raises(PipelineError, match="unknown dedup"):
        dedup(hits, "fuzzy")


def test_mmr_prefers_a_different_example_over_a_near_copy() -> None:
    hits = [hit("a", 1, "m", vec=[1, 0]), hit("a2", 1, "m", vec=[0.99, 0.05]), hit("b", 1, "m", vec=[0, 1])]
    assert ids(mmr(hits, 1.0, 3)) == ["a", "a2", "b"]
    assert ids(mmr(hits, 0.5, 3)) == ["a", "b", "a2"]
    assert ids(mmr(hits, 0.5, 2)) == ["a", "b"]
    no_vectors = [hit("p", 1, "m"), hit("q", 1, "m")]
    assert ids(mmr(no_vectors, 0.3, 2)) == ["p", "q"]


def test_merge_interleave_is_the_papers_union() -> None:
    s = FusionSettings(fusion="interleave", dedup="none", dense_weight=0.5)
    out = merge(DENSE, FTS, s, m1=2, m2=2)
    assert ids(out) == ["x", "a", "b", "c"]  # m1 observation hits, then m2 dense ones not already chosen
    dense_first = merge(DENSE, FTS, FusionSettings(fusion="interleave", dense_weight=0.7, dedup="none"), 2, 2)
    assert ids(dense_first) == ["a", "x", "b", "y"]  # the heavier list leads
    fused = merge(DENSE, FTS, FusionSettings(dense_weight=0.7), m1=1, m2=1)
    assert ids(fused) == ["b", "a"]


def test_settings_validation_and_config() -> None:
    for bad in ({"fusion": "sum"}, {"dedup": "x"}, {"dense_weight": 1.5}, {"mmr_lambda": -1}, {"rrf_k": 0}):
        with pytest.raises(PipelineError):
            FusionSettings(**bad)  # type: ignore[arg-type]
    rc = RetrievalConfig(fusion="mrr", dense_weight=0.8, dedup="trajectory", mmr_lambda=0.7, candidates=12)
    s = FusionSettings.from_config(rc)
    assert (s.fusion, s.dense_weight, s.dedup, s.mmr_lambda, s.candidates) == ("mrr", 0.8, "trajectory", 0.7, 12)
    assert FusionSettings.from_config(RetrievalConfig()) == FusionSettings()  # one default, two places


def test_retriever_both_mode_fuses_and_keeps_vectors_for_mmr(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        exs = populate(ws, extra=4)
        emb = LexicalEmbedder()
        build_index(ws, emb)
        writer = FixedWriter("Add seven to the total in the calculator")
        r = Retriever(ws, emb, mode="both", m1=2, m2=2, query_writer=writer)
        out = r.retrieve("Add seven", SCREENS["calc"])
        assert out.hits[0].example.id == exs[0].id and out.hits[0].source == "model+observation+instruction"
        assert len(out.hits) == len(set(ids(out.hits))) <= 4
        r.fusion = FusionSettings(mmr_lambda=0.5)
        diverse = r.retrieve("Add seven", SCREENS["calc"])
        assert all(h.vector is not None and np.asarray(h.vector).shape == (emb.dim,) for h in diverse.hits)
        assert diverse.hits[0].example.id == exs[0].id
