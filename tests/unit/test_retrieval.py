"""Retrieval (Algorithm 2): index, observation + model-based search, packing, modes, agent, hit@k, CLI."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from envs.actions import Click, Done, Hotkey, Key, Move, TypeText
from envs.observation import A11yNode, Observation, linearize
from studio.errors import EmbeddingMismatchError, PipelineError, WorkspaceError
from studio.llm.embedders import LexicalEmbedder
from studio.pipeline.agent.policies import Decision, HistoryItem, StepContext
from studio.pipeline.retrieval.index import IndexedExample, index_size, salient_tokens
from studio.pipeline.retrieval.quality import HeldOutCase, actions_match, hit_at_k, normalize_actions
from studio.pipeline.retrieval.retriever import (
    FusionSettings,
    Hit,
    ModelQueryWriter,
    RetrievalAugmentedPolicy,
    Retriever,
    anchored_query,
    build_index,
    clean_query,
    estimate_tokens,
    pack_examples,
    search,
)
from studio.workspace import Example, Review, Step, Trajectory, Verdict, Workspace


def table(*rows: tuple[str, str, str]) -> str:
    nodes = [A11yNode(i, role, name, text, 10 * i, 20, 40, 30) for i, (role, name, text) in enumerate(rows)]
    return linearize(nodes)


SCREENS = {
    "calc": table(
        ("push button", "7", ""),
        ("push button", "Plus", ""),
        ("push button", "Equals", ""),
        ("text", "display", "0"),
        ("frame", "galculator", ""),
    ),
    "save": table(
        ("dialog", "Save As", ""),
        ("text", "Name", "untitled.txt"),
        ("push button", "Save", ""),
        ("push button", "Cancel", ""),
    ),
    "term": table(("terminal", "xterm", "user@host:~$"), ("frame", "xterm", "")),
    "sheet": table(
        ("table cell", "A1", ""), ("table cell", "B1", ""), ("text", "formula bar", ""), ("frame", "gnumeric Book1", "")
    ),
    "files": table(("list item", "Documents", ""), ("list item", "Music", ""), ("frame", "Files", "")),
    "font": table(
        ("menu", "Format", ""), ("menu item", "Font", ""), ("spin button", "Size", "12"), ("frame", "mousepad", "")
    ),
}
PLANTED = [  # (screen, instruction, reason, action_code)
    ("calc", "Add seven to the total in the calculator", "press the 7 button", "pyautogui.click(10, 35)"),
    ("save", "Save the document under a new name", "type the file name", "pyautogui.typewrite('notes.txt')"),
    ("term", "List the files in the home directory", "run ls in the terminal", "pyautogui.typewrite('ls')"),
    ("sheet", "Put a number into cell A1 of the spreadsheet", "type into A1", "pyautogui.typewrite('42')"),
    ("font", "Make the text bigger with a larger font", "open the Format menu", "pyautogui.click(0, 35)"),
]


def populate(ws: Workspace, *, accept: bool = True, extra: int = 0) -> list[Example]:
    """One trajectory + one single-step example per planted screen (+ ``extra`` noise examples)."""
    examples = []
    noise = [
        ("files", f"Open folder number {n}", f"noise {n}", f"pyautogui.typewrite('noise{n}')") for n in range(extra)
    ]
    for screen, instr, reason, code in PLANTED + noise:
        traj = Trajectory(instruction=instr, app=screen)
        ws.start_trajectory(traj)
        ws.add_step(
            Step(trajectory_id=traj.id, index=0, observation_text=SCREENS[screen], reason=reason, action_code=code)
        )
        ws.add_step(
            Step(
                trajectory_id=traj.id, index=1, observation_text=SCREENS[screen], reason="finished", action_code="DONE"
            )
        )
        ws.finish_trajectory(traj.id)
        ex = Example(trajectory_id=traj.id, start=0, end=1, step_indices=[0], instruction=instr, app=screen)
        examples.append(ex)
    ws.add(examples)
    if accept:
        for ex in examples:
            ws.add_review(Review(example_id=ex.id, decision="accept"))
    return examples


@pytest.fixture()
def ws(tmp_path: Path):
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


class FixedWriter:
    """Fake query writer: always the same query; counts calls."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.calls = 0

    def __call__(self, instruction: str, history: Any, observation_text: str) -> tuple[str, dict]:
        self.calls += 1
        return self.query, {
            "model_calls": 1,
            "prompt_tokens": 100,
            "completion_tokens": 7,
            "cost": 0.0,
            "cache_hits": 0,
        }


