"""Escape and abuse attempts against ``studio serve``: ids and screenshot references that try to reach files
outside the workspace (or inject into the LanceDB filter), writes, unauthenticated and DNS-rebinding requests.
Every attempt must fail with a clear 4xx / tool error, and the workspace must be byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_retrieval import SCREENS
from tests.unit.test_serve_service import make_served_workspace

pytest.importorskip("mcp")

from tests.integration.test_serve_mcp import TOKEN, TOOLS, HttpServer, run_stdio  # noqa: E402

SECRET = "TOP-SECRET-OUTSIDE-THE-WORKSPACE"
BAD_IDS = [
    "../secret.txt",
    "..%2Fsecret.txt",
    "/etc/passwd",
    "x' OR '1'='1",
    'x") OR true --',
    "a" * 200,
    "..",
    "",
    "id\nwith-newline",
]
BAD_DIGESTS = ["../../../secret.txt", "..%2F..%2Fsecret.txt", "A" * 64, "0" * 63, "/etc/passwd", "0" * 64 + "/.."]


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its sha256 (and every directory), to prove nothing was written."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory: Any) -> tuple[Path, list[Any]]:
    base = tmp_path_factory.mktemp("serveesc")
    (base / "secret.txt").write_text(SECRET)
    path = base / "ws"
    return path, make_served_workspace(path)


@pytest.fixture(scope="module")
def http_server(served: tuple[Path, list[Any]]) -> Iterator[HttpServer]:
    srv = HttpServer(served[0])
    yield srv
    srv.close()


def test_service_refuses_ids_and_digests_that_are_not_ids(served: tuple[Path, list[Any]]) -> None:
    from studio.errors import RequestError
    from studio.llm.embedders import LexicalEmbedder
    from studio.serve import ExampleService

    svc = ExampleService(served[0], embedder=LexicalEmbedder())
    try:
        for bad in BAD_IDS:
            with pytest.raises(RequestError) as err:
                svc.get_trajectory(bad)
            assert SECRET not in str(err.value)
        for bad in BAD_DIGESTS:
            with pytest.raises(RequestError, match="not a screenshot reference"):
                svc.get_screenshot(bad)
        with pytest.raises(RequestError):
            svc.get_trajectory(["list"])
    finally:
        svc.close()


def test_http_escape_attempts_get_4xx_and_no_file(served: tuple[Path, list[Any]], http_server: HttpServer) -> None:
    import httpx

    before = tree_hashes(served[0])
    with httpx.Client(base_url=http_server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        for bad in BAD_IDS:
            r = c.post("/api/get_trajectory", json={"id": bad})
            assert r.status_code == 400 and SECRET not in r.text, (bad, r.status_code, r.text)
        for bad in BAD_DIGESTS:
            r = c.get("/api/screenshots/" + bad)
            assert 400 <= r.status_code < 500 and SECRET not in r.text, (bad, r.status_code)
        for path in ("/api/../../secret.txt", "/secret.txt", "/api/screenshots/../../secret.txt", "/api/info/..%2f.."):
            r = c.get(path)
            assert 400 <= r.status_code < 500 and SECRET not in r.text, (path, r.status_code)
        for method in ("PUT", "DELETE", "PATCH"):
            r = c.request(method, "/api/retrieve_examples", json={"instruction": "x"})
            assert r.status_code in (404, 405), (method, r.status_code)
        # a huge body is refused, not read into the workspace or memory without bound
        r = c.post("/api/search_examples", content=b"{" + b" " * 2_000_000 + b"}")
        assert r.status_code == 413
        # normal use, then the workspace is unchanged
        assert (
            c.post(
                "/api/retrieve_examples",
                json={"instruction": "Save", "observation": SCREENS["save"], "mode": "observation"},
            ).status_code
            == 200
        )
        assert c.post("/api/search_examples", json={"query": "Save", "mode": "both"}).status_code == 200
    assert tree_hashes(served[0]) == before


def test_mcp_endpoint_rejects_dns_rebinding_host(http_server: HttpServer) -> None:
    """A browser tricked into calling 127.0.0.1 under another name sends that name as Host: refused even with
    the token (the MCP SDK's rebinding protection for loopback servers)."""
    import httpx

    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "evil", "version": "1"}},
    }
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Host": "evil.example.com",
        "Accept": "application/json, text/event-stream",
    }
    r = httpx.post(f"{http_server.url}/mcp", json=init, headers=headers, timeout=60)
    assert r.status_code in (400, 403, 421), r.status_code


def test_only_read_tools_and_no_write_over_stdio(served: tuple[Path, list[Any]]) -> None:
    before = tree_hashes(served[0])
    out = run_stdio(served)
    assert out["tools"] == TOOLS  # nothing that writes, deletes or runs anything
    assert out["bad_id"][0] and "is not an id" in out["bad_id"][1]
    assert tree_hashes(served[0]) == before


def test_default_bind_is_loopback_and_other_hosts_warn(served: tuple[Path, list[Any]]) -> None:
    srv = HttpServer(served[0], "--host", "0.0.0.0")
    try:
        assert any("warning: binding 0.0.0.0" in line for line in srv.stderr)
        assert srv.url.startswith("http://0.0.0.0:")
    finally:
        srv.close()
