"""The environment's errors: the bottom of the one error tree (``studio.errors`` re-exports every class here).

``envs`` imports nothing from ``studio``, so the root of the tree lives here; the studio adds its own branches
(workspace, models, pipeline) in :mod:`studio.errors`, and the CLI maps every ``StudioError`` to exit code 2.

    StudioError                     everything raised on purpose (envs and studio)
    ├── ConfigError                 bad or unknown setting: studio.toml, an app profile, a CLI option
    ├── SandboxError
    │   ├── AppNotInstalledError    an app profile's binary is missing (names the apt package)
    │   ├── DisplayError            Xvfb / openbox / D-Bus could not start
    │   ├── IsolationError          the sandbox's namespaces / file system could not be built
    │   ├── SandboxLimitError       a memory, process or disk limit ended the sandbox's episode
    │   └── ObservationError        screenshot / a11y / window list failed
    ├── ActionError                 model output that is not an allowed action (says what was refused)
    │   └── ActionInterrupted       a stop request cut an action short
    └── TaskError
        ├── TaskFileError           task JSON that does not parse or validate (names file and field)
        ├── UnsupportedTaskTypeError config/getter/metric type we do not support (names it)
        ├── UnsafeTaskError         a model-written step that would reach the host (host path, host file)
        ├── OfflineError            the task needs the network, which the sandbox does not have
        └── SetupStepError          a config / postconfig step failed (names phase, number and type)
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "ActionInterrupted",
    "AppNotInstalledError",
    "ConfigError",
    "DisplayError",
    "IsolationError",
    "ObservationError",
    "OfflineError",
    "SandboxError",
    "SandboxLimitError",
    "SetupStepError",
    "StudioError",
    "TaskError",
    "TaskFileError",
    "UnsafeTaskError",
    "UnsupportedTaskTypeError",
]


class StudioError(Exception):
    """Base class of every error the studio (envs included) raises on purpose."""


class ConfigError(StudioError):
    """Configuration is invalid: names the key and the fix."""


class SandboxError(StudioError):
    """The sandboxed desktop could not be started, used or stopped."""


class AppNotInstalledError(SandboxError):
    """An app profile's executable is not installed."""


class DisplayError(SandboxError):
    """Xvfb, openbox or the D-Bus session failed to start."""


class IsolationError(SandboxError):
    """The sandbox's namespaces, uid map or file system could not be built (needs root and kernel >= 5.19)."""


class SandboxLimitError(SandboxError):
    """A sandbox hit its memory, process-count or disk limit; its episode ends."""


class ObservationError(SandboxError):
    """Screenshot, accessibility tree or window list could not be read."""


class ActionError(StudioError):
    """Model output that is not an allowed action, or an action that could not run."""


class ActionInterrupted(ActionError):
    """A stop request interrupted a running action."""


class TaskError(StudioError):
    """A task file or its evaluator is invalid."""


class TaskFileError(TaskError):
    """A task file does not parse or validate."""


class UnsupportedTaskTypeError(TaskError):
    """A config, getter or metric type that the studio does not implement."""


class UnsafeTaskError(TaskError):
    """A model-written task names something outside the sandbox (a host path, a host file, a host program)."""


class OfflineError(TaskError):
    """The task needs network access the sandbox does not have."""


class SetupStepError(TaskError):
    """A task's config or postconfig step failed; ``phase``, ``number`` (1-based) and ``step_type`` say which."""

    def __init__(self, message: str, *, phase: str = "config", number: int = 0, step_type: str = "") -> None:
        super().__init__(message)
        self.phase = phase
        self.number = number
        self.step_type = step_type