def test_salient_tokens_from_a11y_table() -> None:
    toks = salient_tokens(SCREENS["save"], 5)
    assert toks[:3] == ["save", "name", "untitled"]  # names and texts first, stop words ("as") dropped
    assert len(toks) == 5
    assert "20" not in salient_tokens(SCREENS["save"], 100)  # coordinates are not words of the screen
    assert salient_tokens("free text: Save FILE now", 10) == ["free", "text", "save", "file", "now"]


def test_observation_retrieval_returns_planted_example_first(ws: Workspace) -> None:
    exs = populate(ws, extra=6)
    build_index(ws, LexicalEmbedder())
    r = Retriever(ws, LexicalEmbedder(), mode="observation", m1=3)
    for (screen, *_), ex in zip(PLANTED, exs, strict=False):
        out = r.retrieve("anything", SCREENS[screen])
        assert out.hits and out.hits[0].example.id == ex.id, screen
        assert out.hits[0].source == "observation" and out.hits[0].matched
        assert "fts: BM25" in out.hits[0].why
        assert len(out.hits) <= 3


def test_model_query_retrieval_returns_planted_example_first(ws: Workspace) -> None:
    exs = populate(ws, extra=6)
    build_index(ws, LexicalEmbedder())
    writer = FixedWriter("Save the document under a new name")
    r = Retriever(ws, LexicalEmbedder(), mode="model", m2=2, query_writer=writer, query_with_task=False)
    out = r.retrieve("whatever", SCREENS["calc"])
    assert out.hits[0].example.id == exs[1].id and out.hits[0].source == "model"
    assert out.dense_query == writer.query and writer.calls == 1
    assert out.usage["model_calls"] == 1 and out.usage["prompt_tokens"] == 100
    assert len(out.hits) == 2


def test_the_model_query_is_searched_after_the_task_instruction(ws: Workspace) -> None:
    populate(ws, extra=2)
    build_index(ws, LexicalEmbedder())
    writer = FixedWriter("click the Save button")
    r = Retriever(ws, LexicalEmbedder(), mode="model", m2=2, query_writer=writer)
    assert r.query_with_task  # the default (BENCHMARKS.md, "Retrieval quality")
    assert r.retrieve("Save the notes", SCREENS["save"]).dense_query == "Save the notes click the Save button"
    writer.query = "Save the notes as notes.txt"  # already holds the task: searched as written
    assert r.retrieve("save the notes", SCREENS["save"]).dense_query == "Save the notes as notes.txt"
    assert anchored_query("Add 2 and 3", "  ") == "Add 2 and 3"


def test_both_mode_dedupes_and_interleaves(ws: Workspace) -> None:
    exs = populate(ws, extra=4)
    build_index(ws, LexicalEmbedder())
    writer = FixedWriter("Add seven to the total in the calculator")
    paper = FusionSettings(fusion="interleave", dedup="none", dense_weight=0.5)  # the paper's union, kept as an option
    r = Retriever(ws, LexicalEmbedder(), mode="both", m1=2, m2=2, query_writer=writer, fusion=paper)
    out = r.retrieve("Add seven", SCREENS["calc"])
    ids = [h.example.id for h in out.hits]
    assert len(ids) == len(set(ids)) == 4
    assert ids[0] == exs[0].id  # the observation hit; the model's top (same example) is not repeated
    assert [h.source for h in out.hits] == ["observation", "model", "observation", "model"]


