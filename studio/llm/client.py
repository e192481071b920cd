"""``ModelClient``: the one way every stage talks to a model (litellm underneath).

Per call: pick the standard parameters the provider supports, read the API key from the environment (never
stored or logged), look in the on-disk cache, limit concurrency per model, retry transient failures (tenacity) with
exponential backoff, and write one ledger record (hits and errors included). Failures surface as
``MissingAPIKeyError`` or ``ModelCallError`` naming the model and role.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from studio.config import ModelSpec
from studio.errors import MissingAPIKeyError, ModelCallError
from studio.llm.cache import CACHE_DIR_NAME, ResponseCache, cache_key, model_identity
from studio.llm.ledger import LEDGER_NAME, JsonlLedger, LedgerRecord, LedgerSink, NullLedger
from studio.llm.structured import (
    StructuredResult,
    json_schema_format,
    parse_structured,
    repair_message,
    schema_instruction,
)

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)

#: Environment variable litellm reads for each hosted provider (named in MissingAPIKeyError).
PROVIDER_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "cohere": "COHERE_API_KEY",
}
#: The only request parameters ever sent (standard OpenAI ones), filtered further by provider support.
STANDARD_PARAMS = ("temperature", "max_tokens", "top_p", "seed")
NO_KEY = "no-key"  # OpenAI-compatible local servers want some key; they ignore its value.
CACHE_VERSION = 2  # 2: keys include the model identity (local file hash, api_base, revision)


def import_litellm() -> Any:
    """Import litellm with the offline cost map and the ``local`` provider registered."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    from studio.llm.local_provider import register_local_provider

    register_local_provider()
    return litellm


def _transient_types(litellm: Any) -> tuple[type[BaseException], ...]:
    return (
        litellm.RateLimitError,
        litellm.APIConnectionError,
        litellm.Timeout,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
    )


def is_transient(exc: BaseException, litellm: Any | None = None) -> bool:
    """True for rate limits, connection errors, timeouts and 5xx; False for bad requests and auth errors."""
    litellm = litellm or import_litellm()
    if isinstance(exc, (litellm.BadRequestError, litellm.AuthenticationError, litellm.NotFoundError)):
        return False
    if isinstance(exc, _transient_types(litellm)):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status >= 500 or status == 429)


@dataclass(frozen=True)
class ChatResult:
    """A completed call. ``cost`` is USD spent by this call (0 for cache hits and local models)."""

    text: str
    model: str
    role: str
    stage: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    cache_hit: bool = False
    finish_reason: str = "stop"


class _Failed(Exception):
    """One failed provider call (the retry policy decides whether to try again)."""

    def __init__(self, exc: BaseException, latency: float) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.latency = latency


@dataclass
class _Prepared:
    kwargs: dict[str, Any]  # everything sent to litellm except the API key
    key: str
    provider: str
    api_key: str | None


