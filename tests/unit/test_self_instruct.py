"""Self-instruct stage with a fake structured model: cleaning, dedupe, malformed output, empty sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from studio.errors import MissingAPIKeyError, ModelCallError, PipelineError
from studio.pipeline.prompts import available_versions, load_prompt, placeholders, render, render_prompt
from studio.pipeline.stages import self_instruct as si


@dataclass(frozen=True)
class Sec:
    id: str
    text: str
    title: str = "Mousepad Help"
    section: str = "Editing"
    source: str = "/usr/share/help/C/mousepad/index.page"
    format: str = "mallard"


@dataclass
class Reply:
    ok: bool
    value: Any
    raw: str
    error: str | None = None


@dataclass
class FakeModel:
    """Replies in order: a dict (validated against the schema), a str (malformed), or an exception."""

    replies: list[Any]
    calls: list[list[dict]] = field(default_factory=list)

    def __call__(self, messages: list[dict], schema: type) -> Reply:
        self.calls.append(messages)
        r = self.replies.pop(0)
        if isinstance(r, BaseException):
            raise r
        if isinstance(r, str):
            return Reply(False, None, r, "no JSON object found in the reply")
        return Reply(True, schema.model_validate(r), repr(r))


DOC = "To find text, open Search > Find and type the word. Replace works the same way from Search > Replace."


def test_prompt_loader_versions_and_placeholders() -> None:
    text, version = load_prompt("self_instruct")
    assert version == si.PROMPT == "self_instruct.v3"  # newest shipped, and what the stage pins
    assert available_versions("self_instruct") == ["self_instruct.v1", "self_instruct.v2", "self_instruct.v3"]
    assert placeholders(text) == {"app", "title", "documentation", "n"}
    assert "exemplify {n} tasks that users frequently perform" in text
    assert load_prompt("self_instruct.v3") == (text, "self_instruct.v3")
    assert load_prompt("self_instruct.v1")[1] == "self_instruct.v1"
    for stage, newest in (("backward_instruction", 2), ("backward_replicate", 2), ("judge", 3)):
        assert load_prompt(stage)[1] == f"{stage}.v{newest}"
    with pytest.raises(PipelineError, match="no prompt template"):
        load_prompt("nope")
    with pytest.raises(PipelineError, match="not found"):
        load_prompt("judge.v99")


def test_render_leaves_json_braces_and_rejects_missing_values() -> None:
    assert render('{a} -> {"x": 1} {b}', a="A", b="{a}") == 'A -> {"x": 1} {a}'
    with pytest.raises(PipelineError, match=r"\['b'\]"):
        render("{a} {b}", a=1)
    messages, version = render_prompt("self_instruct", app="mousepad", title="T", documentation=DOC, n=3)
    assert version == "self_instruct.v3" and messages[0]["role"] == "user"
    assert DOC in messages[0]["content"] and "exemplify 3 tasks" in messages[0]["content"]


def test_generates_clean_tasks_with_provenance() -> None:
    model = FakeModel(
        [
            {
                "tasks": [
                    "1. Open the Find dialog and search for the word 'hello'",
                    '"Replace every occurrence of cat with dog in the document"',
                    "- Save the document as notes.txt in the home folder",
                ]
            }
        ]
    )
    res = si.generate_tasks([Sec("d1", DOC)], model, app="mousepad", n=3)
    assert [t.instruction for t in res.tasks] == [
        "Open the Find dialog and search for the word 'hello'",
        "Replace every occurrence of cat with dog in the document",
        "Save the document as notes.txt in the home folder",
    ]
    t = res.tasks[0]
    assert (t.app, t.doc_id, t.section, t.prompt_version) == ("mousepad", "d1", "Editing", "self_instruct.v3")
    assert t.id == si.task_id("mousepad", "d1", t.instruction) and t.id.startswith("t-")
    assert not res.failures and not res.skipped
    assert "mousepad" in model.calls[0][0]["content"]


def test_malformed_output_records_failure_and_continues() -> None:
    model = FakeModel(["Sure! Here are some tasks: open a file", {"tasks": ["Type hello world into a new document"]}])
    res = si.generate_tasks([Sec("bad", DOC), Sec("good", DOC)], model, app="mousepad")
    assert [f.doc_id for f in res.failures] == ["bad"]
    assert res.failures[0].raw == "Sure! Here are some tasks: open a file"
    assert res.failures[0].prompt_version == "self_instruct.v3"
    pinned = si.generate_tasks([Sec("a", DOC)], FakeModel(["x"]), app="m", prompt="self_instruct.v1")
    assert pinned.failures[0].prompt_version == "self_instruct.v1"
    assert [t.doc_id for t in res.tasks] == ["good"]


def test_model_call_error_is_a_failure_but_missing_key_raises() -> None:
    res = si.generate_tasks([Sec("d", DOC)], FakeModel([ModelCallError("boom", model="m")]), app="x")
    assert res.failures[0].error.startswith("model call failed") and not res.tasks
    with pytest.raises(MissingAPIKeyError):
        si.generate_tasks([Sec("d", DOC)], FakeModel([MissingAPIKeyError("set KEY")]), app="x")


def test_empty_section_is_skipped_without_a_model_call() -> None:
    model = FakeModel([])
    res = si.generate_tasks([Sec("empty", "   \n"), Sec("tiny", "See also.")], model, app="mousepad")
    assert [(s.doc_id, s.reason) for s in res.skipped] == [
        ("empty", "empty section"),
        ("tiny", "section shorter than 40 characters"),
    ]
    assert model.calls == [] and not res.tasks


def test_near_duplicates_removed_across_sections_and_existing() -> None:
    model = FakeModel(
        [
            {
                "tasks": [
                    "Search for the word hello in the document",
                    "Search for the word 'hello' in the document.",
                    "ok",
                    "Change the font size to 14 points",
                ]
            },
            {
                "tasks": [
                    "search for the word hello in the document!",
                    "Undo the last edit with the Edit menu",
                ]
            },
        ]
    )
    res = si.generate_tasks(
        [Sec("a", DOC), Sec("b", DOC)],
        model,
        app="mousepad",
        existing=["Undo the last edit using the Edit menu"],
    )
    assert [t.instruction for t in res.tasks] == [
        "Search for the word hello in the document",
        "Change the font size to 14 points",
    ]
    reasons = [d.reason for d in res.dropped]
    assert reasons.count("too short") == 1
    assert sum(r.startswith("duplicate of:") for r in reasons) == 3


def test_empty_task_list_is_a_failure_and_max_tasks_stops_early() -> None:
    res = si.generate_tasks([Sec("a", DOC)], FakeModel([{"tasks": []}]), app="x")
    assert res.failures[0].error == "the reply listed no tasks"
    model = FakeModel([{"tasks": ["Open the Search menu and find hello", "Save the file as a.txt now"]}])
    res = si.generate_tasks([Sec("a", DOC), Sec("b", DOC)], model, app="x", max_tasks=1)
    assert len(res.tasks) == 1 and len(model.calls) == 1


def test_cleaning_and_similarity_helpers() -> None:
    assert si.clean_task("  Task 2: 'Open   the file'  ") == "Open the file"
    assert si.clean_task("**3) Print the page**") == "Print the page"
    assert si.task_problem("word " * 80) == "too long"
    assert si.task_problem("<task 1> and <task 2>") == "placeholder"
    assert si.task_problem("Press <Ctrl>+<S> to save the file") is None
    assert si.is_near_duplicate("Open the file menu", "open the File menu.")
    assert not si.is_near_duplicate("Open the file menu", "Close the calculator window")
    assert si.dedupe(["a b c d", "A b c d!", "e f g h"]) == [0, 2]
    long = "para one.\n\n" + "word " * 2000
    assert si.truncate_doc(long).endswith("[... rest of the section cut]")
    assert len(si.truncate_doc(long)) <= si.MAX_DOC_CHARS + 40


def test_prompt_loader_module_is_not_shadowed_by_the_template_folder() -> None:
    """``studio/pipeline/prompts/`` holds data only: an ``__init__.py`` there would hide ``prompts.py``."""
    import studio.pipeline.prompts as mod

    assert mod.__file__ and mod.__file__.endswith("prompts.py")
    from importlib import resources

    names = {p.name for p in (resources.files("studio.pipeline") / "prompts").iterdir()}
    assert "__init__.py" not in names
    assert {
        "self_instruct.v1.md",
        "backward_instruction.v1.md",
        "backward_replicate.v1.md",
        "judge.v1.md",
    } <= names


def test_json_fragments_and_prompt_echoes_are_not_tasks() -> None:
    assert si.task_problem("} Reply with only one JSON object: {") == "not a task (JSON fragments)"
    assert si.task_problem("1 2 3 4") is not None
    prompt = "Every task must: - be doable inside galculator alone: no other program"
    assert si.echoes_prompt("be doable inside galculator alone", prompt)
    assert not si.echoes_prompt("Add 12 and 30 with the buttons", prompt)
