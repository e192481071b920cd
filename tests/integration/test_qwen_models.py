"""The installed Qwen files through the same in-process litellm path as SmolLM2.

* the 0.5B proves the plumbing: the file matches its pinned hash, ``local/qwen2.5-coder-0.5b`` answers
  schema-valid JSON through ``ModelClient``, the cache key follows the file, and prompt reuse keeps answers equal;
* the 1.5B (the writers' default) writes concrete self-instruct tasks from a real documentation section.

Timeouts are generous: on a loaded 2-core machine one 1.5B call has taken minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.config import ModelSpec
from studio.llm.client import ModelClient
from studio.llm.ledger import read_ledger
from studio.llm.models import model_file, verify

pytestmark = pytest.mark.integration
pytest.importorskip("llama_cpp")

SMALL = "qwen2.5-coder-0.5b"
BIG = "qwen2.5-coder-1.5b"
EDITOR_DOC = """Mousepad is a simple text editor. To create a document, type into the editor window. To save it,
choose File > Save As, type a file name such as notes.txt in the Name field and press Save. File > Save keeps
changes to a file that already has a name. Edit > Find (Ctrl+F) searches for text; Edit > Find and Replace
(Ctrl+R) replaces every match of a word with another word. View > Word Wrap wraps long lines."""


def _installed(name: str) -> None:
    if not model_file(name).is_file():
        pytest.skip(f"local/{name} is not installed: run `python -m studio.llm.models install {name}`")


@pytest.mark.timeout(1800)
def test_small_qwen_plumbing_json_cache_and_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.pipeline.stages.committee import CriterionVote

    _installed(SMALL)
    assert verify(SMALL) == model_file(SMALL)  # pinned size and sha256 (hash remembered after the first time)
    client = ModelClient.for_workspace(tmp_path)
    spec = ModelSpec(model=f"local/{SMALL}", max_tokens=64, temperature=0.0, seed=1)
    msgs = [{"role": "user", "content": "Is 7 greater than 3? Vote true or false with a short rationale."}]
    res = client.complete_structured(CriterionVote, "judge", spec, msgs, stage="committee")
    assert res.ok, (res.raw, res.error)
    assert isinstance(res.value.vote, bool) and len(res.value.rationale) >= 3
    rec = read_ledger(tmp_path / "ledger.jsonl")[0]
    assert rec.model == f"local/{SMALL}" and rec.cost == 0.0 and rec.prompt_tokens > 0 and not rec.cache_hit
    again = client.complete_structured(CriterionVote, "judge", spec, msgs, stage="committee")
    assert again.value == res.value and read_ledger(tmp_path / "ledger.jsonl")[-1].cache_hit
    # the same prompt answered again by the model (no cache, prefix state reused) gives the same answer
    fresh = ModelClient(tmp_path / "other-cache", use_cache=False)
    assert fresh.complete_structured(CriterionVote, "judge", spec, msgs).value == res.value
    # the bug of issue #14: a 0.5B, then a 1.5B file behind the same model name must not share cache entries
    same_name = ModelSpec(model="local/smollm2", max_tokens=64)
    keys = []
    for name in (SMALL, BIG, SMALL):
        if not model_file(name).is_file():
            pytest.skip(f"local/{name} is not installed")
        monkeypatch.setenv("STUDIO_LOCAL_GGUF", str(model_file(name)))
        keys.append(client._prepare("judge", same_name, msgs, CriterionVote, "").key)
    assert keys[0] != keys[1] and keys[0] == keys[2]


@pytest.mark.timeout(3600)
def test_big_qwen_writes_concrete_tasks_from_documentation(tmp_path: Path) -> None:
    from studio.pipeline.prompts import bind_model
    from studio.pipeline.stages.self_instruct import generate_tasks

    _installed(BIG)
    client = ModelClient(tmp_path)
    spec = ModelSpec(model=f"local/{BIG}", max_tokens=200, temperature=0.0, seed=1)
    section = type("S", (), {"id": "d1", "source": "man:mousepad", "title": "mousepad", "section": "Usage",
                             "text": EDITOR_DOC})()  # fmt: skip
    res = generate_tasks([section], bind_model(client, "task_writer", spec, "tasks"), app="mousepad", n=3)
    assert not res.failures, res.failures
    assert len(res.tasks) >= 2, (res.tasks, res.dropped)
    # concrete: at least one task names a file, a quoted text or a menu item of the documentation
    assert any(any(w in t.instruction for w in ("notes.txt", "'", '"', "Save", "Find", "Replace", "Word Wrap"))
               for t in res.tasks), [t.instruction for t in res.tasks]  # fmt: skip