class ModelClient:
    """Calls models for every pipeline role, with cache, ledger, retries and per-model concurrency limits.

    Args:
        cache: A ``ResponseCache``, a directory for one, or None for the default user cache directory.
        ledger: Where call records go (``JsonlLedger``, a workspace store, ...). None discards them.
        use_cache: Default for the ``use_cache`` argument of each call (the CLI's ``--no-cache`` sets False).
        backoff_base: First retry delay in seconds; doubles per retry (with up to 25% jitter).
        backoff_max: Longest delay between retries.
        sleep: Sleep function between retries (tests patch it).
    """

    def __init__(
        self,
        cache: ResponseCache | Path | str | None = None,
        ledger: LedgerSink | None = None,
        *,
        use_cache: bool = True,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        sleep: Any = time.sleep,
    ) -> None:
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.ledger: LedgerSink = ledger if ledger is not None else NullLedger()
        self.use_cache = use_cache
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._sems: dict[tuple[str, str], threading.Semaphore] = {}
        self._sem_lock = threading.Lock()

    @classmethod
    def for_workspace(cls, workspace: Path | str, *, use_cache: bool = True, **kwargs: Any) -> ModelClient:
        """A client caching in ``<workspace>/llm-cache`` and recording to ``<workspace>/ledger.jsonl``."""
        ws = Path(workspace)
        return cls(ws / CACHE_DIR_NAME, JsonlLedger(ws / LEDGER_NAME), use_cache=use_cache, **kwargs)

    # ------------------------------------------------------------------ preparation

    def _api_key(self, role: str, spec: ModelSpec, provider: str, litellm: Any) -> str | None:
        if provider == "local":
            return None
        if spec.api_key_env:
            value = os.environ.get(spec.api_key_env)
            if not value:
                raise MissingAPIKeyError(
                    f"role '{role}' uses model '{spec.model}', which needs an API key: set the environment "
                    f"variable {spec.api_key_env} (named by api_key_env in studio.toml).",
                    model=spec.model,
                    role=role,
                )
            return value
        env = PROVIDER_KEY_ENV.get(provider)
        if spec.api_base:
            return (os.environ.get(env) if env else None) or NO_KEY
        if env:
            if not os.environ.get(env):
                raise MissingAPIKeyError(
                    f"role '{role}' uses model '{spec.model}', which needs an API key: set the environment "
                    f"variable {env} (or name another variable with api_key_env in studio.toml).",
                    model=spec.model,
                    role=role,
                )
            return None
        try:
            missing = litellm.validate_environment(model=spec.model).get("missing_keys") or []
        except Exception:  # noqa: BLE001 - unknown providers: let the call itself decide
            missing = []
        if missing:
            raise MissingAPIKeyError(
                f"role '{role}' uses model '{spec.model}', which needs: set the environment variable(s) "
                f"{', '.join(missing)}.",
                model=spec.model,
                role=role,
            )
        return None

    def _prepare(
        self,
        role: str,
        spec: ModelSpec,
        messages: list[dict[str, Any]],
        schema: type[BaseModel] | None,
        cache_salt: str,
    ) -> _Prepared:
        litellm = import_litellm()
        try:
            _, provider, _, _ = litellm.get_llm_provider(model=spec.model, api_base=spec.api_base)
        except Exception as exc:  # noqa: BLE001 - litellm raises BadRequestError for unknown providers
            raise ModelCallError(
                f"role '{role}': litellm does not know the provider of model '{spec.model}'. Use a "
                "'provider/model' string such as 'openai/gpt-4o-mini' or 'local/smollm2'.",
                model=spec.model,
                role=role,
            ) from exc
        api_key = self._api_key(role, spec, provider, litellm)
        supported: list[str] | None = None
        if provider != "local":
            try:
                supported = litellm.get_supported_openai_params(model=spec.model, custom_llm_provider=provider)
            except Exception:  # noqa: BLE001
                supported = None
        params: dict[str, Any] = {}
        for name in STANDARD_PARAMS:
            value = getattr(spec, name)
            if value is None:
                continue
            if supported is not None and name not in supported:
                log.debug("not sending %s to %s: the provider does not support it", name, spec.model)
                continue
            params[name] = value
        if schema is not None:
            messages = _with_instruction(messages, schema_instruction(schema))
            rf = self._response_format(spec, provider, schema, supported, litellm)
            if rf is not None:
                params["response_format"] = rf
        kwargs: dict[str, Any] = {"model": spec.model, "messages": messages, **params}
        if spec.api_base:
            kwargs["api_base"] = spec.api_base
        identity = model_identity(spec.model, provider, spec.api_base, spec.revision)
        key = cache_key({"v": CACHE_VERSION, **kwargs, "salt": cache_salt, "identity": identity})
        kwargs["timeout"] = spec.timeout
        kwargs["max_retries"] = 0  # SDK-side setting (never sent): this client does the retries
        return _Prepared(kwargs=kwargs, key=key, provider=provider, api_key=api_key)

    @staticmethod
    def _response_format(
        spec: ModelSpec, provider: str, schema: type[BaseModel], supported: list[str] | None, litellm: Any
    ) -> dict[str, Any] | None:
        if provider == "local":
            return json_schema_format(schema)  # translated to json_object+schema by the local provider
        if supported is not None and "response_format" not in supported:
            return None
        if not spec.api_base:
            try:
                if litellm.supports_response_schema(model=spec.model, custom_llm_provider=provider):
                    return json_schema_format(schema)
            except Exception:  # noqa: BLE001
                pass
        # OpenAI-compatible servers (vLLM, llama.cpp, Ollama) all accept plain JSON mode.
        return {"type": "json_object"}

    # ------------------------------------------------------------------ bookkeeping

    def _semaphore(self, spec: ModelSpec) -> threading.Semaphore:
        k = (spec.model, spec.api_base or "")
        with self._sem_lock:
            if k not in self._sems:
                self._sems[k] = threading.Semaphore(max(1, spec.concurrency))
            return self._sems[k]

    def _delay(self, attempt: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * (2**attempt)) * (1.0 + 0.25 * random.random()))

    def _cached(self, prep: _Prepared, role: str, stage: str, use_cache: bool) -> ChatResult | None:
        if not use_cache:
            return None
        hit = self.cache.get(prep.key)
        if hit is None:
            return None
        model = prep.kwargs["model"]
        self.ledger.append(LedgerRecord(stage=stage, role=role, model=model, cache_hit=True))
        return ChatResult(
            text=hit.get("text", ""),
            model=model,
            role=role,
            stage=stage,
            prompt_tokens=hit.get("prompt_tokens", 0),
            completion_tokens=hit.get("completion_tokens", 0),
            cost=0.0,
            cache_hit=True,
            finish_reason=hit.get("finish_reason", "stop"),
        )

    def _success(self, prep: _Prepared, response: Any, role: str, stage: str, latency: float) -> ChatResult:
        litellm = import_litellm()
        choice = response.choices[0]
        text = choice.message.content or ""
        usage = getattr(response, "usage", None)
        pt = int(getattr(usage, "prompt_tokens", 0) or 0)
        ct = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = 0.0
        if prep.provider != "local":
            try:
                cost = float(litellm.completion_cost(completion_response=response) or 0.0)
            except Exception:  # noqa: BLE001 - models missing from the cost map cost "unknown" = 0
                cost = 0.0
        model = prep.kwargs["model"]
        result = ChatResult(
            text=text,
            model=model,
            role=role,
            stage=stage,
            prompt_tokens=pt,
            completion_tokens=ct,
            cost=cost,
            latency_s=latency,
            finish_reason=str(choice.finish_reason or "stop"),
        )
        self.cache.put(
            prep.key,
            {
                "text": text,
                "finish_reason": result.finish_reason,
                "prompt_tokens": pt,
                "completion_tokens": ct,
                "cost": cost,
                "model": model,
                "created": time.time(),
            },
        )
        self.ledger.append(
            LedgerRecord(
                stage=stage,
                role=role,
                model=model,
                prompt_tokens=pt,
                completion_tokens=ct,
                cost=cost,
                latency_s=latency,
            )
        )
        return result

    def _record_retry(self, prep: _Prepared, exc: BaseException, role: str, stage: str, latency: float) -> None:
        msg = _scrub(str(exc), prep.api_key)[:200]
        self.ledger.append(
            LedgerRecord(
                stage=stage,
                role=role,
                model=prep.kwargs["model"],
                latency_s=latency,
                error=f"retried: {type(exc).__name__}: {msg}",
            )
        )

    def _failure(
        self, prep: _Prepared, exc: BaseException, role: str, stage: str, latency: float, attempts: int
    ) -> ModelCallError:
        litellm = import_litellm()
        model = prep.kwargs["model"]
        msg = _scrub(str(exc), prep.api_key)
        short = f"{type(exc).__name__}: {msg[:500]}"
        self.ledger.append(LedgerRecord(stage=stage, role=role, model=model, latency_s=latency, error=short[:300]))
        hint = ""
        if isinstance(exc, litellm.AuthenticationError):
            hint = " Check the API key in the environment variable for this provider (or api_key_env)."
        elif isinstance(exc, litellm.NotFoundError):
            hint = " Check the model name in studio.toml."
        elif isinstance(exc, litellm.BadRequestError):
            hint = " The provider refused the request: check max_tokens, context length and parameters."
        elif prep.kwargs.get("api_base") and is_transient(exc, litellm):
            hint = f" Is the server at {prep.kwargs['api_base']} running?"
        return ModelCallError(
            f"role '{role}' model '{model}' failed after {attempts} attempt(s): {short}.{hint}",
            model=model,
            role=role,
        )

    def _call_kwargs(self, prep: _Prepared) -> dict[str, Any]:
        kw = dict(prep.kwargs)
        if prep.api_key is not None:
            kw["api_key"] = prep.api_key
        return kw

    # ------------------------------------------------------------------ public API

    def complete(
        self,
        role: str,
        spec: ModelSpec,
        messages: list[dict[str, Any]],
        *,
        stage: str = "",
        schema: type[BaseModel] | None = None,
        use_cache: bool | None = None,
        cache_salt: str = "",
    ) -> ChatResult:
        """Call ``spec.model`` for ``role`` (blocking).

        Args:
            role: Role name (task_writer, actor, backward_writer, judge, query_writer).
            spec: The role's model and options.
            messages: OpenAI-style chat messages.
            stage: Pipeline stage name for the ledger.
            schema: Ask for JSON matching this pydantic model (use ``complete_structured`` to validate).
            use_cache: Override the client's default; False always calls the model (and refreshes the cache).
            cache_salt: Extra cache-key text, e.g. a sample index to get several samples of one prompt.

        Raises:
            MissingAPIKeyError: The provider's key variable is not set.
            ModelCallError: The provider failed (after retries for transient errors).
        """
        use_cache = self.use_cache if use_cache is None else use_cache
        prep = self._prepare(role, spec, messages, schema, cache_salt)
        hit = self._cached(prep, role, stage, use_cache)
        if hit is not None:
            return hit
        litellm = import_litellm()
        attempts = spec.max_retries + 1

        def call() -> tuple[Any, float]:
            t0 = time.perf_counter()
            try:
                with self._semaphore(spec):
                    response = litellm.completion(**self._call_kwargs(prep))
            except Exception as exc:  # noqa: BLE001 - classified by the retry policy
                raise _Failed(exc, time.perf_counter() - t0) from exc
            return response, time.perf_counter() - t0

        def before_sleep(state: RetryCallState) -> None:
            failed = state.outcome.exception() if state.outcome is not None else None
            if isinstance(failed, _Failed):
                log.info("%s (%s) transient error, retrying: %s", role, spec.model, type(failed.exc).__name__)
                self._record_retry(prep, failed.exc, role, stage, failed.latency)

        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=lambda state: self._delay(state.attempt_number - 1),
            retry=retry_if_exception(lambda e: isinstance(e, _Failed) and is_transient(e.exc, litellm)),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response, latency = retrying(call)
        except _Failed as failed:
            tries = int(retrying.statistics.get("attempt_number", attempts))
            raise self._failure(prep, failed.exc, role, stage, failed.latency, tries) from None
        return self._success(prep, response, role, stage, latency)

    def complete_structured(
        self,
        schema: type[T],
        role: str,
        spec: ModelSpec,
        messages: list[dict[str, Any]],
        *,
        stage: str = "",
        use_cache: bool | None = None,
        cache_salt: str = "",
    ) -> StructuredResult[T]:
        """Ask for JSON matching ``schema``; validate; on failure repair once with the error appended.

        Bad model output never raises: it returns ``StructuredResult(ok=False, raw=..., error=...)``.
        Provider failures still raise ``ModelCallError`` / ``MissingAPIKeyError``.
        """
        first = self.complete(
            role, spec, messages, stage=stage, schema=schema, use_cache=use_cache, cache_salt=cache_salt
        )
        value, error = parse_structured(schema, first.text)
        if value is not None:
            return StructuredResult(ok=True, value=value, raw=first.text, attempts=1)
        repair = [*messages, {"role": "assistant", "content": first.text}, repair_message(error or "")]
        second = self.complete(
            role, spec, repair, stage=stage, schema=schema, use_cache=use_cache, cache_salt=cache_salt
        )
        value, error2 = parse_structured(schema, second.text)
        if value is not None:
            return StructuredResult(ok=True, value=value, raw=second.text, attempts=2)
        return StructuredResult(ok=False, value=None, raw=second.text, error=error2, attempts=2)


def _with_instruction(messages: list[dict[str, Any]], instruction: str) -> list[dict[str, Any]]:
    """Append the JSON instruction to the last user message (or add one at the end).

    Appending keeps the start of the prompt (documentation, trajectory) the same for every schema, so a
    local model reuses the evaluated prefix across the calls of a stage (see ``local_provider``).
    """
    for k in range(len(messages) - 1, -1, -1):
        m = messages[k]
        if m.get("role") != "user":
            continue
        content = m.get("content")
        if isinstance(content, list):  # multi-part (text + image): one more text part
            content = [*content, {"type": "text", "text": instruction}]
        else:
            content = f"{content or ''}\n\n{instruction}"
        return [*messages[:k], {**m, "content": content}, *messages[k + 1 :]]
    return [*messages, {"role": "user", "content": instruction}]


def _scrub(text: str, secret: str | None) -> str:
    if secret and secret != NO_KEY and len(secret) >= 6:
        text = text.replace(secret, "***")
    return text
