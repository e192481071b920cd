"""The sandboxed desktop: one isolated small machine per sandbox (see :mod:`envs.sandbox.core`).

Modules: ``core`` (the :class:`Sandbox`), ``isolation`` (ids, ``/etc``, entering the namespaces), ``nsinit``
(the namespace builder and init, a stand-alone script), ``display`` (Xvfb, window manager and bus config),
``session`` (start-up inside), ``observing`` (screenshots, windows, a11y), ``files`` (file operations through
the sandbox), ``limits`` (cgroups), ``spawn`` (host-side process start).
"""

from envs.sandbox.core import Sandbox
from envs.sandbox.limits import SandboxLimits
from envs.sandbox.session import SANDBOX_HOME, TERMINAL_LOG

__all__ = ["SANDBOX_HOME", "TERMINAL_LOG", "Sandbox", "SandboxLimits"]
