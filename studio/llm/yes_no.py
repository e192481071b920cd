"""Token log-probabilities from an in-process ``local/`` model, for judges that compare instead of asking.

Two scores, both read straight from llama.cpp's logits (no sampling, no text to parse):

* :meth:`LocalScorer.answer_logits`: the next-token logits of given answers after a prompt, e.g.
  ``log P(yes) - log P(no)`` (the log-odds of answering yes; the softmax normalizer cancels).
* :meth:`LocalScorer.reply_logprob`: ``log P(reply | prompt)``, the sum of the log-probabilities of the
  reply's tokens as the assistant's answer to the prompt. Comparing it for one instruction with and without the
  trajectory in the prompt (pointwise mutual information) says how much the trajectory explains the
  instruction; small models that cannot answer "is this aligned?" still copy what they saw (numbers, names).

Prompts are formatted with the model's own chat template. Tokens a prompt shares with the previous one stay in
the context (llama.cpp's KV cache): scoring one trajectory against several instructions evaluates the long
trajectory once and only the short tails after it. When another prompt ran in between (a judge scores each
instruction with and without the trajectory, in turn), the model's prompt-state cache (the ``LlamaRAMCache`` the
local provider gives every model, ``STUDIO_LOCAL_PROMPT_CACHE_MB``) restores the state of the longest prefix seen
before, so the trajectory is still evaluated once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.errors import ModelCallError

#: Prompt states are saved (and looked up) only when at least this many tokens had to be evaluated: short
#: tails are cheaper to evaluate than to copy.
STATE_MIN_TOKENS = 64
#: Tokens always evaluated anew at the end of a prompt. llama.cpp evaluates a one-token batch on another kernel
#: path than a longer one, and a reply's log-probability then moved by up to ~1 nat (SmolLM2, measured): with at
#: least two, scores do not depend on the order of calls or on whether a state was restored.
MIN_EVAL = 2
YES = ("yes", "Yes", "YES", " yes", " Yes")
NO = ("no", "No", "NO", " no", " No")


def logsumexp(values: Sequence[float]) -> float:
    """``log(sum(exp(v)))``, computed stably."""
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def margin_from_logits(logits: Sequence[float], yes_ids: Sequence[int], no_ids: Sequence[int]) -> float:
    """``logsumexp(logits[yes_ids]) - logsumexp(logits[no_ids])``."""
    return logsumexp([float(logits[i]) for i in yes_ids]) - logsumexp([float(logits[i]) for i in no_ids])


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class LocalScorer:
    """Scores on an in-process ``local/`` model (see the module docstring).

    Attributes:
        model: The litellm model string, e.g. ``local/qwen2.5-coder-0.5b``.
        calls: Prompts scored.
        prompt_tokens: Tokens of those prompts; ``evaluated_tokens`` the ones actually evaluated (the rest
            came from the reused prefix).
    """

    model: str
    calls: int = 0
    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    _single: dict[str, int | None] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The local model's name (``qwen2.5-coder-0.5b``); raises for a served model."""
        if not self.model.startswith("local/"):
            raise ModelCallError(
                f"comparing judges read token log-probabilities and need an in-process model (local/...), "
                f'not {self.model!r}; use method = "ask" for served models',
                model=self.model,
            )
        return self.model.split("/", 1)[1]

    def answer_logits(self, prompt: str, answers: Sequence[Sequence[str]]) -> list[float]:
        """Per answer (its single-token spellings): ``logsumexp`` of its next-token logits after ``prompt``."""
        from studio.llm.local_provider import using_llama

        with using_llama(self.name) as llm:
            ids = [self._single_tokens(llm, spellings) for spellings in answers]
            tokens = self._chat_tokens(llm, prompt)
            self._extend(llm, tokens, len(tokens))
            logits = self._logits(llm, 1)[0]
            self.calls += 1
        return [logsumexp([float(logits[i]) for i in group]) for group in ids]

    def yes_margins(self, prompts: Sequence[str]) -> list[float]:
        """``log P(yes) - log P(no)`` of the first answer token, per prompt."""
        out = []
        for prompt in prompts:
            yes, no = self.answer_logits(prompt, [YES, NO])
            out.append(yes - no)
        return out

    def reply_logprob(self, prompt: str, reply: str) -> float:
        """``log P(reply | prompt)``: the reply's tokens as the assistant's answer to the user's ``prompt``."""
        import numpy as np

        from studio.llm.local_provider import using_llama

        with using_llama(self.name) as llm:
            head = self._chat_tokens(llm, prompt)
            tail = list(llm.tokenize(reply.strip().encode("utf-8"), add_bos=False, special=False))
            if not tail:
                return 0.0
            self._extend(llm, head, len(head) - 1)  # everything but the last prompt token
            rows = self._decode_all(llm, [head[-1], *tail[:-1]])
            self.calls += 1
            total = 0.0
            for row, token in zip(rows, tail, strict=True):
                top = float(row.max())
                total += float(row[token]) - top - math.log(float(np.exp(row - top).sum()))
            return total

    # ------------------------------------------------------------------------------------------- internals

    def _single_tokens(self, llm: Any, spellings: Sequence[str]) -> list[int]:
        ids: list[int] = []
        for w in spellings:
            if w not in self._single:
                toks = llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)
                self._single[w] = toks[0] if len(toks) == 1 else None
            tok = self._single[w]
            if tok is not None and tok not in ids:
                ids.append(tok)
        if not ids:
            raise ModelCallError(f"the model has no single token for {spellings[0]!r}", model=self.model)
        return ids

    @staticmethod
    def _chat_tokens(llm: Any, prompt: str) -> list[int]:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        messages: list[Any] = [{"role": "user", "content": prompt}]
        if template:
            eos = llm.detokenize([llm.token_eos()]).decode("utf-8", "ignore")
            bos = llm.detokenize([llm.token_bos()]).decode("utf-8", "ignore")
            text = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)(messages=messages).prompt
        else:
            text = f"{prompt}\nAnswer:"
        return list(llm.tokenize(text.encode("utf-8"), add_bos=not template, special=True))

    def _extend(self, llm: Any, tokens: list[int], upto: int) -> None:
        """Make the context hold ``tokens[:upto]``, evaluating only what differs from what it holds."""
        if len(tokens) + 64 > llm.n_ctx():
            raise ModelCallError(
                f"prompt of {len(tokens)} tokens does not fit the context of {llm.n_ctx()}; shorten the trajectory",
                model=self.model,
            )
        want = tokens[:upto]
        keep = min(common_prefix(llm.input_ids[: llm.n_tokens].tolist(), want), max(upto - MIN_EVAL, 0))
        cache = getattr(llm, "cache", None)
        if cache is not None and upto - keep >= STATE_MIN_TOKENS:
            keep = self._restore(llm, cache, want, keep)
        llm.n_tokens = keep  # Llama.eval (token evaluation, no code) keeps the KV cache up to here
        llm.eval(want[keep:])
        if cache is not None and upto - keep >= STATE_MIN_TOKENS:
            cache[want] = llm.save_state()  # this prefix may be wanted again after another prompt
        self.prompt_tokens += len(tokens)
        self.evaluated_tokens += upto - keep

    @staticmethod
    def _restore(llm: Any, cache: Any, want: list[int], keep: int) -> int:
        """Load the cached state sharing the longest prefix with ``want`` if it beats ``keep`` tokens; the new
        number of tokens kept."""
        try:
            state = cache[want]
        except KeyError:
            return keep
        shared = min(common_prefix(state.input_ids[: state.n_tokens].tolist(), want), max(len(want) - MIN_EVAL, 0))
        if shared <= keep:
            return keep
        llm.load_state(state)
        return shared

    def _decode_all(self, llm: Any, tokens: list[int]) -> Any:
        """Evaluate ``tokens`` after the context with logits for every one of them; rows in order.

        llama-cpp-python keeps only the last logits unless the model was made with ``logits_all`` (which costs
        n_ctx x vocabulary floats), so this one batch asks llama.cpp for all rows itself (0.3.x internals).
        """
        import numpy as np

        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        llm._batch.set_batch(batch=tokens, n_past=llm.n_tokens, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[llm.n_tokens : llm.n_tokens + len(tokens)] = tokens
        llm.n_tokens += len(tokens)
        self.evaluated_tokens += len(tokens)
        vocab = llm.n_vocab()
        return (
            np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(tokens) * vocab,))
            .reshape(len(tokens), vocab)
            .copy()
        )

    @staticmethod
    def _logits(llm: Any, rows: int) -> Any:
        import numpy as np

        vocab = llm.n_vocab()
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(rows * vocab,)).reshape(rows, vocab).copy()
