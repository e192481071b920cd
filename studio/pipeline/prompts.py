"""Versioned prompt templates of the synthesis stages, and the model-call protocol the stages use.

Templates live in ``studio/pipeline/prompts/<stage>.v<N>.md``; the file stem (``"judge.v1"``) is the prompt
version recorded on every task, example and verdict. Placeholders are ``{name}`` (a bare identifier in
braces); any other brace, such as a JSON example ``{"tasks": [...]}``, is left alone, so templates need no
escaping.

The stages never import litellm: they call a :class:`StructuredModel`, which the pipeline binds to the real
:class:`studio.llm.client.ModelClient` with :func:`bind_model` (tests pass fakes).
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from studio.errors import PipelineError

T = TypeVar("T", bound=BaseModel)

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_VERSIONED = re.compile(r"^(?P<stage>[a-z0-9_]+)\.v(?P<n>\d+)$")


def _drop_description(schema: dict[str, Any]) -> None:
    schema.pop("description", None)


class ReplySchema(BaseModel):
    """Base of the stages' reply schemas: class docstrings stay out of the JSON schema sent to the model."""

    model_config = ConfigDict(json_schema_extra=_drop_description)


class StructuredResultLike(Protocol):
    """What a structured call returns (``studio.llm.structured.StructuredResult`` satisfies it)."""

    ok: bool
    value: Any
    raw: str
    error: str | None


class StructuredModel(Protocol):
    """One role's model, bound to its spec: ``model(messages, schema) -> result``.

    Bad model output must come back as ``ok=False`` with the raw text; provider failures raise
    ``studio.errors.ModelError`` subclasses.
    """

    def __call__(self, messages: list[dict[str, Any]], schema: type[T]) -> StructuredResultLike: ...


def bind_model(client: Any, role: str, spec: Any, stage: str) -> StructuredModel:
    """Adapt ``ModelClient.complete_structured`` to :class:`StructuredModel` for one role and stage.

    Args:
        client: A ``studio.llm.client.ModelClient``.
        role: Role name for the ledger (``task_writer``, ``backward_writer``, ``judge``).
        spec: The role's ``ModelSpec``.
        stage: Stage name for the ledger (``tasks``, ``backward``, ``committee``).
    """

    def call(messages: list[dict[str, Any]], schema: type[T]) -> StructuredResultLike:
        result: StructuredResultLike = client.complete_structured(schema, role, spec, messages, stage=stage)
        return result

    return call


def _prompt_dir() -> Any:
    return resources.files("studio.pipeline") / "prompts"


def available_versions(stage: str) -> list[str]:
    """All versions of ``stage`` shipped, oldest first, e.g. ``["judge.v1", "judge.v2"]``."""
    found: list[tuple[int, str]] = []
    for entry in _prompt_dir().iterdir():
        name = entry.name
        if not name.endswith(".md"):
            continue
        m = _VERSIONED.match(name[:-3])
        if m and m.group("stage") == stage:
            found.append((int(m.group("n")), name[:-3]))
    return [v for _, v in sorted(found)]


def load_prompt(name: str) -> tuple[str, str]:
    """Load a prompt template.

    Args:
        name: ``"<stage>.v<N>"`` for an exact version, or ``"<stage>"`` for the newest shipped version.

    Returns:
        ``(template text, version)`` where version is the file stem, e.g. ``"self_instruct.v1"``.

    Raises:
        PipelineError: No such prompt file.
    """
    version = name
    if not _VERSIONED.match(name):
        versions = available_versions(name)
        if not versions:
            raise PipelineError(f"no prompt template for stage '{name}': expected studio/pipeline/prompts/{name}.v1.md")
        version = versions[-1]
    path = _prompt_dir() / f"{version}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PipelineError(
            f"prompt template '{version}' not found in studio/pipeline/prompts; "
            f"shipped versions: {available_versions(version.split('.')[0]) or 'none'}"
        ) from exc
    return text, version


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders in a template."""
    return set(_PLACEHOLDER.findall(template))


def render(template: str, **values: object) -> str:
    """Fill ``{name}`` placeholders; other braces are kept as written.

    Raises:
        PipelineError: A placeholder has no value (names it), so a typo in a template fails loudly.
    """
    missing = placeholders(template) - values.keys()
    if missing:
        raise PipelineError(f"prompt template needs values for {sorted(missing)}; pass them to render()")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def render_prompt(name: str, **values: object) -> tuple[list[dict[str, Any]], str]:
    """Load ``name``, fill it, and return ``(chat messages, version)`` (one user message)."""
    template, version = load_prompt(name)
    return [{"role": "user", "content": render(template, **values)}], version
