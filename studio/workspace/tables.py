"""The workspace's tables: the handle's state and the generic record operations every part builds on.

:class:`TableStore` is the base of :class:`~studio.workspace.store.Workspace`: opening a LanceDB table once,
appending records in one commit, getting, listing, counting and scanning columns, and compaction. The typed
methods (:mod:`studio.workspace.typed_records`), derived tables (:mod:`studio.workspace.derived`) and the
lifecycle and search (:mod:`studio.workspace.store`) are written on top of it.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from studio.config import StudioConfig
from studio.errors import WorkspaceError
from studio.records import Record
from studio.workspace import search as _search
from studio.workspace.blobs import BlobStore
from studio.workspace.lock import WriterLock
from studio.workspace.meta import read_meta, write_meta
from studio.workspace.schema import TABLES, arrow_schema, from_row, json_fields, to_row
from studio.workspace.sql import and_, where_eq

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


class TableStore:
    """A workspace's LanceDB database, blobs and config, with the generic record operations.

    Not used on its own: :class:`~studio.workspace.store.Workspace` is made with ``Workspace.init`` /
    ``Workspace.open``.
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

    def refresh_meta(self) -> None:
        """Re-read ``workspace.json`` (readers: pick up the embedder a writer recorded after they opened)."""
        self.meta = read_meta(self.path)

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

    def update_record(
        self,
        cls: type[Record],
        record_id: str,
        values: dict[str, Any],
        *,
        required: dict[str, Any] | None = None,
        hint: str = "",
    ) -> None:
        """Set ``values`` (field -> new value; JSON fields as Python values) on the record ``record_id``.

        Args:
            cls: The record type (its table).
            record_id: The record's id.
            values: The fields to change.
            required: With it, ``values`` are first validated as a new record made of ``required`` (values for
                the type's required fields) and ``values``, so a bad value is refused with pydantic's message.
            hint: Added to the message when there is no such record.

        Raises:
            WorkspaceError: the read-only or closed handle, a field the record type does not have, or no record
                with that id (an update never passes silently).
            pydantic.ValidationError: a value of the wrong type (with ``required``).
        """
        self.check_writable()
        allowed = set(cls.model_fields) - {"id"}
        unknown = set(values) - allowed
        if unknown:
            raise WorkspaceError(f"{cls.table} have no field(s) {sorted(unknown)}; use one of {sorted(allowed)}")
        if required is not None:
            cls.model_validate({**required, **values})
        row = dict(values)
        for name in json_fields(cls):
            if name in row:
                row[name] = json.dumps(row[name], ensure_ascii=False, separators=(",", ":"))
        with self._mutex:
            if not self.count(cls, id=record_id):
                raise WorkspaceError(f"no {cls.__name__.lower()} with id {record_id!r} in {self.path}{hint}")
            self.table(cls.table).update(where=where_eq(id=record_id), values=row)
            self._note_write(cls.table)

    def get(self, cls: type[R], id: str) -> R:
        """The record with ``id``; raises ``WorkspaceError`` if there is none."""
        rows = self.table(cls.table).search().where(where_eq(id=id)).limit(1).to_list()
        if not rows:
            raise WorkspaceError(f"no {cls.__name__.lower()} with id {id!r} in {self.path}")
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

    def columns(self, table: str, names: Sequence[str], *, where: str | None = None) -> builtins.list[dict[str, Any]]:
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

    # ------------------------------------------------------------------------------------------ vectors

    def start_vectors(self, embedder: str, dim: int, schema: Any) -> None:
        """Create the ``example_vectors`` table (``schema``) and record ``embedder`` and ``dim`` in
        ``workspace.json``: done once, with the first vectors (:mod:`studio.workspace.search`)."""
        self.check_writable()
        with self._mutex:
            if _search.VECTOR_TABLE not in self.table_names():
                self._db.create_table(_search.VECTOR_TABLE, schema=schema)
            self.meta["embedder"] = {"name": embedder, "dim": dim}
            write_meta(self.path, self.meta)

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
