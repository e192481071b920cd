"""``studio serve``'s operations without a transport: the same retrieval as the rag agent, search filters,
trajectories by trajectory or example id, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from studio.errors import RequestError, WorkspaceError
from studio.llm.embedders import LexicalEmbedder
from studio.pipeline.agent.policies import HistoryItem
from studio.pipeline.retrieval.retriever import Retriever, build_index
from studio.workspace import Workspace
from tests.unit.test_retrieval import PLANTED, SCREENS, FixedWriter, populate


def make_served_workspace(path: Path, *, extra: int = 3, index: bool = True) -> list[Any]:
    """A workspace with the retrieval tests' planted examples, the lexical embedder, and (optionally) its index.

    The first example's trajectory gets a third step with a real screenshot (a 32x20 PNG) for the image tests.
    """
    import io

    from PIL import Image

    from studio.workspace import Step

    with Workspace.init(path) as w:
        (path / "studio.toml").write_text(
            (path / "studio.toml").read_text().replace('backend = "local"', 'backend = "lexical"')
        )
        w.config.roles.embedder.backend = "lexical"
        exs = populate(w, extra=extra)
        buf = io.BytesIO()
        Image.new("RGB", (32, 20), (200, 30, 30)).save(buf, format="PNG")
        w.add_step(
            Step(
                trajectory_id=exs[0].trajectory_id,
                index=2,
                observation_text=SCREENS["calc"],
                width=32,
                height=20,
                reason="look",
                action_code="WAIT",
            ),
            screenshot=buf.getvalue(),
        )
        if index:
            build_index(w, LexicalEmbedder())
    return exs


@pytest.fixture(scope="module")
def served(tmp_path_factory: Any) -> tuple[Path, list[Any]]:
    path = tmp_path_factory.mktemp("serve") / "ws"
    return path, make_served_workspace(path)


@pytest.fixture()
def svc(served: tuple[Path, list[Any]]) -> Any:
    from studio.serve import ExampleService

    s = ExampleService(served[0], embedder=LexicalEmbedder(), query_writer=FixedWriter("save the document"))
    yield s
    s.close()


def test_retrieve_is_the_rag_agents_retrieval(svc: Any, served: tuple[Path, list[Any]]) -> None:
    history = [{"reason": "opened the menu", "action": "pyautogui.click(5, 5)"}, "typed -> pyautogui.write('x')"]
    got = svc.retrieve_examples("Save the document", history, SCREENS["save"], mode="both")
    with Workspace.open(served[0], readonly=True) as ws:
        r = Retriever.from_config(ws, embedder=LexicalEmbedder(), query_writer=FixedWriter("save the document"))
        want = r.retrieve(
            "Save the document",
            SCREENS["save"],
            [HistoryItem("opened the menu", "pyautogui.click(5, 5)"), HistoryItem("typed", "pyautogui.write('x')")],
            mode="both",
        )
        text, _usage = r.examples_for(_ctx("Save the document", SCREENS["save"]), mode="both")
    assert [e["id"] for e in got["examples"]] == [h.example.id for h in want.hits]
    assert got["examples"][0]["instruction"] == "Save the document under a new name"
    assert got["examples"][0]["steps"] == [
        {"reason": "type the file name", "action": "pyautogui.typewrite('notes.txt')"}
    ]
    assert got["queries"] == {"observation": want.fts_query, "dense": "save the document"}
    assert got["usage"]["model_calls"] == 1 and got["mode"] == "both"
    assert got["prompt_text"].startswith("Example 1: Save the document under a new name")
    assert got["prompt_text"] == text  # exactly what the rag agent puts in its prompt


def _ctx(instruction: str, table: str) -> Any:
    return _Ctx(instruction, table)


class _Ctx:
    def __init__(self, instruction: str, table: str) -> None:
        self.instruction = instruction
        self.history = [
            HistoryItem("opened the menu", "pyautogui.click(5, 5)"),
            HistoryItem("typed", "pyautogui.write('x')"),
        ]
        self.observation = type("O", (), {"a11y_table": table})()


def test_modes_k_and_observation_only(svc: Any) -> None:
    obs = svc.retrieve_examples("anything", None, SCREENS["term"], k=1, mode="observation")
    assert [e["instruction"] for e in obs["examples"]] == ["List the files in the home directory"]
    assert obs["examples"][0]["source"] == "observation" and "BM25" in obs["examples"][0]["why"]
    wide = svc.retrieve_examples("Save the document", None, SCREENS["save"], k=14, mode="both")
    assert len(wide["examples"]) == len(PLANTED) + 3  # k beyond m1 + m2 widens the search
    assert svc.retrieve_examples("x", None, "", mode="none")["examples"] == []


def test_search_with_filters(svc: Any) -> None:
    got = svc.search_examples("Save As dialog", k=3)
    assert got["examples"][0]["instruction"] == "Save the document under a new name"
    only = svc.search_examples("Documents Music", filters={"app": ["files"]}, k=10, mode="observation")
    assert only["examples"] and {e["app"] for e in only["examples"]} == {"files"}
    none = svc.search_examples("Save As dialog", filters={"app": "no-such-app"})
    assert none["examples"] == []


def test_trajectory_by_trajectory_or_example_id(svc: Any, served: tuple[Path, list[Any]]) -> None:
    ex = served[1][1]
    by_example = svc.get_trajectory(ex.id, screenshots="none")
    assert by_example["id"] == ex.trajectory_id and by_example["example"]["id"] == ex.id
    assert [s["action"] for s in by_example["steps"]] == ["pyautogui.typewrite('notes.txt')", "DONE"]
    assert by_example["steps"][0]["observation"] == SCREENS["save"]
    assert svc.get_trajectory(ex.trajectory_id, max_steps=1)["steps"][0]["reason"] == "type the file name"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.retrieve_examples("", None, "x"), "instruction is empty"),
        (lambda s: s.retrieve_examples("t", None, "x", k=0), "k must be an integer from 1 to 50"),
        (lambda s: s.retrieve_examples("t", None, "x", k=True), "k must be an integer"),
        (lambda s: s.retrieve_examples("t", None, "x", mode="bm25"), "mode 'bm25' is not one of"),
        (lambda s: s.retrieve_examples("t", "not a list", "x"), "history must be a list"),
        (lambda s: s.retrieve_examples("t", [{"thought": "x"}], "x"), "unknown keys ['thought']"),
        (lambda s: s.retrieve_examples("t", None, 42), "observation must be a string"),
        (lambda s: s.search_examples("q", filters={"colour": "red"}), "unknown filters ['colour']"),
        (lambda s: s.search_examples("q", filters={"app": 3}), "filter app must be a string"),
        (lambda s: s.get_trajectory("../../etc/passwd"), "is not an id"),
        (lambda s: s.get_trajectory("nope"), "no trajectory or example with id 'nope'"),
        (lambda s: s.get_trajectory("nope", screenshots="all"), "screenshots 'all' is not one of"),
        (lambda s: s.get_screenshot("../blobs/ab"), "is not a screenshot reference"),
        (lambda s: s.get_screenshot("a" * 64), "is not in this workspace"),
    ],
)
def test_bad_input_says_what_to_fix(svc: Any, call: Any, message: str) -> None:
    with pytest.raises(RequestError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        call(svc)


def test_dispatch_rejects_unknown_operations_and_arguments(svc: Any) -> None:
    from studio.serve.service import call

    assert call(svc, "info", {})["indexed_examples"] == len(PLANTED) + 3
    with pytest.raises(RequestError, match="unknown operation 'delete'"):
        call(svc, "delete", {})
    with pytest.raises(RequestError, match=r"does not take \['path'\]"):
        call(svc, "get_trajectory", {"id": "x", "path": "/etc"})


def test_missing_index_is_a_workspace_error(tmp_path: Path) -> None:
    from studio.serve import ExampleService

    make_served_workspace(tmp_path / "ws", index=False)
    s = ExampleService(tmp_path / "ws", embedder=LexicalEmbedder())
    try:
        with pytest.raises(WorkspaceError, match="no retrieval index yet"):
            s.retrieve_examples("Save", None, SCREENS["save"], mode="observation")
    finally:
        s.close()
