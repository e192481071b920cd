"""Full-text, vector and hybrid search over the workspace.

* Full text: LanceDB's native FTS (BM25) index on ``documents.text``, ``tasks.instruction``,
  ``steps.observation_text`` and ``examples.instruction``. Rows appended after the last ``optimize()`` are
  searched too (unindexed rows are scanned).
* Vectors: table ``example_vectors`` (example_id, vector) with the dimension of the first embedder used; the
  embedder's name and dimension are recorded in ``workspace.json`` and mixing is refused
  (``EmbeddingMismatchError``). Below :data:`VECTOR_INDEX_MIN_ROWS` search is exact (flat, cosine); above it
  ``optimize()`` builds an IVF_HNSW_SQ index (one-off, minutes at 100k rows; later ``optimize()`` calls add new
  rows to it), queried with ``ef=``:data:`HNSW_EF` (default ef gave recall@5 0.49 on this machine, ef >= 100
  gave 0.97) and ``nprobes=``:data:`NPROBES`. Vector rows carry a copy of the example's columns, so a vector
  search is one query.
* Hybrid: reciprocal-rank fusion (k=60) of both lists, by LanceDB's ``RRFReranker`` (:func:`rrf`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from studio.errors import EmbeddingMismatchError, WorkspaceError
from studio.records import Example, Record
from studio.workspace.schema import from_row
from studio.workspace.sql import where_eq

if TYPE_CHECKING:
    from studio.workspace.tables import TableStore

VECTOR_TABLE = "example_vectors"
VECTOR_INDEX_MIN_ROWS = 50_000
HNSW_EF = 128
#: IVF partitions searched per query. With ``rows // ROWS_PER_PARTITION`` partitions (8 at 100k rows) this
#: searches all of them at 100k: recall@5 0.972 (nprobes 4: 0.896), see benchmarks/bench_workspace.py.
NPROBES = 8
ROWS_PER_PARTITION = 12_500
#: HNSW build effort: 150 builds 100k x 384 in ~130 s on 2 loaded cores (the default 300 with 4 partitions
#: took ~600 s) at the same recall.
EF_CONSTRUCTION = 150
RRF_K = 60
#: Full-text indexed column per table.
FTS_COLUMNS = {
    "documents": "text",
    "tasks": "instruction",
    "steps": "observation_text",
    "examples": "instruction",
}


def create_fts(table: Any, column: str) -> None:
    from lancedb.index import FTS

    table.create_index(column, config=FTS(), replace=True)


def fts(ws: TableStore, cls: type[Record], query: str, k: int) -> list[tuple[Record, float]]:
    """``(record, bm25 score)`` best first; an empty query returns nothing."""
    if not query.strip():
        return []
    rows = ws.table(cls.table).search(query, query_type="fts", fts_columns=FTS_COLUMNS[cls.table]).limit(k).to_list()
    return [(from_row(cls, r), float(r.get("_score", 0.0))) for r in rows]


def _as_matrix(vectors: Any) -> Any:
    import numpy as np

    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise EmbeddingMismatchError(f"expected a 2-D array of embeddings, got shape {arr.shape}")
    return arr


def _check_embedder(ws: TableStore, embedder: str | None, dim: int) -> None:
    known = ws.meta.get("embedder")
    if not known:
        return
    if dim != known["dim"] or (embedder is not None and embedder != known["name"]):
        raise EmbeddingMismatchError(
            f"{ws.path} holds {known['dim']}-dim vectors from {known['name']!r}, got {dim}-dim vectors from "
            f"{embedder or 'an unnamed embedder'!r}. Use the same roles.embedder, or re-embed every example "
            "into a new workspace.",
            model=embedder or "",
        )


def add_vectors(ws: TableStore, example_ids: Sequence[str], vectors: Any, embedder: str) -> None:
    """Store vectors for examples already in the workspace (rows are copied next to their vector)."""
    ids = list(example_ids)
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        found.update((r["id"], r) for r in ws.columns("examples", list(Example.model_fields), where=where_eq(id=chunk)))
    missing = [x for x in ids if x not in found]
    if missing:
        raise WorkspaceError(f"no example with id(s) {missing[:5]} in {ws.path}; add the examples first")
    add_vector_rows(ws, [found[x] for x in ids], vectors, embedder)


def add_vector_rows(ws: TableStore, rows: list[dict[str, Any]], vectors: Any, embedder: str) -> None:
    """Append ``example_vectors`` rows: the example's stored columns plus its vector.

    The example columns are copied so a vector search answers in one query (no second lookup by id).
    """
    import pyarrow as pa

    from studio.workspace.schema import arrow_schema, vector_schema

    arr = _as_matrix(vectors)
    if len(rows) != arr.shape[0]:
        raise WorkspaceError(f"{len(rows)} examples but {arr.shape[0]} vectors; pass one vector per example")
    dim = int(arr.shape[1])
    _check_embedder(ws, embedder, dim)
    schema = vector_schema(dim)
    data = pa.Table.from_pylist(rows, schema=arrow_schema(Example)).append_column(
        schema.field("vector"), pa.FixedSizeListArray.from_arrays(pa.array(arr.reshape(-1)), dim)
    )
    if not ws.meta.get("embedder"):
        ws.start_vectors(embedder, dim, schema)
    ws.table(VECTOR_TABLE).add(data)


def ensure_vector_index(table: Any, rows: int) -> None:
    """Build the IVF_HNSW_SQ index once the table is large enough (``optimize`` keeps it up to date)."""
    if rows < VECTOR_INDEX_MIN_ROWS or any("vector" in ix.columns for ix in table.list_indices()):
        return
    create_vector_index(table, rows)


def create_vector_index(table: Any, rows: int, column: str = "vector") -> None:
    """An IVF_HNSW_SQ index (cosine) on ``column``: one partition per :data:`ROWS_PER_PARTITION` rows."""
    from lancedb.index import HnswSq

    parts = max(1, min(64, rows // ROWS_PER_PARTITION))
    config = HnswSq(distance_type="cosine", num_partitions=parts, ef_construction=EF_CONSTRUCTION)
    table.create_index(column, config=config)


def _vector_hits(ws: TableStore, vector: Any, k: int, embedder: str | None) -> list[tuple[Example, float]]:
    arr = _as_matrix(vector)
    if not ws.meta.get("embedder") and ws.readonly:
        ws.refresh_meta()  # the writer may have stored the first vectors since this reader opened
    if not ws.meta.get("embedder"):
        return []
    _check_embedder(ws, embedder, int(arr.shape[1]))
    q = (
        ws.table(VECTOR_TABLE)
        .search(arr[0], vector_column_name="vector")
        .distance_type("cosine")
        .ef(HNSW_EF)
        .nprobes(NPROBES)
        .select([*Example.model_fields, "_distance"])
        .limit(k)
    )
    return [(from_row(Example, r), float(r["_distance"])) for r in q.to_list()]


def vector(ws: TableStore, vector: Any, k: int, embedder: str | None) -> list[tuple[Example, float]]:
    return _vector_hits(ws, vector, k, embedder)


def rrf(first: Sequence[str], second: Sequence[str], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion of two ranked id lists by LanceDB's ``RRFReranker``: ``(id, score)`` best first,
    score ``sum 1 / (k + rank)`` with ranks from 1; ties keep the order of first appearance (``first`` leads)."""
    import pyarrow as pa
    from lancedb.rerankers import RRFReranker

    ids = list(dict.fromkeys([*first, *second]))
    if not ids:
        return []
    row = {i: n for n, i in enumerate(ids)}

    def ranked(lst: Sequence[str]) -> pa.Table:
        return pa.table(
            {"_rowid": pa.array([row[i] for i in lst], pa.uint64()), "id": pa.array(list(lst), pa.string())}
        )

    fused = RRFReranker(K=k).rerank_hybrid("", ranked(first), ranked(second))
    return list(zip(fused["id"].to_pylist(), fused["_relevance_score"].to_pylist(), strict=True))


def hybrid(ws: TableStore, query: str, vector_: Any, k: int, embedder: str | None) -> list[tuple[Example, float]]:
    """Text and vector hits fused by :func:`rrf` (text first on ties), the best ``k``."""
    text = fts(ws, Example, query, k * 2)
    dense = _vector_hits(ws, vector_, k * 2, embedder)
    found: dict[str, Example] = {ex.id: ex for ex, _ in [*text, *dense]}  # type: ignore[misc]
    fused = rrf([ex.id for ex, _ in text], [ex.id for ex, _ in dense])
    return [(found[i], score) for i, score in fused[:k]]
