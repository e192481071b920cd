"""Self-instruct with checks: the task writer writes each task together with its OSWorld ``config``, ``evaluator``
and (optionally) a pyautogui ``solution``.

The reply schema is built from the registries of what writers may use (:mod:`envs.task_schema`), so a
grammar-constrained model (the local llama.cpp provider turns the JSON schema into a grammar) can only write
supported setup types, getters and metrics with their declared parameters. Hosted models get the same schema
(``response_format`` / the schema instruction) and are checked afterwards all the same: every written task goes
through :func:`envs.task_schema.parse_written` (unsupported types, host paths, bad parameters) before anything of
it runs, and later through :func:`studio.pipeline.stages.task_check.validate_task` in a real sandbox.

A task whose *check* is unusable keeps its instruction: it is stored ``unverified`` with the reason, so a weak
writer still feeds the pipeline. A task whose *instruction* is unusable (too short, placeholder, duplicate) is
dropped as in plain self-instruct.

Seeds: instructions and checks of imported tasks (``studio tasks import``) or bundled tasks of the same app are
shown to the writer as examples of the shape (at most ``max_examples``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.errors import StudioError
from studio.pipeline.prompts import ReplySchema, StructuredModel, render_prompt
from studio.pipeline.stages.self_instruct import (
    DroppedTask,
    GenerationFailure,
    SectionLike,
    SkippedItem,
    ask_writer,
    clean_task,
    screen_task,
    task_id,
    task_problem,
    truncate_doc,
)

PROMPT = "self_instruct_checked.v1"
MIN_SECTION_CHARS = 40
#: Shown when no seed of the app can serve as an example.
GENERIC_EXAMPLE: dict[str, Any] = {
    "instruction": "Append the line 'three' to the file ~/list.txt and save it.",
    "config": [
        {"type": "execute", "parameters": {"command": "printf 'one\\ntwo\\n' > ~/list.txt"}},
        {"type": "open", "parameters": {"path": "~/list.txt"}},
    ],
    "evaluator": {
        "func": "check_include_exclude",
        "result": {"type": "vm_command_line", "command": "cat ~/list.txt"},
        "expected": {"type": "rule", "rules": {"include": ["one\ntwo\nthree"], "exclude": []}},
    },
    "solution": ["pyautogui.hotkey('ctrl', 'end')", "pyautogui.write('three')", "pyautogui.hotkey('ctrl', 's')"],
}


@dataclass(frozen=True)
class CheckedTask:
    """A task proposed with its check.

    Attributes:
        id, instruction, app, doc_id, section, source, prompt_version: as in ``self_instruct.GeneratedTask``.
        check: ``{"config", "evaluator", "solution"}`` as written (empty when the reply had none).
        problem: Why the check cannot be used ("" when it passed the static checks; it still has to be
            validated in a sandbox).
    """

    id: str
    instruction: str
    app: str
    doc_id: str
    section: str
    source: str
    prompt_version: str
    check: dict[str, Any]
    problem: str = ""


@dataclass
class CheckedResult:
    """Everything one run of the writer produced."""

    tasks: list[CheckedTask] = field(default_factory=list)
    failures: list[GenerationFailure] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    dropped: list[DroppedTask] = field(default_factory=list)


def reply_schema(n: int, *, solution: bool = True) -> type[ReplySchema]:
    """A reply type whose JSON schema is :func:`envs.task_schema.writer_schema` (validation stays lenient: each
    task is checked on its own, so one bad task does not lose the others)."""
    from envs.task_schema import writer_schema

    schema = writer_schema(n, solution=solution)

    class CheckedTaskList(ReplySchema):
        tasks: list[Any]

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return copy.deepcopy(schema)

    return CheckedTaskList


def describe_types() -> str:
    """One line per setup type, getter and metric a writer may use, with its parameters (for the prompt)."""
    from envs.task_schema import offered, params_schema

    lines = []
    for kind, label in (("setup", "setup step"), ("getter", "getter"), ("metric", "metric")):
        for o in offered(kind):  # type: ignore[arg-type]
            props = params_schema(o.params).get("properties", {})
            args = ", ".join(props) or "no parameters"
            extra = f" -> {o.returns}" if o.returns else (f" (compares {'/'.join(o.accepts)})" if o.accepts else "")
            noun = "rules" if kind == "metric" else "parameters"
            lines.append(f"- {label} {o.name}: {noun} {args}{extra}")
    return "\n".join(lines)


def render_examples(seeds: Sequence[dict[str, Any]], limit: int = 2) -> str:
    """Seed tasks (written-task shape) as compact JSON lines; the generic example when there is none."""
    chosen = list(seeds[:limit]) or [GENERIC_EXAMPLE]
    return "\n".join(json.dumps(s, ensure_ascii=False, separators=(", ", ": ")) for s in chosen)


def build_messages(
    section: SectionLike, app: str, n: int, seeds: Sequence[dict[str, Any]] = (), prompt: str = PROMPT
) -> tuple[list[dict[str, Any]], str]:
    """The chat messages for one section and the prompt version."""
    title = " / ".join(p for p in (section.title, section.section) if p and p.strip()) or section.source
    return render_prompt(
        prompt,
        app=app,
        title=title,
        documentation=truncate_doc(section.text),
        n=n,
        types=describe_types(),
        examples=render_examples(seeds),
    )


def checked(item: Any, *, app: str, tid: str) -> tuple[dict[str, Any] | None, str]:
    """The check to store for a written task (as checked, with explicit command timeouts) and why it is
    unusable ("" if it passes the static checks; then the check still has to be validated in a sandbox)."""
    from envs.task_schema import parse_written, written_check

    try:
        return written_check(parse_written(item, task_id=tid, app=app)), ""
    except StudioError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def write_checked_tasks(
    sections: Iterable[SectionLike],
    model: StructuredModel,
    *,
    app: str,
    n: int = 3,
    existing: Iterable[str] = (),
    seeds: Sequence[dict[str, Any]] = (),
    max_tasks: int | None = None,
    solution: bool = True,
    prompt: str = PROMPT,
) -> CheckedResult:
    """Propose tasks with checks from documentation sections of one app.

    Args:
        sections: Documentation sections.
        model: The ``task_writer`` role bound with :func:`studio.pipeline.prompts.bind_model`.
        app: App profile name.
        n: Tasks asked per section.
        existing: Instructions already in the workspace (near-duplicates are dropped).
        seeds: Written-task dicts shown as examples (imported or bundled tasks of this app).
        max_tasks: Stop once this many new tasks were kept.
        solution: Ask for a solution too.
        prompt: Prompt name or exact version.

    Raises:
        MissingAPIKeyError: The model's API key is not set.
    """
    result = CheckedResult()
    kept = [t for t in existing if t]
    schema = reply_schema(n, solution=solution)
    for section in sections:
        if max_tasks is not None and len(result.tasks) >= max_tasks:
            break
        if len((section.text or "").strip()) < MIN_SECTION_CHARS:
            result.skipped.append(SkippedItem(section.id, "empty or very short section"))
            continue
        messages, version = build_messages(section, app, n, seeds, prompt)
        reply = ask_writer(model, messages, schema, section.id, app, version, result.failures)
        if reply is None:
            continue
        for item in reply.value.tasks:
            raw_instruction = item.get("instruction", "") if isinstance(item, dict) else item
            instruction = clean_task(str(raw_instruction))
            drop = screen_task(section.id, str(raw_instruction), instruction, task_problem(instruction), kept)
            if drop is not None:
                result.dropped.append(drop)
                continue
            if max_tasks is not None and len(result.tasks) >= max_tasks:
                break
            kept.append(instruction)
            tid = task_id(app, section.id, instruction)
            written = {**item, "instruction": instruction} if isinstance(item, dict) else {"instruction": instruction}
            check: dict[str, Any] = {k: written[k] for k in ("config", "evaluator", "solution") if k in written}
            problem = "the writer wrote no check"
            if check:
                normalized, problem = checked(written, app=app, tid=tid)
                check = normalized or check  # an unusable check is kept as written, for inspection
            result.tasks.append(
                CheckedTask(
                    id=tid,
                    instruction=instruction,
                    app=app,
                    doc_id=section.id,
                    section=section.section or section.title,
                    source=section.source,
                    prompt_version=version,
                    check=check,
                    problem=problem,
                )
            )
    return result
