"""DevTools pipe client, page rows and browser getters/metrics without a browser (fakes); the real browser is
tested in tests/integration/test_browser.py and tests/security/test_browser_isolation.py."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest

from envs import browser as browser_mod
from envs.browser import Browser, _viewport_boxes, _without_atspi_pages, drop_debug_port_args, merge_page_rows
from envs.cdp import MAX_MESSAGE, CdpError, CdpPipe, pipe_command
from envs.getters_chrome import GETTERS as CHROME_GETTERS
from envs.metrics_chrome import (
    is_expected_active_tab,
    is_expected_bookmarks,
    is_expected_tabs,
    is_expected_url_pattern_match,
    normalize_url,
)
from envs.observation import A11yNode
from envs.task_setup import SetupContext
from envs.websites import serve_site, server_command, server_prelude
from studio.errors import TaskError


class FakeChromium:
    """The browser end of the two pipes: answers each command with ``handler(msg)``."""

    def __init__(self, handler: Any) -> None:
        cmd_r, cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        self.to_browser = os.fdopen(cmd_w, "wb")
        self.from_browser = os.fdopen(out_r, "rb")
        self._in = os.fdopen(cmd_r, "rb")
        self._out = os.fdopen(out_w, "wb")
        self.handler = handler
        threading.Thread(target=self._loop, daemon=True).start()

    def send_raw(self, data: bytes) -> None:
        self._out.write(data)
        self._out.flush()

    def _loop(self) -> None:
        buf = b""
        while chunk := self._in.read1(4096):
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                reply = self.handler(json.loads(raw))
                if reply is not None:
                    self.send_raw(json.dumps(reply).encode() + b"\0")


def test_pipe_command_wraps_fds() -> None:
    cmd = pipe_command(["chromium", "--x"], prelude="server & ")
    assert cmd[:2] == ["sh", "-c"] and cmd[2].startswith("server & exec")
    assert cmd[-1] == "--remote-debugging-pipe" and "3<&0 4>&1" in cmd[2]


def test_cdp_call_result_error_event_and_timeout() -> None:
    events: list[dict[str, Any]] = []

    def handler(msg: dict[str, Any]) -> dict[str, Any] | None:
        if msg["method"] == "Slow.never":
            return None
        if msg["method"] == "Bad.call":
            return {"id": msg["id"], "error": {"message": "no such method"}}
        return {"id": msg["id"], "result": {"echo": msg["method"], "session": msg.get("sessionId")}}

    fake = FakeChromium(handler)
    pipe = CdpPipe(fake.to_browser, fake.from_browser)
    pipe.on_event(events.append)
    assert pipe.call("Browser.getVersion") == {"echo": "Browser.getVersion", "session": None}
    assert pipe.call("Runtime.evaluate", session="S1")["session"] == "S1"
    with pytest.raises(CdpError, match="no such method"):
        pipe.call("Bad.call")
    with pytest.raises(CdpError, match="no answer"):
        pipe.call("Slow.never", timeout=0.2)
    fake.send_raw(b'{"method": "Target.targetCreated", "params": {}}\0not json\0[1]\0')
    pipe.call("Browser.getVersion")  # replies are ordered after the event
    assert events == [{"method": "Target.targetCreated", "params": {}}]
    pipe.close()
    with pytest.raises(CdpError, match="closed"):
        pipe.call("Browser.getVersion")


def test_cdp_oversized_message_closes_the_connection() -> None:
    fake = FakeChromium(lambda msg: None)
    pipe = CdpPipe(fake.to_browser, fake.from_browser)
    threading.Thread(target=fake.send_raw, args=(b"x" * (MAX_MESSAGE + (1 << 17)),), daemon=True).start()
    with pytest.raises(CdpError, match="exceeded"):
        pipe.call("Browser.getVersion", timeout=30)


def test_viewport_boxes_and_atspi_page_removal() -> None:
    snap = {
        "documents": [
            {
                "nodes": {"backendNodeId": [1, 5, 7]},
                "layout": {"nodeIndex": [0, 1, 2], "bounds": [[0, 0, 800, 600], [10, 500, 50, 20], [1, 2]]},
                "scrollOffsetX": 0,
                "scrollOffsetY": 100,
            }
        ]
    }
    assert _viewport_boxes(snap) == {1: (0, -100, 800, 600), 5: (10, 400, 50, 20)}
    rows = [
        A11yNode(0, "frame", "w", "", 0, 0, 800, 700),
        A11yNode(1, "document web", "page", "", 0, 100, 800, 600),
        A11yNode(2, "link", "a", "", 10, 110, 30, 10),
        A11yNode(3, "push button", "Back", "", 0, 10, 30, 30),
    ]
    assert [n.name for n in _without_atspi_pages(rows)] == ["w", "Back"]
    assert drop_debug_port_args(
        ["--remote-debugging-port=1337", "http://x/", "--remote-debugging-address=0.0.0.0"]
    ) == ["http://x/"]


class FakeBrowserPipe:
    """Canned DevTools answers for one page."""

    def __init__(self, url: str = "https://www.example.com/a/b-c?id=7&q=x") -> None:
        self.url = url
        self.calls: list[str] = []

    closed = False

    def call(self, method: str, params: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        self.calls.append(method)
        params = params or {}
        if method == "Target.getTargets":
            return {
                "targetInfos": [
                    {"targetId": "T1", "type": "page", "title": "Example", "url": self.url},
                    {"targetId": "U", "type": "browser_ui", "title": "Omnibox", "url": "chrome://omnibox/"},
                ]
            }
        if method == "Target.attachToTarget":
            return {"sessionId": "S-" + params["targetId"]}
        if method == "Runtime.evaluate":
            expr = params["expression"]
            if "visibilityState" in expr:
                return {"result": {"value": ["visible", True]}}
            if "screenX" in expr:
                return {"result": {"value": [0, 0, 808, 743, 800, 600]}}
            if "innerText" in expr:
                return {"result": {"value": "Hello page"}}
            return {"result": {"value": {"total": "$5.00"}}}
        if method == "Accessibility.getFullAXTree":
            return {
                "nodes": [
                    {
                        "nodeId": "1",
                        "role": {"value": "RootWebArea"},
                        "name": {"value": "Example"},
                        "backendDOMNodeId": 1,
                    },
                    {
                        "nodeId": "2",
                        "parentId": "1",
                        "role": {"value": "link"},
                        "name": {"value": "More"},
                        "backendDOMNodeId": 2,
                    },
                    {
                        "nodeId": "3",
                        "parentId": "2",
                        "role": {"value": "StaticText"},
                        "name": {"value": "More"},
                        "backendDOMNodeId": 3,
                    },
                    {
                        "nodeId": "4",
                        "parentId": "1",
                        "role": {"value": "textbox"},
                        "name": {"value": "Q"},
                        "value": {"value": "hi"},
                        "backendDOMNodeId": 4,
                    },
                    {
                        "nodeId": "5",
                        "parentId": "1",
                        "role": {"value": "button"},
                        "name": {"value": "Off"},
                        "backendDOMNodeId": 5,
                    },
                    {
                        "nodeId": "6",
                        "parentId": "1",
                        "role": {"value": "generic"},
                        "backendDOMNodeId": 6,
                        "ignored": True,
                    },
                ]
            }
        if method == "DOMSnapshot.captureSnapshot":
            return {
                "documents": [
                    {
                        "nodes": {"backendNodeId": [1, 2, 3, 4, 5]},
                        "layout": {
                            "nodeIndex": [0, 1, 2, 3, 4],
                            "bounds": [
                                [0, 0, 800, 600],
                                [10, 20, 40, 10],
                                [10, 20, 40, 10],
                                [60, 20, 100, 20],
                                [0, 900, 10, 10],
                            ],
                        },
                    }
                ]
            }
        return {}


class FakeProc:
    def poll(self) -> None:
        return None

    def kill(self) -> None:
        pass


class FakeSb:
    width, height = 800, 700

    def __init__(self) -> None:
        self.runs: list[list[str]] = []
        self.launched: list[list[str]] = []

    def run(self, argv: list[str], **_: Any) -> Any:
        import subprocess

        self.runs.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    def launch(self, argv: list[str], **_: Any) -> None:
        self.launched.append(argv)


@pytest.fixture
def sb_with_browser() -> Any:
    sb = FakeSb()
    b = Browser(FakeProc(), FakeBrowserPipe())  # type: ignore[arg-type]
    browser_mod._browsers[sb] = b
    yield sb
    browser_mod._browsers.pop(sb, None)


def test_page_rows_in_table_format(sb_with_browser: Any) -> None:
    atspi = [
        A11yNode(0, "frame", "Example - Chromium", "", 0, 0, 808, 743),
        A11yNode(1, "document web", "x", "", 4, 139, 800, 600),
    ]
    rows, cut = merge_page_rows(sb_with_browser, atspi)
    assert not cut
    assert [(n.id, n.role, n.name, n.text) for n in rows] == [
        (0, "frame", "Example - Chromium", ""),
        (1, "document web", "Example", ""),
        (2, "link", "More", ""),
        (3, "entry", "Q", "hi"),
    ]  # the link's own text is not repeated; the button below the viewport is dropped
    assert (rows[2].x, rows[2].y) == (4 + 10, 743 - 600 - 4 + 20)


def test_chrome_getters_and_metrics(sb_with_browser: Any) -> None:
    ctx = SetupContext()
    sb = sb_with_browser
    info = CHROME_GETTERS["active_tab_info"](sb, {}, ctx)
    assert info == {"title": "Example", "url": "https://www.example.com/a/b-c?id=7&q=x", "content": "Hello page"}
    assert CHROME_GETTERS["active_tab_url_parse"](sb, {"parse_keys": ["id", "q"], "replace": {"q": "query"}}, ctx) == {
        "id": "7",
        "query": "x",
    }
    spec = {"partIndex": -1, "needDeleteId": True, "returnType": "json", "key": "k"}
    assert CHROME_GETTERS["url_dashPart"](sb, spec, ctx) == {"k": "b-c"}
    assert CHROME_GETTERS["open_tabs_info"](sb, {}, ctx) == [{"title": "Example", "url": info["url"]}]
    parsed = CHROME_GETTERS["active_tab_html_parse"](
        sb, {"category": "class", "class_singleObject": {"x": "total"}}, ctx
    )
    assert parsed == {"total": "$5.00"}
    with pytest.raises(TaskError, match="category"):
        CHROME_GETTERS["active_tab_html_parse"](sb, {}, ctx)
    assert is_expected_active_tab(info, {"type": "url", "url": "HTTPS://example.com/a/b-c?id=7&q=x"}) == 1.0
    assert is_expected_active_tab(None, {"type": "url", "url": "x"}) == 0.0
    assert is_expected_url_pattern_match(info, {"expected": ["example\\.com", "id=7"]}) == 1.0
    assert is_expected_url_pattern_match("https://a/", {"expected": ["b"]}) == 0.0
    assert is_expected_tabs([info], {"type": "url", "urls": ["https://example.com/a/b-c?id=7&q=x"]}) == 1.0
    assert normalize_url("https://www.X.org/") == "https://x.org"
    marks = {"bookmark_bar": {"children": [{"type": "folder", "name": "Work"}, {"type": "url", "url": "https://a/"}]}}
    assert is_expected_bookmarks(marks, {"type": "bookmark_bar_folders_names", "names": ["Work"]}) == 1.0
    assert is_expected_bookmarks(marks, {"type": "bookmark_bar_websites_urls", "urls": ["https://b/"]}) == 0.0


def test_websites_serve_checks_and_quoting() -> None:
    sb = FakeSb()
    with pytest.raises(TaskError, match="no bundled web site"):
        serve_site(sb, "../etc")  # type: ignore[arg-type]
    with pytest.raises(TaskError, match="port"):
        serve_site(sb, "shop", "80; rm -rf /")  # type: ignore[arg-type]
    assert serve_site(sb, "shop", 8123) == "http://127.0.0.1:8123/"  # type: ignore[arg-type]
    assert sb.runs and sb.runs[0][:2] == ["sh", "-c"] and "<title>Corner Shop</title>" in sb.runs[0][-1]
    assert server_command("shop", 8123)[3:6] == ["--bind", "127.0.0.1", "8123"]
    assert server_prelude(sb).endswith("& ") and "127.0.0.1 8123" in server_prelude(sb)  # type: ignore[arg-type]