def test_mode_switches(ws: Workspace) -> None:
    exs = populate(ws)
    build_index(ws, LexicalEmbedder())
    writer = FixedWriter("terminal")
    r = Retriever(ws, LexicalEmbedder(), mode="both", query_writer=writer)
    assert r.retrieve("x", SCREENS["calc"], mode="none").hits == []
    inst = r.retrieve("List the files in the home directory", SCREENS["calc"], mode="instruction")
    assert inst.hits[0].example.id == exs[2].id and inst.hits[0].source == "instruction"
    assert writer.calls == 0 and inst.usage == {}
    obs = r.retrieve("x", SCREENS["sheet"], mode="observation")
    assert {h.source for h in obs.hits} == {"observation"} and writer.calls == 0
    r.retrieve("x", SCREENS["sheet"], mode="model")
    assert writer.calls == 1
    with pytest.raises(PipelineError, match="unknown retrieval mode"):
        r.retrieve("x", "y", mode="bm25")
    with pytest.raises(PipelineError, match="query writer"):
        Retriever(ws, LexicalEmbedder(), mode="model").retrieve("x", SCREENS["calc"])


def test_index_is_idempotent_and_follows_statuses(ws: Workspace) -> None:
    exs = populate(ws, accept=False)
    emb = LexicalEmbedder()
    rep = build_index(ws, emb)
    assert rep.added == 0 and index_size(ws) == 0  # nothing accepted yet
    for ex in exs[:3]:
        ws.add_review(Review(example_id=ex.id, decision="accept"))
    rep = build_index(ws, emb)
    assert (rep.added, rep.embedded, rep.total) == (3, 3, 3)
    rep = build_index(ws, emb)
    assert (rep.added, rep.embedded, rep.removed) == (0, 0, 0)
    ws.add_review(Review(example_id=exs[0].id, decision="reject"))
    rep = build_index(ws, emb)
    assert rep.removed == 1 and rep.total == 2
    rep = build_index(ws, emb, accepted_only=False)
    assert rep.added == 3 and rep.embedded == 2 and rep.total == 5  # exs[0] keeps its vector
    # committee verdicts count too (one judge, all four criteria yes)
    assert build_index(ws, emb).total == 2
    for crit in ("aligned", "coherent", "natural", "reasonable"):
        ws.add(Verdict(example_id=exs[4].id, judge="j", criterion=crit, vote=True))
    assert build_index(ws, emb).total == 3


def test_edited_instruction_is_indexed(ws: Workspace) -> None:
    exs = populate(ws)
    ws.add_review(Review(example_id=exs[0].id, decision="edit", edited_instruction="Press seven on the pad"))
    build_index(ws, LexicalEmbedder())
    hits = search(ws, "Press seven on the pad", mode="model", k=1, embedder=LexicalEmbedder())
    assert hits[0].example.instruction == "Press seven on the pad"
    assert hits[0].example.steps == [("press the 7 button", "pyautogui.click(10, 35)")]


def test_embedder_mismatch_is_refused(ws: Workspace) -> None:
    populate(ws)
    build_index(ws, LexicalEmbedder(256))
    with pytest.raises(EmbeddingMismatchError):
        build_index(ws, LexicalEmbedder(128))
    r = Retriever(ws, LexicalEmbedder(128), mode="instruction")
    with pytest.raises(EmbeddingMismatchError):
        r.retrieve("Save the document", "")


def test_search_api_sources_and_missing_index(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="no retrieval index"):
        search(ws, "save", embedder=LexicalEmbedder())
    exs = populate(ws, extra=3)
    build_index(ws, LexicalEmbedder())
    hits = search(ws, "Save As dialog name", mode="both", k=3, embedder=LexicalEmbedder())
    assert hits[0].example.id == exs[1].id and hits[0].source in ("both", "fts")
    assert "save" in hits[0].matched
    obs = search(ws, "terminal xterm", mode="observation", k=10)
    assert {h.source for h in obs} == {"fts"} and obs[0].example.app == "term"
    assert search(ws, "x", mode="none", k=3) == []


def ex_with(n_steps: int, text_len: int, i: int = 0) -> IndexedExample:
    return IndexedExample(
        id=f"e{i}",
        instruction="do " + "x" * text_len,
        steps=[(f"reason {j} " + "r" * text_len, f"pyautogui.press('tab')  # {j}") for j in range(n_steps)],
    )


