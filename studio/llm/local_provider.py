"""Offline models run in-process by llama-cpp-python: ``local/smollm2``, ``local/qwen2.5-coder-0.5b``, ``-1.5b``.

Registered as a litellm custom provider named ``local``, so ``model = "local/qwen2.5-coder-1.5b"`` works anywhere
a litellm model string does, with no server and no key. The files and where they come from are listed in
:mod:`studio.llm.models`. Each model file is loaded once per process, on first use, and guarded by its own lock
(llama.cpp contexts are not thread-safe); different models may run at the same time.

Prompt prefixes are reused across calls: llama.cpp skips evaluating the tokens a new prompt shares with the
previous one, and a ``LlamaRAMCache`` keeps the states of recent prompts, so calls of one role that share a long
beginning (the documentation, the trajectory) only evaluate what differs even when other roles' calls ran in
between. Prompts are laid out with the shared text first for this reason.

``response_format`` of type ``json_schema`` is translated to ``{"type": "json_object", "schema": ...}``, which
llama.cpp turns into a grammar (it silently ignores ``json_schema``).

Environment: ``STUDIO_LOCAL_GGUF`` overrides the model file of every ``local/`` model; ``STUDIO_LOCAL_N_CTX``
(default 8192) and ``STUDIO_LOCAL_THREADS`` (default 2, or 1 on a busy machine) tune the context and threads;
``STUDIO_LOCAL_PROMPT_CACHE_MB`` (default 1024, 0 = off) caps the RAM of the prompt-state cache per model.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import ModelCallError, ModelInstallError

PROVIDER = "local"
MAX_LOADED = 3  # model files kept loaded at once (the least recently used one is dropped)

_loaded: dict[str, _Loaded] = {}
_load_lock = threading.Lock()
_registered = False


@dataclass
class _Loaded:
    llm: Any
    lock: threading.Lock
    used: float


def gguf_path(name: str = "smollm2") -> Path:
    """Path of the GGUF file for local model ``name`` (or ``$STUDIO_LOCAL_GGUF``).

    Raises:
        ModelCallError: Unknown name, or the file is not installed (says how to install it).
    """
    override = os.environ.get("STUDIO_LOCAL_GGUF")
    if override:
        return Path(override)
    from studio.llm.models import LOCAL_MODELS, model_file

    try:
        path = model_file(name)
    except ModelInstallError as exc:
        known = ", ".join("local/" + m for m in LOCAL_MODELS)
        hint = f" Known: {known}; or set STUDIO_LOCAL_GGUF to a .gguf file." if name not in LOCAL_MODELS else ""
        raise ModelCallError(f"{exc}{hint}", model=f"local/{name}") from exc
    if not path.is_file():
        raise ModelCallError(
            f"the offline model local/{name} is not installed ({path} does not exist). Install it with "
            f"`python -m studio.llm.models install {name}` (make setup does it), or point STUDIO_MODELS at the "
            "directory that holds it.",
            model=f"local/{name}",
        )
    return path


def default_threads() -> int:
    """``$STUDIO_LOCAL_THREADS``, else 2 — or 1 when the CPUs are already busy.

    llama.cpp's threads wait for each other at every step: on 2 oversubscribed cores (load average 13) two
    threads decoded at 1 tok/s and one thread at 2-4 tok/s.
    """
    env = os.environ.get("STUDIO_LOCAL_THREADS")
    if env:
        return max(1, int(env))
    cpus = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] >= cpus
    except OSError:
        busy = False
    return 1 if busy or cpus < 2 else 2


def _load(name: str, path: str) -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelCallError(
            "llama-cpp-python is not installed, so the offline model cannot run. "
            "Run `make setup` (it builds and caches the wheel) or "
            "pip install 'llama-cpp-python>=0.3.36,<0.4'.",
            model=f"local/{name}",
        ) from exc
    threads = default_threads()
    llm = llama_cpp.Llama(
        model_path=path,
        n_ctx=int(os.environ.get("STUDIO_LOCAL_N_CTX", "8192")),
        n_threads=threads,
        n_threads_batch=threads,  # llama-cpp-python's default is every CPU: on a busy machine they spin-wait
        verbose=False,
    )
    cache_mb = int(os.environ.get("STUDIO_LOCAL_PROMPT_CACHE_MB", "1024"))
    if cache_mb > 0:
        llm.set_cache(bounded_ram_cache(cache_mb << 20))
    return llm


def state_bytes(state: Any) -> int:
    """What a saved prompt state really holds in RAM: the llama.cpp state plus its token ids and scores."""
    return int(state.llama_state_size) + int(state.input_ids.nbytes) + int(state.scores.nbytes)


def bounded_ram_cache(capacity_bytes: int) -> Any:
    """A ``LlamaRAMCache`` whose capacity bounds the RAM it really uses.

    llama-cpp-python's own cache counts only the llama.cpp state of each saved prompt, but every state also
    carries a copy of the model's score rows (``n_batch`` x vocabulary floats: 311 MB for a Qwen model, 100 MB
    for SmolLM2), so a "1 GiB" cache grew to 6-12 GB and the kernel killed the process (a 12 GB benchmark
    process, 2026-12-02). Here a state keeps only its last score row (llama.cpp re-evaluates at least one token
    after every restore, so the rows are recomputed before anything is sampled or scored) and the bound counts
    everything a state holds (:func:`state_bytes`).
    """
    import llama_cpp

    exported: Any = llama_cpp  # LlamaRAMCache is re-exported by a star import mypy does not follow

    class BoundedRAMCache(exported.LlamaRAMCache):  # type: ignore[misc]
        @property
        def cache_size(self) -> int:
            return sum(state_bytes(s) for s in self.cache_state.values())

        def __setitem__(self, key: Any, value: Any) -> None:
            if len(value.scores) > 1:
                value.scores = value.scores[-1:].copy()
            super().__setitem__(key, value)

    return BoundedRAMCache(capacity_bytes=capacity_bytes)


def _entry(name: str) -> _Loaded:
    path = str(gguf_path(name))
    with _load_lock:
        entry = _loaded.get(path)
        if entry is None:
            if len(_loaded) >= MAX_LOADED:
                oldest = min(_loaded, key=lambda k: _loaded[k].used)
                with _loaded[oldest].lock:  # never drop a model mid-call
                    del _loaded[oldest]
            entry = _loaded[path] = _Loaded(_load(name, path), threading.Lock(), time.monotonic())
        entry.used = time.monotonic()
        return entry


def get_llama(name: str = "smollm2") -> Any:
    """The process-wide ``llama_cpp.Llama`` for ``name``, loaded on first call."""
    return _entry(name).llm


def translate_response_format(rf: dict[str, Any] | None) -> dict[str, Any] | None:
    """Turn an OpenAI ``json_schema`` response format into llama.cpp's ``json_object`` + ``schema``."""
    if not rf:
        return None
    if rf.get("type") == "json_schema":
        schema = (rf.get("json_schema") or {}).get("schema")
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    if rf.get("type") in ("json_object", "text"):
        return rf
    return None


