"""The :class:`Workspace`: one directory with config, LanceDB tables, screenshot blobs, LLM cache and ledger.

See the package docstring (:mod:`studio.workspace`) for the layout and the API in one page.
"""

from __future__ import annotations

import builtins
import json
import shutil
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from studio.config import CONFIG_NAME, DEFAULT_TOML, StudioConfig, load_config
from studio.errors import WorkspaceError
from studio.records import (
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
from studio.status import StatusRule, latest_edits
from studio.workspace import search as _search
from studio.workspace.blobs import BlobStore
from studio.workspace.lock import WriterLock
from studio.workspace.meta import META_NAME, read_meta, write_meta
from studio.workspace.migrate import SCHEMA_VERSION, check_version, migrate
from studio.workspace.schema import TABLES, arrow_schema, from_row, json_fields, to_row
from studio.workspace.sql import and_, where_eq

# LanceDB warns on every fork. Ours are subprocess fork+exec (Xvfb, nsenter, xdotool): the child runs no
# LanceDB code before exec, so the deadlock it warns about cannot happen. Multiprocessing uses "spawn".
warnings.filterwarnings("ignore", message="lancedb fork support is experimental", category=RuntimeWarning)

R = TypeVar("R", bound=Record)

DB_DIR = "db"
BLOB_DIR = "blobs"
CACHE_DIR = "llm-cache"
LEDGER_JSONL = "ledger.jsonl"

#: Columns that get a BTREE index once a table is large (lookups by id / parent id stay fast at 100k rows).
SCALAR_COLUMNS = {
    "steps": ("id", "trajectory_id"),
    "examples": ("id", "trajectory_id"),
    "verdicts": ("example_id",),
    "reviews": ("example_id",),
    "trajectories": ("id",),
    "tasks": ("id",),
    "documents": ("id",),
}
SCALAR_INDEX_MIN_ROWS = 10_000
#: Writes to one table after which the writer compacts it (each append is a LanceDB version + a small file).
AUTO_OPTIMIZE_WRITES = 500
#: Writes in a session after which ``close()`` compacts.
OPTIMIZE_ON_CLOSE_WRITES = 20
#: Old versions younger than this survive a cleanup, so a reader in the middle of a query is not cut off.
CLEANUP_GRACE = timedelta(seconds=5)
#: How often read-only handles look for new versions written by another process.
READ_CONSISTENCY = timedelta(seconds=0)


def _as_arrow(data: Any, schema: Any) -> Any:
    """``data`` (a pyarrow Table or a list of dicts) as a pyarrow Table in ``schema``."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data if data.schema.equals(schema) else data.select(schema.names).cast(schema)
    return pa.Table.from_pylist(list(data), schema=schema)


class Workspace:
    """A workspace directory opened for writing (one process at a time) or read-only (any number).

    Use :meth:`init` / :meth:`open`, not the constructor. Close it (or use ``with``) so the writer lock is
    released and the tables compacted.
    """

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool,
        config: StudioConfig,
        meta: dict[str, Any],
        db: Any,
        lock: WriterLock | None,
    ) -> None:
        self.path = path
        self.readonly = readonly
        self.config = config
        self.meta = meta
        self.blobs = BlobStore(path / BLOB_DIR)
        self._db = db
        self._lock = lock
        self._tables: dict[str, Any] = {}
        self._mutex = threading.RLock()
        self._writes: dict[str, int] = {}
        self._session_writes = 0
        self.recovered: dict[str, int] = {}
        self.closed = False

    # ------------------------------------------------------------------------------------------ lifecycle

    @classmethod
    def init(cls, path: Path | str, *, exist_ok: bool = False) -> Workspace:
        """Create a workspace at ``path`` (``studio.toml`` with commented defaults), open for writing."""
        path = Path(path)
        if (path / META_NAME).exists() or (path / CONFIG_NAME).exists():
            if not exist_ok:
                raise WorkspaceError(f"{path} is already a workspace; open it instead of creating it")
            return cls.open(path)
        if path.exists() and not path.is_dir():
            raise WorkspaceError(f"{path} is a file; choose a directory for the workspace")
        path.mkdir(parents=True, exist_ok=True)
        for sub in (DB_DIR, BLOB_DIR, CACHE_DIR):
            (path / sub).mkdir(exist_ok=True)
        (path / CONFIG_NAME).write_text(DEFAULT_TOML, encoding="utf-8")
        from studio import __version__

        write_meta(
            path,
            {
                "schema_version": SCHEMA_VERSION,
                "created": time.time(),
                "studio_version": __version__,
                "embedder": None,
            },
        )
        return cls.open(path)

    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False) -> Workspace:
        """Open an existing workspace.

        Writers take the lock (``WorkspaceLockedError`` if another process holds it), migrate an older schema,
        clean up after a killed writer and mark its ``running`` trajectories ``interrupted``. Readers take no
        lock and see appends from the writer within a second.

        Raises:
            WorkspaceError: not a workspace / unreadable metadata. ``SchemaVersionError``: written by a newer
                studio. ``ConfigError``: ``studio.toml`` is invalid (names the key).
        """
        from studio.workspace.lancedb_import import import_lancedb

        lancedb = import_lancedb()

        path = Path(path).expanduser().resolve()
        meta = read_meta(path)
        version = check_version(meta, path)
        config = load_config(path / CONFIG_NAME)
        if readonly:
            if version < SCHEMA_VERSION:
                cls.open(path).close()  # migrate under the writer lock (raises if a writer holds it)
                meta = read_meta(path)
            db = lancedb.connect(path / DB_DIR, read_consistency_interval=READ_CONSISTENCY)
            return cls(path, readonly=True, config=config, meta=meta, db=db, lock=None)
        lock = WriterLock(path)
        lock.acquire()
        try:
            (path / DB_DIR).mkdir(exist_ok=True)
            db = lancedb.connect(path / DB_DIR)
            ws = cls(path, readonly=False, config=config, meta=meta, db=db, lock=lock)
            if version < SCHEMA_VERSION:
                reached = migrate(db, version)
                meta["schema_version"] = SCHEMA_VERSION
                meta.setdefault("migrations", []).append({"from": version, "to": reached[-1], "time": time.time()})
                write_meta(path, meta)
            ws._ensure_tables()
            ws._recover(crashed=not lock.last_close_was_clean)
        except BaseException:
            lock.release(clean=False)
            raise
        return ws

    def refresh_meta(self) -> None:
        """Re-read ``workspace.json`` (readers: pick up the embedder a writer recorded after they opened)."""
        self.meta = read_meta(self.path)

    def close(self, *, optimize: bool | None = None) -> None:
        """Release the writer lock; compacts first if this session wrote more than a few rows."""
        if self.closed:
            return
        if self._lock is not None:
            try:
                if optimize or (optimize is None and self._session_writes >= OPTIMIZE_ON_CLOSE_WRITES):
                    self.optimize()
            finally:
                self.closed = True
                self._lock.release(clean=True)
        self.closed = True

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ tables

    def _ensure_tables(self) -> None:
        existing = set(self.table_names())
        for name, cls in TABLES.items():
            if name not in existing:
                self._db.create_table(name, schema=arrow_schema(cls))
            table = self._db.open_table(name)
            self._tables[name] = table
            col = _search.FTS_COLUMNS.get(name)
            if col and not any(col in ix.columns for ix in table.list_indices()):
                _search.create_fts(table, col)

    def table_names(self) -> list[str]:
        """Names of every table in the workspace's database (its own and derived ones)."""
        result = self._db.list_tables()
        return list(getattr(result, "tables", result))

    def table(self, name: str) -> Any:
        """The LanceDB table ``name`` (opened once, cached); ``WorkspaceError`` if it does not exist."""
        with self._mutex:
            if name not in self._tables:
                try:
                    self._tables[name] = self._db.open_table(name)
                except (ValueError, FileNotFoundError, RuntimeError) as exc:
                    raise WorkspaceError(f"table {name!r} does not exist in {self.path}") from exc
            return self._tables[name]

    def has_table(self, name: str) -> bool:
        """Whether the table ``name`` exists (a workspace table or a derived one)."""
        with self._mutex:
            if name in self._tables:
                return True
        return name in self.table_names()

    def check_writable(self) -> None:
        """Raise ``WorkspaceError`` unless this handle may write (not read-only, not closed).

        Call it before expensive work whose result will be written, so a read-only handle fails early.
        """
        if self.readonly:
            raise WorkspaceError(f"{self.path} is open read-only; open it without readonly=True to write")
        if self.closed:
            raise WorkspaceError(f"{self.path} is closed; open it again to write")

    # ------------------------------------------------------------------------------------------ derived tables
    #
    # Tables computed from the workspace's records by other parts of the studio (e.g. the retrieval index).
    # They live in the same LanceDB database, are written only by the writer, under its lock, and may be
    # rebuilt at any time; the workspace's own tables (TABLES, example_vectors) cannot be written through here.

    def _check_derived(self, name: str) -> None:
        self.check_writable()
        if name in TABLES or name == _search.VECTOR_TABLE:
            raise WorkspaceError(
                f"table {name!r} is one of the workspace's own tables; write it with the typed methods "
                "(add, add_examples, set_example_vectors, ...), not the derived-table API"
            )

    def create_derived_table(self, name: str, schema: Any, *, data: Any = None, replace: bool = False) -> Any:
        """Create the derived table ``name`` with a pyarrow ``schema``; returns the LanceDB table.

        Args:
            name: Table name; not one of the workspace's own tables.
            schema: ``pyarrow.Schema`` of the table.
            data: Optional rows (``pyarrow.Table`` or a list of dicts) written in the same commit as the table.
            replace: Replace an existing table of that name in one commit (a rebuild: readers see the old rows
                or the new ones, never an empty table when ``data`` is given). Its indexes are dropped.

        Raises:
            WorkspaceError: read-only or closed handle, a workspace table's name, or the table exists and
                ``replace`` is False.
        """
        self._check_derived(name)
        rows = None if data is None else _as_arrow(data, schema)
        with self._mutex:
            exists = self.has_table(name)
            if exists and not replace:
                raise WorkspaceError(f"table {name!r} already exists in {self.path}; pass replace=True to rebuild it")
            self._tables[name] = self._db.create_table(
                name, data=rows, schema=schema, mode="overwrite" if exists else "create"
            )
            self._note_write(name)
            return self._tables[name]

    def add_rows(self, name: str, data: Any) -> int:
        """Append rows (``pyarrow.Table`` or list of dicts, in the table's schema) to a derived table in one commit.

        Returns the number of rows added. Raises ``WorkspaceError`` like :meth:`create_derived_table`.
        """
        self._check_derived(name)
        with self._mutex:
            table = self.table(name)
            rows = _as_arrow(data, table.schema)
            if rows.num_rows:
                table.add(rows)
                self._note_write(name)
            return int(rows.num_rows)

    def delete_rows(self, name: str, where: str) -> None:
        """Delete the rows of a derived table matching the SQL filter ``where`` (see :func:`where_eq`)."""
        self._check_derived(name)
        with self._mutex:
            self.table(name).delete(where)
            self._note_write(name)

    def update_rows(self, name: str, where: str, values: dict[str, Any]) -> None:
        """Set ``values`` (column -> literal value) on the rows of a derived table matching ``where``."""
        self._check_derived(name)
        with self._mutex:
            self.table(name).update(where=where, values=values)
            self._note_write(name)

    def ensure_index(self, name: str, column: str, kind: str) -> bool:
        """Build an index on a derived table's column unless one exists; True if it was built now.

        ``kind``: ``"fts"`` (BM25 full text), ``"btree"`` (scalar lookups) or ``"vector"`` (IVF_HNSW_SQ with
        cosine distance and the workspace's build settings; query it with ``studio.workspace.search.HNSW_EF``
        and ``NPROBES``). New rows reach an index at the next :meth:`optimize_table`.
        """
        if kind not in ("fts", "btree", "vector"):
            raise WorkspaceError(f"unknown index kind {kind!r}; use 'fts', 'btree' or 'vector'")
        self._check_derived(name)
        with self._mutex:
            table = self.table(name)
            if any(column in ix.columns for ix in table.list_indices()):
                return False
            if kind == "fts":
                _search.create_fts(table, column)
            elif kind == "btree":
                from lancedb.index import BTree

                table.create_index(column, config=BTree())
            else:
                _search.create_vector_index(table, table.count_rows(), column)
            return True

    def optimize_table(self, name: str) -> None:
        """Compact one derived table and bring its indexes up to date (:meth:`optimize` does every table)."""
        self._check_derived(name)
        self._optimize_table(name)

    # ------------------------------------------------------------------------------------------ recovery

    def _recover(self, *, crashed: bool) -> None:
        """Mark trajectories of a dead writer interrupted; after a crash also remove partial files."""
        traj = self.table("trajectories")
        running = traj.count_rows("status = 'running'")
        if running:
            traj.update(where="status = 'running'", values={"status": "interrupted", "finished": time.time()})
        self.recovered = {"interrupted": running}
        if crashed:
            self.recovered["tmp_files"] = self.blobs.clean_tmp() + self._clean_lance_tmp()
            for name in self.table_names():
                try:
                    self._db.open_table(name).cleanup_old_versions(older_than=CLEANUP_GRACE, delete_unverified=True)
                except Exception:  # noqa: BLE001 - cleanup is best effort; the data is intact
                    pass

    def _clean_lance_tmp(self) -> int:
        """Remove LanceDB's partial files (``db/<table>.lance/data/.tmp*``) left by a killed append."""
        n = 0
        for p in list((self.path / DB_DIR).rglob(".tmp*")):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            n += 1
        return n

    # ------------------------------------------------------------------------------------------ generic

    def add(self, records: Record | Sequence[Record]) -> list[str]:
        """Append records of one type in one write (one LanceDB commit); returns their ids."""
        self.check_writable()
        items = [records] if isinstance(records, Record) else list(records)
        if not items:
            return []
        cls = type(items[0])
        if any(type(r) is not cls for r in items):
            raise WorkspaceError("add() takes records of one type per call; split the list by type")
        if not cls.table:
            raise WorkspaceError(
                f"{cls.__name__} records are not stored in a table; ledger entries go to ledger.jsonl: use append()"
            )
        import pyarrow as pa

        data = pa.Table.from_pylist([to_row(r) for r in items], schema=arrow_schema(cls))
        with self._mutex:
            self.table(cls.table).add(data)
            self._note_write(cls.table)
        return [r.id for r in items]

    def _note_write(self, name: str) -> None:
        self._session_writes += 1
        self._writes[name] = self._writes.get(name, 0) + 1
        if self._writes[name] >= AUTO_OPTIMIZE_WRITES:
            self._optimize_table(name)

    def get(self, cls: type[R], id: str) -> R:
        """The record with ``id``; raises ``WorkspaceError`` if there is none."""
        rows = self.table(cls.table).search().where(where_eq(id=id)).limit(1).to_list()
        if not rows:
            raise WorkspaceError(f"no {cls.table[:-1]} with id {id!r} in {self.path}")
        return from_row(cls, rows[0])

    def list(
        self, cls: type[R], *, where: str | None = None, offset: int = 0, limit: int | None = 100, **eq: Any
    ) -> builtins.list[R]:
        """Records of a type, filtered by equality (``app="galculator"``) and/or an SQL ``where``, paged."""
        q = self.table(cls.table).search()
        flt = and_(where_eq(**eq), where)
        if flt:
            q = q.where(flt)
        if offset:
            q = q.offset(offset)
        q = q.limit(limit if limit is not None else max(1, self.count(cls, where=flt)))
        return [from_row(cls, r) for r in q.to_list()]

    def count(self, cls: type[Record] | str, *, where: str | None = None, **eq: Any) -> int:
        """Rows in a table (a record type or a table name), optionally filtered like :meth:`list`."""
        name = cls if isinstance(cls, str) else cls.table
        flt = and_(where_eq(**eq), where)
        return int(self.table(name).count_rows(flt) if flt else self.table(name).count_rows())

    def columns(
        self, table: str, names: Sequence[str], *, where: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Only some columns of every (matching) row: cheap scans for statuses, facets and counts."""
        cols = self.scan(table, names, where=where)
        return [dict(zip(names, row, strict=True)) for row in zip(*(cols[n] for n in names), strict=True)]

    def scan(
        self,
        table: str,
        names: Sequence[str],
        *,
        where: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> dict[str, builtins.list[Any]]:
        """Some columns of the (matching) rows from ``offset`` on, in table order, one list per column.

        Examples, verdicts and reviews are only ever appended, so a reader that remembers how many rows it has
        seen reads just the new ones with ``offset`` (the GUI's example index does, checking the boundary row).
        """
        q = self.table(table).search().select(list(names)).limit(limit)
        if where:
            q = q.where(where)
        if offset:
            q = q.offset(offset)
        at = q.to_arrow()
        return {n: at.column(n).to_pylist() for n in names}

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: self.count(name) for name in TABLES}

    # ------------------------------------------------------------------------------------------ typed

    def add_documents(self, docs: Sequence[Document]) -> builtins.list[str]:
        return self.add(docs)

    def add_tasks(self, tasks: Sequence[Task]) -> builtins.list[str]:
        return self.add(tasks)

    def update_task(self, task_id: str, **values: Any) -> None:
        """Change fields of a task (e.g. ``check_status="proven", check_info={...}``).

        Raises:
            WorkspaceError: unknown field, or no task ``task_id`` (an update never passes silently).
        """
        self.check_writable()
        allowed = set(Task.model_fields) - {"id"}
        unknown = set(values) - allowed
        if unknown:
            raise WorkspaceError(f"tasks have no field(s) {sorted(unknown)}; use one of {sorted(allowed)}")
        Task.model_validate({"instruction": "", **values})  # typed like a new row (raises on a bad value)
        for name in json_fields(Task):
            if name in values:
                values[name] = json.dumps(values[name], ensure_ascii=False, separators=(",", ":"))
        with self._mutex:
            if not self.count(Task, id=task_id):
                raise WorkspaceError(f"no task with id {task_id!r} in {self.path}")
            self.table("tasks").update(where=where_eq(id=task_id), values=values)
            self._note_write("tasks")

    def start_trajectory(self, trajectory: Trajectory) -> str:
        """Record a rollout as ``running`` before its first step.

        Idempotent by id: starting a trajectory that is already recorded (a retry of the same episode after its
        worker died) starts it over: the earlier attempt's steps and row are removed first, so an episode is
        never recorded twice. Screenshot blobs are content-addressed and stay.
        """
        if self.count(Trajectory, id=trajectory.id):
            self.check_writable()
            with self._mutex:
                self.table(Step.table).delete(where_eq(trajectory_id=trajectory.id))
                self._note_write(Step.table)
                self.table(Trajectory.table).delete(where_eq(id=trajectory.id))
                self._note_write(Trajectory.table)
        return self.add(trajectory.model_copy(update={"status": "running"}))[0]

    def update_trajectory(self, trajectory_id: str, **values: Any) -> None:
        """Change fields of a trajectory (e.g. ``status="done", outcome="done", score=1.0``).

        Raises:
            WorkspaceError: unknown field, or no trajectory ``trajectory_id`` (an update never passes silently).
        """
        self.check_writable()
        allowed = set(Trajectory.model_fields) - {"id"}
        unknown = set(values) - allowed
        if unknown:
            raise WorkspaceError(f"trajectories have no field(s) {sorted(unknown)}; use one of {sorted(allowed)}")
        if "sandbox" in values:
            values["sandbox"] = json.dumps(values["sandbox"])
        with self._mutex:
            if not self.count(Trajectory, id=trajectory_id):
                raise WorkspaceError(
                    f"no trajectory with id {trajectory_id!r} in {self.path}; start it (start_trajectory) first"
                )
            self.table("trajectories").update(where=where_eq(id=trajectory_id), values=values)
            self._note_write("trajectories")

    def finish_trajectory(
        self,
        trajectory_id: str,
        *,
        status: str = "done",
        outcome: str = "",
        score: float | None = None,
        error: str = "",
        final_observation: str | None = None,
        final_screenshot: Any = None,
    ) -> None:
        """Mark a rollout finished; ``n_steps`` is counted from the stored steps.

        ``final_observation`` (a11y table) and ``final_screenshot`` (PNG bytes / PIL image) are the screen after
        the last action, when known. The screenshot blob is stored first and the row is then updated in one
        commit, so a kill leaves either the finished row or the old ``running`` one (plus an unused blob).
        """
        Trajectory.model_validate({"status": status})  # refuses unknown statuses with pydantic's message
        extra: dict[str, Any] = {}
        if final_observation is not None:
            extra["final_observation"] = final_observation
        if final_screenshot is not None and not (
            isinstance(final_screenshot, bytes | bytearray) and not final_screenshot
        ):
            extra["final_screenshot"] = self.put_screenshot(final_screenshot)
        self.update_trajectory(
            trajectory_id,
            status=status,
            outcome=outcome,
            score=score,
            error=error,
            n_steps=self.count(Step, trajectory_id=trajectory_id),
            finished=time.time(),
            **extra,
        )

    def put_screenshot(self, image: Any) -> str:
        """Store a screenshot (PNG bytes or PIL image) in ``blobs/``; returns its content hash."""
        self.check_writable()
        return self.blobs.put(image)

    def add_step(self, step: Step, screenshot: Any = None) -> Step:
        """Append one step as its own commit. ``screenshot`` (PNG bytes / PIL image) is stored first."""
        if screenshot is not None:
            step = step.model_copy(update={"screenshot": self.put_screenshot(screenshot)})
        self.add(step)
        return step

    def add_examples(
        self, examples: Sequence[Example], vectors: Any = None, embedder: str | None = None
    ) -> builtins.list[str]:
        """Append examples; with ``vectors`` (one row per example) and ``embedder`` also their embeddings."""
        if vectors is not None and not embedder:
            raise WorkspaceError("add_examples(vectors=...) needs embedder= (the embedding model's name)")
        ids = self.add(examples)
        if vectors is not None and embedder:
            with self._mutex:
                _search.add_vector_rows(self, [to_row(e) for e in examples], vectors, embedder)
                self._note_write(_search.VECTOR_TABLE)
        return ids

    def add_verdicts(self, verdicts: Sequence[Verdict]) -> builtins.list[str]:
        return self.add(verdicts)

    def add_review(self, review: Review) -> str:
        return self.add(review)[0]

    def add_reviews(self, reviews: Sequence[Review]) -> builtins.list[str]:
        """Append several reviews in one write (a reviewer's bulk accept/reject); returns their ids."""
        return self.add(reviews)

    def remove_reviews(self, review_ids: Sequence[str]) -> int:
        """Delete the reviews with these ids (a reviewer's undo); returns how many existed.

        Reviews are the one table a person writes; removing a review brings back the status the example had
        before it (the latest remaining review, else the committee's). Verdicts are never touched.
        """
        self.check_writable()
        ids = [str(i) for i in review_ids]
        if not ids:
            return 0
        where = where_eq(id=ids)
        with self._mutex:
            table = self.table(Review.table)
            n = table.count_rows(where)
            if n:
                table.delete(where)
                self._note_write(Review.table)
        return int(n)

    def add_ledger_records(self, records: Iterable[dict[str, Any]]) -> int:
        """Append ledger rows (dicts with ``LedgerEntry``'s fields; unknown keys are ignored) to ``ledger.jsonl``."""
        from studio.llm.ledger import record_from_dict

        rows = [record_from_dict(rec) for rec in records]
        for row in rows:
            self.append(row)
        return len(rows)

    def append(self, record: LedgerEntry) -> None:
        """``LedgerSink`` interface: append one ledger record to the workspace's ``ledger.jsonl``."""
        from studio.llm.ledger import JsonlLedger

        JsonlLedger(self.path / LEDGER_JSONL).append(record)

    def ledger(self) -> builtins.list[LedgerEntry]:
        """Every model call recorded in the workspace (``ledger.jsonl``, the one ledger; see LedgerTail to follow
        it as it grows)."""
        from studio.llm.ledger import read_ledger

        return read_ledger(self.path / LEDGER_JSONL)

    # ------------------------------------------------------------------------------------------ reading

    def steps_of(self, trajectory_id: str) -> builtins.list[Step]:
        """Every stored step of a trajectory, by index."""
        steps = self.list(Step, trajectory_id=trajectory_id, limit=None)
        return sorted(steps, key=lambda s: (s.index, s.created))

    def verdicts_of(self, example_id: str) -> builtins.list[Verdict]:
        return sorted(self.list(Verdict, example_id=example_id, limit=None), key=lambda v: v.created)

    def reviews_of(self, example_id: str) -> builtins.list[Review]:
        return sorted(self.list(Review, example_id=example_id, limit=None), key=lambda r: r.when)

    def screenshot(self, digest: str, *, thumb: bool = False) -> bytes:
        """WebP bytes of a stored screenshot (``thumb=True``: the small list thumbnail)."""
        return self.blobs.read(digest, thumb=thumb)

    def status_rule(self, quorum: str | int | None = None) -> StatusRule:
        """The example-status rule of this workspace's config (``quorum`` overrides ``pipeline.quorum``)."""
        return StatusRule.from_config(self.config, quorum)

    def example_status(self, example_id: str, quorum: str | int | None = None) -> str:
        """accepted / rejected / disputed / pending; overridden-accept / overridden-reject after a review
        (the rule is :mod:`studio.status`; with ``[verify] require_check`` the trajectory's check counts too)."""
        rule = self.status_rule(quorum)
        check = None
        if rule.require_check:
            traj_id = self.get(Example, example_id).trajectory_id
            rows = self.columns("trajectories", ["score"], where=where_eq(id=traj_id))
            check = rows[0]["score"] if rows else None
        return rule.status(self.verdicts_of(example_id), self.reviews_of(example_id), check)

    def example_statuses(self, quorum: str | int | None = None) -> dict[str, str]:
        """Status of every example that has verdicts or reviews (one scan of each table; others: pending)."""
        verdicts = self.columns("verdicts", ["example_id", "judge", "criterion", "vote"])
        reviews = self.columns("reviews", ["example_id", "decision", "when"])
        rule = self.status_rule(quorum)
        return dict(rule.statuses(verdicts, reviews, self.example_checks() if rule.require_check else None))

    def example_checks(self) -> dict[str, float | None]:
        """``example_id -> its trajectory's check score`` (None: the run was not scored)."""
        scores = {r["id"]: r["score"] for r in self.columns("trajectories", ["id", "score"])}
        return {r["id"]: scores.get(r["trajectory_id"]) for r in self.columns("examples", ["id", "trajectory_id"])}

    def edited_instructions(self) -> dict[str, str]:
        """``example_id -> instruction`` of every example a person edited (the latest edit wins)."""
        return latest_edits(self.columns("reviews", ["example_id", "decision", "edited_instruction", "when"]))

    # ------------------------------------------------------------------------------------------ search

    def start_vectors(self, embedder: str, dim: int, schema: Any) -> None:
        """Create the ``example_vectors`` table (``schema``) and record ``embedder`` and ``dim`` in
        ``workspace.json``: done once, with the first vectors (:mod:`studio.workspace.search`)."""
        self.check_writable()
        with self._mutex:
            if _search.VECTOR_TABLE not in self.table_names():
                self._db.create_table(_search.VECTOR_TABLE, schema=schema)
            self.meta["embedder"] = {"name": embedder, "dim": dim}
            write_meta(self.path, self.meta)

    def set_example_vectors(self, example_ids: Sequence[str], vectors: Any, embedder: str) -> None:
        """Store embeddings (``numpy`` array, one row per id) of examples from the embedder ``embedder``.

        Raises:
            EmbeddingMismatchError: the workspace already holds vectors of another embedder or dimension.
        """
        self.check_writable()
        with self._mutex:
            _search.add_vectors(self, example_ids, vectors, embedder)
            self._note_write(_search.VECTOR_TABLE)

    def search_examples_text(self, query: str, k: int = 5) -> builtins.list[tuple[Example, float]]:
        """BM25 full-text search over example instructions: ``(example, score)``, best first."""
        return _search.fts(self, Example, query, k)  # type: ignore[return-value]

    def search_steps_text(self, query: str, k: int = 5) -> builtins.list[tuple[Step, float]]:
        """Full-text search over steps' observation text (the a11y table)."""
        return _search.fts(self, Step, query, k)  # type: ignore[return-value]

    def search_tasks_text(self, query: str, k: int = 5) -> builtins.list[tuple[Task, float]]:
        return _search.fts(self, Task, query, k)  # type: ignore[return-value]

    def search_examples_vector(
        self, vector: Any, k: int = 5, *, embedder: str | None = None
    ) -> builtins.list[tuple[Example, float]]:
        """Nearest examples by cosine distance (smaller is closer): ``(example, distance)``."""
        return _search.vector(self, vector, k, embedder)

    def search_examples_hybrid(
        self, query: str, vector: Any, k: int = 5, *, embedder: str | None = None
    ) -> builtins.list[tuple[Example, float]]:
        """Reciprocal-rank fusion of text and vector search: ``(example, rrf score)``, best first."""
        return _search.hybrid(self, query, vector, k, embedder)

    # ------------------------------------------------------------------------------------------ maintenance

    def optimize(self, *, cleanup_older_than: timedelta = CLEANUP_GRACE) -> None:
        """Compact every table, update indexes (FTS, scalar, vector above its threshold), drop old versions.

        Run at the end of a stage; ``close()`` runs it after a session with writes. Old versions younger than
        ``cleanup_older_than`` stay so a concurrent reader's running query is not cut off.
        """
        self.check_writable()
        for name in self.table_names():
            self._optimize_table(name, cleanup_older_than)

    def _optimize_table(self, name: str, cleanup_older_than: timedelta = CLEANUP_GRACE) -> None:
        with self._mutex:
            table = self.table(name)
            rows = table.count_rows()
            if rows >= SCALAR_INDEX_MIN_ROWS:
                from lancedb.index import BTree

                have = {c for ix in table.list_indices() for c in ix.columns}
                for col in SCALAR_COLUMNS.get(name, ()):
                    if col not in have:
                        table.create_index(col, config=BTree())  # create_scalar_index is deprecated
            if name == _search.VECTOR_TABLE:
                _search.ensure_vector_index(table, rows)
            table.optimize(cleanup_older_than=cleanup_older_than)
            self._writes[name] = 0

    def disk_usage(self) -> dict[str, int]:
        """Bytes on disk: ``db``, ``blobs`` and ``total``."""

        def size(p: Path) -> int:
            return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0

        out = {"db": size(self.path / DB_DIR), "blobs": size(self.path / BLOB_DIR)}
        out["total"] = size(self.path)
        return out

    def info(self) -> dict[str, Any]:
        """Summary for ``studio info``: schema, embedder, counts, trajectory statuses, disk usage."""
        traj = [r["status"] for r in self.columns("trajectories", ["status"])]
        statuses: dict[str, int] = {}
        for s in traj:
            statuses[s] = statuses.get(s, 0) + 1
        return {
            "path": str(self.path),
            "schema_version": self.meta.get("schema_version"),
            "studio_version": self.meta.get("studio_version"),
            "created": self.meta.get("created"),
            "embedder": self.meta.get("embedder"),
            "counts": self.counts(),
            "trajectory_status": statuses,
            "screenshots": self.blobs.count(),
            "disk": self.disk_usage(),
        }
