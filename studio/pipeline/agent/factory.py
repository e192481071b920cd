"""The one place policies and envs are made: CLI pipeline, GUI live runs, evaluation and any executor.

Executors get each job's ``policy`` dict (a *policy spec*: plain data, picklable) and call :func:`make_policy`
and :func:`make_env`. Both are module-level functions, so an executor can send them to worker processes (or
Ray tasks) by name.

Policy spec keys:

=============  ===================================================================================
key            meaning
=============  ===================================================================================
kind           one of :data:`POLICIES`: ``explorer``, ``model``, ``model+explorer``, ``scripted``,
               ``agent`` (an evaluation agent: the other keys are an ``eval.runner.AgentRequest``)
seed           explorer seed (reproducible walks)
workspace      model kinds: the workspace whose ``studio.toml`` (``roles.actor``), ``llm-cache`` and
               ledger are used ("" or missing: the default config, no cache, no ledger)
actor          model kinds: a ``ModelSpec`` dict overriding the workspace's ``roles.actor``
use_cache      model kinds: read the LLM cache (default True)
stage          model kinds: the ledger stage of the calls (default :data:`ROLLOUT_STAGE`)
lines          scripted: pyautogui code lines, one per step
=============  ===================================================================================

Whether the actor sees screenshots is decided once, by :func:`studio.llm.vision.supports_vision` (the role's
``vision`` setting, else litellm's model map).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import ConfigError
from studio.pipeline.agent.usage import usage_of

if TYPE_CHECKING:
    from pydantic import BaseModel

    from envs.base import Env
    from studio.config import AgentConfig, ModelSpec, StudioConfig
    from studio.pipeline.agent.policies import Policy

#: The ledger stage of rollout model calls (pipeline and GUI alike).
ROLLOUT_STAGE = "rollouts"
Complete = Callable[[list[dict[str, Any]]], tuple[str, dict[str, Any]]]


def workspace_config(workspace: str | Path | None) -> StudioConfig:
    """The workspace's ``studio.toml`` (validated), or the defaults when there is none."""
    from studio.config import CONFIG_NAME, default_config, load_config

    if workspace and (Path(workspace) / CONFIG_NAME).exists():
        return load_config(Path(workspace) / CONFIG_NAME)
    return default_config()


