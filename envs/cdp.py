"""A small DevTools-protocol client over Chromium's ``--remote-debugging-pipe``.

Chromium reads commands from its fd 3 and writes replies and events to its fd 4, each message one JSON object
ended by a NUL byte. :func:`pipe_command` wraps a Chromium command line so that fd 3 is the process's stdin and
fd 4 its stdout; the host holds the other ends (:meth:`envs.sandbox.Sandbox.launch_piped`). No port is opened, so
neither the host's network nor the agent inside the sandbox can reach DevTools.

The browser is hostile input: messages are capped at :data:`MAX_MESSAGE` bytes (a larger one closes the
connection) and every call has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import IO, Any

from envs.errors import ObservationError

#: Largest DevTools message accepted (a full accessibility tree of a big page is a few MB).
MAX_MESSAGE = 64 << 20

# fd 3 <- stdin, fd 4 -> stdout; the browser's own stdin/stdout go to /dev/null.
_WRAP = 'exec "$@" 3<&0 4>&1 </dev/null >/dev/null'


def pipe_command(argv: list[str], prelude: str = "") -> list[str]:
    """``argv`` (a Chromium command line) wrapped so DevTools speaks over this process's stdin/stdout.

    ``prelude`` is shell code run first in the same process (e.g. starting a local web server beside the
    browser); it must be built from quoted arguments (``shlex.join``), never from untrusted text.
    """
    return ["sh", "-c", prelude + _WRAP, "cdp", *argv, "--remote-debugging-pipe"]


class CdpError(ObservationError):
    """A DevTools call failed, timed out, or the browser went away."""


class CdpPipe:
    """DevTools over a pair of pipes: ``call()`` from any thread; one reader thread routes replies by id."""

    def __init__(self, to_browser: IO[bytes], from_browser: IO[bytes]) -> None:
        self._w = to_browser
        self._r = from_browser
        self._lock = threading.Lock()
        self._next_id = 0
        self._waiting: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._closed: str | None = None
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def on_event(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """Call ``fn(message)`` for every event (a message without ``id``), from the reader thread."""
        self._listeners.append(fn)

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Send one command and wait for its result.

        Raises:
            CdpError: the browser answered with an error, did not answer within ``timeout``, or is gone.
        """
        with self._lock:
            if self._closed is not None:
                raise CdpError(f"DevTools connection is closed ({self._closed}); is the browser still running?")
            self._next_id += 1
            msg_id = self._next_id
            slot: tuple[threading.Event, list[dict[str, Any]]] = (threading.Event(), [])
            self._waiting[msg_id] = slot
            msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            try:
                self._w.write(json.dumps(msg).encode() + b"\0")
                self._w.flush()
            except (OSError, ValueError) as exc:
                self._waiting.pop(msg_id, None)
                raise CdpError(f"cannot send {method} to the browser: {exc}") from exc
        if not slot[0].wait(timeout):
            with self._lock:
                self._waiting.pop(msg_id, None)
            raise CdpError(f"DevTools {method} got no answer within {timeout} s")
        reply = slot[1][0]
        if "error" in reply:
            err = reply["error"]
            raise CdpError(f"DevTools {method} failed: {err.get('message', err) if isinstance(err, dict) else err}")
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    def _read_loop(self) -> None:
        buf = bytearray()
        reason = "the browser closed its DevTools pipe"
        try:
            while True:
                chunk = self._r.read1(1 << 16) if hasattr(self._r, "read1") else self._r.read(1 << 16)
                if not chunk:
                    break
                buf += chunk
                while (end := buf.find(b"\0")) >= 0:
                    raw = bytes(buf[:end])
                    del buf[: end + 1]
                    self._dispatch(raw)
                if len(buf) > MAX_MESSAGE:
                    reason = f"a DevTools message exceeded {MAX_MESSAGE} bytes"
                    break
        except (OSError, ValueError) as exc:
            reason = f"reading DevTools failed: {exc}"
        self._shutdown(reason)

    def _dispatch(self, raw: bytes) -> None:
        try:
            msg = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return
        if not isinstance(msg, dict):
            return
        msg_id = msg.get("id")
        if isinstance(msg_id, int):
            with self._lock:
                slot = self._waiting.pop(msg_id, None)
            if slot is not None:
                slot[1].append(msg)
                slot[0].set()
            return
        for fn in list(self._listeners):
            with contextlib.suppress(Exception):
                fn(msg)

    def _shutdown(self, reason: str) -> None:
        with self._lock:
            self._closed = self._closed or reason
            waiting, self._waiting = self._waiting, {}
        for event, box in waiting.values():
            box.append({"error": {"message": reason}})
            event.set()

    def close(self) -> None:
        """Close our end of the pipes (the browser sees EOF on its fd 3)."""
        with contextlib.suppress(OSError, ValueError):
            self._w.close()
        self._shutdown("closed by the studio")
