"""The real Chromium in a real sandbox: page rows over DevTools, clicks by element, tabs, getters."""

from __future__ import annotations

import shutil
import time

import pytest

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None or shutil.which("chromium") is None:
    pytest.skip("needs Xvfb, nsenter and chromium (`make test` installs them)", allow_module_level=True)

PAGE = (
    "data:text/html,<title>Start</title><h1>Hello</h1>"
    "<button onclick=\"document.title='clicked'\">Press me</button><input aria-label=Query value=abc>"
)


def _wait(pred: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_page_rows_click_by_element_tabs_and_getters() -> None:
    from envs.actions import ClickElement
    from envs.browser import add_page_rows, browser_of, start_browser
    from envs.getters import get_value
    from envs.sandbox import Sandbox
    from envs.task_setup import SetupContext, run_setup
    from envs.tasks import parse_task

    with Sandbox().start() as sb:
        b = start_browser(sb, [PAGE])
        assert browser_of(sb) is b
        assert _wait(lambda: (b.active_page() or {}).get("title") == "Start")
        obs = sb.observe()
        add_page_rows(sb, obs)
        assert obs.timings["browser_a11y"] < 3.5
        assert [n.id for n in obs.a11y_nodes] == list(range(len(obs.a11y_nodes)))
        roles = {(n.role, n.name, n.text) for n in obs.a11y_nodes}
        assert ("heading", "Hello", "") in roles and ("entry", "Query", "abc") in roles
        assert sum(1 for n in obs.a11y_nodes if n.role == "document web") == 1  # AT-SPI's copy replaced
        button = next(n for n in obs.a11y_nodes if n.role == "push button" and n.name == "Press me")
        sb.execute(ClickElement(element_id=button.id), last_observation=obs)
        assert _wait(lambda: (b.active_page() or {}).get("title") == "clicked")  # the box is where the pixels are

        steps = parse_task(
            {
                "id": "t",
                "instruction": "x",
                "config": [
                    {"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["data:text/html,<title>Two</title>"]}}
                ],
                "evaluator": {"func": "exact_match", "result": {"type": "rule", "rules": {}}},
            }
        ).config
        run_setup(sb, steps)
        ctx = SetupContext()
        tabs = get_value(sb, {"type": "open_tabs_info"}, ctx)
        assert [t["title"] for t in tabs] == ["clicked", "Two"] or sorted(t["title"] for t in tabs) == [
            "Two",
            "clicked",
        ]
        assert _wait(lambda: (get_value(sb, {"type": "active_tab_info"}, ctx) or {}).get("title") == "Two")
        table = get_value(sb, {"type": "accessibility_tree"}, ctx)
        assert "document web\tTwo" in table
