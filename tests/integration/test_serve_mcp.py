"""``studio serve`` as a subprocess, used by real clients: mcp's ClientSession over stdio and over streamable HTTP
on loopback, the plain JSON API with httpx, bearer-token refusal and bad input."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_retrieval import SCREENS
from tests.unit.test_serve_service import make_served_workspace

pytest.importorskip("mcp")

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789-abcdefghij"
TOOLS = {"retrieve_examples", "search_examples", "get_trajectory", "get_screenshot"}


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STUDIO_SERVE_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: Any) -> tuple[Path, list[Any]]:
    path = tmp_path_factory.mktemp("servemcp") / "ws"
    return path, make_served_workspace(path)


class HttpServer:
    """``studio serve --http --port 0`` in a subprocess; ``url`` once it has announced its port."""

    def __init__(self, workspace: Path, *args: str, token: str | None = TOKEN) -> None:
        env = child_env(**({"STUDIO_SERVE_TOKEN": token} if token else {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "studio.cli", "serve", str(workspace), "--http", "--port", "0", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = self._wait_for_url(timeout=120)

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if line.startswith("serving on "):
                return line.split()[2].removesuffix("/mcp")
        self.close()
        raise AssertionError(f"studio serve did not start: {''.join(self.stderr)}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def http_server(served: tuple[Path, list[Any]]) -> Iterator[HttpServer]:
    srv = HttpServer(served[0])
    yield srv
    srv.close()


def payload(result: Any) -> dict[str, Any]:
    """The JSON of a tool result (structured content, else its first text block)."""
    if getattr(result, "structured_content", None):
        return dict(result.structured_content)
    return json.loads(result.content[0].text)  # type: ignore[no-any-return]


async def exercise(session: Any, served: tuple[Path, list[Any]], *, model: bool = False) -> dict[str, Any]:
    """Every tool through one real session; returns what the assertions need."""
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    out: dict[str, Any] = {"tools": set(tools)}
    history = [{"reason": "opened the dialog", "action": "pyautogui.hotkey('ctrl', 's')"}]
    res = await session.call_tool(
        "retrieve_examples",
        {
            "instruction": "Save the document",
            "history": history,
            "observation": SCREENS["save"],
            "k": 3,
            "mode": "observation",
        },
    )
    out["retrieve"] = payload(res)
    out["retrieve_error"] = res.is_error
    if model:
        out["model"] = payload(
            await session.call_tool(
                "retrieve_examples",
                {
                    "instruction": "Save the document under another name",
                    "observation": SCREENS["save"],
                    "k": 4,
                    "mode": "both",
                },
            )
        )
    out["search"] = payload(
        await session.call_tool(
            "search_examples", {"query": "terminal", "filters": {"app": "term"}, "k": 2, "mode": "observation"}
        )
    )
    ex = served[1][0]
    traj = await session.call_tool("get_trajectory", {"id": ex.id, "screenshots": "inline"})
    out["trajectory"] = payload(traj)
    out["images"] = [c for c in traj.content if c.type == "image"]
    digest = next(s["screenshot"] for s in out["trajectory"]["steps"] if s.get("screenshot"))
    shot = await session.call_tool("get_screenshot", {"screenshot": digest})
    out["screenshot"] = shot.content[0]
    bad = await session.call_tool("retrieve_examples", {"instruction": "x", "observation": "y", "k": 500})
    out["bad_k"] = (bad.is_error, bad.content[0].text)
    bad = await session.call_tool("get_trajectory", {"id": "../../studio.toml"})
    out["bad_id"] = (bad.is_error, bad.content[0].text)
    bad = await session.call_tool("retrieve_examples", {"observation": "y"})
    out["missing"] = (bad.is_error, bad.content[0].text)
    return out


def check(out: dict[str, Any]) -> None:
    import base64

    assert out["tools"] == TOOLS
    assert not out["retrieve_error"]
    first = out["retrieve"]["examples"][0]
    assert first["instruction"] == "Save the document under a new name" and first["source"] == "observation"
    assert out["retrieve"]["prompt_text"].startswith("Example 1: Save the document under a new name")
    assert [e["app"] for e in out["search"]["examples"]] == ["term"]
    traj = out["trajectory"]
    assert [s["index"] for s in traj["steps"]] == [0, 1, 2] and traj["steps"][0]["reason"] == "press the 7 button"
    assert len(out["images"]) == 1 and out["images"][0].mime_type == "image/png"
    assert base64.b64decode(out["images"][0].data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert out["screenshot"].type == "image" and base64.b64decode(out["screenshot"].data)[:4] == b"\x89PNG"
    assert out["bad_k"][0] and "k must be an integer from 1 to 50" in out["bad_k"][1]
    assert out["bad_id"][0] and "is not an id" in out["bad_id"][1]
    assert out["missing"][0] and "instruction" in out["missing"][1]


def run_stdio(served: tuple[Path, list[Any]], *, model: bool = False) -> dict[str, Any]:
    import anyio
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "studio.cli", "serve", str(served[0])], env=child_env(), cwd=str(ROOT)
    )

    async def main() -> dict[str, Any]:
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                return await exercise(session, served, model=model)

    return anyio.run(main)


def test_mcp_over_stdio(served: tuple[Path, list[Any]]) -> None:
    check(run_stdio(served))


@pytest.mark.integration
def test_mcp_over_stdio_with_the_real_query_writer_model(served: tuple[Path, list[Any]]) -> None:
    """Mode ``both`` calls the workspace's query_writer (the offline local model) inside the server."""
    out = run_stdio(served, model=True)
    check(out)
    got = out["model"]
    assert got["mode"] == "both" and got["usage"]["model_calls"] == 1 and got["queries"]["dense"]
    # every list contributed: an example found by several is labelled "model+observation+instruction" (fused,
    # one entry); the third list is the task instruction's dense search ([retrieval] task_weight)
    assert {part for e in got["examples"] for part in e["source"].split("+")} == {"observation", "model", "instruction"}


