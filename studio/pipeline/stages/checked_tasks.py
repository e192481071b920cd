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

Examples: instructions and checks of imported tasks (``studio tasks import``) or proven tasks of the same app
(``seeds``) are shown to the writer first, then the app's built-in examples
(``studio/pipeline/prompts/checked_examples.json``: per app, tasks whose check and solution are proven in a real
sandbox by ``tests/integration/test_verified_tasks.py``, and a line on how to drive the app from the keyboard),
at most ``max_examples`` in all. A written task that copies an example's instruction is dropped as a near
duplicate, and so is one that paraphrases an example with the same values ("With the calculator, multiply 12 by
7" after the example "Use the calculator to compute 12 times 7"): its check would be the example's, proven already.
"""

from __future__ import annotations

import copy
import functools
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

PROMPT = "self_instruct_checked.v2"
EXAMPLES_FILE = "checked_examples.json"  # in studio/pipeline/prompts/
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
GENERIC_TIPS = (
    "Start it with launch_app, or open the file the task edits with open; drive it from the keyboard. The check "
    "reads the file the task saves (cat ~/file.txt) or the screen (accessibility_tree)."
)


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


@functools.cache
def _builtin() -> dict[str, Any]:
    from importlib import resources

    text = (resources.files("studio.pipeline") / "prompts" / EXAMPLES_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def app_examples(app: str) -> list[dict[str, Any]]:
    """The built-in written tasks of ``app`` (proven in a sandbox by the integration tests); [] for other apps."""
    return copy.deepcopy(list(_builtin().get(app, {}).get("examples", [])))


def app_tips(app: str) -> str:
    """One paragraph on driving ``app`` from the keyboard and checking its result (generic for other apps)."""
    return str(_builtin().get(app, {}).get("tips") or GENERIC_TIPS)


def choose_examples(
    app: str, seeds: Sequence[dict[str, Any]] = (), limit: int = 2, *, builtin: bool = True
) -> list[dict[str, Any]]:
    """The examples shown to the writer: seeds first, then (``builtin``) the app's built-in examples, at most
    ``limit``; the generic example when there is none."""
    chosen: list[dict[str, Any]] = []
    for example in [*seeds, *(app_examples(app) if builtin else [])]:
        if len(chosen) < limit and example not in chosen:
            chosen.append(example)
    return chosen or [GENERIC_EXAMPLE]


def copied_example(doc_id: str, instruction: str, shown: Sequence[str]) -> DroppedTask | None:
    """A drop when ``instruction`` names exactly the values (numbers, quoted texts, paths) of a shown example."""
    from studio.pipeline.stages.values import instruction_values

    mine = {v.text.lower() for v in instruction_values(instruction)}
    if not mine:
        return None
    for example in shown:
        if {v.text.lower() for v in instruction_values(example)} == mine:
            return DroppedTask(doc_id, instruction, f"copies the values of the example: {example}")
    return None


def render_examples(examples: Sequence[dict[str, Any]]) -> str:
    """Examples (written-task shape) as compact JSON lines."""
    return "\n".join(json.dumps(s, ensure_ascii=False, separators=(", ", ": ")) for s in examples)


def build_messages(
    section: SectionLike, app: str, n: int, examples: Sequence[dict[str, Any]] = (), prompt: str = PROMPT
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
        tips=app_tips(app),
        examples=render_examples(examples or [GENERIC_EXAMPLE]),
    )


def checked(item: Any, *, app: str, tid: str) -> tuple[dict[str, Any] | None, str]:
    """The check to store for a written task (as checked, with explicit command timeouts) and why it is
    unusable ("" if it passes the static checks; then the check still has to be validated in a sandbox). The
    reason reads as validation stores it (``unsafe: ...``, ``bad check: ...``, see ``task_check.static_reason``).
    """
    from envs.task_schema import parse_written, written_check
    from studio.pipeline.stages.check_lint import lint_check
    from studio.pipeline.stages.task_check import static_reason

    try:
        written = parse_written(item, task_id=tid, app=app)
        lint_check(written.task)
    except StudioError as exc:
        return None, static_reason(exc)
    return written_check(written), ""


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
    max_examples: int = 2,
    builtin_examples: bool = True,
) -> CheckedResult:
    """Propose tasks with checks from documentation sections of one app.

    Args:
        sections: Documentation sections.
        model: The ``task_writer`` role bound with :func:`studio.pipeline.prompts.bind_model`.
        app: App profile name.
        n: Tasks asked per section.
        existing: Instructions already in the workspace (near-duplicates are dropped).
        seeds: Written-task dicts shown as examples (imported or proven tasks of this app).
        max_tasks: Stop once this many new tasks were kept.
        solution: Ask for a solution too.
        prompt: Prompt name or exact version.
        max_examples: Examples shown at most (seeds first, then the app's built-in ones).
        builtin_examples: Fill up with the app's built-in examples (False: seeds or the generic example only,
            as ``self_instruct_checked.v1`` did).

    Raises:
        MissingAPIKeyError: The model's API key is not set.
    """
    result = CheckedResult()
    examples = choose_examples(app, seeds, max_examples, builtin=builtin_examples)
    kept = [t for t in existing if t]
    shown = [str(e.get("instruction", "")) for e in examples]  # a copied example is a near duplicate
    schema = reply_schema(n, solution=solution)
    for section in sections:
        if max_tasks is not None and len(result.tasks) >= max_tasks:
            break
        if len((section.text or "").strip()) < MIN_SECTION_CHARS:
            result.skipped.append(SkippedItem(section.id, "empty or very short section"))
            continue
        messages, version = build_messages(section, app, n, examples, prompt)
        reply = ask_writer(model, messages, schema, section.id, app, version, result.failures)
        if reply is None:
            continue
        for item in reply.value.tasks:
            raw_instruction = item.get("instruction", "") if isinstance(item, dict) else item
            instruction = clean_task(str(raw_instruction))
            drop = screen_task(
                section.id, str(raw_instruction), instruction, task_problem(instruction), [*kept, *shown]
            ) or copied_example(section.id, instruction, shown)
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
