"""The operations ``studio serve`` offers, independent of MCP and HTTP: retrieve, search, read trajectories.

:class:`ExampleService` opens one workspace **read-only** and answers with plain JSON-ready dicts. Every input is
checked here (:class:`~studio.errors.RequestError` names the argument and the fix), so the MCP tools and the HTTP
endpoints share one set of rules. Calls are serialized by a lock: the retriever keeps caches.

Retrieval is exactly the rag agent's (:class:`studio.pipeline.retrieval.retriever.Retriever`, the paper's
Algorithm 2): observation-based BM25 over the current observation, plus model-based dense search on a query the
workspace's ``query_writer`` model writes from instruction + history + observation; ``prompt_text`` is what the
rag agent puts in its prompt. The model is called through a ``ModelClient`` whose cache lives in the user's cache
directory and which keeps no ledger, so nothing is written into the workspace.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from studio.errors import RequestError, StudioError, WorkspaceError

#: Ids are uuid hex or deterministic ids built from letters, digits, '-', '_', '.' and ':'.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
MAX_K = 50
MAX_TEXT = 100_000
MAX_HISTORY = 100
SCREENSHOT_MODES = ("none", "refs", "inline")
MAX_INLINE_IMAGES = 20
SEARCH_FILTERS = ("app", "kind", "status", "trajectory_id")


def check_id(value: Any, name: str = "id") -> str:
    """A record id; ``RequestError`` for anything else (paths, wildcards, quotes)."""
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise RequestError(
            f"{name} {str(value)[:80]!r} is not an id: use the 'id' of a search or retrieve result "
            "(letters, digits, '-', '_', '.', ':'; at most 128 characters)"
        )
    return value


def check_digest(value: Any) -> str:
    """A screenshot reference: a sha256 hex digest."""
    if not isinstance(value, str) or not DIGEST_RE.fullmatch(value):
        raise RequestError(
            f"screenshot {str(value)[:80]!r} is not a screenshot reference: use the 'screenshot' "
            "value of a get_trajectory step (64 lowercase hex characters)"
        )
    return value


def _text(value: Any, name: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RequestError(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise RequestError(f"{name} has {len(value)} characters; send at most {MAX_TEXT}")
    if required and not value.strip():
        raise RequestError(f"{name} is empty; give the task the agent is working on")
    return value


def _k(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise RequestError(f"k must be an integer from 1 to {MAX_K}, got {value!r}")
    return value


def parse_history(history: Any) -> list[Any]:
    """The agent's previous steps: strings (``"reason -> action"`` or just the action) or objects with
    ``reason``/``action`` (and optionally ``error``)."""
    from studio.pipeline.agent.policies import HistoryItem

    if history is None:
        return []
    if not isinstance(history, list):
        raise RequestError("history must be a list of previous steps (strings or {reason, action} objects)")
    if len(history) > MAX_HISTORY:
        history = history[-MAX_HISTORY:]
    items = []
    for i, h in enumerate(history):
        if isinstance(h, str):
            reason, _, action = h.rpartition(" -> ")
            items.append(HistoryItem(reason, action))
        elif isinstance(h, dict):
            unknown = set(h) - {"reason", "action", "error"}
            if unknown:
                raise RequestError(f"history[{i}] has unknown keys {sorted(unknown)}; use reason, action, error")
            items.append(
                HistoryItem(
                    _text(h.get("reason"), f"history[{i}].reason"),
                    _text(h.get("action"), f"history[{i}].action"),
                    _text(h.get("error"), f"history[{i}].error"),
                )
            )
        else:
            raise RequestError(f"history[{i}] must be a string or an object, got {type(h).__name__}")
    return items


def hit_json(h: Any) -> dict[str, Any]:
    ex = h.example
    return {
        "id": ex.id,
        "instruction": ex.instruction,
        "app": ex.app,
        "kind": ex.kind,
        "status": ex.status,
        "trajectory_id": ex.trajectory_id,
        "span": [ex.start, ex.end],
        "steps": [{"reason": r, "action": a} for r, a in ex.steps],
        "source": h.source,
        "score": round(float(h.score), 6),
        "why": h.why,
    }


class ExampleService:
    """Read-only access to one workspace's examples for agents.

    Args:
        workspace: The workspace directory (opened read-only; a running pipeline may keep writing it).
        embedder: The embedder to search with (default: the workspace's ``[roles.embedder]``).
        query_writer: Writes model-based queries (default: the workspace's ``query_writer`` role, created on
            the first call that needs it).
    """

    def __init__(self, workspace: Path | str, *, embedder: Any = None, query_writer: Any = None) -> None:
        from studio.workspace import Workspace

        self.ws = Workspace.open(workspace, readonly=True)
        self.config = self.ws.config
        self._embedder = embedder
        self._query_writer = query_writer
        self._retrievers: dict[tuple[int, int], Any] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.ws.close()

    # ---------------------------------------------------------------- plumbing

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from studio.llm.embedders import make_embedder

            self._embedder = make_embedder(self.config.roles.embedder)
        return self._embedder

    def query_writer(self) -> Any:
        if self._query_writer is None:
            from studio.llm import ModelClient
            from studio.pipeline.retrieval.retriever import ModelQueryWriter

            client = ModelClient(cache=None, ledger=None)  # user cache dir, no ledger: the workspace stays as it is
            self._query_writer = ModelQueryWriter.from_client(client, self.config.roles.query_writer, stage="serve")
        return self._query_writer

    def _retriever(self, k: int, mode: str) -> Any:
        """A retriever with the workspace's settings; ``k`` beyond its m1 + m2 widens both."""
        from studio.pipeline.retrieval.index import require_index
        from studio.pipeline.retrieval.retriever import Retriever

        require_index(self.ws)
        rc = self.config.retrieval
        m1, m2 = rc.m1, rc.m2
        if k > m1 + m2:
            m1 = m2 = (k + 1) // 2
        key = (m1, m2)
        if key not in self._retrievers:
            self._retrievers[key] = Retriever(
                self.ws,
                self.embedder,
                mode=rc.mode,
                m1=m1,
                m2=m2,
                budget_tokens=rc.budget_tokens,
                max_query_terms=rc.max_query_terms,
            )
        r = self._retrievers[key]
        if mode in ("model", "both") and r.query_writer is None:
            r.query_writer = self.query_writer()
        return r

    def _mode(self, mode: Any) -> str:
        from studio.pipeline.retrieval.retriever import MODES

        if mode is None or mode == "":
            return str(self.config.retrieval.mode)
        if mode not in MODES:
            raise RequestError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        return str(mode)

    # ---------------------------------------------------------------- operations

    def retrieve_examples(
        self,
        instruction: Any,
        history: Any = None,
        observation: Any = "",
        k: Any = None,
        mode: Any = None,
    ) -> dict[str, Any]:
        """Algorithm 2 for one step of an agent: the examples the rag agent would get, and its prompt text.

        Args:
            instruction: The task the agent works on.
            history: Previous steps (strings or ``{reason, action, error}`` objects), oldest first.
            observation: The current observation as text: ideally the OSWorld-style a11y table
                (``id, role, name, text, position, size`` TSV); any text works for BM25.
            k: How many examples (default: the workspace's ``m1 + m2``).
            mode: ``both`` (default from the workspace), ``observation``, ``model``, ``instruction``, ``none``.
        """
        from studio.pipeline.retrieval.retriever import pack_examples

        instruction = _text(instruction, "instruction", required=True)
        observation = _text(observation, "observation")
        items = parse_history(history)
        rc = self.config.retrieval
        k = _k(k, max(1, rc.m1 + rc.m2))
        mode = self._mode(mode)
        t0 = time.perf_counter()
        with self._lock:
            r = self._retriever(k, mode)
            res = r.retrieve(instruction, observation, items, mode=mode)
        hits = res.hits[:k]
        return {
            "mode": res.mode,
            "examples": [hit_json(h) for h in hits],
            "prompt_text": pack_examples(hits, rc.budget_tokens),
            "queries": {"observation": res.fts_query, "dense": res.dense_query},
            "usage": res.usage,
            "seconds": {
                **{k2: round(v, 6) for k2, v in res.seconds.items()},
                "total": round(time.perf_counter() - t0, 6),
            },
        }

    def search_examples(self, query: Any, filters: Any = None, k: Any = None, mode: Any = None) -> dict[str, Any]:
        """Free-text search of the retrieval index (as ``studio search``), optionally filtered.

        ``filters`` may hold ``app``, ``kind``, ``status`` and ``trajectory_id``, each a string or a list of
        strings (any of them matches).
        """
        from studio.pipeline.retrieval.index import require_index
        from studio.pipeline.retrieval.retriever import search

        query = _text(query, "query", required=True)
        k = _k(k, 5)
        mode = self._mode(mode or "both")
        if mode == "none":
            raise RequestError("mode 'none' retrieves nothing; use both, observation, model or instruction")
        wanted = self._filters(filters)
        fetch = k if not wanted else min(MAX_K * 10, k * 10)
        with self._lock:
            require_index(self.ws)
            hits = search(self.ws, query, mode=mode, k=fetch, embedder=None if mode == "observation" else self.embedder)
        out = [h for h in hits if all(str(getattr(h.example, f)) in v for f, v in wanted.items())][:k]
        return {
            "query": query,
            "mode": mode,
            "filters": {f: sorted(v) for f, v in wanted.items()},
            "examples": [hit_json(h) for h in out],
        }

    @staticmethod
    def _filters(filters: Any) -> dict[str, set[str]]:
        if filters is None:
            return {}
        if not isinstance(filters, dict):
            raise RequestError(f"filters must be an object with some of {', '.join(SEARCH_FILTERS)}")
        unknown = set(filters) - set(SEARCH_FILTERS)
        if unknown:
            raise RequestError(f"unknown filters {sorted(unknown)}; use {', '.join(SEARCH_FILTERS)}")
        out: dict[str, set[str]] = {}
        for name, value in filters.items():
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise RequestError(f"filter {name} must be a string or a list of strings")
            if values:
                out[name] = set(values)
        return out

    def get_trajectory(self, id: Any, screenshots: Any = "refs", max_steps: Any = None) -> dict[str, Any]:
        """A trajectory (by its id, or by the id of one of its examples) with every step.

        Args:
            id: A trajectory id or an example id (search and retrieve results carry both).
            screenshots: ``none``; ``refs`` (each step names its screenshot, fetch it with ``get_screenshot``);
                ``inline`` (the result carries the PNGs, at most 20; the MCP tool sends them as image content).
            max_steps: Return at most this many steps (from the first).
        """
        from studio.workspace import Example, Trajectory

        tid = check_id(id)
        if screenshots not in SCREENSHOT_MODES:
            raise RequestError(f"screenshots {screenshots!r} is not one of {', '.join(SCREENSHOT_MODES)}")
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
            raise RequestError(f"max_steps must be a positive integer, got {max_steps!r}")
        with self._lock:
            example = None
            try:
                traj = self.ws.get(Trajectory, tid)
            except WorkspaceError:
                try:
                    example = self.ws.get(Example, tid)
                except WorkspaceError:
                    raise RequestError(
                        f"no trajectory or example with id {tid!r} in this workspace; use an id "
                        "from search_examples or retrieve_examples"
                    ) from None
                traj = self.ws.get(Trajectory, example.trajectory_id)
            steps: list[Any] = [*self.ws.steps_of(traj.id)]
        if max_steps is not None:
            steps = steps[:max_steps]
        out_steps = []
        images: list[tuple[str, bytes]] = []
        for s in steps:
            step: dict[str, Any] = {
                "index": s.index,
                "reason": s.reason,
                "action": s.action_code,
                "actions": s.actions,
                "error": s.error,
                "observation": s.observation_text,
                "screen": [s.width, s.height],
            }
            if screenshots != "none" and s.screenshot:
                step["screenshot"] = s.screenshot
                if screenshots == "inline" and len(images) < MAX_INLINE_IMAGES:
                    images.append((s.screenshot, self._png(s.screenshot)))
            out_steps.append(step)
        result: dict[str, Any] = {
            "id": traj.id,
            "instruction": traj.instruction,
            "app": traj.app,
            "status": traj.status,
            "outcome": traj.outcome,
            "score": traj.score,
            "n_steps": traj.n_steps,
            "steps": out_steps,
        }
        if example is not None:
            result["example"] = {
                "id": example.id,
                "instruction": example.instruction,
                "kind": example.kind,
                "span": [example.start, example.end],
            }
        if screenshots == "inline":
            result["_images"] = images  # taken out by the transport: MCP image content or base64 in HTTP
        return result

    def get_screenshot(self, screenshot: Any) -> bytes:
        """PNG bytes of a screenshot a step of this workspace references."""
        digest = check_digest(screenshot)
        with self._lock:
            return self._png(digest)

    def _png(self, digest: str) -> bytes:
        try:
            return bytes(self.ws.blobs.png(digest))
        except StudioError as exc:
            raise RequestError(f"screenshot {digest[:16]}... is not in this workspace ({exc})") from None

    def info(self) -> dict[str, Any]:
        """What this server offers: the workspace, the index size and the retrieval settings."""
        from studio.pipeline.retrieval.index import index_size

        with self._lock:
            n = index_size(self.ws)
        rc = self.config.retrieval
        return {
            "workspace": self.ws.path.name,
            "indexed_examples": n,
            "mode": rc.mode,
            "m1": rc.m1,
            "m2": rc.m2,
            "budget_tokens": rc.budget_tokens,
            "embedder": self.config.roles.embedder.model_dump(),
        }


def call(service: ExampleService, op: str, args: dict[str, Any]) -> Any:
    """Run operation ``op`` with keyword ``args`` (the HTTP endpoint's dispatcher); ``RequestError`` if unknown."""
    ops: dict[str, Any] = {
        "retrieve_examples": service.retrieve_examples,
        "search_examples": service.search_examples,
        "get_trajectory": service.get_trajectory,
        "info": lambda: service.info(),
    }
    fn = ops.get(op)
    if fn is None:
        raise RequestError(f"unknown operation {op!r}; use {', '.join(ops)}")
    import inspect

    params = inspect.signature(fn).parameters
    unknown = set(args) - set(params)
    if unknown:
        raise RequestError(f"{op} does not take {sorted(unknown)}; its arguments are {', '.join(params) or 'none'}")
    return fn(**args)


__all__: Sequence[str] = ("ExampleService", "call", "check_digest", "check_id", "parse_history")
