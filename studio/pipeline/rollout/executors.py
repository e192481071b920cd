"""Choosing the executor of a run: local processes or a Ray cluster, by the ``[executor]`` config or ``--ray``.

=================================  ==============================================================================
``[executor] kind = "local"``      ``parallel`` = 1: :class:`InlineExecutor`; > 1: :class:`LocalProcessExecutor`
``[executor] kind = "ray"``        :class:`~studio.pipeline.rollout.ray_executor.RayExecutor` at ``address``
``--ray``                          Ray, at the config's ``address`` ("" = a Ray started on this machine)
``--ray ADDRESS``                  Ray at ``ADDRESS`` (``host:port``, ``ray://host:port``, ``auto``)
=================================  ==============================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.config import RAY_FROM_CONFIG
from studio.pipeline.rollout.episode import (
    EnvFactory,
    Executor,
    InlineExecutor,
    LocalProcessExecutor,
    PolicyFactory,
)

if TYPE_CHECKING:
    from studio.config import ExecutorConfig

__all__ = ["RAY_FROM_CONFIG", "apply_ray_option", "make_executor"]


def apply_ray_option(config: ExecutorConfig, ray: str | None, *, parallel: int | None = None) -> None:
    """Apply ``--ray [ADDRESS]`` (None = not given) and ``--parallel`` to ``config`` (in place)."""
    if ray is not None:
        config.kind = "ray"
        if ray != RAY_FROM_CONFIG:
            config.address = ray
    if parallel and config.kind == "ray":
        config.sandboxes = parallel


def make_executor(
    env_factory: EnvFactory, policy_factory: PolicyFactory, *, parallel: int = 1, config: ExecutorConfig | None = None
) -> Executor:
    """The executor ``config`` asks for (local when None). Factories must be module-level (picklable)."""
    if config is not None and config.kind == "ray":
        from studio.pipeline.rollout.ray_executor import RayExecutor

        # sandboxes at once: the config's number; else on a Ray started here `parallel`; else on a cluster
        # every sandbox it declares (an explicit parallel > 1 caps that)
        sandboxes = config.sandboxes or (parallel if not config.address or parallel > 1 else 0)
        return RayExecutor(
            env_factory,
            policy_factory,
            address=config.address,
            sandboxes=sandboxes,
            resource=config.sandbox_resource,
            max_retries=config.max_retries,
            check_nodes=config.check_nodes,
        )
    if parallel > 1:
        return LocalProcessExecutor(parallel, env_factory, policy_factory)
    return InlineExecutor(env_factory, policy_factory)
