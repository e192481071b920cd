"""Workspace schema versions and migrations.

``workspace.json`` holds ``schema_version``. Opening a workspace with an older version runs the migrations
below in order (each one a function ``vN -> vN+1``) under the writer lock; a newer version is refused with
``SchemaVersionError``. Tables that a version adds are created by the store itself
(``Workspace._ensure_tables``); migrations only change existing tables.

History:
    0: first layout (no ``reviews``/``ledger`` tables, ``examples`` without ``prompt_version``).
    1: ``examples.prompt_version`` (old rows get ``"unknown"``), ``reviews``, ``ledger``, ``example_vectors``.
    2: ``trajectories.final_observation`` and ``trajectories.final_screenshot``, the screen after the last
       action (old rows read None: it was never recorded).
    3: ``trajectories.status`` is the lifecycle only: episodes that ended on their own (outcome ``fail``,
       ``max_steps``, ``loop``) are ``done``, as the GUI recorded them; the CLI had stored them ``failed``
       (``failed`` now means the env or agent broke, outcome ``error``). See
       :mod:`studio.pipeline.rollout.recorder`. The ``ledger`` table is no longer read or written:
       ``ledger.jsonl`` is the one ledger (the table only ever held copies of its lines; it is left in place).
    4: ``tasks.check`` (the task's OSWorld config/evaluator/solution), ``check_status``, ``check_reason`` and
       ``check_info`` (old tasks: no check, ``unverified`` with the reason "no check").
    5: ``steps.changes``, what each action changed on the screen (old rows read None; readers compute it
       from the stored observations).
    6: ``examples.origin`` and ``examples.author`` (and the same columns in ``example_vectors``, which copies
       the example's columns): who wrote the instruction. Old rows are ``backward`` with no author.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from studio.errors import SchemaVersionError, WorkspaceError

SCHEMA_VERSION = 6


def check_version(meta: dict[str, Any], path: Path) -> int:
    """The workspace's schema version; raises ``SchemaVersionError`` when it is newer than this studio."""
    version = meta.get("schema_version")
    if not isinstance(version, int) or version < 0:
        raise WorkspaceError(
            f"{path}/workspace.json has no valid schema_version ({version!r}); "
            "restore the file from a backup or re-create the workspace with `studio init`"
        )
    if version > SCHEMA_VERSION:
        from studio import __version__

        raise SchemaVersionError(
            f"{path} was written by a newer studio (workspace schema {version}, this studio {__version__} "
            f"understands up to {SCHEMA_VERSION}). Upgrade the studio "
            "(pip install -U learn-by-interact-studio)."
        )
    return version


def _v0_to_v1(db: Any) -> None:
    if "examples" in _table_names(db):
        table = db.open_table("examples")
        if "prompt_version" not in table.schema.names:
            table.add_columns([pa.field("prompt_version", pa.string())])
            table.update(values_sql={"prompt_version": "'unknown'"})


def _v1_to_v2(db: Any) -> None:
    if "trajectories" in _table_names(db):
        table = db.open_table("trajectories")
        new = [name for name in ("final_observation", "final_screenshot") if name not in table.schema.names]
        if new:
            table.add_columns([pa.field(name, pa.string()) for name in new])  # nulls: old rows read None


#: Outcomes of episodes that ran to an end of their own (their trajectories are ``done`` from schema 3 on).
ENDED_OUTCOMES = ("done", "fail", "max_steps", "loop")


def _v2_to_v3(db: Any) -> None:
    if "trajectories" in _table_names(db):
        outcomes = ", ".join(f"'{o}'" for o in ENDED_OUTCOMES)
        db.open_table("trajectories").update(
            where=f"status = 'failed' AND outcome IN ({outcomes})", values={"status": "done"}
        )


def _v3_to_v4(db: Any) -> None:
    if "tasks" in _table_names(db):
        table = db.open_table("tasks")
        defaults = {"check": "'{}'", "check_status": "'unverified'", "check_reason": "'no check'", "check_info": "'{}'"}
        new = [name for name in defaults if name not in table.schema.names]
        if new:
            table.add_columns({name: defaults[name] for name in new})


def _v4_to_v5(db: Any) -> None:
    if "steps" in _table_names(db):
        table = db.open_table("steps")
        if "changes" not in table.schema.names:
            table.add_columns([pa.field("changes", pa.string())])  # nulls: old rows read None


def _v5_to_v6(db: Any) -> None:
    names = _table_names(db)
    for name in ("examples", "example_vectors"):
        if name in names:
            table = db.open_table(name)
            defaults = {"origin": "'backward'", "author": "''"}
            new = {col: sql for col, sql in defaults.items() if col not in table.schema.names}
            if new:
                table.add_columns(new)


MIGRATIONS: dict[int, Callable[[Any], None]] = {
    0: _v0_to_v1,
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
    5: _v5_to_v6,
}


def _table_names(db: Any) -> list[str]:
    result = db.list_tables()
    return list(getattr(result, "tables", result))


def migrate(db: Any, from_version: int) -> list[int]:
    """Run the migrations from ``from_version`` up to :data:`SCHEMA_VERSION`; returns the versions reached."""
    reached = []
    for version in range(from_version, SCHEMA_VERSION):
        MIGRATIONS[version](db)
        reached.append(version + 1)
    return reached
