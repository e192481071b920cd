"""App profiles: one small TOML file per app (``envs/apps/<name>.toml``, plus ``$STUDIO_APPS_DIR``).

A profile says how to launch an app inside the sandbox, how to tell it is ready, and where its documentation
lives on the system. Adding an app means adding one file::

    name = "mousepad"
    description = "Text editor ..."
    apt_package = "mousepad"          # named in AppNotInstalledError
    argv = ["mousepad"]               # run inside the sandbox; extra args are appended
    wm_class = "Mousepad"             # ready = a mapped window with this WM_CLASS (class or instance)
    a11y_app = "mousepad"             # optional: also wait for this AT-SPI application name ("" = don't)
    docs = ["man:mousepad", "/usr/share/help/C/mousepad/", "assets:docs/mousepad/"]  # man page, path or assets:
    env = {}                          # optional extra environment for the app
    ready_timeout = 20.0              # optional: seconds to wait for the window
    [seed_files]                      # optional: files written into the sandbox home before a launch
    ".config/app/settings.ini" = "..."  # (relative to the home; never over an existing file)

Profiles in ``$STUDIO_APPS_DIR`` (a directory, or several separated by ``:``) override bundled ones of the
same name.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from envs.errors import AppNotInstalledError, ConfigError

BUNDLED_DIR = Path(__file__).with_name("apps")
#: ``assets:<path>`` doc locations resolve here (documentation bundled with the studio).
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
APPS_DIR_ENV = "STUDIO_APPS_DIR"


class AppProfile(BaseModel):
    """One app profile (validated; unknown keys are an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str
    apt_package: str
    argv: list[str] = Field(min_length=1)
    wm_class: str
    a11y_app: str = ""
    docs: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    ready_timeout: float = Field(default=20.0, gt=0)
    seed_files: dict[str, str] = Field(default_factory=dict)

    @field_validator("seed_files")
    @classmethod
    def _seed_paths(cls, v: dict[str, str]) -> dict[str, str]:
        for rel in v:
            parts = Path(rel).parts
            if not parts or Path(rel).is_absolute() or ".." in parts:
                raise ValueError(f"seed file {rel!r} must be a relative path inside the home without '..'")
        return v

    def seed_command(self) -> list[str] | None:
        """A command that writes :attr:`seed_files` inside the sandbox (skipping files that exist), or None.

        Runs in the sandbox's shell, so it works whatever the sandbox's filesystem layout: paths and contents are
        positional arguments, never parsed as shell code.
        """
        if not self.seed_files:
            return None
        script = (
            'cd "$HOME" || exit 1; while [ "$#" -ge 2 ]; do '
            'if [ ! -e "$1" ]; then mkdir -p "$(dirname "$1")" && printf "%s" "$2" > "$1"; fi; shift 2; done'
        )
        args: list[str] = []
        for rel, content in self.seed_files.items():
            args += [rel, content]
        return ["sh", "-c", script, "seed", *args]

    @field_validator("docs")
    @classmethod
    def _docs_shape(cls, v: list[str]) -> list[str]:
        out = []
        for d in v:
            if d.startswith("assets:"):
                rel = d[len("assets:") :]
                if not rel or rel.startswith("/") or ".." in Path(rel).parts:
                    raise ValueError(f"doc location {d!r} must name a path inside the bundled assets")
                d = str(ASSETS_DIR / rel)
            elif not (d.startswith("man:") or d.startswith("/")):
                raise ValueError(f"doc location {d!r} must be 'man:<page>', 'assets:<path>' or an absolute path")
            out.append(d)
        return out

    def executable(self) -> str | None:
        """Absolute path of the program the profile runs, or None when it is not installed."""
        return shutil.which(self.argv[0])

    def check_installed(self) -> str:
        """Return the executable path or raise :class:`AppNotInstalledError` naming the apt package."""
        exe = self.executable()
        if exe is None:
            raise AppNotInstalledError(
                f"app {self.name!r} needs {self.argv[0]!r}, which is not installed; "
                f"install it with `sudo apt-get install {self.apt_package}`"
            )
        return exe

    def doc_paths(self) -> list[Path]:
        """Documentation files/directories that exist on this system (man pages resolved with ``man -w``)."""
        import subprocess

        out: list[Path] = []
        for d in self.docs:
            if d.startswith("man:"):
                try:
                    r = subprocess.run(["man", "-w", d[4:]], capture_output=True, text=True, timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    continue
                if r.returncode == 0 and r.stdout.strip():
                    out.append(Path(r.stdout.strip().splitlines()[0]))
            elif Path(d).exists():
                out.append(Path(d))
        return out


def profile_dirs() -> list[Path]:
    """Directories searched for profiles, highest priority first."""
    dirs = [Path(p) for p in os.environ.get(APPS_DIR_ENV, "").split(":") if p]
    return [*dirs, BUNDLED_DIR]


def load_profile_file(path: Path) -> AppProfile:
    """Load and validate one profile file; errors name the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read app profile {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"app profile {path} is not valid TOML: {exc}") from exc
    try:
        profile = AppProfile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<file>'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"app profile {path} is invalid: {problems}") from exc
    if profile.name != path.stem:
        raise ConfigError(f"app profile {path} has name {profile.name!r}; it must match the file name {path.stem!r}")
    return profile


def load_profile(name: str) -> AppProfile:
    """The profile called ``name`` (user directories first, then the bundled ones)."""
    for d in profile_dirs():
        path = d / f"{name}.toml"
        if path.is_file():
            return load_profile_file(path)
    raise ConfigError(
        f"no app profile named {name!r}; known: {', '.join(list_profiles()) or 'none'}. "
        f"Add {name}.toml to {BUNDLED_DIR} or to a directory in ${APPS_DIR_ENV}"
    )


def list_profiles() -> list[str]:
    """Names of all available profiles, sorted."""
    names: set[str] = set()
    for d in profile_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)
