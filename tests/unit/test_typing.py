"""``mypy --strict`` over studio/ and envs/ (the settings in pyproject.toml), with no module exempt: a module
that needs an exemption (``[[tool.mypy.overrides]]`` with ``ignore_errors``) fails this test instead."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", *args], capture_output=True, text=True, cwd=ROOT, timeout=1500)


@pytest.mark.timeout(1800)  # a cold mypy cache on a loaded machine takes minutes; warm it is seconds
def test_mypy_strict_is_clean() -> None:
    out = _mypy()
    assert out.returncode == 0, out.stdout[-4000:]


def test_no_module_is_exempt_from_strict() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    exempt = [m for o in cfg.get("overrides", []) if o.get("ignore_errors") for m in o["module"]]
    assert cfg["strict"] is True and exempt == [], f"type these modules instead of exempting them: {exempt}"