def completer(
    workspace: str | Path | None,
    role: str = "actor",
    *,
    stage: str = ROLLOUT_STAGE,
    spec: ModelSpec | None = None,
    use_cache: bool = True,
    schema: type[BaseModel] | None = None,
) -> Complete:
    """``(messages) -> (text, usage)`` calling ``role``'s model through ``ModelClient``.

    With a workspace: its config, cache (``llm-cache``) and ledger (one record per call, ``stage``). Model
    errors propagate (the episode records them).

    Args:
        workspace: Workspace directory, or None/"" (default config, no cache, no ledger).
        role: A ``[roles]`` name (for a list role such as ``judges``, its first entry).
        stage: Ledger stage of the calls.
        spec: The model spec to use instead of the role's.
        use_cache: Read the LLM cache.
        schema: Ask for JSON of this shape (a grammar for local models); the text is returned unparsed.
    """
    from studio.llm import ModelClient

    if spec is None:
        found = getattr(workspace_config(workspace).roles, role)
        spec = found[0] if isinstance(found, list) else found
    client = ModelClient.for_workspace(workspace, use_cache=use_cache) if workspace else ModelClient()
    model_spec = spec

    def complete(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        res = client.complete(role, model_spec, messages, stage=stage, schema=schema)
        return res.text, usage_of(res)

    return complete


def action_space(agent: AgentConfig, actor: ModelSpec) -> str:
    """The actor's action space: ``agent.action_space``, where ``auto`` is ``pyautogui`` for a vision model
    (it sees the screenshot, so coordinates mean something to it) and ``elements`` otherwise."""
    if agent.action_space != "auto":
        return agent.action_space
    from studio.llm.vision import supports_vision

    return "pyautogui" if supports_vision(actor) else "elements"


def actor_policy(
    workspace: str | Path | None,
    *,
    stage: str = ROLLOUT_STAGE,
    spec: ModelSpec | None = None,
    use_cache: bool = True,
    name: str | None = None,
    agent: AgentConfig | None = None,
) -> Policy:
    """The model policy of the workspace's actor in its ``[agent]`` action space (see :func:`action_space`).

    Args:
        workspace: Workspace directory (config, cache, ledger), or None/"".
        stage: Ledger stage of the calls.
        spec: The actor's model instead of the workspace's ``roles.actor``.
        use_cache: Read the LLM cache.
        name: The policy's name (the agent name in an evaluation).
        agent: ``[agent]`` settings instead of the workspace's.
    """
    from studio.llm.vision import supports_vision

    cfg = workspace_config(workspace)
    actor = spec if spec is not None else cfg.roles.actor
    agent = agent if agent is not None else cfg.agent
    policy: Policy
    if action_space(agent, actor) == "elements":
        from studio.pipeline.agent.elements import MAX_REPLY_TOKENS, ElementPolicy, ElementReply

        short = actor.model_copy(update={"max_tokens": min(actor.max_tokens, MAX_REPLY_TOKENS)})
        policy = ElementPolicy(
            completer(workspace, "actor", stage=stage, spec=short, use_cache=use_cache, schema=ElementReply),
            history_steps=agent.history_steps,
            max_elements=agent.max_elements,
        )
    else:
        from studio.pipeline.agent.policies import ModelPolicy

        policy = ModelPolicy(
            completer(workspace, "actor", stage=stage, spec=actor, use_cache=use_cache),
            vision=supports_vision(actor),
        )
    if name:
        policy.name = name
    return policy


# ------------------------------------------------------------------------------------------- policies


def _explorer(spec: Mapping[str, Any]) -> Policy:
    from studio.pipeline.agent.policies import ExplorerPolicy

    stop_after = spec.get("stop_after")
    return ExplorerPolicy(seed=int(spec.get("seed", 0)), stop_after=None if stop_after is None else int(stop_after))


def _model(spec: Mapping[str, Any]) -> Policy:
    from studio.config import ModelSpec

    actor = ModelSpec.model_validate(spec["actor"]) if spec.get("actor") else None
    return actor_policy(
        spec.get("workspace") or None,
        stage=str(spec.get("stage") or ROLLOUT_STAGE),
        spec=actor,
        use_cache=bool(spec.get("use_cache", True)),
    )


def _model_explorer(spec: Mapping[str, Any]) -> Policy:
    from studio.pipeline.agent.policies import FallbackPolicy

    return FallbackPolicy(_model(spec), _explorer(spec))


def _scripted(spec: Mapping[str, Any]) -> Policy:
    from studio.pipeline.agent.policies import ScriptedPolicy

    return ScriptedPolicy(list(spec.get("lines", [])))


#: kind -> builder ``(spec) -> Policy``, or ``"module:attr"`` of one (imported on first use, also in workers).
POLICIES: dict[str, Callable[[Mapping[str, Any]], Policy] | str] = {
    "explorer": _explorer,
    "model": _model,
    "model+explorer": _model_explorer,
    "scripted": _scripted,
    "agent": "studio.pipeline.eval.runner:agent_policy",
}
#: Kinds a person picks for rollouts (CLI ``--policy``, the GUI's Live view).
ROLLOUT_KINDS: tuple[str, ...] = ("explorer", "model", "model+explorer")


def policy_spec(kind: str, *, seed: int = 0, workspace: str | Path | None = None, **extra: Any) -> dict[str, Any]:
    """A policy spec for :func:`make_policy` (checks the kind now, not in a worker later).

    Raises:
        ConfigError: unknown kind.
    """
    _builder(kind)
    spec: dict[str, Any] = {"kind": kind, "seed": seed, "workspace": str(workspace) if workspace else ""}
    spec.update(extra)
    return spec


def make_policy(spec: Mapping[str, Any]) -> Policy:
    """The executors' policy factory: a job's policy spec -> a Policy.

    Raises:
        ConfigError: unknown kind (lists the known ones).
    """
    return _builder(str(spec.get("kind", "explorer")))(spec)


def make_env(job: Any) -> Env:
    """The executors' env factory: a fresh sandboxed desktop of the job's size (``job.width`` x ``job.height``)."""
    from envs.desktop import DesktopEnv

    return DesktopEnv(width=job.width, height=job.height)


def _builder(kind: str) -> Callable[[Mapping[str, Any]], Policy]:
    entry = POLICIES.get(kind)
    if entry is None:
        raise ConfigError(f"unknown policy kind {kind!r}; use one of {', '.join(sorted(POLICIES))}")
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        built: Callable[[Mapping[str, Any]], Policy] = getattr(importlib.import_module(module), attr)
        return built
    return entry
