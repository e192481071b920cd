"""Structured output: JSON extraction, one repair attempt, typed failure that keeps the raw text."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from studio.config import ModelSpec
from studio.llm.client import ModelClient, import_litellm
from studio.llm.ledger import MemoryLedger
from studio.llm.structured import extract_json, parse_structured

MSGS = [{"role": "user", "content": "propose a task"}]


class Task(BaseModel):
    instruction: str
    steps: int


@pytest.mark.parametrize(
    "text",
    [
        '{"instruction": "save", "steps": 2}',
        'Sure! Here it is:\n```json\n{"instruction": "save", "steps": 2}\n```\nAnything else?',
        'Answer: {"instruction": "save", "steps": 2} -- done',
        '```\n{"instruction": "save", "steps": 2}\n```',
    ],
)
def test_extract_json_tolerates_fences_and_prose(text):
    assert extract_json(text) == {"instruction": "save", "steps": 2}


def test_extract_json_skips_non_json_braces():
    assert extract_json('use {braces} like {"a": 1}') == {"a": 1}


def test_extract_json_raises_value_error_without_json():
    with pytest.raises(ValueError):
        extract_json("no json here")


def test_parse_structured_reports_field_errors():
    value, error = parse_structured(Task, '{"instruction": "x", "steps": "many"}')
    assert value is None and "steps" in error


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    litellm = import_litellm()
    real = litellm.completion
    state = {"responses": [], "calls": []}

    def completion(**kw):
        state["calls"].append(kw)
        return real(**kw, mock_response=state["responses"].pop(0))

    monkeypatch.setattr(litellm, "completion", completion)
    return state


SPEC = ModelSpec(model="openai/gpt-4o-mini")


def test_valid_first_time(fake, tmp_path):
    fake["responses"] = ['{"instruction": "save the file", "steps": 3}']
    res = ModelClient(tmp_path, MemoryLedger()).complete_structured(Task, "task_writer", SPEC, MSGS)
    assert res.ok and res.value == Task(instruction="save the file", steps=3) and res.attempts == 1
    call = fake["calls"][0]
    assert call["response_format"]["type"] == "json_schema"
    assert call["response_format"]["json_schema"]["schema"]["required"] == ["instruction", "steps"]
    assert "JSON schema" in call["messages"][0]["content"]


def test_repairs_once_with_the_validation_error(fake, tmp_path):
    fake["responses"] = ['{"instruction": "save"}', '{"instruction": "save", "steps": 1}']
    ledger = MemoryLedger()
    res = ModelClient(tmp_path, ledger).complete_structured(Task, "task_writer", SPEC, MSGS, stage="tasks")
    assert res.ok and res.value.steps == 1 and res.attempts == 2
    repair = fake["calls"][1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"instruction": "save"}'}
    assert "steps" in repair[-1]["content"] and "Field required" in repair[-1]["content"]
    assert len(ledger.records) == 2


def test_typed_failure_keeps_raw_text(fake, tmp_path):
    fake["responses"] = ["I cannot do that", "still not json"]
    res = ModelClient(tmp_path, MemoryLedger()).complete_structured(Task, "task_writer", SPEC, MSGS)
    assert not res.ok and res.value is None
    assert res.raw == "still not json" and res.error and res.attempts == 2
    assert len(fake["calls"]) == 2  # exactly one repair


def test_openai_compatible_server_gets_plain_json_mode(fake, tmp_path):
    fake["responses"] = ['{"instruction": "a", "steps": 1}']
    spec = ModelSpec(model="openai/smollm2", api_base="http://127.0.0.1:9/v1")
    ModelClient(tmp_path).complete_structured(Task, "actor", spec, MSGS)
    assert fake["calls"][0]["response_format"] == {"type": "json_object"}


def test_system_message_keeps_its_text(fake, tmp_path):
    fake["responses"] = ['{"instruction": "a", "steps": 1}']
    msgs = [{"role": "system", "content": "You are a judge."}, *MSGS]
    ModelClient(tmp_path).complete_structured(Task, "judge", SPEC, msgs)
    sent = fake["calls"][0]["messages"]
    assert len(sent) == 2 and sent[0]["content"].startswith("You are a judge.")


def test_truncated_reply_is_closed_and_unfinished_item_dropped() -> None:
    from studio.llm.structured import extract_json

    assert extract_json('{"tasks": ["Add 2 and 3", "Clear the disp') == {"tasks": ["Add 2 and 3"]}
    assert extract_json('{"a": {"vote": true, "rationale": "ok"}, "b": {"vote": tr') == {
        "a": {"vote": True, "rationale": "ok"},
        "b": {},
    }
    assert extract_json('{"k": 1, "j":') == {"k": 1}
    assert extract_json('["a", "b"') == ["a", "b"]
    assert extract_json('{"a": "line one\nline two"}') == {"a": "line one\nline two"}  # raw newline in string
    assert extract_json('Here {is} it: {"a": 1}') == {"a": 1}


def test_truncated_reply_missing_required_field_is_still_a_typed_failure() -> None:
    from pydantic import BaseModel

    from studio.llm.structured import parse_structured

    class Reply(BaseModel):
        instruction: str

    value, error = parse_structured(Reply, '{"instruction": "Click the')
    assert value is None and error and "instruction" in error
