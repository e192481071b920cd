"""The models layer: one litellm client for every role, an offline local model, cache, ledger, embeddings.

Importing this package is cheap: litellm, llama.cpp and torch load on first use.

    from studio.llm import ModelClient
    client = ModelClient.for_workspace(ws_dir)            # cache in ws/llm-cache, ledger in ws/ledger.jsonl
    res = client.complete_structured(MySchema, "judge", cfg.roles.judges[0], messages, stage="committee")
    if res.ok: use(res.value) else: keep(res.raw, res.error)
"""

from studio.llm.cache import ResponseCache, cache_key
from studio.llm.client import ChatResult, ModelClient
from studio.llm.embedders import (
    Embedder,
    Embeddings,
    LexicalEmbedder,
    LiteLLMEmbedder,
    LocalSTEmbedder,
    check_compatible,
    make_embedder,
)
from studio.llm.ledger import (
    JsonlLedger,
    LedgerRecord,
    LedgerSink,
    MemoryLedger,
    NullLedger,
    read_ledger,
    summarize,
)
from studio.llm.structured import StructuredResult, extract_json
from studio.llm.vision import image_part, supports_vision

__all__ = [
    "ChatResult",
    "Embedder",
    "Embeddings",
    "JsonlLedger",
    "LedgerRecord",
    "LedgerSink",
    "LexicalEmbedder",
    "LiteLLMEmbedder",
    "LocalSTEmbedder",
    "MemoryLedger",
    "ModelClient",
    "NullLedger",
    "ResponseCache",
    "StructuredResult",
    "cache_key",
    "check_compatible",
    "extract_json",
    "image_part",
    "make_embedder",
    "read_ledger",
    "summarize",
    "supports_vision",
]
