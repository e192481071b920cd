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
    │   ├── EmbeddingMismatchError  vectors of another model/dimension
    │   └── ModelInstallError       an offline model file is missing or not the published one
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
    │   ├── BadCheckError           a model-written check that cannot tell done from not done (names the rule)
    │   ├── OfflineError            the task needs the network, which the sandbox does not have
    │   └── SetupStepError          a config / postconfig step failed (names phase, number and type)
    ├── PipelineError               a stage could not run (names the stage)
    │   └── ClusterError            Ray missing or unreachable, or no node fit to hold sandboxes (names nodes)
    ├── JudgeSetError               a labelled judge set (directory or item file) is malformed (names file, field)
    └── RequestError                a `studio serve` request with a bad argument (names it and the fix)
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
    "BadCheckError",
    "ClusterError",
    "ConfigError",
    "DisplayError",
    "EmbeddingMismatchError",
    "IsolationError",
    "JudgeSetError",
    "MissingAPIKeyError",
    "ModelCallError",
    "ModelError",
    "ModelInstallError",
    "ObservationError",
    "OfflineError",
    "PipelineError",
    "RequestError",
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


class ClusterError(PipelineError):
    """The Ray cluster cannot run sandboxes: Ray missing or unreachable, or every node refused (named)."""


class ModelInstallError(ModelError):
    """An offline model file could not be installed or does not match its pinned size and sha256."""


class JudgeSetError(StudioError):
    """A labelled judge set directory or one of its item files is missing or malformed."""


class BadCheckError(TaskError):
    """A model-written check that cannot tell a done task from an untouched desktop, found before it runs.

    ``rule`` names which: ``setup-writes-expected`` (the setup writes the very text the check looks for),
    ``check-prints-expected`` (the check's command only prints fixed text), ``check-runs-app`` (a command
    starts a desktop app, which does not return until it is closed).
    """

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


class RequestError(StudioError):
    """A request to ``studio serve`` (MCP tool call or HTTP) has a bad or unknown argument."""
