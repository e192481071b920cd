"""How the hits of the two searches of a step become one ranked list: fusion, de-duplication, diversity.

Mode ``both`` runs a dense search (the model's query) and a full-text search (the observation), and with
``task_weight`` > 0 a second dense search (the task instruction), and merges them here, in three steps, each
chosen in ``[retrieval]`` (:class:`FusionSettings`):

1. **fusion** (``fusion``) of the two ranked lists by one of LanceDB's rerankers, fed with our own hits
   (``rerank_hybrid(query, vector_results, fts_results)`` on small Arrow tables of ``_rowid`` + score):

   ============== ==================================================================================
   ``interleave`` o1, d1, o2, d2, ... (the first version; no reranker); d1, o1, ... when
                  ``dense_weight`` > 0.5
   ``rrf``        :func:`weighted_rrf_reranker`: LanceDB's ``RRFReranker`` with a weight per list,
                  ``score = w_dense / (K + rank_dense) + w_fts / (K + rank_fts)``
   ``mrr``        LanceDB's ``MRRReranker(weight_vector, weight_fts)``: weighted reciprocal ranks (K = 0)
   ``linear``     LanceDB's ``LinearCombinationReranker(weight)`` on cosine similarity and BM25 divided
                  by the list's best BM25 (raw BM25 is unbounded and would drown the cosine)
   ============== ==================================================================================

   ``dense_weight`` is the dense list's weight and the full-text list gets ``1 - dense_weight``;
   ``task_weight`` is the task list's (``rrf`` only: the three lists are fused by :func:`rrf_lists`; the other
   fusions use two lists).
2. **de-duplication** (``dedup``): examples cut from the same rollout overlap; ``span`` drops a hit whose
   trajectory and step span overlap a better hit's, ``trajectory`` keeps one hit per trajectory, ``none``
   keeps all (ids are always unique).
3. **diversity** (``mmr_lambda`` < 1): maximal marginal relevance over the example vectors,
   ``lambda * relevance - (1 - lambda) * max cosine to the hits already chosen``.

All functions are pure (hits in, hits out) so the unit tests need no index; the measured choice of the default
is in BENCHMARKS.md ("Retrieval quality").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from studio.errors import PipelineError

if TYPE_CHECKING:
    from studio.pipeline.retrieval.retriever import Hit

__all__ = [
    "DEDUPS",
    "FUSIONS",
    "FusionSettings",
    "dedup",
    "fuse",
    "merge",
    "mmr",
    "rrf_lists",
    "rrf_scores",
    "weighted_rrf_reranker",
]

_Id = TypeVar("_Id")

FUSIONS = ("interleave", "rrf", "mrr", "linear")
DEDUPS = ("none", "span", "trajectory")


@dataclass(frozen=True)
class FusionSettings:
    """How mode ``both`` merges its two lists (the ``[retrieval]`` fields of the same names).

    Attributes:
        fusion: One of :data:`FUSIONS`.
        dense_weight: Weight of the dense (model query) list in ``rrf`` / ``mrr`` / ``linear``, in [0, 1].
        task_weight: Weight of a third list, the dense search for the task instruction (``rrf`` only; 0 = two
            lists), in the same units: the lists weigh ``dense_weight``, ``1 - dense_weight`` and ``task_weight``.
        rrf_k: The ``K`` of reciprocal-rank fusion.
        dedup: One of :data:`DEDUPS` (applies to every mode).
        mmr_lambda: Relevance vs diversity; 1.0 turns MMR off.
        candidates: Hits asked of each search before fusion (at least the number kept).
    """

    fusion: str = "rrf"
    dense_weight: float = 0.5
    task_weight: float = 0.25
    rrf_k: int = 60
    dedup: str = "span"
    mmr_lambda: float = 1.0
    candidates: int = 20

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise PipelineError(f"unknown fusion '{self.fusion}'; use one of {', '.join(FUSIONS)}")
        if self.dedup not in DEDUPS:
            raise PipelineError(f"unknown dedup '{self.dedup}'; use one of {', '.join(DEDUPS)}")
        if not 0.0 <= self.dense_weight <= 1.0 or not 0.0 <= self.mmr_lambda <= 1.0:
            raise PipelineError("dense_weight and mmr_lambda must lie in [0, 1]")
        if not 0.0 <= self.task_weight <= 1.0:
            raise PipelineError("task_weight must lie in [0, 1]")
        if self.rrf_k <= 0 or self.candidates <= 0:
            raise PipelineError("rrf_k and candidates must be positive")

    @classmethod
    def from_config(cls, rc: Any) -> FusionSettings:
        """The settings of a ``RetrievalConfig`` (``[retrieval]``)."""
        return cls(rc.fusion, rc.dense_weight, rc.task_weight, rc.rrf_k, rc.dedup, rc.mmr_lambda, rc.candidates)

    @property
    def three_lists(self) -> bool:
        """Whether mode both also searches for the task instruction (``rrf`` with ``task_weight`` > 0)."""
        return self.fusion == "rrf" and self.task_weight > 0


@functools.cache
def _reranker_cls() -> Any:
    from lancedb.rerankers import RRFReranker

    class _Weighted(RRFReranker):
        """LanceDB's ``RRFReranker`` with one weight per list (LanceDB 0.40's has none)."""

        def __init__(self, K: int = 60, weight_vector: float = 0.5) -> None:  # noqa: N803 - LanceDB's name
            super().__init__(K=K)
            self.weight_vector = weight_vector

        def __str__(self) -> str:
            return f"WeightedRRFReranker(K={self.K}, weight_vector={self.weight_vector})"

        def rerank_hybrid(self, query: str, vector_results: Any, fts_results: Any) -> Any:
            import pyarrow as pa

            scores = rrf_scores(
                [
                    (table["_rowid"].to_pylist() if table is not None else [], w)
                    for table, w in ((vector_results, self.weight_vector), (fts_results, 1.0 - self.weight_vector))
                ],
                self.K,
            )
            merged = self.merge_results(vector_results, fts_results)
            rel = pa.array([scores[r] for r in merged["_rowid"].to_pylist()], type=pa.float32())
            merged = merged.append_column("_relevance_score", rel)
            return self._keep_relevance_score(merged.sort_by([("_relevance_score", "descending")]))

    return _Weighted


def weighted_rrf_reranker(k: int = 60, weight_vector: float = 0.5) -> Any:
    """A LanceDB reranker (a subclass of ``RRFReranker``, made on first use: LanceDB imports slowly) giving the
    vector list ``weight_vector`` and the full-text list ``1 - weight_vector``; usable wherever LanceDB takes a
    reranker (``query.rerank(...)``)."""
    return _reranker_cls()(K=k, weight_vector=weight_vector)


def _reranker(s: FusionSettings) -> Any:
    from lancedb.rerankers import LinearCombinationReranker, MRRReranker

    if s.fusion == "rrf":
        return weighted_rrf_reranker(s.rrf_k, s.dense_weight)
    if s.fusion == "mrr":
        return MRRReranker(weight_vector=s.dense_weight, weight_fts=1.0 - s.dense_weight)
    return LinearCombinationReranker(weight=s.dense_weight)


def interleave(a: Sequence[Hit], b: Sequence[Hit]) -> list[Hit]:
    """``a1, b1, a2, b2, ...`` without repeating an example."""
    out: list[Hit] = []
    seen: set[str] = set()
    for i in range(max(len(a), len(b))):
        for lst in (a, b):
            if i < len(lst) and lst[i].example.id not in seen:
                seen.add(lst[i].example.id)
                out.append(lst[i])
    return out


def rrf_scores(lists: Sequence[tuple[Sequence[_Id], float]], k: int) -> dict[_Id, float]:
    """Weighted reciprocal-rank fusion scores of ranked id lists: ``sum(weight / (k + rank))`` per id, ranks from
    1, ids in order of first appearance (the one formula of :func:`rrf_lists` and :func:`weighted_rrf_reranker`)."""
    scores: dict[_Id, float] = {}
    for ids, weight in lists:
        for rank, key in enumerate(ids, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return scores


def rrf_lists(lists: Sequence[tuple[Sequence[Hit], float]], k: int) -> list[Hit]:
    """Weighted reciprocal-rank fusion of any number of ``(hits, weight)`` lists (:func:`rrf_scores`); an example
    found by several lists is one hit (their sources and explanations joined), the order of equal scores is that
    of first appearance."""
    scores = rrf_scores([([h.example.id for h in hits], weight) for hits, weight in lists], k)
    parts: dict[str, list[Hit]] = {}
    for hits, _weight in lists:
        for h in hits:
            parts.setdefault(h.example.id, []).append(h)
    order = sorted(scores, key=lambda i: -scores[i])
    return [replace(_joined(parts[i]) if len(parts[i]) > 1 else parts[i][0], score=scores[i]) for i in order]


def fuse(dense: Sequence[Hit], fts: Sequence[Hit], s: FusionSettings, task: Sequence[Hit] = ()) -> list[Hit]:
    """One ranked list from a dense list (``score`` = cosine) and a full-text list (``score`` = BM25), and with
    :attr:`FusionSettings.three_lists` the task list (:func:`rrf_lists`).

    ``interleave`` starts with the full-text list (the paper's m1 observation examples come first); the
    rerankers put an example found by both searches above one found by either alone. A fused hit is a copy of
    the input :class:`Hit` (inputs are not changed) whose ``score`` is the reranker's relevance; an example
    found by both gets ``source`` ``"<dense>+<fts>"`` with both explanations.
    """
    if s.fusion == "interleave":
        return interleave(dense, fts) if s.dense_weight > 0.5 else interleave(fts, dense)
    if s.three_lists and task:
        return rrf_lists([(dense, s.dense_weight), (fts, 1.0 - s.dense_weight), (task, s.task_weight)], s.rrf_k)
    if not dense or not fts:
        return interleave(dense, fts)
    import pyarrow as pa

    row: dict[str, int] = {}
    for h in [*dense, *fts]:
        row.setdefault(h.example.id, len(row))
    best_bm25 = max((h.score for h in fts), default=0.0) or 1.0
    vec = pa.table(
        {
            "_rowid": pa.array([row[h.example.id] for h in dense], pa.uint64()),
            "_distance": pa.array([1.0 - h.score for h in dense], pa.float32()),
        }
    )
    txt = pa.table(
        {
            "_rowid": pa.array([row[h.example.id] for h in fts], pa.uint64()),
            "_score": pa.array([h.score / best_bm25 if s.fusion == "linear" else h.score for h in fts], pa.float32()),
        }
    )
    fused = _reranker(s).rerank_hybrid("", vec, txt)
    by_row: dict[int, list[Hit]] = {}
    for h in [*dense, *fts]:
        by_row.setdefault(row[h.example.id], []).append(h)
    out: list[Hit] = []
    for rid, score in zip(fused["_rowid"].to_pylist(), fused["_relevance_score"].to_pylist(), strict=True):
        parts = by_row[rid]
        out.append(replace(parts[0] if len(parts) == 1 else _joined(parts), score=float(score)))
    return out


def _joined(parts: list[Hit]) -> Hit:
    first = parts[0]
    return replace(
        first,
        source="+".join(dict.fromkeys(p.source for p in parts)),
        why=" | ".join(p.why for p in parts),
        matched=list(dict.fromkeys(w for p in parts for w in p.matched)),
        vector=next((p.vector for p in parts if p.vector is not None), None),
    )


def dedup(hits: Sequence[Hit], by: str) -> list[Hit]:
    """Hits without repeats: by example id always; ``span``: no two overlapping spans of one trajectory;
    ``trajectory``: one hit per trajectory. The better (earlier) hit stays."""
    if by not in DEDUPS:
        raise PipelineError(f"unknown dedup '{by}'; use one of {', '.join(DEDUPS)}")
    out: list[Hit] = []
    ids: set[str] = set()
    spans: dict[str, list[tuple[int, int]]] = {}
    for h in hits:
        ex = h.example
        if ex.id in ids:
            continue
        if by != "none" and ex.trajectory_id:
            taken = spans.get(ex.trajectory_id, [])
            if by == "trajectory" and taken:
                continue
            if by == "span" and any(ex.start < e and s < ex.end for s, e in taken):
                continue
            spans.setdefault(ex.trajectory_id, []).append((ex.start, max(ex.end, ex.start + 1)))
        ids.add(ex.id)
        out.append(h)
    return out


def mmr(hits: Sequence[Hit], lam: float, k: int) -> list[Hit]:
    """The first ``k`` hits re-chosen by maximal marginal relevance (``lam`` = 1: unchanged order).

    Relevance is the rank in ``hits`` mapped to [0, 1] (scores of different searches do not compare);
    similarity is the cosine of the hits' ``vector`` (hits without one are never penalized).
    """
    if lam >= 1.0 or len(hits) <= 1:
        return list(hits[:k])
    import numpy as np

    n = len(hits)
    rel = [1.0 - i / n for i in range(n)]
    vecs = [None if h.vector is None else np.asarray(h.vector, dtype=np.float32) for h in hits]
    unit = [None if v is None else v / (float(np.linalg.norm(v)) or 1.0) for v in vecs]
    chosen: list[int] = []
    left = list(range(n))
    while left and len(chosen) < k:

        def value(i: int) -> float:
            ui = unit[i]
            sims = [float(ui @ unit[j]) for j in chosen if ui is not None and unit[j] is not None]  # type: ignore[operator]
            return lam * rel[i] - (1.0 - lam) * max(sims, default=0.0)

        best = max(left, key=value)
        chosen.append(best)
        left.remove(best)
    return [hits[i] for i in chosen]


def merge(
    dense: Sequence[Hit], fts: Sequence[Hit], s: FusionSettings, m1: int, m2: int, task: Sequence[Hit] = ()
) -> list[Hit]:
    """The hits of mode ``both``: up to ``m1 + m2`` of :func:`fuse`, then :func:`dedup`, then :func:`mmr`.

    With ``interleave`` (the paper's union) the full-text list gives up to ``m1`` examples and the dense list
    up to ``m2`` more that are not among them (the other way round when ``dense_weight`` > 0.5), interleaved;
    the rerankers rank the union of both whole lists.
    """
    if s.fusion == "interleave":
        lead, other, n_lead, n_other = (dense, fts, m2, m1) if s.dense_weight > 0.5 else (fts, dense, m1, m2)
        first = dedup(lead, s.dedup)[:n_lead]
        ids = {h.example.id for h in first}
        rest = dedup([*first, *(h for h in other if h.example.id not in ids)], s.dedup)[len(first) :][:n_other]
        fused = interleave(first, rest)
    else:
        fused = dedup(fuse(dense, fts, s, task), s.dedup)
    return mmr(fused, s.mmr_lambda, m1 + m2)
