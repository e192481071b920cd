"""Agentic retrieval (the paper's Algorithm 2) and the retrieval-augmented agent.

At every step of a rollout the agent gets examples found two ways:

* **observation-based**: full-text (BM25) search of the index's ``obs_text`` column with the salient tokens of
  the current a11y observation (element names/texts, then roles; at most ``max_query_terms``), up to ``m1``;
* **model-based**: the ``query_writer`` model turns instruction + history + observation into a short query
  (prompt ``query_writer.v1``); dense search over the example embeddings adds up to ``m2`` not already chosen.

Modes: ``none``; ``instruction`` (dense search on the task instruction, no model call); ``observation``;
``model``; ``both`` (the two lists fused by a LanceDB reranker, de-duplicated by trajectory span, optionally
diversified: :mod:`studio.pipeline.retrieval.fusion`, settings in ``[retrieval]``). De-duplication and
diversity apply to every mode. :func:`pack_examples` formats the hits (:mod:`studio.pipeline.retrieval.render`:
instruction, then each step's REASON/ACTION and what it changed) and never exceeds its budget.

A step makes two LanceDB queries, both on the index table (:mod:`studio.pipeline.retrieval.index`), whose rows
carry what the prompt needs (instruction, steps) and the vectors: BM25 over ``obs_text`` and a vector search.
An index of the old layout (no vectors) is searched the old way until a writer rebuilds it: the vector search
runs on the workspace's ``example_vectors`` and the hits are looked up by id (a third query).

Python API::

    from studio.pipeline.retrieval.retriever import Retriever, search, build_index, rag_agent
    build_index(ws, embedder)                              # see studio.pipeline.retrieval.index
    hits = search(ws, "save the file", mode="both", k=5)   # [Hit(example, score, source, why)]
    r = Retriever.from_config(ws, query_writer=ModelQueryWriter.from_client(client, cfg.roles.query_writer))
    text, usage = r.examples_for(step_context)             # what RetrievalAugmentedPolicy puts in the prompt
    policy = RetrievalAugmentedPolicy(ModelPolicy(complete), r)

The evaluation runner registers ``rag_agent`` as the ``rag`` agent (``rag:observation`` etc. pick the mode).
Retrieval quality (hit@k against held-out solution trajectories, no model) is
:mod:`studio.pipeline.retrieval.quality`.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from studio.errors import PipelineError, WorkspaceLockedError
from studio.pipeline.agent.policies import AugmentedPolicy
from studio.pipeline.agent.usage import add_usage, usage_of
from studio.pipeline.retrieval.fusion import FusionSettings, dedup, fuse, merge, mmr
from studio.pipeline.retrieval.index import (
    INDEX_TABLE,
    VECTOR_TABLE,
    IndexedExample,
    build_index,
    check_embedder,
    fts_query,
    has_vectors,
    hit_columns,
    index_table,
    lookup,
    require_index,
    salient_tokens,
    tokens,
)
from studio.pipeline.retrieval.render import estimate_tokens, format_example, pack_examples

if TYPE_CHECKING:
    from studio.config import StudioConfig
    from studio.llm.embedders import Embedder
    from studio.pipeline.agent.policies import HistoryItem, Policy, StepContext
    from studio.workspace import Workspace

__all__ = [
    "MODES",
    "FusionSettings",
    "Hit",
    "IndexedExample",
    "ModelQueryWriter",
    "Retrieval",
    "RetrievalAugmentedPolicy",
    "Retriever",
    "build_index",
    "ensure_index",
    "estimate_tokens",
    "format_example",
    "pack_examples",
    "rag_agent",
    "search",
]

log = logging.getLogger(__name__)

MODES = ("none", "instruction", "observation", "model", "both")
QUERY_WRITER_PROMPT = "query_writer.v1"
MAX_QUERY_CHARS = 200
MAX_QUERY_OBS_CHARS = 1500
#: Indexed examples kept in memory per retriever (examples recur across the steps of an episode).
EXAMPLE_CACHE = 5000


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`MODES`; else ``PipelineError`` listing them."""
    if mode not in MODES:
        raise PipelineError(f"unknown retrieval mode '{mode}'; use one of {', '.join(MODES)}")
    return mode


