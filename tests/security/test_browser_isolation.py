"""Escape attempts around the browser: DevTools and the local web server are reachable only inside the sandbox.

DevTools is spoken over a pipe (no port anywhere); a task's ``--remote-debugging-port`` is dropped, and even a port
opened inside the sandbox lives in the sandbox's network namespace. The Corner Shop server binds 127.0.0.1 inside
the sandbox: the host's loopback never sees it.
"""

from __future__ import annotations

import shutil
import socket
import time

import pytest

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None or shutil.which("chromium") is None:
    pytest.skip("needs Xvfb, nsenter and chromium (`make test` installs them)", allow_module_level=True)

PORTS = (9222, 1337, 18767)


def _host_can_connect(port: int) -> bool:
    s = socket.socket()
    s.settimeout(1.0)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_devtools_and_site_unreachable_from_the_host() -> None:
    from envs.browser import start_browser
    from envs.sandbox import Sandbox
    from envs.websites import serve_site

    busy = [p for p in PORTS if _host_can_connect(p)]
    if busy:
        pytest.skip(f"something on the host already listens on {busy}; cannot tell")
    with Sandbox().start() as sb:
        url = serve_site(sb, "shop", 18767)
        # a task asking for a debugging port (OSWorld does) gets the pipe instead
        b = start_browser(sb, ["--remote-debugging-port=9222", "--remote-debugging-address=0.0.0.0", url])
        assert "--remote-debugging-port" not in " ".join(map(str, b.proc.args))
        deadline = time.monotonic() + 20
        title = ""
        while time.monotonic() < deadline and "Corner Shop" not in title:
            page = b.active_page()
            title = page["title"] if page else ""
            time.sleep(0.2)
        assert "Corner Shop" in title  # served and loaded inside the sandbox
        # the agent itself starts a browser with a debugging port from a terminal inside the sandbox
        sb.launch(["chromium", "--no-sandbox", "--headless=new", "--remote-debugging-port=1337", "about:blank"])
        time.sleep(3)
        for port in PORTS:
            assert not _host_can_connect(port), f"port {port} is reachable from the host"
