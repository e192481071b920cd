"""The environment's errors: the bottom of the one error tree (``studio.errors`` re-exports every class here).

``envs`` imports nothing from ``studio``, so the root of the tree lives here; the studio adds its own branches
(workspace, models, pipeline) in :mod:`studio.errors`, and the CLI maps every ``StudioError`` to exit code 2.

    StudioError                     everything raised on purpose (envs and studio)
    ├── ConfigError                 bad or unknown setting: studio.toml, an app profile, a CLI option
    ├── SandboxError
    │   ├── AppNotInstalledError    an app profile's binary is missing (names the apt package)
    │   ├── DisplayError            Xvfb / openbox / D-Bus could not start
    │   └── ObservationError        screenshot / a11y / window list failed
    ├── ActionError                 model output that is not an allowed action (says what was refused)
    │   └── ActionInterrupted       a stop request cut an action short
    └── TaskError
        ├── TaskFileError           task JSON that does not parse or validate (names file and field)
        ├── UnsupportedTaskTypeError config/getter/metric type we do not support (names it)
        ├── UnsafeTaskError         a model-written step that would reach the host (host path, host file)
        └── OfflineError            the task needs the network, which the sandbox does not have
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "ActionInterrupted",
    "AppNotInstalledError",
    "ConfigError",
    "DisplayError",
    "ObservationError",
    "OfflineError",
    "SandboxError",
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
