"""Input pacing: keys that race an app's own processing are spaced more when the machine is busy."""

from __future__ import annotations

import pytest

from envs import input as input_mod


@pytest.mark.parametrize(
    ("load", "cpus", "expected"),
    [(0.3, 2, 1.0), (4.0, 2, 1.0), (10.0, 2, 2.5), (18.0, 2, 4.0), (16.0, 8, 1.0)],
)
def test_load_factor_scales_with_half_the_load_per_core_and_is_capped(
    monkeypatch: pytest.MonkeyPatch, load: float, cpus: int, expected: float
) -> None:
    monkeypatch.setattr(input_mod.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(input_mod.os, "cpu_count", lambda: cpus)
    assert input_mod.load_factor() == pytest.approx(expected)


def test_load_factor_without_a_load_average_is_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_loadavg() -> tuple[float, float, float]:
        raise OSError("not available")

    monkeypatch.setattr(input_mod.os, "getloadavg", no_loadavg)
    assert input_mod.load_factor() == 1.0
