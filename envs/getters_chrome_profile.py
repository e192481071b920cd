"""Browser-settings getters with OSWorld's names, read from the sandbox's Chromium profile files.

===================================  ===============================================================
``cookie_data``                      rows of the profile's ``Cookies`` table (``host_key`` is column 1)
``enabled_experiments``              ``browser.enabled_labs_experiments`` of ``Local State``
``data_delete_automacally``          "true" when ``profile.default_content_setting_values`` is set
``enable_enhanced_safety_browsing``  "true" when ``safebrowsing.enhanced`` is on
``find_unpacked_extension_path``     the ``path`` of every extension in ``extensions.settings``
``find_installed_extension_name``    the manifest ``name`` of every extension there
``shortcuts_on_desktop``             ``{file name: text}`` of every ``.desktop`` file in ``~/Desktop``
===================================  ===============================================================

Files are copied out by a command inside the sandbox (:func:`envs.sandbox_files.read_sandbox_file`); the
browser never opens a port. A missing file gives OSWorld's "empty" value (no rows, "false", ``[]``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from envs.getters_chrome import PROFILE_DIR, profile_json, sandbox_json
from envs.sandbox_files import read_sandbox_file

if TYPE_CHECKING:
    from envs.sandbox import Sandbox
    from envs.task_setup import SetupContext

USER_DATA_DIR = PROFILE_DIR.rsplit("/", 1)[0]
DESKTOP = "/home/user/Desktop"
MAX_SHORTCUTS = 200


def get_cookie_data(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> list[list[Any]]:
    data = read_sandbox_file(sb, f"{PROFILE_DIR}/Cookies")
    if data is None:
        return []
    local = ctx.cache_dir / "Cookies.sqlite"
    local.write_bytes(data)
    try:
        with sqlite3.connect(f"file:{local}?mode=ro", uri=True) as db:
            db.execute("PRAGMA trusted_schema = OFF")  # the file comes from the sandbox
            cols = [r[1] for r in db.execute("PRAGMA table_info(cookies)")]
            if "host_key" not in cols:
                return []
            # OSWorld's metric reads the domain as column 1 (``creation_utc, host_key, ...``): keep that order
            order = ["creation_utc", "host_key"] + [c for c in cols if c not in ("creation_utc", "host_key")]
            picked = ", ".join(f'"{c}"' for c in order if c in cols)
            rows = db.execute(f"SELECT {picked} FROM cookies").fetchall()  # noqa: S608 - column names from PRAGMA
    except sqlite3.Error:
        return []
    return [list(r) for r in rows]


def _local_state(sb: Sandbox) -> dict[str, Any]:
    return sandbox_json(sb, f"{USER_DATA_DIR}/Local State")


def get_enabled_experiments(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> list[str]:
    labs = _local_state(sb).get("browser", {}).get("enabled_labs_experiments", [])
    return [str(x) for x in labs] if isinstance(labs, list) else []


def get_data_delete_automatically(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    profile = profile_json(sb, "Preferences").get("profile", {})
    return "true" if isinstance(profile, dict) and profile.get("default_content_setting_values") else "false"


def get_enable_enhanced_safety_browsing(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> str:
    safe = profile_json(sb, "Preferences").get("safebrowsing", {})
    return "true" if isinstance(safe, dict) and safe.get("enhanced") else "false"


def _extensions(sb: Sandbox) -> list[dict[str, Any]]:
    settings = profile_json(sb, "Preferences").get("extensions", {}).get("settings", {})
    if not isinstance(settings, dict):
        return []
    return [v for v in settings.values() if isinstance(v, dict)]


def get_unpacked_extension_paths(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> list[str]:
    return [str(e["path"]) for e in _extensions(sb) if e.get("path")]


def get_installed_extension_names(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> list[str]:
    names = [e.get("manifest", {}).get("name") for e in _extensions(sb) if isinstance(e.get("manifest"), dict)]
    return [str(n) for n in names if n]


def get_shortcuts_on_desktop(sb: Sandbox, spec: dict[str, Any], ctx: SetupContext) -> dict[str, str]:
    res = sb.run(["find", DESKTOP, "-maxdepth", "1", "-type", "f", "-name", "*.desktop", "-printf", "%f\\n"])
    out: dict[str, str] = {}
    for name in sorted(str(res.stdout or "").splitlines())[:MAX_SHORTCUTS]:
        data = read_sandbox_file(sb, f"{DESKTOP}/{name}")
        if data is not None:
            out[name] = data.decode("utf-8", errors="replace")
    return out


GETTERS: dict[str, Callable[[Sandbox, dict[str, Any], SetupContext], Any]] = {
    "cookie_data": get_cookie_data,
    "enabled_experiments": get_enabled_experiments,
    "data_delete_automacally": get_data_delete_automatically,  # OSWorld's spelling
    "enable_enhanced_safety_browsing": get_enable_enhanced_safety_browsing,
    "find_unpacked_extension_path": get_unpacked_extension_paths,
    "find_installed_extension_name": get_installed_extension_names,
    "shortcuts_on_desktop": get_shortcuts_on_desktop,
}
