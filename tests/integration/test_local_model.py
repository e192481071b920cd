"""The real offline model (SmolLM2-135M via llama-cpp-python in-process) and the real local embedder."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from pydantic import BaseModel

from studio.config import ModelSpec
from studio.errors import ModelCallError
from studio.llm.client import ModelClient, import_litellm
from studio.llm.ledger import JsonlLedger, read_ledger

pytestmark = pytest.mark.integration
pytest.importorskip("llama_cpp")

SPEC = ModelSpec(model="local/smollm2", max_tokens=48, temperature=0.0)


class Person(BaseModel):
    name: str
    age: int


def test_structured_json_from_local_model(tmp_path):
    client = ModelClient.for_workspace(tmp_path)
    msgs = [{"role": "user", "content": "Describe a person with a name and an age as JSON."}]
    res = client.complete_structured(Person, "task_writer", SPEC, msgs, stage="self_instruct")
    assert res.ok, (res.raw, res.error)
    assert isinstance(res.value, Person)
    records = read_ledger(tmp_path / "ledger.jsonl")
    assert records and records[0].model == "local/smollm2" and records[0].stage == "self_instruct"
    assert records[0].cost == 0.0 and records[0].prompt_tokens > 0 and records[0].completion_tokens > 0
    assert records[0].error == "" and not records[0].cache_hit
    # re-running the stage is free: served from the workspace cache
    again = client.complete_structured(Person, "task_writer", SPEC, msgs, stage="self_instruct")
    assert again.value == res.value
    assert read_ledger(tmp_path / "ledger.jsonl")[-1].cache_hit


def test_plain_completion_is_deterministic(tmp_path):
    client = ModelClient(tmp_path / "cache", JsonlLedger(tmp_path / "ledger.jsonl"), use_cache=False)
    msgs = [{"role": "user", "content": "Say hello."}]
    spec = ModelSpec(model="local/smollm2", max_tokens=8)
    res = client.complete("actor", spec, msgs)
    assert res.text and res.completion_tokens <= 8 and res.cost == 0.0
    again = client.complete("actor", spec, msgs)
    assert again.text == res.text  # greedy decoding is deterministic


def test_streaming_through_litellm():
    litellm = import_litellm()
    chunks = litellm.completion(
        model="local/smollm2",
        messages=[{"role": "user", "content": "Count: 1, 2,"}],
        max_tokens=6,
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.strip()

    async def astream() -> str:
        resp = await litellm.acompletion(
            model="local/smollm2",
            messages=[{"role": "user", "content": "Count: 1, 2,"}],
            max_tokens=6,
            stream=True,
        )
        return "".join([c.choices[0].delta.content or "" async for c in resp])

    assert asyncio.run(astream()) == text


def test_prompt_longer_than_context_is_a_clear_error(tmp_path):
    sleeps: list[float] = []
    client = ModelClient(tmp_path, sleep=sleeps.append)
    with pytest.raises(ModelCallError, match="context window") as info:
        client.complete("actor", SPEC, [{"role": "user", "content": "word " * 9000}])
    assert info.value.model == "local/smollm2" and sleeps == []  # a bad request is not retried


def test_local_sentence_transformer_embedder():
    from studio.llm.embedders import LocalSTEmbedder

    e = LocalSTEmbedder()
    batch = e.embed_batch(["open a file in the text editor", "open a document in mousepad", "add 2 and 3"])
    assert batch.vectors.shape == (3, 384) and batch.vectors.dtype == np.float32
    assert batch.model == "all-MiniLM-L6-v2" and batch.dim == 384
    v = batch.vectors
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_prompt_state_cache_stays_inside_its_bound_and_answers_the_same(tmp_path):
    """Real SmolLM2: prompts that share a long prefix, in turn, restore saved states (one score row each, real
    bytes within the capacity) and answer exactly as without any cache."""
    from studio.llm.local_provider import bounded_ram_cache, get_llama, state_bytes

    llm = get_llama("smollm2")
    old = llm.cache
    shared = "Here is a long shared text about calculators and terminals. " * 30
    prompts = [shared + f"Question {i}: name one colour." for i in range(4)]
    try:
        llm.set_cache(None)
        plain = [llm.create_completion(p, max_tokens=8, temperature=0.0)["choices"][0]["text"] for p in prompts]
        cache = bounded_ram_cache(64 << 20)
        llm.set_cache(cache)
        cached = [llm.create_completion(p, max_tokens=8, temperature=0.0)["choices"][0]["text"] for p in prompts]
        cached.append(llm.create_completion(prompts[0], max_tokens=8, temperature=0.0)["choices"][0]["text"])
    finally:
        llm.set_cache(old)
    assert cached == [*plain, plain[0]]
    states = list(cache.cache_state.values())
    assert states and all(s.scores.shape[0] == 1 for s in states)
    assert sum(state_bytes(s) for s in states) <= 64 << 20
