"""DesktopEnv: the Env contract over a real sandbox (Xvfb + an isolated machine: D-Bus, openbox, apps).

``reset(task)`` starts a fresh :class:`envs.sandbox.Sandbox`, runs the task's config (launching its
``related_apps`` profiles if the config starts nothing itself), waits until the screen settles and observes;
setup commands that exited non-zero are on ``setup_failures`` afterwards (the setup runs on, as in OSWorld).
``step(action)`` executes one typed action, waits until settled, observes (``timings["settle"]`` included).
``observe()`` waits until settled and observes without acting. ``evaluate(task)`` runs the evaluator against
the live sandbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envs.base import Env
from envs.browser import add_page_rows
from envs.errors import SandboxError
from envs.evaluate import EvalResult, evaluate_task
from envs.task_setup import SetupContext, launches_app, run_setup, start_app

if TYPE_CHECKING:
    from envs.actions import Action
    from envs.mirror import Mirror
    from envs.observation import Observation
    from envs.sandbox import Sandbox
    from envs.tasks import Task

log = logging.getLogger(__name__)

APPS_DIR = Path(__file__).resolve().parent / "apps"

#: OSWorld ``related_apps`` that are the desktop itself: nothing is launched (the agent opens a terminal
#: with ctrl+alt+t, as on OSWorld's Ubuntu VM).
DESKTOP_APPS = frozenset({"os", "ubuntu", "desktop"})

#: OSWorld ``related_apps`` names -> our app profiles.
APP_ALIASES = {
    "terminal": "xterm",
    "gedit": "mousepad",
    "text_editor": "mousepad",
    "calculator": "galculator",
    "libreoffice_calc": "libreoffice-calc",
    "libreoffice_writer": "libreoffice-writer",
    "libreoffice_impress": "libreoffice-impress",
    "spreadsheet": "gnumeric",
    "chrome": "chromium",
    "google-chrome": "chromium",
}


def app_profile_for(name: str) -> str | None:
    """Our profile name for an OSWorld related app, or None if there is no such bundled profile."""
    name = APP_ALIASES.get(name, name)
    return name if (APPS_DIR / f"{name}.toml").exists() else None


def _default_sandbox_factory(**kwargs: Any) -> Sandbox:
    from envs.sandbox import Sandbox

    return Sandbox(**kwargs)


def seed_related_apps(sb: Sandbox, related_apps: list[str]) -> None:
    """Write the ``seed_files`` of the task's apps before its config runs (OSWorld's VM has app profiles that a
    config step may edit, e.g. Chrome's Preferences)."""
    from envs.apps import load_profile

    for app in related_apps:
        name = app_profile_for(app)
        seed = load_profile(name).seed_command() if name else None
        if seed is not None:
            sb.run(seed, timeout=30)


class DesktopEnv(Env):
    """One task at a time in a fresh sandbox.

    Args:
        width, height: display size in pixels.
        network: give the sandbox the network; None (default) = when the task asks
            (``proxy``/``network``).
        a11y: read the accessibility table in every observation.
        settle_timeout: max seconds to wait for the screen to stop changing after setup and each action.
        sandbox_factory: builds the Sandbox (keyword args width/height/network); tests pass a fake.
        mirror: the offline file mirror http(s) downloads and gold files come from (default: $STUDIO_MIRROR or
            ~/.cache/studio/mirror).
    """

    def __init__(
        self,
        *,
        width: int = 1280,
        height: int = 800,
        network: bool | None = None,
        a11y: bool = True,
        settle_timeout: float = 3.0,
        sandbox_factory: Callable[..., Sandbox] | None = None,
        mirror: Mirror | None = None,
    ) -> None:
        self.mirror = mirror
        self.width = width
        self.height = height
        self.network = network
        self.a11y = a11y
        self.settle_timeout = settle_timeout
        self._factory = sandbox_factory or _default_sandbox_factory
        self._sb: Sandbox | None = None
        self._last_obs: Observation | None = None
        self.last_action: Action | None = None
        self.steps = 0

    @property
    def sandbox(self) -> Sandbox:
        if self._sb is None:
            raise SandboxError("no sandbox is running: call reset(task) first")
        return self._sb

    @property
    def display(self) -> str:
        """The X display of the running sandbox ("" when none runs): for a viewer with its own connection."""
        sb = self._sb
        return (sb.display or "") if sb is not None else ""

    def interrupt(self) -> None:
        """Interrupt the action in flight (from another thread); the episode's next step sees the stop."""
        sb = self._sb
        if sb is not None:
            sb.stop()

    def _observe(self) -> Observation:
        settle = self.sandbox.wait_settled(timeout=self.settle_timeout)
        obs = self.sandbox.observe(a11y=self.a11y)
        obs.timings["settle"] = settle
        if self.a11y:
            add_page_rows(self.sandbox, obs)
        self._last_obs = obs
        return obs

    def reset(self, task: Task) -> Observation:
        self.close()
        network = task.needs_network if self.network is None else self.network
        sb = self._factory(width=self.width, height=self.height, network=network)
        self._sb = sb
        self.last_action = None
        self.steps = 0
        self.setup_failures = []
        try:
            sb.start()
            ctx = SetupContext(task.base_dir, mirror=self.mirror)
            self.setup_failures = ctx.command_failures  # filled as the config runs; kept if it raises
            seed_related_apps(sb, task.related_apps)
            if not launches_app(task.config):
                for app in task.related_apps:
                    if app in DESKTOP_APPS:
                        continue
                    profile = app_profile_for(app)
                    if profile:
                        start_app(sb, profile)
                    else:
                        log.info("related app %r has no bundled profile; not launched", app)
            run_setup(sb, task.config, ctx)
            return self._observe()
        except BaseException:
            self.close()
            raise

    def step(self, action: Action) -> Observation:
        sb = self.sandbox
        if action.kind not in ("done", "fail"):
            sb.execute(action, last_observation=self._last_obs)
        self.last_action = action
        self.steps += 1
        return self._observe()

    def observe(self) -> Observation:
        """Wait until the screen settles and observe it, without acting."""
        return self._observe()

    def evaluate_detailed(self, task: Task) -> EvalResult:
        return evaluate_task(
            self.sandbox, task, last_action=self.last_action, ctx=SetupContext(task.base_dir, mirror=self.mirror)
        )

    def evaluate(self, task: Task) -> float:
        return self.evaluate_detailed(task).score

    def close(self) -> None:
        sb, self._sb = self._sb, None
        self._last_obs = None
        if sb is not None:
            sb.close()
