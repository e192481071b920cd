"""LanceDB is imported with pydantic's validators deferred, and everything still validates (fresh interpreter).
Threads importing at once (the GUI's pre-import and its first workspace open) all get the finished module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from studio.workspace.lancedb_import import import_lancedb
from pydantic._internal import _config

import threading

got = []
threads = [threading.Thread(target=lambda: got.append(import_lancedb())) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
lancedb = import_lancedb()
assert len(got) == 3 and all(m is lancedb and hasattr(m, "connect") for m in got)  # never a half-imported module
assert _config.config_defaults["defer_build"] is False, "pydantic's default was not restored"

from lance_namespace_urllib3_client.models.string_fts_query import StringFtsQuery
assert StringFtsQuery.__pydantic_complete__ is False  # deferred: not built at import
assert StringFtsQuery(query="hello", columns=["text"]).query == "hello"  # built on first use
try:
    StringFtsQuery(query=5)
except Exception as exc:
    assert type(exc).__name__ == "ValidationError"
else:
    raise AssertionError("a deferred model did not validate")

db = lancedb.connect(sys.argv[2])
table = db.create_table("t", data=[{"id": "a", "vector": [0.0, 1.0]}, {"id": "b", "vector": [1.0, 0.0]}])
assert table.search([1.0, 0.1]).limit(1).to_list()[0]["id"] == "b"
print("ok")
"""


def test_lancedb_works_after_a_deferred_import(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), str(tmp_path / "db")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
