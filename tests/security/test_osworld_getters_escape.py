"""Escape attempts through OSWorld's newer setup steps and getters (a stranger's task file drives them).

``update_browse_history`` hands its entries to a fixed script inside the sandbox as data; ``pdf_from_url``
prints with a browser inside the sandbox; ``list_directory`` and ``shortcuts_on_desktop`` list with commands
inside it. None of them may run a task's text as code, or read or write a host file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from envs.getters import get_value
from envs.sandbox import Sandbox
from envs.task_setup import SetupContext, run_setup
from envs.tasks import ConfigStep


@pytest.fixture
def ctx() -> Iterator[SetupContext]:
    c = SetupContext()
    yield c
    c.cleanup()


#: Host folders whose canary a headless print tries to read (one Chromium run each, ~7 s under load).
PRINTED = ("checkout", "host_tmp", "root", "home")

HOSTILE = [
    "'); DROP TABLE urls; --",
    "$(touch /tmp/studio-pwned-history)",
    '"; import os; os.system("touch /tmp/studio-pwned-history"); "',
    "`touch /tmp/studio-pwned-history`",
]


def test_history_entries_are_data_not_code(sb: Sandbox, ctx: SetupContext, canaries: dict[str, Path]) -> None:
    marker = Path("/tmp/studio-pwned-history")
    marker.unlink(missing_ok=True)
    entries = [
        {"url": f"https://x.test/{i}", "title": t, "visit_time_from_now_in_seconds": 5} for i, t in enumerate(HOSTILE)
    ]
    entries.append({"url": HOSTILE[1], "title": "url as text", "visit_time_from_now_in_seconds": 5})
    run_setup(sb, [ConfigStep(type="update_browse_history", parameters={"history": entries})])
    rows = get_value(sb, {"type": "history", "dest": "h.sqlite"}, ctx)
    titles = {r[1] for r in rows}
    assert set(HOSTILE) <= titles  # stored literally (the table survived the DROP attempt)
    assert HOSTILE[1] in {r[0] for r in rows}
    assert not marker.exists()  # nothing ran on the host
    assert sb.run(["test", "-e", "/tmp/studio-pwned-history"]).returncode != 0  # nor in the sandbox
    for p in canaries.values():
        assert p.exists()


def test_pdf_and_listing_getters_see_only_the_sandbox(
    sb: Sandbox, ctx: SetupContext, canaries: dict[str, Path]
) -> None:
    for key, secret in canaries.items():
        listing = get_value(sb, {"type": "list_directory", "path": str(secret.parent)}, ctx)
        names = [] if listing is None else [c["name"] for c in listing.get("children", [])]
        assert secret.name not in names, key
        if key not in PRINTED:
            continue
        pdf = get_value(sb, {"type": "pdf_from_url", "path": f"file://{secret}", "dest": f"{key}.pdf"}, ctx)
        if pdf is not None:
            from pypdf import PdfReader

            text = "".join(p.extract_text() or "" for p in PdfReader(pdf).pages)
            assert "secret" not in text, key
    # a cache name from the task file cannot climb out of the evaluation cache
    out = get_value(sb, {"type": "pdf_from_url", "path": "data:text/html,hi", "dest": "../../escaped.pdf"}, ctx)
    assert out is None or Path(out).parent == ctx.cache_dir
    assert not (ctx.cache_dir.parent.parent / "escaped.pdf").exists()
