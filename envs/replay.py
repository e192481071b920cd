"""ReplayEnv: plays back recorded observations, for fast tests of everything above the env (agents, rollouts).

``reset`` returns the first observation, each ``step`` the next one (the last one repeats once the recording
is exhausted), ``observe`` the current one again; ``evaluate`` returns the recorded score. The actions received
are kept in ``actions``.

A recording directory holds ``000.png``, ``001.png``, ... and optionally ``000.a11y.tsv`` (the linearized a11y
table) beside each screenshot, plus ``score.txt`` with the final score.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

from envs.base import Env
from envs.errors import SandboxError
from envs.metrics import parse_a11y_table
from envs.observation import Observation

if TYPE_CHECKING:
    from envs.actions import Action
    from envs.tasks import Task


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        raise SandboxError("recorded screenshot is not a PNG file")
    w, h = struct.unpack(">II", data[16:24])
    return int(w), int(h)


def load_recording(directory: str | Path) -> tuple[list[Observation], float | None]:
    """Observations (sorted by file name) and the recorded score from a recording directory."""
    d = Path(directory)
    pngs = sorted(d.glob("*.png"))
    if not pngs:
        raise SandboxError(f"{d}: no recorded screenshots (*.png) to replay")
    out: list[Observation] = []
    for p in pngs:
        data = p.read_bytes()
        w, h = png_size(data)
        tsv = p.with_suffix(".a11y.tsv")
        nodes = parse_a11y_table(tsv.read_text(encoding="utf-8")) if tsv.exists() else []
        out.append(Observation(screenshot_png=data, width=w, height=h, a11y_nodes=nodes))
    score_file = d / "score.txt"
    score = float(score_file.read_text().strip()) if score_file.exists() else None
    return out, score


def save_recording(directory: str | Path, observations: list[Observation], score: float | None = None) -> Path:
    """Write observations (and the score) in the layout :func:`load_recording` reads."""
    from envs.observation import linearize

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for i, obs in enumerate(observations):
        (d / f"{i:03d}.png").write_bytes(obs.screenshot_png)
        if obs.a11y_nodes:
            (d / f"{i:03d}.a11y.tsv").write_text(linearize(obs.a11y_nodes), encoding="utf-8")
    if score is not None:
        (d / "score.txt").write_text(f"{score}\n")
    return d


class ReplayEnv(Env):
    """Replays ``observations`` (a list, or a recording directory) in order.

    Args:
        observations: recorded observations, or a directory (see module docstring).
        score: what ``evaluate`` returns; defaults to the directory's ``score.txt`` or 0.0.
    """

    def __init__(self, observations: list[Observation] | str | Path, *, score: float | None = None) -> None:
        recorded: float | None = None
        if isinstance(observations, (str, Path)):
            observations, recorded = load_recording(observations)
        if not observations:
            raise SandboxError("ReplayEnv needs at least one recorded observation")
        self.observations = list(observations)
        self.score = score if score is not None else (recorded if recorded is not None else 0.0)
        self.actions: list[Action] = []
        self._i = 0
        self.closed = False

    def reset(self, task: Task) -> Observation:
        self._i = 0
        self.actions = []
        self.closed = False
        return self.observations[0]

    def step(self, action: Action) -> Observation:
        self.actions.append(action)
        self._i = min(self._i + 1, len(self.observations) - 1)
        return self.observations[self._i]

    def observe(self) -> Observation:
        return self.observations[self._i]

    def evaluate(self, task: Task) -> float:
        return float(self.score)

    def close(self) -> None:
        self.closed = True
