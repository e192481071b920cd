"""ModelClient with litellm's own ``mock_response``: retries, errors, keys, params, cache, ledger, async."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from studio.config import ModelSpec
from studio.errors import MissingAPIKeyError, ModelCallError
from studio.llm.client import STANDARD_PARAMS, ModelClient, import_litellm
from studio.llm.ledger import JsonlLedger, MemoryLedger, read_ledger

SECRET = "sk-test-secret-0123456789"
MSGS = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def litellm():
    return import_litellm()


class FakeProvider:
    """Feeds litellm.completion a sequence of mock responses (text or exceptions); records the kwargs."""

    def __init__(self, litellm, monkeypatch, responses):
        self.responses = list(responses)
        self.calls: list[dict] = []
        real, areal = litellm.completion, litellm.acompletion

        def fake(**kw):
            self.calls.append(kw)
            return real(**kw, mock_response=self._next())

        async def afake(**kw):
            self.calls.append(kw)
            return await areal(**kw, mock_response=self._next())

        monkeypatch.setattr(litellm, "completion", fake)
        monkeypatch.setattr(litellm, "acompletion", afake)

    def _next(self):
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return monkeypatch


def make_client(tmp_path: Path, sleeps: list[float] | None = None, **kw) -> tuple[ModelClient, MemoryLedger]:
    ledger = MemoryLedger()
    sleeps = sleeps if sleeps is not None else []
    client = ModelClient(tmp_path / "cache", ledger, sleep=sleeps.append, **kw)
    return client, ledger


def rate_limit(litellm):
    return litellm.RateLimitError(message="slow down", llm_provider="openai", model="gpt-4o-mini")


def server_error(litellm):
    return litellm.InternalServerError(message="boom", llm_provider="openai", model="gpt-4o-mini")


def bad_request(litellm):
    return litellm.BadRequestError(message="bad param", llm_provider="openai", model="gpt-4o-mini")


SPEC = ModelSpec(model="openai/gpt-4o-mini", max_retries=3)


def test_retries_transient_errors_with_growing_backoff(litellm, env, tmp_path):
    fake = FakeProvider(litellm, env, [rate_limit(litellm), server_error(litellm), "done"])
    sleeps: list[float] = []
    client, ledger = make_client(tmp_path, sleeps)
    res = client.complete("actor", SPEC, MSGS, stage="rollout")
    assert res.text == "done"
    assert len(fake.calls) == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] > 0
    errors = [r.error for r in ledger.records]  # every attempt is a ledger row
    assert errors[0].startswith("retried: RateLimitError") and errors[1].startswith("retried: InternalServer")
    assert errors[2] == ""  # a call that succeeded
    assert ledger.records[2].stage == "rollout" and ledger.records[2].role == "actor"


def test_no_retry_on_bad_request(litellm, env, tmp_path):
    fake = FakeProvider(litellm, env, [bad_request(litellm), "never"])
    sleeps: list[float] = []
    client, ledger = make_client(tmp_path, sleeps)
    with pytest.raises(ModelCallError) as info:
        client.complete("judge", SPEC, MSGS, stage="committee")
    assert len(fake.calls) == 1 and sleeps == []
    assert info.value.model == "openai/gpt-4o-mini" and info.value.role == "judge"
    assert "judge" in str(info.value) and "gpt-4o-mini" in str(info.value)
    assert ledger.records[-1].error and "BadRequest" in ledger.records[-1].error


def test_gives_up_after_max_retries(litellm, env, tmp_path):
    fake = FakeProvider(litellm, env, [server_error(litellm)])
    sleeps: list[float] = []
    client, ledger = make_client(tmp_path, sleeps)
    with pytest.raises(ModelCallError, match="4 attempt"):
        client.complete("actor", SPEC, MSGS)
    assert len(fake.calls) == 4 and len(sleeps) == 3
    assert ledger.records[-1].error


def test_missing_key_names_the_variable(litellm, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("MY_KEY", raising=False)
    client, _ = make_client(tmp_path)
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY") as info:
        client.complete("task_writer", ModelSpec(model="openai/gpt-4o-mini"), MSGS)
    assert info.value.role == "task_writer"
    with pytest.raises(MissingAPIKeyError, match="ANTHROPIC_API_KEY"):
        client.complete("actor", ModelSpec(model="anthropic/claude-3-5-sonnet-20241022"), MSGS)
    with pytest.raises(MissingAPIKeyError, match="MY_KEY"):
        client.complete("actor", ModelSpec(model="openai/gpt-4o-mini", api_key_env="MY_KEY"), MSGS)


def test_key_is_never_cached_or_logged(litellm, monkeypatch, tmp_path):
    monkeypatch.setenv("MY_KEY", SECRET)
    fake = FakeProvider(litellm, monkeypatch, ["ok"])
    ledger_path = tmp_path / "ledger.jsonl"
    client = ModelClient(tmp_path / "cache", JsonlLedger(ledger_path))
    spec = ModelSpec(model="openai/gpt-4o-mini", api_key_env="MY_KEY")
    client.complete("actor", spec, MSGS)
    client.complete("actor", spec, MSGS)  # cache hit
    assert fake.calls[0]["api_key"] == SECRET
    for f in [ledger_path, *(tmp_path / "cache").rglob("*")]:
        if f.is_file():
            assert SECRET not in f.read_text(encoding="utf-8")
    assert [r.cache_hit for r in read_ledger(ledger_path)] == [False, True]


def test_sends_only_standard_params(litellm, env, tmp_path):
    fake = FakeProvider(litellm, env, ["ok"])
    client, _ = make_client(tmp_path)
    spec = ModelSpec(model="openai/gpt-4o-mini", temperature=0.3, top_p=0.9, seed=7, max_tokens=33)
    client.complete("actor", spec, MSGS)
    allowed = {"model", "messages", "timeout", "max_retries", "api_key", "api_base", "response_format"}
    allowed |= set(STANDARD_PARAMS)
    assert set(fake.calls[0]) <= allowed
    assert fake.calls[0]["seed"] == 7 and fake.calls[0]["max_tokens"] == 33
    assert fake.calls[0]["max_retries"] == 0  # the SDK must not retry on its own: we count retries


def test_unsupported_params_are_not_sent(litellm, monkeypatch, tmp_path):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    fake = FakeProvider(litellm, monkeypatch, ["ok"])
    client, _ = make_client(tmp_path)
    client.complete("actor", ModelSpec(model="anthropic/claude-3-5-sonnet-20241022", seed=3), MSGS)
    assert "seed" not in fake.calls[0]


def test_openai_compatible_server_gets_dummy_key_and_api_base(litellm, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake = FakeProvider(litellm, monkeypatch, ["ok"])
    client, _ = make_client(tmp_path)
    client.complete("actor", ModelSpec(model="openai/qwen", api_base="http://127.0.0.1:9/v1"), MSGS)
    assert fake.calls[0]["api_base"] == "http://127.0.0.1:9/v1"
    assert fake.calls[0]["api_key"]


def test_cache_hit_makes_zero_provider_calls(litellm, env, tmp_path):
    fake = FakeProvider(litellm, env, ["first", "second", "third"])
    client, ledger = make_client(tmp_path)
    a = client.complete("actor", SPEC, MSGS, stage="s")
    b = client.complete("actor", SPEC, MSGS, stage="s")
    assert (a.text, b.text) == ("first", "first")
    assert len(fake.calls) == 1
    assert b.cache_hit and b.cost == 0.0
    assert [r.cache_hit for r in ledger.records] == [False, True]
    c = client.complete("actor", SPEC, MSGS, stage="s", use_cache=False)
    assert c.text == "second" and len(fake.calls) == 2
    d = client.complete("actor", SPEC, MSGS, stage="s", cache_salt="sample-2")
    assert d.text == "third" and len(fake.calls) == 3
    # a fresh client over the same directory (a re-run) still hits
    client2, _ = make_client(tmp_path)
    assert client2.complete("actor", SPEC, MSGS).cache_hit
    assert len(fake.calls) == 3


def test_no_cache_client_default(litellm, env, tmp_path):
    fake = FakeProvider(litellm, env, ["x"])
    client, _ = make_client(tmp_path, use_cache=False)
    client.complete("actor", SPEC, MSGS)
    client.complete("actor", SPEC, MSGS)
    assert len(fake.calls) == 2


def test_errors_are_not_cached(litellm, env, tmp_path):
    fake = FakeProvider(litellm, env, [bad_request(litellm), "fine"])
    client, _ = make_client(tmp_path)
    with pytest.raises(ModelCallError):
        client.complete("actor", SPEC, MSGS)
    assert client.complete("actor", SPEC, MSGS).text == "fine"
    assert len(fake.calls) == 2


def test_ledger_records_tokens_and_cost(litellm, env, tmp_path):
    FakeProvider(litellm, env, ["some answer"])
    client, ledger = make_client(tmp_path)
    res = client.complete("backward_writer", SPEC, MSGS, stage="backward")
    rec = ledger.records[0]
    assert rec.model == "openai/gpt-4o-mini" and rec.stage == "backward" and rec.role == "backward_writer"
    assert rec.prompt_tokens == res.prompt_tokens > 0
    assert rec.completion_tokens == res.completion_tokens > 0
    assert rec.cost == res.cost > 0  # gpt-4o-mini is in litellm's cost map
    assert rec.latency_s >= 0 and rec.error == ""


def test_concurrency_limit_per_model(litellm, env, tmp_path):
    active = 0
    peak = 0
    lock = threading.Lock()
    real = litellm.completion

    def slow(**kw):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return real(**kw, mock_response="ok")

    env.setattr(litellm, "completion", slow)
    client, _ = make_client(tmp_path, use_cache=False)
    spec = ModelSpec(model="openai/gpt-4o-mini", concurrency=1)
    threads = [threading.Thread(target=client.complete, args=("actor", spec, MSGS)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1


def test_unknown_provider_is_a_clear_error(litellm, env, tmp_path):
    client, _ = make_client(tmp_path)
    with pytest.raises(ModelCallError, match="provider/model"):
        client.complete("actor", ModelSpec(model="no-such-model-xyz"), MSGS)