def test_mcp_over_streamable_http(served: tuple[Path, list[Any]], http_server: HttpServer) -> None:
    import anyio
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async def main() -> dict[str, Any]:
        async with (
            create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as client,
            streamable_http_client(f"{http_server.url}/mcp", http_client=client) as (read, write),
            ClientSession(read, write) as session,
        ):
            return await exercise(session, served)

    assert http_server.url.startswith("http://127.0.0.1:")
    check(anyio.run(main))


def test_plain_http_json_api(served: tuple[Path, list[Any]], http_server: HttpServer) -> None:
    import httpx

    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=http_server.url, headers=auth, timeout=120) as c:
        info = c.get("/api/info").json()
        assert info["indexed_examples"] == len(served[1]) and info["workspace"] == "ws"
        r = c.post(
            "/api/retrieve_examples",
            json={"instruction": "Save the document", "observation": SCREENS["save"], "mode": "observation", "k": 2},
        )
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json()["examples"][0]["instruction"] == "Save the document under a new name"
        r = c.post("/api/search_examples", json={"query": "Save As", "k": 1, "mode": "observation"})
        assert r.json()["examples"][0]["app"] == "save"
        r = c.post("/api/get_trajectory", json={"id": served[1][0].trajectory_id, "screenshots": "inline"})
        body = r.json()
        assert r.status_code == 200 and len(body["images"]) == 1 and "_images" not in body
        digest = body["images"][0]["screenshot"]
        png = c.get(f"/api/screenshots/{digest}")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
        # bad input: 4xx with a message that says what to fix
        for path, body_, status, needle in [
            ("/api/retrieve_examples", {"instruction": "x", "k": 0}, 400, "k must be an integer"),
            ("/api/retrieve_examples", {"instruction": "x", "colour": 1}, 400, "does not take ['colour']"),
            ("/api/get_trajectory", {"id": "nope"}, 400, "no trajectory or example"),
            ("/api/delete_everything", {}, 404, "no operation 'delete_everything'"),
        ]:
            r = c.post(path, json=body_)
            assert r.status_code == status and needle in r.json()["error"], (path, r.text)
        r = c.post("/api/search_examples", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and "not JSON" in r.json()["error"]
        r = c.post("/api/search_examples", json=["a list"])
        assert r.status_code == 400 and "JSON object" in r.json()["error"]


def test_requests_without_the_token_are_refused(http_server: HttpServer) -> None:
    import httpx

    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ):
        with httpx.Client(base_url=http_server.url, headers=headers, timeout=60) as c:
            for method, path in (
                ("GET", "/api/info"),
                ("POST", "/api/retrieve_examples"),
                ("POST", "/mcp"),
                ("GET", "/api/screenshots/" + "0" * 64),
            ):
                r = c.request(method, path, json={"instruction": "x"})
                assert r.status_code == 401, (headers, path, r.status_code)
                assert r.headers["www-authenticate"] == "Bearer" and "bearer token" in r.json()["error"]


def test_generated_token_is_printed_and_required(served: tuple[Path, list[Any]]) -> None:
    import httpx

    srv = HttpServer(served[0], token=None)
    try:
        line = next(x for x in srv.stderr if x.startswith("token (generated): "))
        token = line.split(": ", 1)[1].strip()
        assert len(token) >= 40
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            assert c.get("/api/info").status_code == 401
            assert c.get("/api/info", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        srv.close()