@dataclass
class Hit:
    """One retrieved example and why it was retrieved.

    ``source`` is ``observation`` / ``model`` / ``instruction`` in the retriever, and ``fts`` / ``vector`` /
    ``both`` in :func:`search`. ``score`` is BM25 for full-text hits, cosine similarity for dense hits and a
    reciprocal-rank-fusion score for :func:`search` in mode ``both``.
    """

    example: IndexedExample
    score: float
    source: str
    why: str
    matched: list[str] = field(default_factory=list)
    vector: Any = field(default=None, repr=False)  # the example's embedding (kept for diversity only)


@dataclass
class Retrieval:
    """One step's retrieval: the hits in prompt order, the queries used, model usage and timings (seconds)."""

    hits: list[Hit]
    mode: str
    fts_query: str = ""
    dense_query: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- query writer


class QueryWriter(Protocol):
    """Writes a dense-search query: ``(instruction, history, observation_text) -> (query, usage)``."""

    def __call__(
        self, instruction: str, history: Sequence[HistoryItem], observation_text: str
    ) -> tuple[str, dict[str, Any]]: ...


def clean_query(text: str, fallback: str) -> str:
    """First useful line of the model's answer without a ``Query:`` prefix or quotes; ``fallback`` if none."""
    for line in (text or "").splitlines():
        line = line.strip().strip("`").strip()
        if line.lower().startswith("query:"):
            line = line[6:].strip()
        line = line.strip("\"'").strip()
        if line:
            return line[:MAX_QUERY_CHARS]
    return fallback[:MAX_QUERY_CHARS]


def anchored_query(instruction: str, query: str) -> str:
    """The dense query of modes model and both: the task instruction, then the writer's query (unless it already
    holds the instruction). A small model's query alone often drifts from the task (it names a button, or
    echoes the prompt); with the task first its words still steer the search (BENCHMARKS.md, "Fusion with the
    real query writers": mode model with the 0.5B, hit@5 0.569 -> 0.722 on 72 held-out steps)."""
    query = query.strip()
    if not query or instruction.strip().casefold() in query.casefold():
        return query or instruction
    return f"{instruction.strip()} {query}"[: MAX_QUERY_CHARS + len(instruction)]


