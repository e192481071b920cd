"""Self-instruct task generation (Learn-by-Interact §2): documentation sections -> tasks users perform.

For each documentation section the ``task_writer`` model is asked, with the paper's prompt shape
("{Documentation} Based on the tutorial, exemplify 3 tasks that users frequently perform"), for tasks doable
in the app alone, offline, concrete and checkable. Replies are cleaned (numbering, quotes, length bounds) and
near-duplicates are removed across everything generated (and against ``existing`` tasks, so a resumed run does
not repeat itself).

Nothing here raises on bad model output: a malformed reply yields no tasks from that section and a
:class:`GenerationFailure` with the raw text; an empty section is skipped with a reason.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import Field

from studio.errors import MissingAPIKeyError, ModelError
from studio.pipeline.prompts import ReplySchema, StructuredModel, render_prompt
from studio.pipeline.stages.backward import PLACEHOLDER_TEXT

PROMPT = "self_instruct.v3"
MAX_DOC_CHARS = 4000
MIN_SECTION_CHARS = 40
MIN_TASK_CHARS = 12
MIN_TASK_WORDS = 3
MAX_TASK_CHARS = 300
JACCARD_DUP = 0.8
RATIO_DUP = 0.9


class TaskList(ReplySchema):
    """Reply schema: ``{"tasks": [str, ...]}``.

    The JSON schema bounds the list (``minItems``/``maxItems``) and asks for non-trivial strings, so
    grammar-constrained models (the local llama.cpp provider) cannot answer ``[]``; validation stays lenient
    so one bad item only drops that item. No ``maxLength``: llama.cpp expands it into one nested optional per
    character, which makes the grammar huge and sampling slow; ``max_tokens`` bounds the length instead.
    """

    tasks: list[str] = Field(
        json_schema_extra={
            "minItems": 1,
            "maxItems": 5,
            "items": {"type": "string", "minLength": MIN_TASK_CHARS},
        }
    )


class SectionLike(Protocol):
    """A documentation section (``studio.pipeline.stages.docs.DocSection`` satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class GeneratedTask:
    """A task proposed from one documentation section.

    Attributes:
        id: Deterministic id from app, document id and normalized text (stable across re-runs).
        instruction: The cleaned task text.
        app: The app profile the task is for.
        doc_id: ``DocSection.id`` it came from.
        section: The section title it came from.
        source: The document's source (path, ``man:...``).
        prompt_version: Prompt file stem used, e.g. ``self_instruct.v1``.
    """

    id: str
    instruction: str
    app: str
    doc_id: str
    section: str
    source: str
    prompt_version: str


@dataclass(frozen=True)
class GenerationFailure:
    """A section whose reply could not be used (``raw`` keeps the model text, ``error`` says why)."""

    doc_id: str
    app: str
    stage: str
    error: str
    raw: str
    prompt_version: str


@dataclass(frozen=True)
class SkippedItem:
    """A section not sent to the model, and why."""

    doc_id: str
    reason: str


@dataclass(frozen=True)
class DroppedTask:
    """A generated task dropped by cleaning or de-duplication."""

    doc_id: str
    text: str
    reason: str  # "too short" | "too long" | "duplicate of: <kept task>"


@dataclass
class SelfInstructResult:
    """Everything one run of the stage produced."""

    tasks: list[GeneratedTask] = field(default_factory=list)
    failures: list[GenerationFailure] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    dropped: list[DroppedTask] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- cleaning

_NUMBERING = re.compile(r"^\s*(?:(?:task|step)\s*\d+\s*[:.)-]|\(?\d+[.):]|[-*\u2022]|#+)\s*", re.I)
_QUOTES = "\"'`\u201c\u201d\u2018\u2019"
_TOKEN = re.compile(r"[a-z0-9]+")


def screen_task(
    doc_id: str, raw: str, instruction: str, problem: str | None, kept: Sequence[str]
) -> DroppedTask | None:
    """Why a written task is dropped (its ``problem``, or a near duplicate of one already ``kept``), else None.

    The one filter of both task writers (plain and checked, :mod:`studio.pipeline.stages.checked_tasks`).
    """
    if problem:
        return DroppedTask(doc_id, raw, problem)
    dup = next((k for k in kept if is_near_duplicate(instruction, k)), None)
    if dup is not None:
        return DroppedTask(doc_id, instruction, f"duplicate of: {dup}")
    return None


def ask_writer(
    model: StructuredModel,
    messages: list[dict[str, Any]],
    schema: type[Any],
    section_id: str,
    app: str,
    version: str,
    failures: list[GenerationFailure],
) -> Any | None:
    """The task writer's reply for one section with its ``tasks``; None after adding to ``failures`` why there is
    none (a failed call, a malformed reply, no tasks listed).

    The one model call of both task writers (plain and checked, :mod:`studio.pipeline.stages.checked_tasks`).

    Raises:
        MissingAPIKeyError: The model's API key is not set (every call would fail; fix the configuration).
    """
    try:
        reply = model(messages, schema)
    except MissingAPIKeyError:
        raise
    except ModelError as exc:
        failures.append(GenerationFailure(section_id, app, "tasks", f"model call failed: {exc}", "", version))
        return None
    if not reply.ok or reply.value is None:
        failures.append(
            GenerationFailure(section_id, app, "tasks", reply.error or "malformed reply", reply.raw or "", version)
        )
        return None
    if not reply.value.tasks:
        failures.append(
            GenerationFailure(section_id, app, "tasks", "the reply listed no tasks", reply.raw or "", version)
        )
        return None
    return reply


def clean_task(text: str) -> str:
    """Strip list numbering, bullets, surrounding quotes and extra whitespace from one task."""
    t = " ".join(str(text).split())
    for _ in range(3):
        before = t
        t = _NUMBERING.sub("", t, count=1).strip()
        if len(t) >= 2 and t[0] in _QUOTES and t[-1] in _QUOTES:
            t = t[1:-1].strip()
        t = t.strip("*_ ").strip()
        if t == before:
            break
    return t


def task_problem(text: str) -> str | None:
    """Why a cleaned task is unusable (``"too short"`` / ``"too long"`` / ``"placeholder"``), or None."""
    if PLACEHOLDER_TEXT.search(text):
        return "placeholder"
    if len(text) < MIN_TASK_CHARS or len(text.split()) < MIN_TASK_WORDS:
        return "too short"
    if len(text) > MAX_TASK_CHARS:
        return "too long"
    if any(c in text for c in "{}[]"):
        return "not a task (JSON fragments)"
    if len(re.findall(r"[^\W\d_]{2,}", text)) < MIN_TASK_WORDS:
        return "too few words"
    return None


def echoes_prompt(text: str, prompt_text: str) -> bool:
    """True when a "task" is a line copied from the prompt itself (small models echo their instructions)."""
    t = normalize(text)
    return len(t) >= 8 and t in normalize(prompt_text)


def _prompt_without_docs(messages: list[dict[str, Any]], documentation: str) -> str:
    text = " ".join(str(m.get("content", "")) for m in messages)
    return text.replace(truncate_doc(documentation), " ") if documentation else text


def normalize(text: str) -> str:
    """Lower-case alphanumeric tokens joined by spaces (the form compared for duplicates)."""
    return " ".join(_TOKEN.findall(text.lower()))


def is_near_duplicate(a: str, b: str, *, jaccard: float = JACCARD_DUP, ratio: float = RATIO_DUP) -> bool:
    """True when token Jaccard >= ``jaccard`` or difflib ratio >= ``ratio`` on the normalized texts."""
    na, nb = normalize(a), normalize(b)
    if na == nb:
        return True
    ta, tb = set(na.split()), set(nb.split())
    if ta and tb and len(ta & tb) / len(ta | tb) >= jaccard:
        return True
    return difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio() >= ratio


def task_id(app: str, doc_id: str, instruction: str) -> str:
    """Deterministic task id (16 hex chars)."""
    key = f"{app}\x1f{doc_id}\x1f{normalize(instruction)}"
    return "t-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def truncate_doc(text: str, limit: int = MAX_DOC_CHARS) -> str:
    """Cut a section at ``limit`` characters on a paragraph or line boundary when possible."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for sep in ("\n\n", "\n", ". "):
        pos = cut.rfind(sep)
        if pos > limit // 2:
            cut = cut[: pos + len(sep)].rstrip()
            break
    return cut + "\n[... rest of the section cut]"


# ---------------------------------------------------------------------------------------------- stage


def build_messages(section: SectionLike, app: str, n: int, prompt: str = PROMPT) -> tuple[list[dict[str, Any]], str]:
    """The chat messages for one section and the prompt version."""
    title = " / ".join(p for p in (section.title, section.section) if p and p.strip()) or section.source
    return render_prompt(prompt, app=app, title=title, documentation=truncate_doc(section.text), n=n)


def generate_tasks(
    sections: Iterable[SectionLike],
    model: StructuredModel,
    *,
    app: str,
    n: int = 3,
    existing: Iterable[str] = (),
    max_tasks: int | None = None,
    prompt: str = PROMPT,
) -> SelfInstructResult:
    """Propose tasks from documentation sections of one app.

    Args:
        sections: Documentation sections (any object with ``id, source, title, section, text``).
        model: The ``task_writer`` role bound with :func:`studio.pipeline.prompts.bind_model`.
        app: App profile name the tasks are for (also put into the prompt).
        n: Tasks asked per section (the paper asks for 3).
        existing: Instructions already in the workspace; new near-duplicates of them are dropped.
        max_tasks: Stop asking the model once this many new tasks were kept (None = no limit).
        prompt: Prompt name or exact version.

    Returns:
        Tasks kept, failures (with raw model text), skipped sections and dropped tasks.

    Raises:
        MissingAPIKeyError: The model's API key is not set (every call would fail; fix the configuration).
    """
    result = SelfInstructResult()
    kept: list[str] = [t for t in existing if t]
    for section in sections:
        if max_tasks is not None and len(result.tasks) >= max_tasks:
            break
        text = (section.text or "").strip()
        if len(text) < MIN_SECTION_CHARS:
            reason = "empty section" if not text else f"section shorter than {MIN_SECTION_CHARS} characters"
            result.skipped.append(SkippedItem(doc_id=section.id, reason=reason))
            continue
        messages, version = build_messages(section, app, n, prompt)
        reply = ask_writer(model, messages, TaskList, section.id, app, version, result.failures)
        if reply is None:
            continue
        for raw_task in reply.value.tasks:
            instruction = clean_task(raw_task)
            problem = task_problem(instruction)
            if problem is None and echoes_prompt(instruction, _prompt_without_docs(messages, section.text)):
                problem = "echoes the prompt"
            drop = screen_task(section.id, str(raw_task), instruction, problem, kept)
            if drop is not None:
                result.dropped.append(drop)
                continue
            if max_tasks is not None and len(result.tasks) >= max_tasks:
                break
            kept.append(instruction)
            result.tasks.append(
                GeneratedTask(
                    id=task_id(app, section.id, instruction),
                    instruction=instruction,
                    app=app,
                    doc_id=section.id,
                    section=section.section or section.title,
                    source=section.source,
                    prompt_version=version,
                )
            )
    return result


def dedupe(instructions: Sequence[str]) -> list[int]:
    """Indices of the instructions to keep (first of each near-duplicate group), in order."""
    keep: list[int] = []
    for i, text in enumerate(instructions):
        if not any(is_near_duplicate(text, instructions[k]) for k in keep):
            keep.append(i)
    return keep
