"""The demo configuration: the offline Qwen models on two apps, sized to finish in about 15 minutes on 2 quiet cores.

Every role keeps its measured default (BENCHMARKS.md, "Offline models per role"); the demo only makes the run
small: two apps, one task each from the model (more only when time allows: ``max_tasks``), short rollouts and a
few spans per trajectory, so a reader sees real tasks, backward instructions and verdicts with rationales soon.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from studio.config import DEFAULT_TOML, parse_config
from studio.records import FINISHED

_PAPER = '# the paper\'s "exemplify 3 tasks"'
_SHORT = "# the paper found < 5 step examples most useful"
DEMO_EDITS = {
    'apps = ["mousepad", "galculator", "xterm", "gnumeric"]': 'apps = ["galculator", "mousepad"]',
    "max_sections_per_app = 4": "max_sections_per_app = 2",
    f"tasks_per_section = 3        {_PAPER}": f"tasks_per_section = 3        {_PAPER}",
    "max_tasks = 8": "max_tasks = 2",
    'policy = "model"             # model | explorer (model-free random walk over a11y elements)': (
        'policy = "model+explorer"    # model | explorer | model+explorer (explorer acts when the model\'s '
        "answer is unusable)"
    ),
    "max_steps = 8": "max_steps = 4",
    f"max_len = 4                  {_SHORT}": f"max_len = 3                  {_SHORT}",
    "max_per_trajectory = 12": "max_per_trajectory = 2",
    # Plain self-instruct: a task with its check is ~5x longer to write (the 1.5B took 370 of the demo's 957 s
    # for two checked tasks, and one check was refused as unsafe, the other's solution scored 0).
    "write_checks = true": "write_checks = false",
}


def demo_toml() -> str:
    text = DEFAULT_TOML
    for old, new in DEMO_EDITS.items():
        if old not in text:
            raise AssertionError(f"demo config edit no longer matches the default config: {old!r}")
        text = text.replace(old, new)
    text = text.replace(
        "# Learn-by-Interact Studio workspace configuration.",
        "# Learn-by-Interact Studio workspace configuration (demo: small and quick).",
        1,
    )
    parse_config(text, "demo configuration")  # validate
    return text


def prepare_demo_workspace(path: Path) -> Path:
    """Create the demo workspace (or reuse it: the pipeline then continues where it stopped)."""
    from studio.workspace import Workspace

    path = Path(path)
    if not (path / "studio.toml").exists():
        with Workspace.init(path, exist_ok=True):
            pass
        (path / "studio.toml").write_text(demo_toml(), encoding="utf-8")
    return path


def add_bundled_tasks(path: Path, per_app: int = 2) -> list[str]:
    """Give every demo app that still has no task the instructions of its bundled tasks that need no files.

    The offline model may write nothing the self-instruct filters keep for an app (SmolLM2-135M often did;
    the Qwen defaults rarely do); without tasks the demo would stop before the rollouts. Tasks added here are marked
    ``origin="file"`` and named in the returned notes, so the data says where they came from. Idempotent: an app
    that has tasks (from the model or an earlier call) gets none.
    """
    from envs.tasks import BUNDLED_TASKS_DIR, load_task
    from studio.workspace import Task, Workspace

    notes = []
    with Workspace.open(path) as ws:
        for app in ws.config.sandbox.apps:
            if ws.count(Task, app=app):
                continue
            picked = []
            for f in sorted((BUNDLED_TASKS_DIR / app).glob("*.json")):
                bundled = load_task(f)
                if all(step.type == "launch_app" for step in bundled.config):  # no files to download or open
                    picked.append(Task(instruction=bundled.instruction, app=app, origin="file", section=f.name))
                if len(picked) >= per_app:
                    break
            if picked:
                ws.add_tasks(picked)
                notes.append(
                    f"{app}: the offline model wrote no usable task; added {len(picked)} bundled task "
                    f"instruction(s) from {BUNDLED_TASKS_DIR / app} (origin 'file')"
                )
    return notes


@dataclass(frozen=True)
class DemoOutcome:
    """What a demo workspace holds now, for the closing lines of ``studio demo`` (the truth, also when stopped).

    Attributes:
        tasks: Tasks per origin (``self-instruct``: the model wrote them; ``file``: bundled fallback).
        trajectories: Trajectories per status (``done``, ``failed``: ended; ``running``, ``interrupted``).
        examples: Examples made by backward construction.
        statuses: Examples per committee status (``accepted``, ``needs_review``, ``rejected``, ``pending``, ...).
    """

    tasks: Counter[str] = field(default_factory=Counter)
    trajectories: Counter[str] = field(default_factory=Counter)
    examples: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def complete(self) -> bool:
        """Every stage reached its end: tasks, finished rollouts, examples, and a verdict on every example."""
        return (
            sum(self.tasks.values()) > 0
            and sum(self.trajectories[s] for s in FINISHED) > 0
            and self.examples > 0
            and self.statuses.get("pending", 0) == 0
        )

    def lines(self) -> list[str]:
        """Plain sentences: tasks by who wrote them, rollouts, examples and the committee's verdicts."""
        model = self.tasks.get("self-instruct", 0)
        other = sum(self.tasks.values()) - model
        judged = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "none judged"
        return [
            f"tasks: {model} written by the model" + (f", {other} bundled (fallback)" if other else ""),
            "rollouts: " + (", ".join(f"{n} {s}" for s, n in sorted(self.trajectories.items())) or "none"),
            f"examples: {self.examples} ({judged})",
        ]


def demo_outcome(path: Path) -> DemoOutcome:
    """Count what the demo workspace at ``path`` holds (read-only; safe while nothing writes)."""
    from studio.workspace import Example, Task, Trajectory, Workspace

    with Workspace.open(path, readonly=True) as ws:
        tasks = Counter(str(t.origin) for t in ws.list(Task, limit=None))
        trajectories = Counter(str(t.status) for t in ws.list(Trajectory, limit=None))
        ids = [e.id for e in ws.list(Example, limit=None)]
        statuses = ws.example_statuses()
        return DemoOutcome(tasks, trajectories, len(ids), Counter(statuses.get(i, "pending") for i in ids))
