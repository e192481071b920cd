"""The retrieval index: what Algorithm 2 searches, derived from the workspace's examples and steps.

One LanceDB table of our own in the workspace db, :data:`INDEX_TABLE` (``retrieval_examples``), one row per
indexed example:

* ``obs_text``: the salient tokens (element names, texts and roles) of the a11y observations of the example's
  span, deduplicated and capped (:data:`MAX_OBS_TERMS`) -- the full-text (BM25) column, FTS-indexed (the words
  of the state changes can be added, ``changes_in_fts``; measured worse, see BENCHMARKS.md);
* ``steps_json``: the span's ``[reason, action_code]`` pairs, so packing a prompt needs no step lookups;
* ``changes_json``: per span step, the deterministic state change of its action as text
  (:func:`envs.changes.render_changes` of the step's stored ``changes``, else computed from the screens before
  and after it; ``""`` when unknown), shown after each step in the prompt;
* instruction (the latest *edit* review wins), kind, app, trajectory id, span and committee status;
* ``vector``: the example's embedding, a copy of its row in the workspace's ``example_vectors`` table
  (``Workspace.set_example_vectors``: one embedding per example of :func:`dense_text`, instruction + a short
  trajectory summary), with an IVF_HNSW_SQ index above :data:`VECTOR_INDEX_MIN_ROWS` rows.

Both searches of a step therefore answer from this one table with everything the prompt needs: a BM25 query and
a vector query, no lookup by id. The embedder's name and dimension are recorded in ``workspace.json``; a
different embedder raises ``EmbeddingMismatchError``.

The table is written through the workspace's derived-table API (``Workspace.create_derived_table``,
``add_rows``, ...), so a read-only workspace refuses it with ``WorkspaceError``.

:func:`build_index` is idempotent: examples already in the table are kept, examples that already have a vector
are not embedded again, rows whose example is no longer wanted (e.g. rejected since) are removed. An index
written by an older studio (no ``vector`` column, :func:`has_vectors` is False) is rebuilt in one commit by the
next :func:`build_index`, reusing its rows and the stored vectors (nothing is embedded again); until then
readers search it the old way (vectors from ``example_vectors``, then a lookup of the examples by id). An index
without ``changes_json`` (before the state changes were indexed) is rebuilt from the steps, again reusing the
stored vectors; readers of it see no changes until then.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studio.errors import WorkspaceError
from studio.status import ACCEPTED
from studio.workspace.sql import where_eq

if TYPE_CHECKING:
    from studio.llm.embedders import Embedder
    from studio.workspace import Workspace

log = logging.getLogger(__name__)

INDEX_TABLE = "retrieval_examples"
VECTOR_TABLE = "example_vectors"  # the workspace's (studio.workspace.search.VECTOR_TABLE), keyed by ``id``
#: Salient tokens kept per example (its whole span) in the full-text column.
MAX_OBS_TERMS = 200
#: Words of the span's state changes added to the full-text column after the observation's (``changes_in_fts``).
MAX_CHANGE_TERMS = 100
#: Characters of trajectory summary appended to the instruction for the dense embedding.
MAX_SUMMARY_CHARS = 300
#: Build a BTREE index on ``example_id`` above this many rows (updates and the old layout's lookups by id).
SCALAR_INDEX_MIN_ROWS = 10_000
#: Build the vector index (IVF_HNSW_SQ) on the index's ``vector`` column above this many rows (the workspace's
#: own threshold for ``example_vectors`` is 50k; retrieval runs every step, so it pays earlier).
VECTOR_INDEX_MIN_ROWS = 5_000
#: Columns a dense hit needs (everything but the observation tokens and the vector).
HIT_COLUMNS = ("example_id", "instruction", "kind", "app", "trajectory_id", "start", "end", "status", "steps_json")
_CHUNK = 500

_WORD = re.compile(r"[A-Za-z0-9]+")
#: Words too common in a11y tables or English to say anything about a screen.
STOP_WORDS = frozenset(
    "a an and are as at be by for from in is it of on or the to with filler panel frame unknown".split()
)


@dataclass
class IndexedExample:
    """One example as the retriever sees it (all it needs to rank, explain and pack it)."""

    id: str
    instruction: str
    kind: str = "instruction"
    app: str = ""
    trajectory_id: str = ""
    start: int = 0
    end: int = 0
    status: str = ""
    steps: list[tuple[str, str]] = field(default_factory=list)  # (reason, action_code) per span step
    obs_text: str = ""
    changes: list[str] = field(default_factory=list)  # per span step: what its action changed ("" unknown)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> IndexedExample:
        steps = [(str(r), str(a)) for r, a in json.loads(row.get("steps_json") or "[]")]
        return cls(
            id=row["example_id"],
            instruction=row.get("instruction") or "",
            kind=row.get("kind") or "instruction",
            app=row.get("app") or "",
            trajectory_id=row.get("trajectory_id") or "",
            start=int(row.get("start") or 0),
            end=int(row.get("end") or 0),
            status=row.get("status") or "",
            steps=steps,
            obs_text=row.get("obs_text") or "",
            changes=[str(c) for c in json.loads(row.get("changes_json") or "[]")],
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "example_id": self.id,
            "instruction": self.instruction,
            "kind": self.kind,
            "app": self.app,
            "trajectory_id": self.trajectory_id,
            "start": self.start,
            "end": self.end,
            "status": self.status,
            "steps_json": json.dumps([list(s) for s in self.steps], ensure_ascii=False),
            "obs_text": self.obs_text,
            "changes_json": json.dumps(self.changes, ensure_ascii=False),
            "indexed": time.time(),
        }


def index_schema(dim: int | None = None) -> Any:
    """The index table's schema; with ``dim`` also the ``vector`` column (``dim=None``: the old layout)."""
    import pyarrow as pa

    fields = [
        pa.field("example_id", pa.string()),
        pa.field("instruction", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("app", pa.string()),
        pa.field("trajectory_id", pa.string()),
        pa.field("start", pa.int64()),
        pa.field("end", pa.int64()),
        pa.field("status", pa.string()),
        pa.field("steps_json", pa.string()),
        pa.field("obs_text", pa.string()),
        pa.field("indexed", pa.float64()),
        pa.field("changes_json", pa.string()),
    ]
    if dim is not None:
        fields.append(pa.field("vector", pa.list_(pa.float32(), dim)))
    return pa.schema(fields)


# ------------------------------------------------------------------------------------------- tokens


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` without stop words (digits are kept: calculator buttons)."""
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in STOP_WORDS]


def salient_tokens(observation_text: str, max_terms: int = 32) -> list[str]:
    """The words that say what is on screen, in order of first appearance, deduplicated, capped.

    For an OSWorld-style a11y TSV (id, role, name, text, position, size) the element names and texts come
    first, then the roles (generic words such as "push button" rank low in BM25 anyway); coordinates and ids
    are dropped. Any other text is tokenized as is. A long observation thus becomes a short query.
    """
    names: list[str] = []
    roles: list[str] = []
    lines = observation_text.splitlines()
    tabular = bool(lines) and lines[0].startswith("id\trole")
    if tabular:
        for line in lines[1:]:
            cols = line.split("\t")
            if len(cols) >= 4:
                names.extend(tokens(cols[2] + " " + cols[3]))
                roles.extend(tokens(cols[1]))
            else:
                names.extend(tokens(line))
    else:
        names = tokens(observation_text)
    seen: set[str] = set()
    out: list[str] = []
    for w in names + roles:
        if w not in seen:
            seen.add(w)
            out.append(w)
            if len(out) >= max_terms:
                break
    return out


def fts_query(observation_text: str, max_terms: int = 32) -> str:
    """A full-text query from an observation: its salient tokens joined by spaces (no query syntax)."""
    return " ".join(salient_tokens(observation_text, max_terms))


def dense_text(instruction: str, steps: Sequence[tuple[str, str]]) -> str:
    """What is embedded for dense search: the instruction plus a short summary of the span's steps."""
    parts = [(r or a).strip().replace("\n", " ") for r, a in steps]
    summary = "; ".join(p for p in parts if p)[:MAX_SUMMARY_CHARS]
    return f"{instruction}\nSteps: {summary}" if summary else instruction


# ------------------------------------------------------------------------------------------- table


def index_table(ws: Workspace) -> Any | None:
    """The index table, or None if it was never built."""
    return ws.table(INDEX_TABLE) if ws.has_table(INDEX_TABLE) else None


def has_vectors(table: Any) -> bool:
    """Whether an index table holds the vectors (False: written by an older studio, searched the old way)."""
    return "vector" in table.schema.names


def has_changes(table: Any) -> bool:
    """Whether an index table holds the steps' state changes (False: written before they were indexed)."""
    return "changes_json" in table.schema.names


def hit_columns(table: Any) -> list[str]:
    """:data:`HIT_COLUMNS`, plus ``changes_json`` where the table has it."""
    return [*HIT_COLUMNS, "changes_json"] if has_changes(table) else list(HIT_COLUMNS)


def _column(table: Any, name: str) -> list[Any]:
    n = table.count_rows() if table is not None else 0
    if not n:
        return []
    return table.search().select([name]).limit(n).to_arrow().column(name).to_pylist()  # type: ignore[no-any-return]


def _in(col: str, values: Iterable[str]) -> str:
    return str(where_eq(**{col: list(values)}))


def lookup(ws: Workspace, ids: Sequence[str], columns: Sequence[str] | None = None) -> dict[str, IndexedExample]:
    """Indexed examples by id (ids not in the index are missing from the result).

    Retrieval needs it only for an index of the old layout (see :func:`has_vectors`).
    """
    table = index_table(ws)
    if table is None or not ids:
        return {}
    q = table.search().where(_in("example_id", ids)).limit(len(ids) * 2)
    if columns:
        q = q.select(list(columns))
    return {r["example_id"]: IndexedExample.from_row(r) for r in q.to_list()}


# ------------------------------------------------------------------------------------------- build


@dataclass
class IndexReport:
    """What :func:`build_index` did."""

    wanted: int = 0
    added: int = 0
    embedded: int = 0
    removed: int = 0
    updated: int = 0
    total: int = 0
    embedder: str = ""
    seconds: float = 0.0


def _wanted_examples(ws: Workspace, accepted_only: bool) -> tuple[list[Any], dict[str, str]]:
    from studio.workspace import Example

    statuses = ws.example_statuses()
    if accepted_only:
        ids = [i for i, s in statuses.items() if s in ACCEPTED]
        examples = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            examples.extend(ws.list(Example, id=chunk, limit=len(chunk) * 2))
    else:
        examples = ws.list(Example, limit=None)
    return examples, statuses


def _steps_by_trajectory(ws: Workspace, trajectory_ids: Sequence[str]) -> dict[str, list[Any]]:
    from studio.workspace import Step

    out: dict[str, list[Any]] = {}
    tids = sorted(set(trajectory_ids))
    for start in range(0, len(tids), _CHUNK):
        chunk = tids[start : start + _CHUNK]
        for s in ws.list(Step, trajectory_id=chunk, limit=None):
            out.setdefault(s.trajectory_id, []).append(s)
    for steps in out.values():
        steps.sort(key=lambda s: (s.index, s.created))
    return out


def _span_steps(example: Any, steps: list[Any]) -> list[Any]:
    wanted = set(example.step_indices) if example.step_indices else set(range(example.start, example.end))
    return [s for s in steps if s.index in wanted]


def step_change_text(steps: Sequence[Any], position: int) -> str:
    """What the action of ``steps[position]`` changed, as text: its stored ``changes``, else the difference
    between its screen and the next step's (:func:`envs.changes.screen_changes`); ``""`` when unknown."""
    from envs.changes import Change, render_changes, screen_changes

    step = steps[position]
    stored = getattr(step, "changes", None)
    if stored is not None:
        return render_changes([c if isinstance(c, Change) else Change.from_dict(c) for c in stored])
    if position + 1 < len(steps):
        return render_changes(screen_changes(step.observation_text, steps[position + 1].observation_text))
    return ""


def _indexed(e: Any, steps: list[Any], status: str, instruction: str, changes_in_fts: bool) -> IndexedExample:
    """The index row of example ``e`` from its trajectory's ordered ``steps``."""
    span = _span_steps(e, steps)
    where = {id(s): i for i, s in enumerate(steps)}
    changes = [step_change_text(steps, where[id(s)]) for s in span]
    obs: list[str] = []
    for s in span:
        obs.extend(salient_tokens(s.observation_text, MAX_OBS_TERMS))
    words = list(dict.fromkeys(obs))[:MAX_OBS_TERMS]
    seen = set(words)
    extra = [w for w in dict.fromkeys(tokens(" ".join(changes))) if w not in seen][:MAX_CHANGE_TERMS]
    if not changes_in_fts:
        extra = []
    return IndexedExample(
        id=e.id,
        instruction=instruction,
        kind=e.kind,
        app=e.app,
        trajectory_id=e.trajectory_id,
        start=e.start,
        end=e.end,
        status=status,
        steps=[(s.reason, s.action_code) for s in span],
        obs_text=" ".join(words + extra),
        changes=changes,
    )


def check_embedder(ws: Workspace, embedder: Embedder) -> None:
    """Raise ``EmbeddingMismatchError`` if the workspace holds vectors of another embedder or dimension."""
    known = ws.meta.get("embedder")
    if known:
        embedder.check_compatible(known["name"], int(known["dim"]))


def build_index(
    ws: Workspace, embedder: Embedder, *, accepted_only: bool = True, changes_in_fts: bool = False
) -> IndexReport:
    """Bring the retrieval index up to date with the workspace (idempotent; embeds only new examples).

    An index of the old layout (no vectors) is rebuilt in one commit, reusing its rows and stored vectors.

    Args:
        ws: A workspace open for writing.
        embedder: The workspace's embedder (``make_embedder(cfg.roles.embedder)``).
        accepted_only: Index only examples the committee accepted (or a person accepted); False: all.
        changes_in_fts: Also add the words of the steps' state changes to the full-text column (the changes
            are always stored for the prompt; searching them measured worse on the synthetic corpus).

    Raises:
        EmbeddingMismatchError: the workspace's vectors come from another embedder or dimension.
        WorkspaceError: the workspace is read-only.
    """
    t0 = time.perf_counter()
    ws.check_writable()
    check_embedder(ws, embedder)
    report = IndexReport(embedder=embedder.name)
    examples, statuses = _wanted_examples(ws, accepted_only)
    report.wanted = len(examples)
    wanted_ids = {e.id for e in examples}
    table = index_table(ws)
    rebuild = table is None or not has_vectors(table) or not has_changes(table)
    kept: list[IndexedExample] = []  # rows of an old-layout index carried over into the rebuilt table
    have: dict[str, str] = {}
    if table is not None and not has_changes(table):  # rows from the steps again (vectors are reused)
        report.removed = table.count_rows()
        log.info("%s: rebuilding the retrieval index with state changes", ws.path)
    elif table is not None and rebuild:
        old_rows = table.search().limit(max(1, table.count_rows())).to_list()
        kept = [IndexedExample.from_row(r) for r in old_rows if r["example_id"] in wanted_ids]
        for ex in kept:
            new_status = statuses.get(ex.id, "pending")
            report.updated += int(ex.status != new_status)
            ex.status = new_status
        have = {ex.id: ex.status for ex in kept}
        report.removed = len(old_rows) - len(kept)
        log.info("%s: rebuilding the retrieval index with vectors (%d rows kept)", ws.path, len(kept))
    elif table is not None:
        have = dict(zip(_column(table, "example_id"), _column(table, "status"), strict=True))
        stale = [i for i in have if i not in wanted_ids]
        for start in range(0, len(stale), _CHUNK):
            ws.delete_rows(INDEX_TABLE, _in("example_id", stale[start : start + _CHUNK]))
        report.removed = len(stale)
        changed: dict[str, list[str]] = {}
        for i, old in have.items():
            new = statuses.get(i, "pending")
            if i in wanted_ids and old != new:
                changed.setdefault(new, []).append(i)
        for new, ids in changed.items():
            ws.update_rows(INDEX_TABLE, _in("example_id", ids), {"status": new})
            report.updated += len(ids)
    new_examples = [e for e in examples if e.id not in have]
    edits = ws.edited_instructions()
    rows: list[IndexedExample] = []
    steps_of = _steps_by_trajectory(ws, [e.trajectory_id for e in new_examples])
    for e in new_examples:
        status = statuses.get(e.id, "pending")
        steps = steps_of.get(e.trajectory_id, [])
        rows.append(_indexed(e, steps, status, edits.get(e.id, e.instruction), changes_in_fts))
    report.added = len(rows)
    rows = kept + rows
    vectors = _stored_vectors(ws, [r.id for r in rows])
    to_embed = [r for r in rows if r.id not in vectors]
    batch = max(1, getattr(embedder, "batch_size", 256) * 8)
    for start in range(0, len(to_embed), batch):
        chunk = to_embed[start : start + batch]
        vecs = embedder.embed([dense_text(r.instruction, r.steps) for r in chunk])
        ws.set_example_vectors([r.id for r in chunk], vecs, embedder.name)
        vectors.update(zip([r.id for r in chunk], vecs, strict=True))
        report.embedded += len(chunk)
    known = ws.meta.get("embedder") or {}
    schema = index_schema(int(known.get("dim") or embedder.dim))  # the stored dim: no probe of a remote model
    if rebuild:
        ws.create_derived_table(INDEX_TABLE, schema, data=_arrow_rows(rows, vectors, schema), replace=True)
    else:
        for start in range(0, len(rows), 20_000):
            ws.add_rows(INDEX_TABLE, _arrow_rows(rows[start : start + 20_000], vectors, schema))
    if rebuild or rows or report.removed or report.updated:
        _refresh_indexes(ws)
    table = index_table(ws)
    assert table is not None
    report.total = table.count_rows()
    report.seconds = time.perf_counter() - t0
    return report


def _stored_vectors(ws: Workspace, ids: Sequence[str]) -> dict[str, Any]:
    """The workspace's stored embeddings (``example_vectors``) of the examples ``ids`` that have one."""
    import numpy as np

    if not ids or not ws.has_table(VECTOR_TABLE):
        return {}
    vt = ws.table(VECTOR_TABLE)
    n = vt.count_rows()
    if not n:
        return {}
    wanted = set(ids)
    if len(wanted) > 2 * _CHUNK:  # many: one scan of two columns beats many IN queries
        parts = [vt.search().select(["id", "vector"]).limit(n).to_arrow()]
    else:
        chunks = sorted(wanted)
        parts = [
            vt.search().where(_in("id", chunks[i : i + _CHUNK])).select(["id", "vector"]).limit(n).to_arrow()
            for i in range(0, len(chunks), _CHUNK)
        ]
    out: dict[str, Any] = {}
    for part in parts:
        if not part.num_rows:
            continue
        col = part.column("vector").combine_chunks()
        matrix = np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
        matrix = matrix.reshape(part.num_rows, col.type.list_size)
        for i, eid in enumerate(part.column("id").to_pylist()):
            if eid in wanted:
                out[eid] = matrix[i]
    return out


def _arrow_rows(rows: Sequence[IndexedExample], vectors: dict[str, Any], schema: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    dim = schema.field("vector").type.list_size
    base = pa.Table.from_pylist([r.to_row() for r in rows], schema=index_schema())
    matrix = np.asarray([vectors[r.id] for r in rows], dtype=np.float32).reshape(len(rows), dim)
    column = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1), type=pa.float32()), dim)
    return base.append_column(schema.field("vector"), column)


def _refresh_indexes(ws: Workspace) -> None:
    """Compact, then build the missing indexes: FTS on ``obs_text``, BTREE on ``example_id`` and the vector index.

    Compaction first: it brings new rows into the indexes that exist, and run after a fresh vector index it
    cost as much again as building it (12.7 s after a 14.6 s build at 100k rows).
    """
    ws.optimize_table(INDEX_TABLE)
    ws.ensure_index(INDEX_TABLE, "obs_text", "fts")
    rows = ws.table(INDEX_TABLE).count_rows()
    if rows >= SCALAR_INDEX_MIN_ROWS:
        ws.ensure_index(INDEX_TABLE, "example_id", "btree")
    if rows >= VECTOR_INDEX_MIN_ROWS:
        # The index the workspace builds on example_vectors at 50k rows, built earlier: exact search over
        # 10k x 384 took ~20 ms per query on loaded cores, the index ~9 ms.
        ws.ensure_index(INDEX_TABLE, "vector", "vector")


def index_size(ws: Workspace) -> int:
    """Rows in the retrieval index (0 if it was never built)."""
    table = index_table(ws)
    return 0 if table is None else int(table.count_rows())


def require_index(ws: Workspace) -> Any:
    """The index table; ``WorkspaceError`` saying how to build it if it is missing."""
    table = index_table(ws)
    if table is None:
        raise WorkspaceError(
            f"{ws.path} has no retrieval index yet; build it with `studio search -w DIR QUERY` "
            "or studio.pipeline.retrieval.index.build_index(ws, embedder)"
        )
    return table