def test_packer_never_exceeds_budget() -> None:
    rng = random.Random(7)
    for _ in range(400):
        budget = rng.randint(0, 800)
        exs = [ex_with(rng.randint(0, 6), rng.randint(0, 300), i) for i in range(rng.randint(0, 12))]
        text = pack_examples(exs, budget)
        assert estimate_tokens(text) <= budget
        if text:
            assert text.startswith("Example 1: ")
    big = [ex_with(3, 10, 0), ex_with(3, 10, 1)]
    full = pack_examples(big, 10_000)
    assert "Example 2:" in full and full.count("ACTION:") == 6
    one = pack_examples(big, estimate_tokens(full) - 1)  # the last step of example 2 is dropped
    assert one.count("ACTION:") == 5 and estimate_tokens(one) <= estimate_tokens(full) - 1
    hits = [Hit(big[0], 1.0, "observation", "")]
    assert pack_examples(hits, 10_000).startswith("Example 1: do ")


def test_clean_query_and_model_query_writer() -> None:
    assert clean_query('Query: "open the Format menu"\nmore', "fb") == "open the Format menu"
    assert clean_query("  \n", "fallback") == "fallback"
    seen: list[list[dict]] = []

    def complete(messages: list[dict]) -> tuple[str, dict]:
        seen.append(messages)
        return "save file dialog", {"model_calls": 1, "prompt_tokens": 50}

    writer = ModelQueryWriter(complete)
    q, usage = writer("Save it", [HistoryItem("typed", "pyautogui.write('a')")], SCREENS["save"])
    assert q == "save file dialog" and usage["model_calls"] == 1
    prompt = seen[0][0]["content"]
    assert "Save it" in prompt and "Save As" in prompt and "pyautogui.write('a')" in prompt


class EchoPolicy:
    name = "echo"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def decide(self, ctx: StepContext) -> Decision:
        self.seen.append(ctx.examples_text)
        return Decision([Done()], action_code="DONE", usage={"model_calls": 1, "prompt_tokens": 1000})


def test_retrieval_augmented_policy_fills_examples_and_counts_query_writer(ws: Workspace) -> None:
    populate(ws, extra=3)
    build_index(ws, LexicalEmbedder())
    writer = FixedWriter("Save the document under a new name")
    r = Retriever(ws, LexicalEmbedder(), mode="both", m1=2, m2=2, budget_tokens=300, query_writer=writer)
    base = EchoPolicy()
    policy = RetrievalAugmentedPolicy(base, r)
    obs = Observation(b"", 1280, 800, a11y_nodes=[A11yNode(1, "dialog", "Save As", "", 0, 0, 10, 10)])
    ctx = StepContext(instruction="Save the file", observation=obs)
    d = policy.decide(ctx)
    assert base.seen[0].startswith("Example 1: ") and estimate_tokens(base.seen[0]) <= 300
    assert "ACTION: pyautogui.typewrite('notes.txt')" in base.seen[0]
    assert d.usage["model_calls"] == 2 and d.usage["prompt_tokens"] == 1100
    assert d.usage["query_writer_calls"] == 1
    assert d.usage["retrieved"] and policy.totals["model_calls"] == 1
    none = RetrievalAugmentedPolicy(EchoPolicy(), r, mode="none")
    assert none.decide(ctx).usage["model_calls"] == 1 and none.base.seen == [""]  # type: ignore[attr-defined]


def test_held_out_cases_compare_an_element_click_by_its_code(ws: Workspace) -> None:
    """An element actor's step stores click_element(N); an example holds the step's code, a click at the
    element's point. The case's next action is read from the code too, so the two match."""
    from envs.actions import ClickElement, action_to_dict
    from studio.pipeline.retrieval.quality import cases_from_workspace, code_actions

    traj = Trajectory(instruction="Open the Edit menu", app="galculator")
    ws.start_trajectory(traj)
    code = "pyautogui.click(59, 31)  # click_element(2)"
    ws.add_step(
        Step(
            trajectory_id=traj.id,
            index=0,
            observation_text=SCREENS["calc"],
            action_code=code,
            actions=[action_to_dict(ClickElement(2))],
        )
    )
    ws.finish_trajectory(traj.id)
    (case,) = cases_from_workspace(ws, [traj.id])
    assert case.next_actions == [Click(59, 31)] == code_actions(code)