def _llama_kwargs(optional_params: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for key in ("temperature", "top_p", "max_tokens", "seed", "stop"):
        if optional_params.get(key) is not None:
            kw[key] = optional_params[key]
    rf = translate_response_format(optional_params.get("response_format"))
    if rf is not None:
        kw["response_format"] = rf
    return kw


def _text_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """llama.cpp's chat templates want string content: keep the text parts of multi-part messages."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        out.append({"role": m.get("role", "user"), "content": content or ""})
    return out


def _run(model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> dict[str, Any]:
    import litellm

    entry = _entry(model)
    with entry.lock:
        try:
            out: dict[str, Any] = entry.llm.create_chat_completion(
                messages=_text_messages(messages), **_llama_kwargs(optional_params)
            )
            return out
        except ValueError as exc:  # e.g. "Requested tokens (9000) exceed context window of 8192"
            raise litellm.exceptions.BadRequestError(
                message=str(exc), model=f"local/{model}", llm_provider=PROVIDER
            ) from exc


def _fill(model_response: Any, out: dict[str, Any], model: str) -> Any:
    import litellm

    choice = out["choices"][0]
    model_response.choices[0].message.content = choice["message"].get("content") or ""
    model_response.choices[0].finish_reason = choice.get("finish_reason") or "stop"
    usage = out.get("usage") or {}
    model_response.model = f"{PROVIDER}/{model}"
    model_response.created = int(time.time())
    model_response.usage = litellm.Usage(
        prompt_tokens=usage.get("prompt_tokens", 0),
        completion_tokens=usage.get("completion_tokens", 0),
        total_tokens=usage.get("total_tokens", 0),
    )
    return model_response


def _make_handler_class() -> type:
    import asyncio

    from litellm.llms.custom_llm import CustomLLM

    class LocalLlamaLLM(CustomLLM):
        """litellm custom provider running llama.cpp in-process (cost 0)."""

        def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            optional_params = kwargs.get("optional_params") or {}
            return _fill(kwargs["model_response"], _run(model, messages, optional_params), model)

        async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            optional_params = kwargs.get("optional_params") or {}
            out = await asyncio.to_thread(_run, model, messages, optional_params)
            return _fill(kwargs["model_response"], out, model)

        def streaming(  # type: ignore[override]
            self, model: str, messages: list[Any], *args: Any, **kwargs: Any
        ) -> Iterator[dict[str, Any]]:
            optional_params = kwargs.get("optional_params") or {}
            entry = _entry(model)
            with entry.lock:
                stream = entry.llm.create_chat_completion(
                    messages=_text_messages(messages), stream=True, **_llama_kwargs(optional_params)
                )
                n = 0
                for chunk in stream:
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content") or ""
                    n += 1 if text else 0
                    finish = choice.get("finish_reason")
                    yield {
                        "text": text,
                        "is_finished": finish is not None,
                        "finish_reason": finish or "",
                        "usage": ({"prompt_tokens": 0, "completion_tokens": n, "total_tokens": n} if finish else None),
                        "index": 0,
                        "tool_use": None,
                    }

        async def astreaming(  # type: ignore[override]
            self, model: str, messages: list[Any], *args: Any, **kwargs: Any
        ) -> AsyncIterator[dict[str, Any]]:
            # Generate in worker threads so the event loop is never blocked by llama.cpp.
            it = iter(self.streaming(model, messages, *args, **kwargs))
            while True:
                chunk = await asyncio.to_thread(next, it, None)
                if chunk is None:
                    return
                yield chunk

    return LocalLlamaLLM


def register_local_provider() -> None:
    """Register the ``local`` provider with litellm (idempotent; imports litellm)."""
    global _registered
    if _registered:
        return
    import litellm

    if not any(p.get("provider") == PROVIDER for p in litellm.custom_provider_map):
        handler = _make_handler_class()()
        litellm.custom_provider_map = [
            *litellm.custom_provider_map,
            {"provider": PROVIDER, "custom_handler": handler},
        ]
        from litellm import utils as litellm_utils

        setup: Callable[[], None] = litellm_utils.custom_llm_setup  # untyped in litellm
        setup()
    _registered = True


@contextmanager
def using_llama(name: str) -> Iterator[Any]:
    """The loaded ``llama_cpp.Llama`` for local model ``name``, held exclusively for the ``with`` block.

    For callers that need more than chat completions (log-probabilities of chosen tokens, see
    :mod:`studio.llm.yes_no`); the same lock as the litellm path, so the two never interleave on one context.
    """
    entry = _entry(name)
    with entry.lock:
        entry.used = time.monotonic()
        yield entry.llm
