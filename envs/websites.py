"""Small web applications to practise on offline, served inside the sandbox.

A site is one self-contained HTML file under ``assets/web/<name>.html`` (pages, forms, search and a cart in
client-side JavaScript; state lives in the URL and the tab's session storage). The ``serve_site`` setup step
copies it into the sandbox and serves it with Python's ``http.server`` bound to ``127.0.0.1:<port>`` *inside*
the sandbox's network namespace: the host cannot reach it, and nothing outside the sandbox is served.

When the browser is not running yet, the server is started in the same sandbox process as the browser
(:func:`envs.browser.start_browser` asks :func:`server_prelude`), so the two share a network namespace even
where each sandboxed command gets its own.
"""

from __future__ import annotations

import re
import shlex
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envs.errors import TaskError

if TYPE_CHECKING:
    from envs.sandbox import Sandbox

SITES_DIR = Path(__file__).resolve().parent.parent / "assets" / "web"
#: Where sites live inside the sandbox.
INSIDE_DIR = "/home/user/.local/share/studio-web"
DEFAULT_PORT = 8000

_served: weakref.WeakKeyDictionary[Any, list[tuple[str, int]]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def list_sites() -> list[str]:
    """Names of the bundled sites."""
    return sorted(p.stem for p in SITES_DIR.glob("*.html"))


def _check(site: str, port: Any) -> int:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", site) or not (SITES_DIR / f"{site}.html").is_file():
        raise TaskError(f"no bundled web site {site!r}; known: {', '.join(list_sites())}")
    try:
        number = int(port)
    except (TypeError, ValueError):
        number = -1
    if not 1024 <= number <= 65535:
        raise TaskError(f"serve_site port {port!r} must be a number from 1024 to 65535")
    return number


def server_command(site: str, port: int) -> list[str]:
    """The command that serves ``site`` inside the sandbox on ``127.0.0.1:port``."""
    return ["python3", "-m", "http.server", "--bind", "127.0.0.1", str(port), "--directory", f"{INSIDE_DIR}/{site}"]


def server_prelude(sb: Sandbox) -> str:
    """Shell lines that start the servers registered for ``sb`` in the background ('' when none)."""
    with _lock:
        sites = list(_served.get(sb, []))
    return "".join(f"{shlex.join(server_command(s, p))} >/dev/null 2>&1 & " for s, p in sites)


def serve_site(sb: Sandbox, site: str, port: Any = DEFAULT_PORT, *, start_now: bool = False) -> str:
    """Copy ``site`` into ``sb`` and register it; return its URL (``http://127.0.0.1:<port>/``).

    The server starts with the next browser (:func:`server_prelude`), or now with ``start_now`` (when a browser
    already runs; then it shares the browser's network only where the sandbox has one network namespace).

    Raises:
        TaskError: an unknown site or a bad port.
    """
    number = _check(site, port)
    html = (SITES_DIR / f"{site}.html").read_text(encoding="utf-8")
    write = 'mkdir -p "$(dirname "$1")" && printf "%s" "$2" > "$1"'
    proc = sb.run(["sh", "-c", write, "write", f"{INSIDE_DIR}/{site}/index.html", html], timeout=30)
    if proc.returncode != 0:
        raise TaskError(f"cannot copy site {site!r} into the sandbox: {proc.stderr.strip()[:300]}")
    with _lock:
        _served.setdefault(sb, []).append((site, number))
    if start_now:
        sb.launch(server_command(site, number))
    return f"http://127.0.0.1:{number}/"