def test_action_matching_and_hit_at_k(ws: Workspace) -> None:
    assert actions_match(Click(100, 100), Click(110, 95))
    assert not actions_match(Click(100, 100), Click(150, 100))
    assert actions_match(TypeText("LS "), TypeText("ls")) and not actions_match(TypeText("ls"), Key("enter"))
    assert actions_match(Hotkey(("ctrl", "s")), Hotkey(("s", "ctrl")))
    assert normalize_actions([Move(5, 6), Click()]) == [Click(5, 6)]
    populate(ws, extra=5)
    build_index(ws, LexicalEmbedder())
    r = Retriever(ws, LexicalEmbedder(), m1=5, m2=5, query_writer=FixedWriter("calculator"))
    cases = [
        HeldOutCase("Add seven", SCREENS["calc"], [Move(12, 33), Click()]),
        HeldOutCase("Name the file", SCREENS["save"], [TypeText("notes.txt")]),
        HeldOutCase("Unseen", SCREENS["font"], [Hotkey(("ctrl", "q"))]),
        HeldOutCase("no action", SCREENS["font"], []),
    ]
    res = hit_at_k(r, cases, (1, 3), mode="observation")
    assert res == {"hit@1": pytest.approx(2 / 3), "hit@3": pytest.approx(2 / 3), "n": 3.0}


