"""The workspace: one directory that holds everything a studio run produces.

Layout::

    studio.toml      validated configuration (studio.config), created with commented defaults
    workspace.json   schema_version, created, studio_version, embedder {name, dim}
    write.lock       flock of the one writer + its pid/host/start time
    db/              LanceDB tables: documents, tasks, trajectories, steps, examples, verdicts, reviews,
                     example_vectors (a ``ledger`` table of workspaces before schema 3 is no longer read)
    blobs/ab/<sha256>.webp (+ .thumb.webp)   screenshots, WebP lossless, content-addressed (stored once)
    llm-cache/       the models layer's response cache
    ledger.jsonl     the one cost ledger: a JSON line per model call, appended by every process (flock)

API (records in :mod:`studio.records`, re-exported here: Document, Task, Trajectory, Step, Example, Verdict,
Review, LedgerEntry; their storage in :mod:`studio.workspace.schema`)::

    ws = Workspace.init(path)                   # new workspace, open for writing
    ws = Workspace.open(path)                   # writer: lock, migrate, recover a killed writer
    ws = Workspace.open(path, readonly=True)    # reader: no lock, sees the writer's appends within a second
    ws.add(records); ws.get(Cls, id); ws.count(Cls, **equal)
    ws.list(Cls, offset=, limit=, where=, **equal)
    ws.start_trajectory(t); ws.add_step(step, screenshot=png)
    ws.finish_trajectory(id, status=, score=, final_observation=, final_screenshot=png)   # + the screen after
    ws.steps_of(tid); ws.verdicts_of(eid); ws.reviews_of(eid); ws.example_status(eid); ws.example_statuses()
    ws.screenshot(hash, thumb=False) -> WebP bytes; ws.blobs.image(hash) -> PIL image
    ws.add_examples(exs, vectors=np_array, embedder=name); ws.set_example_vectors(ids, np_array, name)
    ws.search_examples_text(q, k)
    ws.search_examples_vector(vec, k); ws.search_examples_hybrid(q, vec, k); ws.search_steps_text(q, k)
    ws.ledger(); ws.add_ledger_records(dicts); ws.append(LedgerEntry)   # ledger.jsonl; also a LedgerSink
    ws.optimize(); ws.info(); ws.close()        # or `with Workspace.open(p) as ws:`

Derived tables (computed from the records by other parts of the studio, e.g. the retrieval index; written by
the writer only, under its lock; a read-only handle gets ``WorkspaceError``)::

    ws.has_table(name); ws.table(name)          # reading: the LanceDB table
    ws.check_writable()                         # fail early on a read-only or closed handle
    ws.create_derived_table(name, schema, data=None, replace=False)   # replace=True: a rebuild in one commit
    ws.add_rows(name, rows); ws.delete_rows(name, where); ws.update_rows(name, where, values)
    ws.ensure_index(name, column, "fts" | "btree" | "vector"); ws.optimize_table(name)

Durability: every ``add`` is one LanceDB commit; ``add_step`` stores the screenshot first, then the step row,
so a SIGKILL loses at most the step in flight. The next writer marks trajectories still ``running`` as
``interrupted`` and, if the last writer did not close cleanly, deletes partial files (``db/*/data/.tmp*``,
``blobs/*/.tmp-*``) and unreferenced data files. Compaction: ``optimize()`` at the end of a stage, on close
after a session with writes, and automatically every 500 writes to one table; it removes old versions so the
disk does not grow with the version count.

Field names follow the pipeline's types: a step's thought is ``reason`` and its typed actions ``actions``
(``rollout.StepEvent``), its observation is the screen *before* its action, and the screen after a
trajectory's last action is ``Trajectory.final_observation`` / ``final_screenshot``
(``rollout.EpisodeResult``); a verdict names its ``judge`` and may abstain (``vote=None``,
``committee.Verdict``); an example's span is ``steps[start:end]`` with ``end`` exclusive
(``backward.ExampleCandidate``). Searching:
see :mod:`studio.workspace.search` (BM25 full text, cosine vectors with an IVF_HNSW_SQ index above 50k rows).
"""

from studio.records import (
    CHECK_STATUSES,
    Document,
    Example,
    LedgerEntry,
    Record,
    Review,
    Step,
    Task,
    Trajectory,
    Verdict,
)
from studio.workspace.store import Workspace

__all__ = [
    "CHECK_STATUSES",
    "Document",
    "Example",
    "LedgerEntry",
    "Record",
    "Review",
    "Step",
    "Task",
    "Trajectory",
    "Verdict",
    "Workspace",
]
