"""The :class:`Workspace`: one directory with config, LanceDB tables, screenshot blobs, LLM cache and ledger.

See the package docstring (:mod:`studio.workspace`) for the layout and the API in one page.

The class is assembled from one module per concern; this one holds the lifecycle (create, open, recover,
close), search and the summary:

==================================  ==========================================================================
``studio.workspace.tables``         ``TableStore``: state, generic add/get/list/count/columns/scan, compaction
``studio.workspace.typed_records``  ``TypedRecords``: tasks, trajectories, steps, examples, verdicts, reviews
``studio.workspace.derived``        ``DerivedTables``: tables other parts compute from the records
``studio.workspace.search``         BM25, vector and hybrid search (the functions behind ``search_*``)
==================================  ==========================================================================
"""

from __future__ import annotations

import builtins
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from studio.config import CONFIG_NAME, DEFAULT_TOML, load_config
from studio.errors import WorkspaceError
from studio.records import Example, Step, Task
from studio.workspace import search as _search
from studio.workspace.derived import DerivedTables
from studio.workspace.lock import WriterLock
from studio.workspace.meta import META_NAME, read_meta, write_meta
from studio.workspace.migrate import SCHEMA_VERSION, check_version, migrate
from studio.workspace.schema import TABLES, arrow_schema
from studio.workspace.tables import (
    AUTO_OPTIMIZE_WRITES,
    BLOB_DIR,
    CACHE_DIR,
    CLEANUP_GRACE,
    DB_DIR,
    LEDGER_JSONL,
    OPTIMIZE_ON_CLOSE_WRITES,
    READ_CONSISTENCY,
    SCALAR_COLUMNS,
    SCALAR_INDEX_MIN_ROWS,
)
from studio.workspace.typed_records import TypedRecords

__all__ = [
    "AUTO_OPTIMIZE_WRITES",
    "BLOB_DIR",
    "CACHE_DIR",
    "CLEANUP_GRACE",
    "DB_DIR",
    "LEDGER_JSONL",
    "OPTIMIZE_ON_CLOSE_WRITES",
    "READ_CONSISTENCY",
    "SCALAR_COLUMNS",
    "SCALAR_INDEX_MIN_ROWS",
    "Workspace",
]


# LanceDB warns on every fork. Ours are subprocess fork+exec (Xvfb, nsenter, xdotool): the child runs no
# LanceDB code before exec, so the deadlock it warns about cannot happen. Multiprocessing uses "spawn".
warnings.filterwarnings("ignore", message="lancedb fork support is experimental", category=RuntimeWarning)


class Workspace(TypedRecords, DerivedTables):
    """A workspace directory opened for writing (one process at a time) or read-only (any number).

    Use :meth:`init` / :meth:`open`, not the constructor. Close it (or use ``with``) so the writer lock is
    released and the tables compacted.
    """

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

    # ------------------------------------------------------------------------------------------ search

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
