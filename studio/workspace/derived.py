"""Derived tables: tables computed from the workspace's records by other parts of the studio.

The retrieval index is one. They live in the same LanceDB database, are written only by the writer, under its
lock, and may be rebuilt at any time; the workspace's own tables (``TABLES``, ``example_vectors``) cannot be
written through here.
"""

from __future__ import annotations

from typing import Any

from studio.errors import WorkspaceError
from studio.workspace import search as _search
from studio.workspace.schema import TABLES
from studio.workspace.tables import TableStore


def _as_arrow(data: Any, schema: Any) -> Any:
    """``data`` (a pyarrow Table or a list of dicts) as a pyarrow Table in ``schema``."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data if data.schema.equals(schema) else data.select(schema.names).cast(schema)
    return pa.Table.from_pylist(list(data), schema=schema)


class DerivedTables(TableStore):
    """The derived-table methods of :class:`~studio.workspace.store.Workspace`."""

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