def test_search_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from studio.cli import app

    path = tmp_path / "ws"
    with Workspace.init(path) as w:
        w.config.roles.embedder.backend = "lexical"
        (path / "studio.toml").write_text(
            (path / "studio.toml").read_text().replace('backend = "local"', 'backend = "lexical"')
        )
        populate(w, extra=2)
    res = CliRunner().invoke(
        app, ["search", "Save As dialog", "--workspace", str(path), "-k", "2"], env={"COLUMNS": "300"}
    )
    assert res.exit_code == 0, res.output
    assert "Save the document under a new name" in res.output and "fts" in res.output
    res = CliRunner().invoke(
        app, ["search", "terminal", "--workspace", str(path), "--mode", "observation", "--all", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert '"source": "fts"' in res.output


def test_vectors_from_another_writer_are_reused(ws: Workspace) -> None:
    exs = populate(ws)
    emb = LexicalEmbedder()
    ws.set_example_vectors([exs[0].id], emb.embed(["something else"]), emb.name)
    rep = build_index(ws, emb)
    assert rep.embedded == len(exs) - 1
    assert np.isfinite(search(ws, "something else", mode="model", k=1, embedder=emb)[0].score)


def test_rag_agent_factory_builds_index_and_policy(tmp_path: Path) -> None:
    evaluate = pytest.importorskip("studio.pipeline.eval.runner")
    from studio.pipeline.retrieval.retriever import rag_agent

    path = tmp_path / "ws"
    with Workspace.init(path) as w:
        (path / "studio.toml").write_text(
            (path / "studio.toml").read_text().replace('backend = "local"', 'backend = "lexical"')
        )
        populate(w)
    req = evaluate.AgentRequest(
        agent="rag:observation", mode="observation", task_id="t", task_path=None, workspace=str(path), max_steps=3
    )
    policy = rag_agent(req)
    assert isinstance(policy, RetrievalAugmentedPolicy) and policy.name == "rag:observation"
    assert policy.mode == "observation" and policy.retriever.query_writer is None
    obs = Observation(b"", 1280, 800, a11y_nodes=[A11yNode(1, "terminal", "xterm", "user@host:~$", 0, 0, 9, 9)])
    text, usage = policy.retriever.examples_for(StepContext(instruction="list files", observation=obs))
    assert "List the files in the home directory" in text.splitlines()[0] and "model_calls" not in usage
    both = rag_agent(
        evaluate.AgentRequest(agent="rag", mode="", task_id="t", task_path=None, workspace=str(path), max_steps=3)
    )
    assert both.mode == "both" and isinstance(both.retriever.query_writer, ModelQueryWriter)
    policy.retriever.ws.close()
    both.retriever.ws.close()


def _to_old_layout(ws: Workspace) -> None:
    """Rewrite the index as a studio before the vector column wrote it (same rows, no vectors)."""
    from studio.pipeline.retrieval.index import INDEX_TABLE, index_schema

    old = ws.table(INDEX_TABLE).to_arrow().drop_columns(["vector"])
    ws.create_derived_table(INDEX_TABLE, index_schema(), data=old, replace=True)
    ws.ensure_index(INDEX_TABLE, "obs_text", "fts")


def _results(r: Retriever) -> list[list[tuple[str, str, float]]]:
    out = []
    for screen, instr, *_ in PLANTED:
        hits = r.retrieve(instr, SCREENS[screen]).hits
        out.append([(h.example.id, h.example.instruction, round(h.score, 4)) for h in hits])
        assert all(h.example.steps for h in hits)
    return out


def test_index_of_the_old_layout_is_searched_then_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.pipeline.retrieval import index as retrieval_index

    path = tmp_path / "ws"
    emb = LexicalEmbedder()
    writer = FixedWriter("save the document with a new file name")
    with Workspace.init(path) as w:
        exs = populate(w, extra=4)
        build_index(w, emb)
        expected = _results(Retriever(w, emb, mode="both", m1=2, m2=3, query_writer=writer))
        _to_old_layout(w)
        assert not retrieval_index.has_vectors(w.table(retrieval_index.INDEX_TABLE))
    # A reader of an old index: the same hits, the dense side through the workspace's vectors + a lookup.
    lookups: list[int] = []
    real_lookup = retrieval_index.lookup

    def counting_lookup(*args: Any, **kwargs: Any) -> Any:
        lookups.append(1)
        return real_lookup(*args, **kwargs)

    monkeypatch.setattr("studio.pipeline.retrieval.retriever.lookup", counting_lookup)
    ro = Workspace.open(path, readonly=True)
    old_reader = Retriever(ro, emb, mode="both", m1=2, m2=3, query_writer=writer)
    assert _results(old_reader) == expected and lookups
    with pytest.raises(WorkspaceError, match="read-only"):
        build_index(ro, emb)  # a reader never rewrites the index
    # The next writer rebuilds it with vectors: nothing embedded again, rejected examples dropped, idempotent.
    with Workspace.open(path) as w:
        w.add_review(Review(example_id=exs[-1].id, decision="reject"))
        rep = build_index(w, emb)
        assert (rep.embedded, rep.added, rep.removed, rep.total) == (0, 0, 1, len(exs) - 1)
        assert retrieval_index.has_vectors(w.table(retrieval_index.INDEX_TABLE))
        again = build_index(w, emb)
        assert (again.embedded, again.added, again.removed, again.updated) == (0, 0, 0, 0)
        assert again.total == len(exs) - 1
        # a retriever made before the rebuild, on the writer's own handle, follows the new table
        lookups.clear()
        assert _results(Retriever(w, emb, mode="both", m1=2, m2=3, query_writer=writer))
        assert not lookups
    # The reader opened before the rebuild switches to the one-query dense search.
    lookups.clear()
    old_reader._ex_cache.clear()
    after = _results(old_reader)
    assert old_reader._has_vectors and not lookups
    assert all(exs[-1].id not in [eid for eid, *_ in hits] for hits in after)
    ro.close()


def test_large_index_gets_vector_and_scalar_indexes(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.pipeline.retrieval import index as retrieval_index

    monkeypatch.setattr(retrieval_index, "VECTOR_INDEX_MIN_ROWS", 8)
    monkeypatch.setattr(retrieval_index, "SCALAR_INDEX_MIN_ROWS", 8)
    exs = populate(ws, extra=40)
    emb = LexicalEmbedder()
    build_index(ws, emb)
    table = ws.table(retrieval_index.INDEX_TABLE)
    indexed = {c for ix in table.list_indices() for c in ix.columns}
    assert {"obs_text", "example_id", "vector"} <= indexed
    hits = search(ws, "Save the document under a new name", mode="model", k=3, embedder=emb)
    assert hits[0].example.id == exs[1].id and hits[0].example.steps
    assert build_index(ws, emb).added == 0
