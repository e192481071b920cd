"""A role pointed at an OpenAI-compatible server: llama-cpp-python's own server on loopback.

Needs the server extras: pip install 'llama-cpp-python[server]' (uvicorn, fastapi, sse-starlette,
starlette-context, pydantic-settings).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from pydantic import BaseModel

from studio.config import ModelSpec
from studio.errors import ModelCallError
from studio.llm.client import ModelClient
from studio.llm.ledger import MemoryLedger
from studio.llm.local_provider import gguf_path

pytestmark = pytest.mark.integration
pytest.importorskip("llama_cpp.server.app", reason="needs pip install 'llama-cpp-python[server]'")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    log = open(log_path, "wb")  # not a pipe: llama.cpp logs a lot and a full pipe blocks the server
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(gguf_path()), "--model_alias", "smollm2",
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama server exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama server did not start within 90 s")
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


class Step(BaseModel):
    action: str
    target: str


def test_openai_compatible_server_plain(server, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a dummy key is sent for servers with api_base
    ledger = MemoryLedger()
    client = ModelClient(tmp_path, ledger)
    spec = ModelSpec(model="openai/smollm2", api_base=server, max_tokens=12, seed=1)
    res = client.complete("actor", spec, [{"role": "user", "content": "Say hello."}], stage="rollout")
    assert res.text and 0 < res.completion_tokens <= 12 and res.prompt_tokens > 0
    rec = ledger.records[0]
    assert rec.model == "openai/smollm2" and not rec.error and rec.cost == 0.0


def test_openai_compatible_server_structured(server, tmp_path):
    client = ModelClient(tmp_path, MemoryLedger())
    spec = ModelSpec(model="openai/smollm2", api_base=server, max_tokens=64, api_key_env="PATH")
    msgs = [{"role": "user", "content": "Give one UI step: the action 'click' on the target 'Save'."}]
    res = client.complete_structured(Step, "actor", spec, msgs)
    # JSON mode on this server constrains to JSON, not to the schema: the result is typed either way
    assert res.raw
    if res.ok:
        assert isinstance(res.value, Step)
    else:
        assert res.error and res.attempts == 2


def test_dead_server_is_retried_then_named(tmp_path):
    sleeps: list[float] = []
    client = ModelClient(tmp_path, MemoryLedger(), sleep=sleeps.append)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    spec = ModelSpec(model="openai/smollm2", api_base=dead, max_retries=2, timeout=5)
    with pytest.raises(ModelCallError, match="running") as info:
        client.complete("judge", spec, [{"role": "user", "content": "x"}])
    assert info.value.role == "judge" and len(sleeps) == 2
