"""Browser-settings getters over a fake sandbox's files, and the browser metrics that compare them."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from envs.errors import TaskError
from envs.getters import GETTERS
from envs.metrics_chrome import (
    check_enabled_experiments,
    check_font_size,
    check_history_deleted,
    is_added_to_steam_cart,
    is_cookie_deleted,
    is_expected_installed_extensions,
    is_expected_search_query,
    is_shortcut_on_desktop,
)
from envs.task_setup import SETUP_TYPES, SetupContext
from envs.task_setup_chrome import history_entries

PROFILE = "/home/user/.config/chromium"


class FilesSb:
    """Answers read_sandbox_file's command and ``find`` from a dict of sandbox paths."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def run(self, argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        if argv[:2] == ["sh", "-c"]:
            data = self.files.get(argv[4])
            if data is None:
                return subprocess.CompletedProcess(argv, 3, "", "")
            return subprocess.CompletedProcess(argv, 0, base64.b64encode(data).decode(), "")
        if argv[0] == "find":
            folder = argv[1]
            names = [
                p.rsplit("/", 1)[1] for p in self.files if p.rsplit("/", 1)[0] == folder and p.endswith(".desktop")
            ]
            return subprocess.CompletedProcess(argv, 0, "".join(n + "\n" for n in names), "")
        raise AssertionError(f"unexpected command {argv}")


def _cookies_db(tmp_path: Path, hosts: list[str]) -> bytes:
    path = tmp_path / "Cookies"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE cookies (creation_utc INTEGER, host_key TEXT, name TEXT, value TEXT)")
        db.executemany("INSERT INTO cookies VALUES (1, ?, 'id', 'x')", [(h,) for h in hosts])
    return path.read_bytes()


def test_profile_getters(tmp_path: Path) -> None:
    prefs = {
        "safebrowsing": {"enhanced": True},
        "profile": {"default_content_setting_values": {"cookies": 4}},
        "extensions": {
            "settings": {"abc": {"path": "/home/user/Desktop/helloExtension", "manifest": {"name": "Hello"}}}
        },
    }
    local_state = {"browser": {"enabled_labs_experiments": ["chrome-refresh-2023@2", "chrome-webui-refresh-2023@2"]}}
    sb = FilesSb(
        {
            f"{PROFILE}/Default/Preferences": json.dumps(prefs).encode(),
            f"{PROFILE}/Local State": json.dumps(local_state).encode(),
            f"{PROFILE}/Default/Cookies": _cookies_db(tmp_path, [".amazon.com", "www.example.org"]),
            "/home/user/Desktop/game.desktop": b"[Desktop Entry]\nName=Play Puzzle Game 2048\nURL=https://x/\n",
        }
    )
    ctx = SetupContext()
    assert GETTERS["enable_enhanced_safety_browsing"](sb, {}, ctx) == "true"
    assert GETTERS["data_delete_automacally"](sb, {}, ctx) == "true"
    assert GETTERS["find_unpacked_extension_path"](sb, {}, ctx) == ["/home/user/Desktop/helloExtension"]
    assert GETTERS["find_installed_extension_name"](sb, {}, ctx) == ["Hello"]
    experiments = GETTERS["enabled_experiments"](sb, {}, ctx)
    rule = {"type": "names", "names": ["chrome-refresh-2023", "chrome-webui-refresh-2023"]}
    assert check_enabled_experiments(experiments, rule) == 1.0
    assert check_enabled_experiments([], rule) == 0.0
    cookies = GETTERS["cookie_data"](sb, {"dest": "Cookies"}, ctx)
    assert [c[1] for c in cookies] == [".amazon.com", "www.example.org"]
    assert is_cookie_deleted(cookies, {"type": "domains", "domains": [".amazon.com"]}) == 0.0
    assert is_cookie_deleted(cookies, {"type": "domains", "domains": [".google.com"]}) == 1.0
    shortcuts = GETTERS["shortcuts_on_desktop"](sb, {}, ctx)
    assert is_shortcut_on_desktop(shortcuts, {"type": "name", "name": "Play Puzzle Game 2048"}) == 1.0
    assert is_shortcut_on_desktop(shortcuts, {"type": "name", "name": "Play"}) == 0.0

    empty = FilesSb({})
    assert GETTERS["enable_enhanced_safety_browsing"](empty, {}, ctx) == "false"
    assert GETTERS["data_delete_automacally"](empty, {}, ctx) == "false"
    assert GETTERS["cookie_data"](empty, {}, ctx) == []
    assert GETTERS["enabled_experiments"](empty, {}, ctx) == []
    ctx.cleanup()


def test_browser_metrics() -> None:
    history = [["https://www.youtube.com/watch?v=1", "t", 1], ["https://www.nytimes.com/", "n", 2]]
    assert check_history_deleted(history, {"type": "keywords", "keywords": ["youtube"]}) == 0.0
    assert check_history_deleted(history[1:], {"type": "keywords", "keywords": ["youtube"]}) == 1.0
    assert check_history_deleted(None, {"type": "keywords", "keywords": []}) == 0.0
    sizes = {"default_font_size": 20}
    assert check_font_size(sizes, {"type": "range", "min": 16, "max": 99999}) == 1.0
    assert check_font_size({"default_font_size": 16}, {"type": "range", "min": 16, "max": 99999}) == 0.0
    assert check_font_size(sizes, {"type": "value", "value": 20}) == 1.0
    page = {"content": "Your cart: The Dota 2 Official Soundtrack $9.99"}
    assert is_added_to_steam_cart(page, {"items": ["The Dota 2 Official Soundtrack"]}) == 1.0
    assert is_added_to_steam_cart({"content": ""}, {"items": ["x"]}) == 0.0
    tab = {"url": "https://www.google.com/search?q=conference+2024"}
    assert is_expected_search_query(tab, {"expect": {"pattern": r"q=conference"}}) == 1.0
    assert is_expected_search_query(tab, {"expect": {"pattern": r"q=weather"}}) == 0.0
    assert is_expected_installed_extensions(["Hello", "Dark"], {"expected": ["Hello"]}) == 1.0
    assert is_expected_installed_extensions(["Dark"], {"expected": ["Hello"]}) == 0.0


def test_update_browse_history_entries() -> None:
    assert "update_browse_history" in SETUP_TYPES
    got = history_entries({"history": [{"url": "https://a/", "title": "A", "visit_time_from_now_in_seconds": 60}]})
    assert got == [{"url": "https://a/", "title": "A", "ago": 60.0}]
    with pytest.raises(TaskError, match="needs 'history'"):
        history_entries({})
    with pytest.raises(TaskError, match="needs a 'url'"):
        history_entries({"history": [{"title": "no url"}]})
    with pytest.raises(TaskError, match="not a number"):
        history_entries({"history": [{"url": "https://a/", "visit_time_from_now_in_seconds": "soon"}]})
