"""LibreOffice in a real sandbox: Calc's visible cells in the a11y table (bounded), Impress's slide pane.

One sandbox for the module (the apps are closed between tests), so LibreOffice's first start is paid once.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None or shutil.which("soffice") is None:
    pytest.skip("needs Xvfb, nsenter and LibreOffice (`make test` installs them)", allow_module_level=True)

from envs.sandbox import Sandbox  # noqa: E402


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(name="office").start() as s:
        yield s


def _sheet() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Name", "Score"])
    ws.append(["Ann", 17])
    ws.append(["Bob", 42])
    ws["AZ900"] = "far away"  # outside the visible box
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _wait_rows(sb: Sandbox, pred: object, timeout: float = 60.0) -> list:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    nodes: list = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        nodes, _ = sb.a11y(max_nodes=1500, timeout=5.0)
        if pred(nodes):  # type: ignore[operator]
            return nodes
        time.sleep(0.5)
    raise AssertionError(f"condition not met; last table had {len(nodes)} rows")


def test_calc_visible_cells_are_rows(sb: Sandbox) -> None:
    sb.write_file("~/scores.xlsx", _sheet())
    sb.launch_app("libreoffice-calc", ["/home/user/scores.xlsx"])
    nodes = _wait_rows(sb, lambda ns: any(n.role == "table cell" and n.text == "Bob" for n in ns))
    cells = {n.text: n for n in nodes if n.role == "table cell"}
    assert {"Name", "Score", "Ann", "17", "Bob", "42"} <= set(cells)
    assert "far away" not in cells  # only the visible box is read
    assert cells["Ann"].y < cells["Bob"].y and cells["Ann"].x < cells["17"].x  # screen boxes in sheet order
    t = time.monotonic()
    few, cut = sb.a11y(max_nodes=40, timeout=5.0)
    assert len(few) <= 40 and (cut or len(few) < 40)
    both, _ = sb.a11y(max_nodes=1500, timeout=5.0)
    assert len(both) < 1500  # bounded: the sheet's 2^31 cells are never walked
    assert time.monotonic() - t < 30
    sb.run(["pkill", "-f", "soffice"], timeout=30)


def test_impress_slide_pane_is_in_the_table(sb: Sandbox) -> None:
    from envs.metrics_slides import check_left_panel
    from envs.observation import linearize

    sb.run(["pkill", "-f", "soffice"], timeout=30)
    sb.launch_app("libreoffice-impress")
    nodes = _wait_rows(sb, lambda ns: check_left_panel(linearize(ns)) == 1.0)
    assert check_left_panel(linearize(nodes)) == 1.0
    sb.run(["pkill", "-f", "soffice"], timeout=30)
