"""Export selection and rows: status/kind/app/span/quorum filters, reviews, the actor's prompt layout, the split."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

FAKE_KEY = "sk-proj-FAKEabcdefghijklmnop1234567890"
FAKE_EMAIL = "alice.secret@example.org"
N_TRAJ = 6


def png(color: tuple[int, int, int], w: int = 64, h: int = 40) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, format="PNG")
    return buf.getvalue()


def build_export_workspace(path: Path) -> dict[str, Any]:
    """A workspace written through the workspace API.

    Six galculator/mousepad trajectories of 4 steps with real PNG screenshots. Trajectory 0 carries the planted
    secrets: its example's instruction holds a fake API key and an e-mail, its observations the workspace path.
    Examples per trajectory: ``acc`` (both judges yes), ``rej`` (both no), ``dis`` (one yes), plus on trajectory 0
    an ``over`` example the committee rejected but a person accepted, an ``edit`` example with an edited
    instruction and a ``vetoed`` example the committee accepted and a person rejected.
    """
    from studio.workspace import Document, Example, Review, Step, Task, Trajectory, Verdict, Workspace

    ws = Workspace.init(path)
    ids: dict[str, Any] = {"trajectories": [], "examples": {}}
    try:
        doc = Document(source="man galculator", section="USAGE", text="Click digits.", app="galculator")
        ws.add_documents([doc])
        task = Task(instruction="Add numbers", app="galculator", document_id=doc.id)
        ws.add_tasks([task])
        verdicts: list[Verdict] = []

        def votes(ex_id: str, a: bool, b: bool) -> None:
            for judge, vote in (("judge-a", a), ("judge-b", b)):
                for crit in ("aligned", "coherent", "natural", "reasonable"):
                    verdicts.append(Verdict(example_id=ex_id, judge=judge, criterion=crit, vote=vote))

        for t in range(N_TRAJ):
            app = "galculator" if t % 2 == 0 else "mousepad"
            traj = Trajectory(
                id=f"traj{t:02d}",
                task_id=task.id,
                instruction=f"task {t}",
                app=app,
                model="local/smollm2" if t < 4 else "openai/gpt-4o-mini",
                started=1000.0 + t,
            )
            ws.start_trajectory(traj)
            for i in range(4):
                obs = f"id\trole\tname\ttext\tposition\tsize\n{i + 1}\tpush button\tb{t}{i}\t\t(10, 10)\t(40, 30)\n"
                if t == 0:
                    obs += f"1\tlabel\tfile\t{path}/notes.txt\t(0, 0)\t(9, 9)\n"
                ws.add_step(
                    Step(
                        trajectory_id=traj.id,
                        index=i,
                        observation_text=obs,
                        width=64,
                        height=40,
                        reason=f"step {i} of run {t}",
                        action_code=f"pyautogui.click({10 + i}, 20)",
                        actions=[{"kind": "click", "x": 10 + i, "y": 20}],
                        created=2000.0 + 10 * t + i,
                    ),
                    screenshot=png((40 * i % 256, 30 * t % 256, 200)),
                )
            ws.finish_trajectory(traj.id, status="done", outcome="done", score=1.0)
            instr = f"Press buttons {t}"
            if t == 0:
                instr += f" and mail {FAKE_EMAIL} the key {FAKE_KEY}"
            exs = {
                "acc": Example(
                    id=f"ex-acc-{t}",
                    trajectory_id=traj.id,
                    start=1,
                    end=3,
                    instruction=instr,
                    app=app,
                    created=3000.0 + t,
                ),
                "rej": Example(
                    id=f"ex-rej-{t}",
                    trajectory_id=traj.id,
                    start=0,
                    end=2,
                    instruction=f"no {t}",
                    app=app,
                    created=3000.0 + t,
                ),
                "dis": Example(
                    id=f"ex-dis-{t}",
                    trajectory_id=traj.id,
                    start=0,
                    end=4,
                    kind="replicate",
                    instruction=f"Replicate the following: run {t}",
                    app=app,
                    created=3000.0 + t,
                ),
            }
            votes(exs["acc"].id, True, True)
            votes(exs["rej"].id, False, False)
            votes(exs["dis"].id, True, False)
            if t == 0:
                exs["over"] = Example(
                    id="ex-over-0",
                    trajectory_id=traj.id,
                    start=0,
                    end=1,
                    instruction="Press the first button",
                    app=app,
                    created=3100.0,
                )
                exs["edit"] = Example(
                    id="ex-edit-0",
                    trajectory_id=traj.id,
                    start=2,
                    end=4,
                    instruction="badly worded",
                    app=app,
                    created=3000.0,
                )
                exs["vetoed"] = Example(
                    id="ex-vetoed-0",
                    trajectory_id=traj.id,
                    start=0,
                    end=3,
                    instruction="vetoed",
                    app=app,
                    created=3000.0,
                )
                votes("ex-over-0", False, False)
                votes("ex-edit-0", False, True)
                votes("ex-vetoed-0", True, True)
            ws.add_examples(list(exs.values()))
            ids["trajectories"].append(traj.id)
            ids["examples"].update({f"{k}{t}": e.id for k, e in exs.items()})
        ws.add_verdicts(verdicts)
        ws.add_review(Review(example_id="ex-over-0", decision="accept", who="tester", when=10.0))
        ws.add_review(
            Review(
                example_id="ex-edit-0", decision="edit", edited_instruction="Press two buttons", who="tester", when=10.0
            )
        )
        ws.add_review(Review(example_id="ex-vetoed-0", decision="reject", who="tester", when=10.0))
        ws.add_ledger_records(
            [
                {"stage": "rollout", "role": "actor", "model": "local/smollm2"},
                {"stage": "committee", "role": "judge", "model": "judge-a"},
                {"stage": "committee", "role": "judge", "model": "judge-b"},
            ]
        )
    finally:
        ws.close()
    return ids


@pytest.fixture(scope="module")
def export_ws(tmp_path_factory: Any) -> Path:
    path = tmp_path_factory.mktemp("exportws") / "ws"
    build_export_workspace(path)
    return path


def _select(ws_path: Path, **kw: Any) -> list[Any]:
    from studio.export.rows import ExportOptions, select
    from studio.workspace import Workspace

    with Workspace.open(ws_path, readonly=True) as ws:
        return select(ws, ExportOptions(**kw).validate())


def test_status_filters_follow_committee_and_reviews(export_ws: Path) -> None:
    ids = lambda sel: {s.example.id for s in sel}  # noqa: E731
    acc = ids(_select(export_ws))
    assert acc == {f"ex-acc-{t}" for t in range(N_TRAJ)} | {"ex-over-0", "ex-edit-0"}  # vetoed: a person said no
    assert ids(_select(export_ws, status=("committee",))) == {f"ex-acc-{t}" for t in range(N_TRAJ)}
    assert ids(_select(export_ws, status=("reviewed",))) == {"ex-over-0", "ex-edit-0"}
    assert len(_select(export_ws, status=("all",))) == 3 * N_TRAJ + 3
    assert ids(_select(export_ws, status=("disputed",))) == {f"ex-dis-{t}" for t in range(N_TRAJ)}
    # quorum 1: one accepting judge is enough, so disputed examples count as accepted
    assert {f"ex-dis-{t}" for t in range(N_TRAJ)} <= ids(_select(export_ws, quorum="1"))


def test_kind_app_span_filters_and_edited_instruction(export_ws: Path) -> None:
    sel = _select(export_ws, status=("all",), kinds=("replicate",))
    assert {s.example.kind for s in sel} == {"replicate"}
    sel = _select(export_ws, status=("all",), apps=("mousepad",))
    assert {s.example.app for s in sel} == {"mousepad"} and len(sel) == 3 * (N_TRAJ // 2)
    sel = _select(export_ws, status=("all",), min_span=3, max_span=3)
    assert {s.example.end - s.example.start for s in sel} == {3}
    edited = next(s for s in _select(export_ws) if s.example.id == "ex-edit-0")
    assert edited.instruction == "Press two buttons"


def test_bad_options_are_config_errors() -> None:
    from studio.errors import ConfigError
    from studio.export.rows import ExportOptions

    for kw in (
        {"format": "csv"},
        {"granularity": "token"},
        {"observation": "video"},
        {"status": ("nope",)},
        {"min_span": 3, "max_span": 2},
        {"split": (0.5, 0.1)},
        {"quorum": "most"},
    ):
        with pytest.raises(ConfigError):
            ExportOptions(**kw).validate()  # type: ignore[arg-type]


def test_step_rows_use_the_actor_prompt_and_the_screen_before_each_action(export_ws: Path) -> None:
    from studio.export.redact import Redactor
    from studio.export.rows import ExportOptions, iter_rows, select
    from studio.pipeline.prompts import load_prompt, render
    from studio.workspace import Workspace

    opts = ExportOptions(observation="both").validate()
    with Workspace.open(export_ws, readonly=True) as ws:
        sel = [s for s in select(ws, opts) if s.example.id == "ex-acc-1"]
        ((_, rows),) = list(iter_rows(ws, sel, opts, Redactor(ws.path)))
        steps = ws.steps_of("traj01")
    assert [r.step for r in rows] == [1, 2]
    first, second = rows
    user = first.messages[0].text
    head = render(load_prompt("actor.v1")[0].split("{instruction}")[0], width=64, height=40)
    assert user.startswith(head) and "Task: Press buttons 1" in user
    assert "b11" in user and "b10" not in user  # step 1 acts on the screen recorded with step 1 (pre-action)
    assert first.images == [steps[1].screenshot] and first.messages[0].images == 1
    assert "(none yet)" in user
    assert first.messages[1].text == "REASON: step 1 of run 1\nACTION: pyautogui.click(11, 20)"
    assert "1. step 1 of run 1 -> pyautogui.click(11, 20)" in second.messages[0].text  # history
    assert second.id == "ex-acc-1-0002"


def test_example_rows_hold_the_whole_span(export_ws: Path) -> None:
    from studio.export.redact import Redactor
    from studio.export.rows import ExportOptions, iter_rows, select
    from studio.workspace import Workspace

    opts = ExportOptions(granularity="example", observation="screenshot", status=("all",)).validate()
    with Workspace.open(export_ws, readonly=True) as ws:
        sel = [s for s in select(ws, opts) if s.example.id == "ex-dis-2"]
        ((_, rows),) = list(iter_rows(ws, sel, opts, Redactor(ws.path)))
    (row,) = rows
    assert row.id == "ex-dis-2" and row.step == -1 and len(row.images) == 1
    assert row.messages[1].text.count("ACTION: ") == 4
    assert "attached screenshot" in row.messages[0].text


def test_split_is_by_trajectory_deterministic_and_seeded() -> None:
    from studio.export.split import parse_fractions, split_of

    fr = parse_fractions("0.8,0.1,0.1")
    tids = [f"t{i}" for i in range(2000)]
    a = [split_of(t, fr, 0) for t in tids]
    assert a == [split_of(t, fr, 0) for t in tids]
    counts = {s: a.count(s) for s in set(a)}
    assert 1450 < counts["train"] < 1750 and counts["validation"] > 120 and counts["test"] > 120
    assert a != [split_of(t, fr, 1) for t in tids]
    assert {split_of(t, parse_fractions("1"), 5) for t in tids} == {"train"}
