"""Browser setup steps with OSWorld's names that edit the Chromium profile before the browser starts.

- ``update_browse_history``: ``history: [{url, title, visit_time_from_now_in_seconds}, ...]``. Adds those visits
  to the profile's History database (visited that many seconds ago). Put it before the step that starts the
  browser, as OSWorld does; with no History yet, a headless Chromium run once inside the sandbox creates the
  profile first.

Everything runs INSIDE the sandbox: the rows go as JSON on stdin to the sandbox's own ``python3`` with a fixed
script (never as code or shell text), which writes the sandbox's History file with SQL parameters. No file of
the sandbox is opened on the host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from envs.errors import TaskError

if TYPE_CHECKING:
    from envs.sandbox import Sandbox
    from envs.task_setup import SetupContext

USER_DATA_DIR = "/home/user/.config/chromium"
HISTORY = f"{USER_DATA_DIR}/Default/History"
MAX_ENTRIES = 10000

#: Run by the sandbox's python3: argv[1] = History path; stdin = [{"url", "title", "ago"}, ...].
_INSERT = r"""
import json, sqlite3, sys, time
path, rows = sys.argv[1], json.load(sys.stdin)
db = sqlite3.connect(path)
def insert(table, values):
    cols = db.execute("PRAGMA table_info(%s)" % table).fetchall()
    names = {c[1] for c in cols}
    row = {k: v for k, v in values.items() if k in names}
    for _, name, kind, notnull, default, pk in cols:
        if name not in row and notnull and default is None and not pk:
            row[name] = "" if ("CHAR" in kind.upper() or "TEXT" in kind.upper()) else 0
    keys = list(row)
    cur = db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, ",".join(keys), ",".join("?" * len(keys))),
                     [row[k] for k in keys])
    return cur.lastrowid
now = time.time()
for r in rows:
    when = int((now - float(r["ago"]) + 11644473600) * 1000000)
    hit = db.execute("SELECT id FROM urls WHERE url = ?", (r["url"],)).fetchone()
    if hit:
        url_id = hit[0]
        db.execute("UPDATE urls SET visit_count = visit_count + 1, last_visit_time = max(last_visit_time, ?) "
                   "WHERE id = ?", (when, url_id))
    else:
        url_id = insert("urls", {"url": r["url"], "title": r["title"], "visit_count": 1, "typed_count": 0,
                                 "last_visit_time": when, "hidden": 0})
    insert("visits", {"url": url_id, "visit_time": when, "from_visit": 0, "transition": 805306368,
                      "segment_id": 0, "visit_duration": 0})
db.commit()
print(len(rows))
"""


def history_entries(params: dict[str, Any]) -> list[dict[str, Any]]:
    history = params.get("history")
    if not isinstance(history, list) or not history:
        raise TaskError("an update_browse_history step needs 'history': [{url, title, visit_time_from_now_in_seconds}]")
    if len(history) > MAX_ENTRIES:
        raise TaskError(f"update_browse_history: at most {MAX_ENTRIES} entries, got {len(history)}")
    out = []
    for h in history:
        if not isinstance(h, dict) or not h.get("url"):
            raise TaskError(f"update_browse_history entry {h!r} needs a 'url'")
        try:
            ago = float(h.get("visit_time_from_now_in_seconds", 0))
        except (TypeError, ValueError) as exc:
            raise TaskError(
                f"update_browse_history entry {h!r}: visit_time_from_now_in_seconds is not a number"
            ) from exc
        out.append({"url": str(h["url"]), "title": str(h.get("title", "")), "ago": ago})
    return out


def _exists(sb: Sandbox) -> bool:
    return sb.run(["test", "-f", HISTORY], timeout=30).returncode == 0


def _ensure_profile(sb: Sandbox) -> None:
    """Create the Chromium profile (and its History database) with one headless run inside the sandbox."""
    from envs.apps import load_profile

    if _exists(sb):
        return
    profile = load_profile("chromium")
    profile.check_installed()
    seed = profile.seed_command()
    if seed is not None:
        sb.run(seed, timeout=30)
    argv = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={USER_DATA_DIR}",
        "--dump-dom",
        "about:blank",
    ]
    sb.run(argv, timeout=90)
    if not _exists(sb):
        raise TaskError(f"a headless Chromium run did not create {HISTORY} in the sandbox")


def step_update_browse_history(sb: Sandbox, params: dict[str, Any], ctx: SetupContext) -> None:
    from envs.a11y import SYSTEM_PYTHON
    from envs.browser import browser_of

    entries = history_entries(params)
    if browser_of(sb) is not None:
        raise TaskError(
            "update_browse_history must run before the browser starts (Chromium holds its History open); "
            "move it before the step that launches the browser"
        )
    _ensure_profile(sb)
    res = sb.run_bytes([SYSTEM_PYTHON, "-I", "-c", _INSERT, HISTORY], input=json.dumps(entries).encode(), timeout=60)
    if res.returncode != 0:
        err = res.stderr.decode(errors="replace").strip().splitlines()
        raise TaskError(f"could not add the visits to {HISTORY}: {err[-1] if err else res.returncode}")


SETUP_TYPES: dict[str, Callable[[Sandbox, dict[str, Any], SetupContext], None]] = {
    "update_browse_history": step_update_browse_history,
}