class ModelQueryWriter:
    """The model-based query writer: prompt ``query_writer.v1`` through ``(messages) -> (text, usage)``.

    ``usage`` should hold ``studio.pipeline.agent.usage.USAGE_KEYS`` (``factory.completer`` returns them);
    :meth:`from_client` builds the call from a ``ModelClient`` and the ``roles.query_writer`` spec.
    """

    def __init__(self, complete: Callable[[list[dict[str, Any]]], tuple[str, dict[str, Any]]]) -> None:
        self._complete = complete

    @classmethod
    def from_client(cls, client: Any, spec: Any, stage: str = "retrieval") -> ModelQueryWriter:
        def complete(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
            res = client.complete("query_writer", spec, messages, stage=stage)
            return res.text, usage_of(res)

        return cls(complete)

    def __call__(
        self, instruction: str, history: Sequence[HistoryItem], observation_text: str
    ) -> tuple[str, dict[str, Any]]:
        from studio.pipeline.agent.policies import format_history
        from studio.pipeline.prompts import render_prompt

        obs = observation_text[:MAX_QUERY_OBS_CHARS]
        messages, _version = render_prompt(
            QUERY_WRITER_PROMPT,
            instruction=instruction,
            history=format_history(list(history)),
            observation=obs or "(empty)",
        )
        text, usage = self._complete(messages)
        return clean_query(text, instruction), dict(usage or {})


# ------------------------------------------------------------------------------------------- retriever


def _nearest(table: Any, vec: Any, columns: list[str], limit: int) -> list[dict[str, Any]]:
    """The ``limit`` rows of ``table`` nearest to ``vec`` by cosine (with the workspace's HNSW settings)."""
    from studio.workspace import search as wsearch

    return (  # type: ignore[no-any-return]
        table.search(vec, vector_column_name="vector")
        .distance_type("cosine")
        .ef(wsearch.HNSW_EF)
        .nprobes(wsearch.NPROBES)
        .select(columns)
        .limit(limit)
        .to_list()
    )


class Retriever:
    """Algorithm 2 over one workspace's retrieval index.

    Args:
        ws: An open workspace (read-only is fine) whose index was built by :func:`build_index`.
        embedder: The embedder the index was built with (checked: ``EmbeddingMismatchError``); None for an
            observation-only retriever (dense search then raises ``PipelineError``).
        mode: Default mode (one of :data:`MODES`).
        m1: Observation-based examples per step.
        m2: Model-based (dense) examples per step, not already chosen.
        budget_tokens: Prompt budget for :meth:`examples_for`.
        max_query_terms: Salient observation tokens in a BM25 query.
        query_writer: Needed for modes ``model`` and ``both``.
        query_with_task: Search with the task instruction followed by the writer's query
            (:func:`anchored_query`), not the query alone.
        fusion: How mode ``both`` merges its lists, and de-duplication / diversity for every mode
            (default: :class:`FusionSettings`'s defaults, the measured best).
    """

    def __init__(
        self,
        ws: Workspace,
        embedder: Embedder | None,
        *,
        mode: str = "both",
        m1: int = 5,
        m2: int = 5,
        budget_tokens: int = 2000,
        max_query_terms: int = 32,
        query_writer: QueryWriter | None = None,
        query_with_task: bool = True,
        fusion: FusionSettings | None = None,
    ) -> None:
        self.ws = ws
        self.query_with_task = query_with_task
        self.fusion = fusion or FusionSettings()
        self.embedder = embedder
        self.mode = check_mode(mode)
        self.m1 = m1
        self.m2 = m2
        self.budget_tokens = budget_tokens
        self.max_query_terms = max_query_terms
        self.query_writer = query_writer
        self._vec_cache: OrderedDict[str, Any] = OrderedDict()
        self.vec_cache_size = 256
        self._ex_cache: OrderedDict[str, IndexedExample] = OrderedDict()
        self._checked = False
        self._found = False
        self._has_vectors = False
        self.last: Retrieval | None = None

    @classmethod
    def from_config(
        cls,
        ws: Workspace,
        config: StudioConfig | None = None,
        *,
        embedder: Embedder | None = None,
        query_writer: QueryWriter | None = None,
        mode: str | None = None,
    ) -> Retriever:
        """A retriever with the workspace's ``[retrieval]`` settings and ``[roles.embedder]``."""
        from studio.llm.embedders import make_embedder

        cfg = config or ws.config
        rc = cfg.retrieval
        return cls(
            ws,
            embedder or make_embedder(cfg.roles.embedder),
            mode=mode or rc.mode,
            m1=rc.m1,
            m2=rc.m2,
            budget_tokens=rc.budget_tokens,
            max_query_terms=rc.max_query_terms,
            query_writer=query_writer,
            query_with_task=rc.query_with_task,
            fusion=FusionSettings.from_config(rc),
        )

    # ---------------------------------------------------------------------------- the two searches

    def observation_hits(self, observation_text: str, k: int) -> tuple[list[Hit], str]:
        """BM25 over the indexed examples' observation tokens; returns ``(hits, the query used)``."""
        query = fts_query(observation_text, self.max_query_terms)
        return self.fts_hits(query, k, "observation"), query

    def _index(self) -> Any | None:
        """The index table; once it exists a step no longer lists the workspace's tables."""
        if not self._found:
            if not self.ws.has_table(INDEX_TABLE):
                return None
            self._found = True
        table = self.ws.table(INDEX_TABLE)  # not kept here: a rebuild on this handle replaces the table object
        if not self._has_vectors:
            # An index of the old layout (no vectors) until a writer rebuilds it (readers follow its commits).
            self._has_vectors = has_vectors(table)
        return table

    def fts_hits(self, query: str, k: int, source: str) -> list[Hit]:
        """BM25 hits over the indexed observations (``source`` labels them); [] without an index or query."""
        table = self._index()
        if table is None or k <= 0 or not query.strip():
            return []
        extra = ["vector"] if self._wants_vectors() else []
        rows = (
            table.search(query, query_type="fts", fts_columns="obs_text")
            .select([*hit_columns(table), "obs_text", *extra, "_score"])
            .limit(k)
            .to_list()
        )
        qset = dict.fromkeys(query.split())
        hits = []
        for r in rows:
            ex = IndexedExample.from_row(r)
            self._remember(ex)
            have = set(ex.obs_text.split())
            matched = [w for w in qset if w in have]
            shown = ", ".join(matched[:8]) + (" ..." if len(matched) > 8 else "")
            why = f"fts: BM25 {r['_score']:.2f} on observation words: {shown or '(stemmed matches)'}"
            hits.append(Hit(ex, float(r["_score"]), source, why, matched, r.get("vector")))
        return hits

    def _wants_vectors(self) -> bool:
        return self.fusion.mmr_lambda < 1.0 and self._has_vectors

    def embed_query(self, text: str) -> Any:
        """The query's vector (the last :attr:`vec_cache_size` queries are cached: the instruction repeats)."""
        if self.embedder is None:
            raise PipelineError("dense retrieval needs an embedder: pass the workspace's (make_embedder(...))")
        if not self._checked:
            check_embedder(self.ws, self.embedder)
            self._checked = True
        if text in self._vec_cache:
            self._vec_cache.move_to_end(text)
            return self._vec_cache[text]
        vec = self.embedder.embed([text])[0]
        self._vec_cache[text] = vec
        if len(self._vec_cache) > self.vec_cache_size:
            self._vec_cache.popitem(last=False)
        return vec

    def dense_hits(self, text: str, k: int, exclude: Sequence[str] = (), source: str = "model") -> list[Hit]:
        """Nearest examples to ``text`` by cosine similarity, skipping ids in ``exclude``."""
        if k <= 0 or not text.strip():
            return []
        table = self._index()
        if table is None:
            return []
        vec = self.embed_query(text)
        skip = set(exclude)
        if self._has_vectors:  # one query: the index rows carry their vectors
            extra = ["vector"] if self._wants_vectors() else []
            rows = _nearest(table, vec, [*hit_columns(table), *extra, "_distance"], k + len(skip))
            ranked = [(r["example_id"], float(r["_distance"])) for r in rows if r["example_id"] not in skip]
            found = {r["example_id"]: IndexedExample.from_row(r) for r in rows}
            vectors = {r["example_id"]: r.get("vector") for r in rows}
        else:  # the old layout: the workspace's vectors, then the examples by id
            if not self.ws.has_table(VECTOR_TABLE):
                return []
            # Vectors may exist for examples the index leaves out (not accepted): ask for a margin.
            limit = k + len(skip) + max(10, 2 * k)
            rows = _nearest(self.ws.table(VECTOR_TABLE), vec, ["id", "_distance"], limit)
            ranked = [(r["id"], float(r["_distance"])) for r in rows if r["id"] not in skip]
            found = self._examples([i for i, _ in ranked[: k + len(skip) + 5]])
            vectors = {}
        qwords = set(tokens(text))
        hits: list[Hit] = []
        for eid, dist in ranked:
            ex = found.get(eid)
            if ex is None:
                continue
            sim = 1.0 - dist
            shared = [w for w in dict.fromkeys(tokens(ex.instruction)) if w in qwords]
            why = f"vector: cosine {sim:.2f} to {source} query '{text[:60]}'"
            if shared:
                why += f"; shared words: {', '.join(shared[:6])}"
            hits.append(Hit(ex, sim, source, why, shared, vectors.get(eid)))
            if len(hits) >= k:
                break
        return hits

    def _remember(self, ex: IndexedExample) -> None:
        self._ex_cache[ex.id] = ex
        self._ex_cache.move_to_end(ex.id)
        if len(self._ex_cache) > EXAMPLE_CACHE:
            self._ex_cache.popitem(last=False)

    def _examples(self, ids: Sequence[str]) -> dict[str, IndexedExample]:
        """Indexed examples by id: from the in-process cache, the rest in one query."""
        found = {i: self._ex_cache[i] for i in ids if i in self._ex_cache}
        missing = [i for i in ids if i not in found]
        if missing:
            for ex in lookup(self.ws, missing).values():
                self._remember(ex)
                found[ex.id] = ex
        return found

    # ---------------------------------------------------------------------------- Algorithm 2

    def retrieve(
        self,
        instruction: str,
        observation_text: str,
        history: Sequence[HistoryItem] = (),
        *,
        mode: str | None = None,
    ) -> Retrieval:
        """One step of Algorithm 2: observation hits (up to m1), model/instruction hits (up to m2); in mode
        ``both`` up to m1 + m2 hits of the two lists (three with ``fusion.task_weight`` > 0: the task
        instruction's dense hits too) fused (:func:`studio.pipeline.retrieval.fusion.merge`)."""
        mode = check_mode(mode or self.mode)
        out = Retrieval(hits=[], mode=mode)
        if mode == "none":
            self.last = out
            return out
        fs = self.fusion
        # Every search asks for enough candidates to survive de-duplication and fusion.
        want = max(fs.candidates, self.m1 + self.m2) if fs.dedup != "none" or mode == "both" else 0
        obs: list[Hit] = []
        if mode in ("observation", "both"):
            t0 = time.perf_counter()
            obs, out.fts_query = self.observation_hits(observation_text, max(want, self.m1))
            out.seconds["fts"] = time.perf_counter() - t0
        dense: list[Hit] = []
        if mode in ("model", "both", "instruction"):
            if mode == "instruction":
                out.dense_query, source = instruction, "instruction"
            else:
                if self.query_writer is None:
                    raise PipelineError(
                        f"retrieval mode '{mode}' needs a query writer (roles.query_writer); "
                        "pass query_writer=ModelQueryWriter.from_client(...) or use mode 'observation'"
                    )
                t0 = time.perf_counter()
                query, usage = self.query_writer(instruction, history, observation_text)
                out.dense_query = anchored_query(instruction, query) if self.query_with_task else query
                out.seconds["query_writer"] = time.perf_counter() - t0
                add_usage(out.usage, usage)
                source = "model"
            t0 = time.perf_counter()
            dense = self.dense_hits(out.dense_query, max(want, self.m2), source=source)
            out.seconds["dense"] = time.perf_counter() - t0
        if mode == "both":
            task: list[Hit] = []
            if fs.three_lists:
                t0 = time.perf_counter()
                task = self.dense_hits(instruction, max(want, self.m2), source="instruction")
                out.seconds["task"] = time.perf_counter() - t0
            out.hits = merge(dense, obs, fs, self.m1, self.m2, task)
        else:
            n = self.m1 if mode == "observation" else self.m2
            out.hits = mmr(dedup(obs or dense, fs.dedup), fs.mmr_lambda, n)
        self.last = out
        return out

    def examples_for(
        self, ctx: StepContext, layout: str = "code", *, mode: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """``(packed examples text, usage)`` for one step (an ``AugmentedPolicy`` fill, with ``mode`` bound);
        ``layout`` is the acting policy's (:data:`~studio.pipeline.retrieval.render.LAYOUTS`)."""
        r = self.retrieve(ctx.instruction, ctx.observation.a11y_table, ctx.history, mode=mode)
        usage = dict(r.usage)
        usage["retrieved"] = [h.example.id for h in r.hits]
        usage["retrieval_s"] = round(sum(v for k, v in r.seconds.items() if k != "query_writer"), 6)
        usage["query_writer_calls"] = int(usage.get("model_calls", 0))
        return pack_examples(r.hits, self.budget_tokens, layout), usage


# ------------------------------------------------------------------------------------------- the agent


class RetrievalAugmentedPolicy(AugmentedPolicy):
    """A policy (usually :class:`~studio.pipeline.agent.ModelPolicy`) with retrieved examples in its prompt.

    Before each decision the retriever fills ``ctx.examples_text`` in the policy's own example layout; the query
    writer's model calls and tokens are added to the decision's ``usage`` (and counted in :attr:`totals`), so
    per-task costs include them.
    """

    def __init__(self, base: Policy, retriever: Retriever, mode: str | None = None, name: str = "rag") -> None:
        self.retriever = retriever
        self.mode = check_mode(mode or retriever.mode)
        super().__init__(base, self._fill, name)

    @property
    def base(self) -> Policy:
        return self.inner

    def _fill(self, ctx: StepContext, layout: str) -> tuple[str, dict[str, Any]]:
        return self.retriever.examples_for(ctx, mode=self.mode, layout=layout)


def ensure_index(
    workspace: Any, embedder: Embedder | None = None, *, accepted_only: bool | None = None, wait_s: float = 120.0
) -> None:
    """Bring the index of the workspace at path ``workspace`` up to date with a short-lived writer.

    If another process holds the writer lock, waits up to ``wait_s`` for it; if it is still held but an
    index exists, that index is used as it is.

    Raises:
        PipelineError: the workspace stays locked and has no index yet.
    """
    from studio.llm.embedders import make_embedder
    from studio.workspace import Workspace

    deadline = time.monotonic() + wait_s
    while True:
        try:
            with Workspace.open(workspace) as ws:
                emb = embedder or make_embedder(ws.config.roles.embedder)
                only = ws.config.retrieval.accepted_only if accepted_only is None else accepted_only
                build_index(ws, emb, accepted_only=only)
            return
        except WorkspaceLockedError:
            with Workspace.open(workspace, readonly=True) as ro:
                has_index = index_table(ro) is not None
            if has_index:
                log.info("%s is locked by another writer; using its retrieval index as it is", workspace)
                return
            if time.monotonic() > deadline:
                raise PipelineError(
                    f"{workspace} is being written by another process and has no retrieval index yet; "
                    "run `studio search -w DIR QUERY` (it builds the index) when it has finished"
                ) from None
            time.sleep(0.5)


def rag_agent(req: Any) -> Policy:
    """The ``rag`` agent of ``studio eval``: ModelPolicy + Retriever over ``req.workspace`` (``rag:MODE``).

    Builds/updates the index first (:func:`ensure_index`), then opens the workspace read-only.
    """
    from studio.llm.embedders import make_embedder
    from studio.pipeline.agent.factory import actor_policy, completer, workspace_config
    from studio.pipeline.eval.runner import use_cache_of
    from studio.workspace import Workspace

    if req.workspace is None:
        raise PipelineError(f"agent '{req.agent}' retrieves examples from a workspace: pass --workspace DIR")
    cfg = workspace_config(req.workspace)
    mode = check_mode(req.mode or cfg.retrieval.mode)
    embedder = make_embedder(cfg.roles.embedder)
    if mode != "none":
        ensure_index(req.workspace, embedder)
    ws = Workspace.open(req.workspace, readonly=True)
    writer = None
    if mode in ("model", "both"):
        writer = ModelQueryWriter(
            completer(req.workspace, "query_writer", stage=f"eval:{req.agent}:query", use_cache=use_cache_of(req))
        )
    retriever = Retriever.from_config(ws, cfg, embedder=embedder, query_writer=writer, mode=mode)
    base = actor_policy(req.workspace, stage=f"eval:{req.agent}", spec=cfg.roles.actor, use_cache=use_cache_of(req))
    return RetrievalAugmentedPolicy(base, retriever, mode=mode, name=req.agent)


# ------------------------------------------------------------------------------------------- search API


def search(ws: Workspace, query: str, mode: str = "both", k: int = 5, *, embedder: Embedder | None = None) -> list[Hit]:
    """Search the retrieval index with a free-text query (the CLI and the GUI playground use this).

    Modes: ``observation`` (full text over example observations), ``model`` / ``instruction`` (dense over
    instruction embeddings), ``both`` (the two fused and de-duplicated as ``[retrieval]`` says, see
    :mod:`studio.pipeline.retrieval.fusion`; ``source`` says ``fts``, ``vector`` or ``both``).

    Raises:
        WorkspaceError: the index was never built. EmbeddingMismatchError: wrong embedder.
    """
    check_mode(mode)
    require_index(ws)
    if mode == "none" or k <= 0:
        return []
    if embedder is None and mode != "observation":
        from studio.llm.embedders import make_embedder

        embedder = make_embedder(ws.config.roles.embedder)
    r = Retriever(ws, embedder, max_query_terms=64)
    q = " ".join(salient_tokens(query, 64))
    fts_hits = [_as(h, "fts") for h in r.fts_hits(q, k * 2, "fts")] if mode in ("observation", "both") else []
    dense = r.dense_hits(query, k * 2, source="query") if mode != "observation" else []
    dense = [_as(h, "vector") for h in dense]
    if mode == "observation":
        return fts_hits[:k]
    if mode in ("model", "instruction"):
        return dense[:k]
    fs = FusionSettings.from_config(ws.config.retrieval)
    out = dedup(fuse(dense, fts_hits, fs), fs.dedup)[:k]
    for h in out:
        h.source = "both" if "+" in h.source else h.source
    return out


def _as(hit: Hit, source: str) -> Hit:
    hit.source = source
    return hit
