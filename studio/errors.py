"""The one exception hierarchy of the studio.

Every error says what went wrong and how to fix it. Callers catch the narrowest class they can handle;
``StudioError`` catches everything the studio raises on purpose. The root and the environment's branches
(config, sandbox, action, task) are defined in :mod:`envs.errors` (``envs`` imports nothing from ``studio``)
and re-exported here, so every class is importable from this module and the CLI maps them all to exit code 2.

    StudioError
    ├── ConfigError                 bad or unknown key in studio.toml, bad CLI option
    ├── WorkspaceError
    │   ├── WorkspaceLockedError    another writer holds the workspace
    │   └── SchemaVersionError      workspace written by a newer studio
    ├── ModelError
    │   ├── MissingAPIKeyError      names the environment variable to set
    │   ├── ModelCallError          the provider failed after retries (keeps model and role)
    │   └── EmbeddingMismatchError  vectors of another model/dimension
    ├── SandboxError
    │   ├── AppNotInstalledError    an app profile's binary is missing (names the apt package)
    │   ├── DisplayError            Xvfb / openbox / D-Bus could not start
    │   ├── IsolationError          the sandbox's namespaces / file system could not be built
    │   ├── SandboxLimitError       a memory, process or disk limit ended the sandbox's episode
    │   └── ObservationError        screenshot / a11y / window list failed
    ├── ActionError                 model output that is not an allowed action (says what was refused)
    │   └── ActionInterrupted       a stop request cut an action short
    ├── TaskError
    │   ├── TaskFileError           task JSON that does not parse or validate (names file and field)
    │   ├── UnsupportedTaskTypeError config/getter/metric type we do not support (names it)
    │   ├── UnsafeTaskError         a model-written step that would reach the host (host path, host file)
    │   ├── OfflineError            the task needs the network, which the sandbox does not have
    │   └── SetupStepError          a config / postconfig step failed (names phase, number and type)
    └── PipelineError               a stage could not run (names the stage)
"""

from __future__ import annotations

from envs.errors import (
    ActionError,
    ActionInterrupted,
    AppNotInstalledError,
    ConfigError,
    DisplayError,
    IsolationError,
    ObservationError,
    OfflineError,
    SandboxError,
    SandboxLimitError,
    SetupStepError,
    StudioError,
    TaskError,
    TaskFileError,
    UnsafeTaskError,
    UnsupportedTaskTypeError,
)

__all__ = [
    "ActionError",
    "ActionInterrupted",
    "AppNotInstalledError",
    "ConfigError",
    "DisplayError",
    "EmbeddingMismatchError",
    "IsolationError",
    "MissingAPIKeyError",
    "ModelCallError",
    "ModelError",
    "ObservationError",
    "OfflineError",
    "PipelineError",
    "SandboxError",
    "SandboxLimitError",
    "SchemaVersionError",
    "SetupStepError",
    "StudioError",
    "TaskError",
    "TaskFileError",
    "UnsafeTaskError",
    "UnsupportedTaskTypeError",
    "WorkspaceError",
    "WorkspaceLockedError",
]


class WorkspaceError(StudioError):
    """The workspace cannot be opened or written."""


class WorkspaceLockedError(WorkspaceError):
    """Another process is writing this workspace."""


class SchemaVersionError(WorkspaceError):
    """The workspace schema is newer than this studio understands."""


class ModelError(StudioError):
    """A model call failed. ``model`` and ``role`` say which."""

    def __init__(self, message: str, *, model: str = "", role: str = "") -> None:
        super().__init__(message)
        self.model = model
        self.role = role


class MissingAPIKeyError(ModelError):
    """The provider needs an API key; the message names the environment variable."""


class ModelCallError(ModelError):
    """The provider failed after the allowed retries."""


class EmbeddingMismatchError(ModelError):
    """Vectors from a different embedding model or dimension were mixed."""


class PipelineError(StudioError):
    """A pipeline stage could not run."""
