"""Vision helpers and the dependency-free parts of the embedders."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from envs.actions import Click, scale_action
from studio.config import EmbedderSpec, ModelSpec
from studio.errors import EmbeddingMismatchError
from studio.llm.embedders import Embeddings, LexicalEmbedder, LiteLLMEmbedder, LocalSTEmbedder, make_embedder
from studio.llm.vision import image_part, supports_vision


def png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def decode(part: dict) -> Image.Image:
    url = part["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_image_part_downscales_and_returns_scale():
    part, scale = image_part(png(2560, 1600), max_side=1280)
    assert scale == 0.5 and decode(part).size == (1280, 800)
    # a click at (640, 400) on the shown image is (1280, 800) on the screen
    assert scale_action(Click(x=640, y=400), scale) == Click(x=1280, y=800)


def test_image_part_keeps_small_images():
    part, scale = image_part(png(800, 600), max_side=1280)
    assert scale == 1.0 and decode(part).size == (800, 600)


def test_supports_vision_explicit_and_local():
    assert supports_vision(ModelSpec(model="openai/x", vision=True))
    assert not supports_vision(ModelSpec(model="openai/gpt-4o", vision=False))
    assert not supports_vision(ModelSpec(model="local/smollm2"))


def test_supports_vision_asks_litellm():
    assert supports_vision(ModelSpec(model="openai/gpt-4o"))
    assert not supports_vision(ModelSpec(model="openai/some-unknown-model-xyz"))


def test_lexical_embedder_is_normalized_and_deterministic():
    e = LexicalEmbedder()
    v = e.embed(["Open a file in Mousepad", "open the file in mousepad", "compute 2+2", ""])
    assert v.shape == (4, 256) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0) and not v[3].any()
    assert v[0] @ v[1] > v[0] @ v[2]
    assert np.array_equal(v, e.embed(["Open a file in Mousepad", "open the file in mousepad", "compute 2+2", ""]))


def test_embeddings_carry_model_and_dim():
    batch = LexicalEmbedder().embed_batch(["a b"])
    assert isinstance(batch, Embeddings) and batch.model == "lexical-hash-256" and batch.dim == 256
    batch.check_compatible("lexical-hash-256", 256)
    with pytest.raises(EmbeddingMismatchError, match="all-MiniLM-L6-v2"):
        batch.check_compatible("all-MiniLM-L6-v2", 384)
    with pytest.raises(EmbeddingMismatchError):
        LexicalEmbedder().check_compatible("lexical-hash-256", 128)


def test_make_embedder_backends():
    assert isinstance(make_embedder(EmbedderSpec(backend="lexical")), LexicalEmbedder)
    local = make_embedder(EmbedderSpec())
    assert isinstance(local, LocalSTEmbedder) and local.dim == 384  # known without loading torch
    assert isinstance(make_embedder(EmbedderSpec(backend="litellm", model="openai/x")), LiteLLMEmbedder)


def test_litellm_embedder_sends_key_and_checks_count(monkeypatch):
    from studio.errors import ModelCallError
    from studio.llm.client import import_litellm
    from studio.llm.ledger import MemoryLedger

    litellm = import_litellm()
    real = litellm.embedding
    calls = []

    def fake(**kw):
        calls.append(kw)
        if kw["input"] == ["one", "two"]:  # litellm's mock returns a single vector: a count mismatch
            return real(**kw, mock_response=[0.5, 0.5, 0.0])
        data = [
            {"object": "embedding", "index": i, "embedding": [float(i + 1), 1.0, 0.0]} for i in range(len(kw["input"]))
        ]
        return litellm.EmbeddingResponse(
            model="text-embedding-3-small", data=data, usage=litellm.Usage(prompt_tokens=3)
        )

    monkeypatch.setattr(litellm, "embedding", fake)
    monkeypatch.setenv("EMB_KEY", "sk-x")
    ledger = MemoryLedger()
    spec = EmbedderSpec(backend="litellm", model="openai/text-embedding-3-small", api_key_env="EMB_KEY")
    e = LiteLLMEmbedder(spec, ledger=ledger)
    v = e.embed(["a", "b"])
    assert v.shape == (2, 3) and v.dtype == np.float32 and e.dim == 3
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert calls[0]["api_key"] == "sk-x" and ledger.records[0].kind == "embed"
    with pytest.raises(ModelCallError, match="1 vectors for 2 texts"):
        e.embed(["one", "two"])


def test_vision_policy_maps_coordinates_of_a_downscaled_screenshot_back_to_the_screen():
    from envs.observation import Observation
    from studio.pipeline.agent.policies import ModelPolicy, StepContext

    sent: list[list[dict]] = []

    def complete(messages: list[dict]) -> tuple[str, dict]:
        sent.append(messages)
        return "REASON: press it\nACTION: pyautogui.click(640, 400)", {}

    obs = Observation(png(2560, 1600), 2560, 1600)
    decision = ModelPolicy(complete, vision=True).decide(StepContext("Press OK", obs))
    assert decision.actions == [Click(x=1280, y=800)]  # shown at half size: (640, 400) on it is (1280, 800)
    text, image = sent[0][0]["content"]
    assert "scaled by 0.5000" in text["text"] and decode(image).size == (1280, 800)
    small = ModelPolicy(complete, vision=True).decide(StepContext("Press OK", Observation(png(800, 600), 800, 600)))
    assert small.actions == [Click(x=640, y=400)]
