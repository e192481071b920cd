"""Workspace store: round trips of every record type, paging, filters, trajectories, ledger, blobs, config."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from studio.errors import ConfigError, SchemaVersionError, WorkspaceError
from studio.workspace import (
    Document,
    Example,
    LedgerEntry,
    Review,
    Step,
    Task,
    Trajectory,
    Verdict,
    Workspace,
)
from studio.workspace.blobs import THUMB_WIDTH
from studio.workspace.migrate import SCHEMA_VERSION


def png(color: tuple[int, int, int], size: tuple[int, int] = (320, 200)) -> bytes:
    img = Image.new("RGB", size, color)
    img.putpixel((5, 5), (255, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture()
def ws(tmp_path: Path):
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def samples() -> list:
    traj = Trajectory(
        task_id="t1",
        instruction="Add 2 and 3",
        app="galculator",
        sandbox={"w": 1280, "h": 800, "apps": ["galculator"]},
        model="local/smollm2",
    )
    return [
        Document(
            source="man:galculator",
            section="USAGE",
            title="galculator",
            text="A calculator.",
            app="galculator",
            format="man",
        ),
        Task(instruction="Add 2 and 3", app="galculator", origin="file", document_id="d1", section="USAGE"),
        traj,
        Step(
            trajectory_id=traj.id,
            index=0,
            observation_text="push button\t2\t(10, 10)",
            width=1280,
            height=800,
            reason="press 2",
            actions=[{"kind": "click", "x": 10, "y": 10}],
            action_code="pyautogui.click(10, 10)",
            timings={"observe": 0.1, "act": 0.02},
            usage={"tok": 3},
        ),
        Example(
            trajectory_id=traj.id,
            start=0,
            end=2,
            step_indices=[0, 1],
            instruction="Press 2",
            kind="replicate",
            prompt_version="backward_replicate.v1",
            app="galculator",
        ),
        Verdict(
            example_id="e1",
            judge="local/smollm2",
            criterion="aligned",
            vote=None,
            rationale="",
            error="timeout",
        ),
        Review(example_id="e1", decision="edit", edited_instruction="Press two", who="ann"),
    ]


def test_ledger_entries_are_not_a_table(ws: Workspace) -> None:
    entry = LedgerEntry(stage="rollout", role="actor", model="m", prompt_tokens=10, cost=0.001, cache_hit=True)
    with pytest.raises(WorkspaceError, match="ledger.jsonl"):
        ws.add(entry)
    ws.append(entry)
    assert ws.ledger() == [entry]


def test_round_trip_every_record_type(ws: Workspace) -> None:
    for rec in samples():
        ws.add(rec)
        assert ws.get(type(rec), rec.id) == rec
        assert ws.count(type(rec)) == 1
    assert set(ws.counts().values()) == {1}


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    recs = samples()
    with Workspace.init(tmp_path / "ws") as w:
        for rec in recs:
            w.add(rec)
    with Workspace.open(tmp_path / "ws", readonly=True) as r:
        for rec in recs:
            assert r.get(type(rec), rec.id) == rec
        assert all(n == 1 for n in r.counts().values())


def test_get_missing_names_the_id(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="nope"):
        ws.get(Task, "nope")


def test_list_filters_and_pages(ws: Workspace) -> None:
    ws.add([Task(instruction=f"task {i}", app="a" if i % 2 else "b") for i in range(25)])
    assert ws.count(Task, app="a") == 12
    page1 = ws.list(Task, app="b", offset=0, limit=5)
    page2 = ws.list(Task, app="b", offset=5, limit=5)
    assert len(page1) == len(page2) == 5
    assert not {t.id for t in page1} & {t.id for t in page2}
    assert len(ws.list(Task, app="b", limit=None)) == 13
    assert [t.instruction for t in ws.list(Task, where="instruction = 'task 3'")] == ["task 3"]
    assert ws.list(Task, instruction="it's quoted") == []  # quotes are escaped


def test_trajectory_lifecycle_and_steps(ws: Workspace) -> None:
    traj = Trajectory(instruction="x", app="mousepad")
    ws.start_trajectory(traj)
    for i in (2, 0, 1):
        ws.add_step(Step(trajectory_id=traj.id, index=i, observation_text=f"obs {i}"), screenshot=png((i, 0, 0)))
    ws.add_step(Step(trajectory_id="other", index=0))
    steps = ws.steps_of(traj.id)
    assert [s.index for s in steps] == [0, 1, 2]
    assert all(ws.blobs.exists(s.screenshot) for s in steps)
    ws.finish_trajectory(traj.id, status="failed", outcome="max_steps", score=0.0, error="gave up")
    got = ws.get(Trajectory, traj.id)
    assert (got.status, got.outcome, got.score, got.n_steps, got.error) == (
        "failed",
        "max_steps",
        0.0,
        3,
        "gave up",
    )
    assert got.finished is not None
    assert (got.final_observation, got.final_screenshot) == (None, None)  # not given: unknown, not ""
    with pytest.raises(WorkspaceError, match="no field"):
        ws.update_trajectory(traj.id, colour="red")


def test_finish_trajectory_stores_the_screen_after_the_last_action(ws: Workspace) -> None:
    traj = Trajectory(instruction="x", app="mousepad")
    ws.start_trajectory(traj)
    ws.add_step(Step(trajectory_id=traj.id, index=0, observation_text="before"), screenshot=png((1, 0, 0)))
    table = 'id\trole\tname\ttext\n1\tlabel\tit\'s "done" \\ ü 中\t\n'  # quotes, tabs, non-ASCII survive
    ws.finish_trajectory(
        traj.id, status="failed", outcome="max_steps", final_observation=table, final_screenshot=png((0, 0, 9))
    )
    got = ws.get(Trajectory, traj.id)
    assert got.final_observation == table and got.n_steps == 1
    assert got.final_screenshot and ws.blobs.exists(got.final_screenshot)
    assert ws.blobs.image(got.final_screenshot).convert("RGB").getpixel((0, 0)) == (0, 0, 9)
    assert got.final_screenshot != ws.steps_of(traj.id)[0].screenshot
    other = Trajectory(instruction="y")
    ws.start_trajectory(other)
    ws.finish_trajectory(other.id, final_observation="", final_screenshot=b"")  # captured but empty a11y table
    got = ws.get(Trajectory, other.id)
    assert (got.final_observation, got.final_screenshot) == ("", None)


def test_blob_dedupe_and_thumbnail(ws: Workspace) -> None:
    a = ws.put_screenshot(png((1, 2, 3), (1280, 800)))
    img = Image.open(io.BytesIO(png((1, 2, 3), (1280, 800))))
    b = ws.put_screenshot(img)  # same pixels as a PIL image -> same hash, stored once
    c = ws.put_screenshot(png((9, 9, 9), (1280, 800)))
    assert a == b != c
    assert ws.blobs.count() == 2
    assert ws.blobs.image(a).convert("RGB").tobytes() == img.convert("RGB").tobytes()  # lossless
    thumb = Image.open(io.BytesIO(ws.screenshot(a, thumb=True)))
    assert thumb.width == THUMB_WIDTH and thumb.height == 150
    with pytest.raises(WorkspaceError, match="not a readable image"):
        ws.put_screenshot(b"not an image")
    with pytest.raises(WorkspaceError, match="missing"):
        ws.screenshot("ab" * 32)


def test_example_status_with_quorum_and_review(ws: Workspace) -> None:
    crit = ("aligned", "coherent", "natural", "reasonable")
    ws.add(
        [
            Verdict(example_id="e1", judge=j, criterion=c, vote=(j == "a" or c != "natural"))
            for j in ("a", "b")
            for c in crit
        ]
    )
    assert ws.example_status("e1", quorum="all") == "disputed"
    assert ws.example_status("e1", quorum=1) == "accepted"
    assert ws.example_status("e2") == "pending"
    ws.add_review(Review(example_id="e1", decision="reject", who="ann"))
    assert ws.example_status("e1", quorum=1) == "overridden-reject"
    assert ws.example_statuses(quorum=1) == {"e1": "overridden-reject"}


def test_one_ledger_the_jsonl_file_read_live(tmp_path: Path) -> None:
    from studio.llm.ledger import LedgerRecord, LedgerTail

    path = tmp_path / "ws"
    Workspace.init(path).close()
    lines = [
        json.dumps({"stage": "s", "role": "actor", "model": "m", "prompt_tokens": i, "error": None}) for i in range(3)
    ]
    (path / "ledger.jsonl").write_text("\n".join(lines) + "\n" + '{"stage": "torn')
    tail = LedgerTail(path / "ledger.jsonl")
    assert [r.prompt_tokens for r in tail.read_new()] == [0, 1, 2]  # the torn line waits for its newline
    with open(path / "ledger.jsonl", "a", encoding="utf-8") as fh:
        fh.write('", "model": "m9"}\n')
    assert [r.stage for r in tail.read_new()] == ["torn"]  # completed by its writer: read now, once
    with Workspace.open(path) as w:
        w.append(LedgerRecord(stage="x", role="judge", model="m2", cost=0.5))
        w.add_ledger_records([{"stage": "y", "model": "m3", "unknown_key": 1}])
        assert [r.stage for r in tail.read_new()] == ["x", "y"]  # seen at once, no reopen, no copy
    with Workspace.open(path) as w:  # reopening copies nothing anywhere: still one row per call
        assert [r.stage for r in w.ledger()] == ["s", "s", "s", "torn", "x", "y"]
        assert "ledger" not in w.counts()
    assert tail.read_new() == []


def test_readonly_refuses_writes(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with Workspace.open(tmp_path / "ws", readonly=True) as r:
        with pytest.raises(WorkspaceError, match="read-only"):
            r.add(Task(instruction="x"))


def test_init_twice_and_not_a_workspace(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with pytest.raises(WorkspaceError, match="already a workspace"):
        Workspace.init(tmp_path / "ws")
    with pytest.raises(WorkspaceError, match="studio init"):
        Workspace.open(tmp_path)


def test_config_created_with_comments_and_validated(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    toml = (tmp_path / "ws" / "studio.toml").read_text()
    assert "# Learn-by-Interact Studio workspace configuration." in toml
    (tmp_path / "ws" / "studio.toml").write_text(toml.replace("max_steps = 8", "max_step = 8"))
    with pytest.raises(ConfigError, match="pipeline.max_step"):
        Workspace.open(tmp_path / "ws")
    (tmp_path / "ws" / "studio.toml").write_text(toml.replace("width = 1280", "width = [oops"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        Workspace.open(tmp_path / "ws", readonly=True)
    (tmp_path / "ws" / "studio.toml").write_text(toml.replace("width = 1280", 'width = "wide"'))
    with pytest.raises(ConfigError, match="sandbox.width"):
        Workspace.open(tmp_path / "ws")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    meta_path = tmp_path / "ws" / "workspace.json"
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = 99
    meta_path.write_text(json.dumps(meta))
    for readonly in (False, True):
        with pytest.raises(SchemaVersionError, match="newer studio.*Upgrade"):
            Workspace.open(tmp_path / "ws", readonly=readonly)
    meta_path.write_text("{broken")
    with pytest.raises(WorkspaceError, match="not valid JSON"):
        Workspace.open(tmp_path / "ws")


def test_optimize_compacts_and_keeps_rows(ws: Workspace) -> None:
    traj = Trajectory()
    ws.start_trajectory(traj)
    for i in range(30):
        ws.add_step(Step(trajectory_id=traj.id, index=i, observation_text=f"row {i}"))
    before = len(list((ws.path / "db" / "steps.lance" / "data").iterdir()))
    from datetime import timedelta

    ws.optimize(cleanup_older_than=timedelta(seconds=0.001))
    after = len(list((ws.path / "db" / "steps.lance" / "data").iterdir()))
    assert after < before
    assert [s.index for s in ws.steps_of(traj.id)] == list(range(30))


def test_cli_init_and_info(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from studio.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["init", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "w" / "studio.toml").exists()
    res = runner.invoke(app, ["info", str(tmp_path / "w"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["schema_version"] == SCHEMA_VERSION and data["counts"]["steps"] == 0 and data["writer"] is None


def test_derived_tables_public_api(tmp_path: Path) -> None:
    import pyarrow as pa

    schema = pa.schema([pa.field("key", pa.string()), pa.field("text", pa.string()), pa.field("n", pa.int64())])
    with Workspace.init(tmp_path / "ws") as ws:
        assert not ws.has_table("derived") and ws.has_table("examples")
        table = ws.create_derived_table("derived", schema, data=[{"key": "a", "text": "open the file menu", "n": 1}])
        assert ws.has_table("derived") and table.count_rows() == 1
        with pytest.raises(WorkspaceError, match="already exists"):
            ws.create_derived_table("derived", schema)
        rows = pa.Table.from_pylist(
            [{"key": "b", "text": "save as dialog", "n": 2}, {"key": "c", "text": "print preview", "n": 3}],
            schema=schema,
        )
        assert ws.add_rows("derived", rows) == 2
        assert ws.add_rows("derived", []) == 0
        ws.update_rows("derived", "key = 'b'", {"n": 20})
        ws.delete_rows("derived", "key = 'c'")
        got = {r["key"]: r["n"] for r in ws.table("derived").to_arrow().to_pylist()}
        assert got == {"a": 1, "b": 20}
        assert ws.ensure_index("derived", "text", "fts") is True
        assert ws.ensure_index("derived", "text", "fts") is False  # idempotent
        assert ws.ensure_index("derived", "key", "btree") is True
        with pytest.raises(WorkspaceError, match="unknown index kind"):
            ws.ensure_index("derived", "key", "hash")
        ws.optimize_table("derived")
        hits = ws.table("derived").search("dialog", query_type="fts", fts_columns="text").limit(5).to_list()
        assert [h["key"] for h in hits] == ["b"]
        # a rebuild replaces the rows (and the schema) in one commit; the handle from ws.table follows it
        wider = schema.append(pa.field("extra", pa.float64()))
        ws.create_derived_table("derived", wider, data=[{"key": "z", "text": "x", "n": 0, "extra": 1.5}], replace=True)
        assert ws.table("derived").to_arrow().to_pylist() == [{"key": "z", "text": "x", "n": 0, "extra": 1.5}]
        # the workspace's own tables are not written through this API
        for name in ("examples", "example_vectors"):
            with pytest.raises(WorkspaceError, match="workspace's own tables"):
                ws.add_rows(name, [])
        with pytest.raises(WorkspaceError, match="workspace's own tables"):
            ws.create_derived_table("steps", schema, replace=True)
    with Workspace.open(tmp_path / "ws", readonly=True) as ro:
        assert ro.has_table("derived") and ro.table("derived").count_rows() == 1
        with pytest.raises(WorkspaceError, match="read-only"):
            ro.check_writable()
        refused = [
            lambda: ro.create_derived_table("other", schema),
            lambda: ro.create_derived_table("derived", schema, replace=True),
            lambda: ro.add_rows("derived", [{"key": "q", "text": "", "n": 0}]),
            lambda: ro.update_rows("derived", "key = 'z'", {"n": 5}),
            lambda: ro.delete_rows("derived", "key = 'z'"),
            lambda: ro.ensure_index("derived", "n", "btree"),
            lambda: ro.optimize_table("derived"),
        ]
        for call in refused:
            with pytest.raises(WorkspaceError, match="read-only"):
                call()
        assert not ro.has_table("other") and ro.table("derived").count_rows() == 1
    ws2 = Workspace.open(tmp_path / "ws")
    ws2.close()
    with pytest.raises(WorkspaceError, match="closed"):
        ws2.add_rows("derived", [])


def test_optimize_builds_scalar_indexes_without_deprecated_calls(tmp_path, monkeypatch) -> None:
    import warnings

    import studio.workspace.tables as tables
    from studio.workspace import Verdict, Workspace

    monkeypatch.setattr(tables, "SCALAR_INDEX_MIN_ROWS", 10)
    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_verdicts([Verdict(example_id=f"e{i}", judge="j", criterion="aligned", vote=True) for i in range(20)])
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            ws.optimize()
        kinds = {tuple(ix.columns): ix.index_type for ix in ws.table("verdicts").list_indices()}
        assert kinds.get(("example_id",)) == "BTree"
        assert ws.count("verdicts", example_id="e3") == 1
