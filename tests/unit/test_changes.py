"""State changes between two screens (envs.changes): values, renames, elements and windows, no model."""

from __future__ import annotations

from envs.changes import Change, changes_text, render_change, render_changes, screen_changes
from envs.observation import A11yNode, WindowInfo, linearize


def table(*rows: tuple[str, str, str, int, int]) -> str:
    return linearize([A11yNode(i, role, name, text, x, y, 50, 20) for i, (role, name, text, x, y) in enumerate(rows)])


def win(title: str, wid: int, focused: bool = False) -> WindowInfo:
    return WindowInfo(title, "App", 0, 0, 100, 100, focused, wid)


def test_value_change_reports_before_after_and_typed_text() -> None:
    before = table(("label", "", "12", 10, 10), ("push button", "=", "", 10, 40))
    after = table(("label", "", "84", 10, 10), ("push button", "=", "", 10, 40))
    [c] = screen_changes(before, after)
    assert (c.kind, c.role, c.before, c.after) == ("value", "label", "12", "84")
    doc_before = table(("text", "doc", "Dear Bob,\\nthe release is out.", 0, 0))
    doc_after = table(("text", "doc", "Dear Bob,\\nthe release is out.\\nBest regards,", 0, 0))
    [d] = screen_changes(doc_before, doc_after)
    assert d.inserted == "\nBest regards," and d.removed == ""
    assert "Best regards," in changes_text([d])


def test_inserted_rows_shift_ids_without_false_changes() -> None:
    before = table(("push button", "OK", "", 5, 5), ("label", "Result", "42", 5, 30))
    after = table(("menu item", "Save", "", 5, 60), ("push button", "OK", "", 5, 5), ("label", "Result", "42", 5, 30))
    changes = screen_changes(before, after)
    assert [(c.kind, c.role, c.name) for c in changes] == [("appeared", "menu item", "Save")]
    assert screen_changes(before, before) == []
    assert render_changes([]) == "(no visible change)"


def test_rename_disappear_and_counted_summary() -> None:
    before = table(
        ("toggle button", "Play", "", 1, 1), *[("menu item", f"Item {i}", "", 0, 20 * i + 50) for i in range(9)]
    )
    after = table(("toggle button", "Pause", "", 1, 1))
    changes = screen_changes(before, after)
    kinds = [c.kind for c in changes]
    assert kinds[0] == "renamed" and changes[0].before == "Play" and changes[0].after == "Pause"
    gone = [c for c in changes if c.kind == "disappeared"]
    assert len(gone) == 7 and gone[-1].count == 3  # six listed, the other three counted
    assert "3 more disappeared" in render_change(gone[-1])


def test_windows_opened_closed_retitled_and_focus() -> None:
    before = [win("notes.txt - Mousepad", 1, focused=True)]
    after = [win("*notes.txt - Mousepad", 1), win("Save As", 2, focused=True)]
    changes = screen_changes("", "", before, after)
    assert [(c.kind, c.after) for c in changes] == [
        ("window_opened", "Save As"),
        ("window_title", "*notes.txt - Mousepad"),
        ("focus", "Save As"),
    ]
    closed = screen_changes("", "", after, [win("notes.txt - Mousepad", 1, focused=True)])
    assert ("window_closed", "Save As") in [(c.kind, c.before) for c in closed]
    retitled = screen_changes(
        table(("frame", "a.txt", "", 0, 0)),
        table(("frame", "*a.txt", "", 0, 0)),
        [win("a.txt", 1, focused=True)],
        [win("*a.txt", 1, focused=True)],
    )
    assert [c.kind for c in retitled] == ["window_title"]  # same window keeps focus; its frame is not "renamed"
    assert "window opened: 'Save As'" in render_changes(changes)


def test_dict_round_trip_is_compact() -> None:
    c = Change("value", "label", "", "1", "2", "2", "1")
    d = c.to_dict()
    assert "count" not in d and "name" not in d and Change.from_dict({**d, "extra": 1}) == c
