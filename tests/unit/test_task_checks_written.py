"""Task checks without a sandbox: the writer schema built from the registries, the static checks of model-written
tasks (every rejection reason), validation statuses with a scripted env, import, rollout order, the status rule."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from envs import task_schema
from envs.base import Env
from envs.observation import Observation
from envs.task_schema import offer, offered, parse_written, writer_schema
from studio.config import default_config
from studio.errors import TaskFileError, UnsafeTaskError, UnsupportedTaskTypeError
from studio.pipeline.stages import task_check as tc
from studio.pipeline.stages.checked_tasks import GENERIC_EXAMPLE, reply_schema, write_checked_tasks
from studio.status import StatusRule
from studio.workspace import Task, Trajectory, Workspace

GOOD: dict[str, Any] = copy.deepcopy(GENERIC_EXAMPLE)


def _with(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(GOOD)
    item.update(changes)
    return item


def _evaluator(func: str, result: dict[str, Any], rules: Any) -> dict[str, Any]:
    return {"func": func, "result": result, "expected": {"type": "rule", "rules": rules}}


# ------------------------------------------------------------------------------------------ the schema


def _all_consts(node: Any, key: str) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict) and isinstance(v.get(key), dict) and "const" in v[key]:
                found.add(v[key]["const"])
            found |= _all_consts(v, key)
    elif isinstance(node, list):
        for v in node:
            found |= _all_consts(v, key)
    return found


def test_writer_schema_offers_exactly_the_declared_types_of_the_registries() -> None:
    schema = writer_schema(3)
    assert schema["properties"]["tasks"]["maxItems"] == 3
    funcs = _all_consts(schema, "func")
    types = _all_consts(schema, "type")
    assert funcs == {o.name for o in offered("metric")} and "compare_text_file" not in funcs
    assert {"launch_app", "execute", "open", "vm_command_line", "vm_file", "accessibility_tree", "rule"} <= types
    assert not {"download", "launch", "local_file", "cloud_file"} & types  # what reaches the host is never offered
    refs = {r.rsplit("/", 1)[-1] for r in re.findall(r'"\$ref": "([^"]+)"', json.dumps(schema))}
    assert refs and refs <= set(schema["$defs"])  # every getter spelled out once, referenced by the metrics


def test_schema_builder_is_generic_over_the_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    from envs import metrics

    class Rules(task_schema.Params):
        word: str

    monkeypatch.setattr(task_schema, "OFFERED", dict(task_schema.OFFERED))
    offer("metric", "new_metric", Rules, accepts=("text",))
    offer("metric", "declared_but_not_registered", Rules, accepts=("text",))
    monkeypatch.setitem(metrics.METRICS, "new_metric", lambda result, rules: float(rules["word"] in result))
    funcs = _all_consts(writer_schema(1), "func")
    assert "new_metric" in funcs and "declared_but_not_registered" not in funcs
    item = _with(evaluator=_evaluator("new_metric", {"type": "vm_command_line", "command": "cat ~/a"}, {"word": "x"}))
    assert parse_written(item, task_id="t", app="xterm").task.evaluator.func == "new_metric"


def test_reply_schema_sends_the_built_schema_and_validates_leniently() -> None:
    schema = reply_schema(2)
    assert schema.model_json_schema() == writer_schema(2)
    assert schema.model_validate({"tasks": [{"instruction": "anything"}, "junk"]}).tasks[1] == "junk"


# ---------------------------------------------------------------------------- static checks: rejections


def test_a_good_written_task_parses_with_its_solution() -> None:
    written = parse_written(GOOD, task_id="t-1", app="mousepad")
    assert written.task.id == "t-1" and written.task.related_apps == ["mousepad"]
    assert written.solution == tuple(GOOD["solution"])


@pytest.mark.parametrize(
    ("item", "error", "words"),
    [
        (_with(config=[{"type": "reboot", "parameters": {}}]), UnsupportedTaskTypeError, "reboot"),
        (
            _with(evaluator=_evaluator("compare_text_file", {"type": "vm_file", "path": "~/a"}, {})),
            UnsupportedTaskTypeError,
            "compare_text_file",
        ),
        (
            _with(evaluator=_evaluator("exact_match", {"type": "vm_screen_size"}, {"expected": "x"})),
            UnsupportedTaskTypeError,
            "vm_screen_size",
        ),
        (
            _with(config=[{"type": "download", "parameters": {"files": [{"url": "/etc/passwd", "path": "~/p"}]}}]),
            UnsafeTaskError,
            "download",
        ),
        (_with(config=[{"type": "launch", "parameters": {"command": ["sh"]}}]), UnsafeTaskError, "launch"),
        (
            _with(
                evaluator=_evaluator(
                    "file_contains", {"type": "local_file", "path": "/etc/hostname"}, {"include": ["x"]}
                )
            ),
            UnsafeTaskError,
            "host files",
        ),
        (
            _with(
                evaluator=_evaluator("file_contains", {"type": "vm_file", "path": "/etc/shadow"}, {"include": ["root"]})
            ),
            UnsafeTaskError,
            "outside the sandbox",
        ),
        (
            _with(
                evaluator=_evaluator(
                    "file_contains", {"type": "vm_file", "path": "~/../../etc/passwd"}, {"include": ["root"]}
                )
            ),
            UnsafeTaskError,
            "'..'",
        ),
        (_with(config=[{"type": "open", "parameters": {"path": "/root/.ssh/id_rsa"}}]), UnsafeTaskError, "outside"),
        (_with(config=[{"type": "execute", "parameters": {"command": "ls", "shell": False}}]), TaskFileError, "shell"),
        (_with(config=[{"type": "sleep", "parameters": {"seconds": 3600}}]), TaskFileError, "seconds"),
        (
            _with(config=[{"type": "execute", "parameters": {"command": "sleep 999", "timeout": 999}}]),
            TaskFileError,
            "timeout",
        ),
        (
            _with(
                evaluator=_evaluator(
                    "file_contains", {"type": "vm_command_line", "command": "cat ~/a"}, {"include": ["x"]}
                )
            ),
            TaskFileError,
            "gives text",
        ),
        (
            _with(
                evaluator={
                    "func": "exact_match",
                    "result": {"type": "vm_command_line", "command": "cat ~/a"},
                    "expected": {"type": "vm_file", "path": "~/b"},
                }
            ),
            TaskFileError,
            "rule",
        ),
        (_with(evaluator={**GOOD["evaluator"], "options": {"ignore_case": True}}), TaskFileError, "options"),
        (
            _with(evaluator={**GOOD["evaluator"], "postconfig": [{"type": "sleep", "parameters": {"seconds": 1}}]}),
            UnsupportedTaskTypeError,
            "postconfig",
        ),
        (_with(surprise=1), TaskFileError, "unknown keys"),
        (_with(solution="pyautogui.press('a')"), TaskFileError, "solution"),
    ],
)
def test_every_kind_of_bad_written_task_is_refused_before_anything_runs(
    item: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=None) as info:
        parse_written(item, task_id="t", app="mousepad")
    assert words in str(info.value)


# ------------------------------------------------------------------------ validation with a scripted env


class ScriptedEnv(Env):
    """Scores from a list (no-op first, then after the solution); optional failures at reset / evaluate."""

    def __init__(
        self, scores: list[float], *, reset_error: Exception | None = None, eval_error: Exception | None = None
    ) -> None:
        self.scores = list(scores)
        self.reset_error = reset_error
        self.eval_error = eval_error
        self.steps = 0
        self.closed = False

    def reset(self, task: Any) -> Observation:
        if self.reset_error:
            raise self.reset_error
        return Observation(screenshot_png=b"", width=1, height=1)

    def step(self, action: Any) -> Observation:
        self.steps += 1
        return Observation(screenshot_png=b"", width=1, height=1)

    def evaluate(self, task: Any) -> float:
        if self.eval_error:
            raise self.eval_error
        return self.scores.pop(0)

    def close(self) -> None:
        self.closed = True


def _validate(env: ScriptedEnv, item: dict[str, Any] = GOOD, *, solution: bool = True) -> tc.CheckResult:
    written = parse_written(item, task_id="t", app="mousepad")
    return tc.validate_task(written.task, written.solution if solution else (), env_factory=lambda: env, written=True)


def test_proven_when_noop_scores_0_and_the_solution_1() -> None:
    env = ScriptedEnv([0.0, 1.0])
    res = _validate(env)
    assert (res.status, res.reason, res.noop_score, res.solution_score) == ("proven", "", 0.0, 1.0)
    assert env.steps == 4 and env.closed  # three lines and the settle pause and res.sandbox_s >= 0


def test_verified_without_a_solution_or_with_one_that_fails() -> None:
    assert (_validate(ScriptedEnv([0.0]), solution=False).status, "no solution") == ("verified", "no solution")
    res = _validate(ScriptedEnv([0.0, 0.0]))
    assert (res.status, res.reason) == ("verified", "solution scored 0")
    refused = _with(solution=["import os; os.system('id')"])
    res = _validate(ScriptedEnv([0.0]), refused)
    assert res.status == "verified" and res.reason.startswith("solution refused: solution line 1")


def test_rejection_setup_failure() -> None:
    env = ScriptedEnv([], reset_error=RuntimeError("launch_app: no app profile 'mousepd'"))
    res = _validate(env)
    assert res.status == "unverified" and res.reason.startswith("setup failure: RuntimeError: launch_app")
    assert env.closed


def test_rejection_evaluator_error() -> None:
    res = _validate(ScriptedEnv([], eval_error=KeyError("expected")))
    assert res.status == "unverified" and res.reason == "evaluator error: KeyError: 'expected'"


def test_rejection_noop_already_scores_1() -> None:
    res = _validate(ScriptedEnv([1.0]))
    assert (res.status, res.reason, res.noop_score) == ("unverified", "no-op already scores 1", 1.0)


def test_rejection_unsupported_or_unsafe_type_runs_nothing() -> None:
    from envs.tasks import parse_task

    calls: list[str] = []

    def factory() -> Env:
        calls.append("env")
        return ScriptedEnv([0.0])

    unsupported = parse_task({"id": "u", "instruction": "x", "evaluator": {"func": "compare_holograms"}})
    res = tc.validate_task(unsupported, env_factory=factory)
    assert res.status == "unverified" and res.reason.startswith("unsupported:") and "compare_holograms" in res.reason
    unsafe = parse_task(
        {
            "id": "v",
            "instruction": "x",
            "config": [{"type": "download", "parameters": {"files": [{"url": "/etc/passwd", "path": "~/p"}]}}],
            "evaluator": GOOD["evaluator"],
        }
    )
    res = tc.validate_task(unsafe, env_factory=factory, written=True)
    assert res.status == "unverified" and res.reason.startswith("unsafe:")
    assert calls == []  # no sandbox was started for either


# ------------------------------------------------------------------------------------ the writer stage


class Sec:
    id = "doc-1"
    source = "man:mousepad"
    title = "Mousepad"
    section = "Saving"
    text = "Use File > Save (ctrl+s) to write the document to disk. Save As asks for a new file name first."


class Writer:
    def __init__(self, tasks: list[Any]) -> None:
        self.tasks = tasks
        self.prompts: list[str] = []

    def __call__(self, messages: list[dict], schema: type) -> Any:
        from studio.llm.structured import StructuredResult

        self.prompts.append(messages[0]["content"])
        return StructuredResult(True, schema.model_validate({"tasks": self.tasks}), "{}")


def test_writer_keeps_instructions_of_bad_checks_with_the_reason_and_drops_bad_instructions() -> None:
    bad = _with(
        instruction="Open the secret file /etc/shadow in mousepad and read it aloud.",
        config=[{"type": "open", "parameters": {"path": "/etc/shadow"}}],
    )
    writer = Writer([GOOD, bad, _with(instruction="ok"), {"instruction": "Type a haiku about the sea and save it."}])
    seed = _with(instruction="Seed: write 'x' into ~/seed.txt with mousepad and save it.")
    # without the built-in examples: GOOD paraphrases mousepad's first one (dropped as a copy with them)
    result = write_checked_tasks([Sec()], writer, app="mousepad", seeds=[seed], builtin_examples=False)
    good, unsafe, bare = result.tasks
    assert good.problem == "" and good.check["evaluator"]["expected"] == GOOD["evaluator"]["expected"]
    # stored as checked: model-written commands get an explicit, short timeout
    assert good.check["evaluator"]["result"] == {**GOOD["evaluator"]["result"], "timeout": 10.0}
    assert good.check["config"][0]["parameters"]["timeout"] == 10.0
    assert unsafe.problem.startswith("unsafe: ") and unsafe.check["config"] == bad["config"]
    assert bare.problem == "the writer wrote no check"
    assert [d.reason for d in result.dropped] == ["too short"]
    prompt = writer.prompts[0]
    assert "Seed: write 'x'" in prompt and "- metric a11y_contains" in prompt and "download" not in prompt


def test_writer_drops_a_paraphrase_of_an_example_with_the_same_values() -> None:
    from studio.pipeline.stages.checked_tasks import app_examples

    example = next(e for e in app_examples("galculator") if "12 times 7" in e["instruction"])
    copy_ = {**example, "instruction": "With the calculator, multiply 12 by 7."}
    new = {**example, "instruction": "With the calculator, multiply 15 by 4."}
    result = write_checked_tasks([Sec()], Writer([copy_, new]), app="galculator")
    assert [t.instruction for t in result.tasks] == ["With the calculator, multiply 15 by 4."]
    assert [d.reason for d in result.dropped] == [f"copies the values of the example: {example['instruction']}"]


# ------------------------------------------------------------------------------- workspace and import


@pytest.fixture
def ws(tmp_path: Path):
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def test_import_copies_inputs_keeps_solutions_and_marks_pending(ws: Workspace) -> None:
    from envs.tasks import BUNDLED_TASKS_DIR

    result = tc.import_tasks(ws, [BUNDLED_TASKS_DIR / "xterm"])
    assert not result.failed and len(result.added) >= 4
    rec = ws.get(Task, "imported-xterm-count-lines")
    assert (rec.origin, rec.app, rec.check_status) == ("imported", "xterm", "pending")
    assert rec.check["solution"] and rec.check["files"] == "imported/xterm-count-lines"
    (url,) = [f["url"] for s in rec.check["config"] if s["type"] == "download" for f in s["parameters"]["files"]]
    assert (Path(ws.path) / rec.check["files"] / url).read_text() == (
        BUNDLED_TASKS_DIR / "xterm" / "files" / "fruits.txt"
    ).read_text()
    task = tc.env_task(rec, ws.path)  # resolves its copied files in the workspace, not in assets/
    assert task.base_dir == Path(ws.path) / "imported" / "xterm-count-lines"
    again = tc.import_tasks(ws, [BUNDLED_TASKS_DIR / "xterm"])
    assert not again.added and len(again.skipped) == len(result.added)
    seeds = tc.seeds_for(ws, "xterm")  # only imported checks a writer could have written are shown
    assert seeds and all("download" not in json.dumps(s) for s in seeds)


def test_import_refuses_input_files_outside_the_imported_directory(ws: Workspace, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    d = tmp_path / "tasks"
    d.mkdir()
    for name, url in (("abs", str(secret)), ("dotdot", "../secret.txt")):
        (d / f"{name}.json").write_text(
            json.dumps(
                {
                    "id": name,
                    "instruction": "Read the file.",
                    "config": [{"type": "download", "parameters": {"files": [{"url": url, "path": "~/s.txt"}]}}],
                    "evaluator": {"func": "infeasible"},
                }
            )
        )
    result = tc.import_tasks(ws, [d])
    assert not result.added and len(result.failed) == 2
    # refused by the local-source rule (envs.task_setup) or, behind it, by the import's own root check
    assert all(("UnsafeTaskError" in why or "TaskError" in why) and "outside" in why for _, why in result.failed)
    assert not (Path(ws.path) / "imported").exists() or not any((Path(ws.path) / "imported").rglob("s*.txt"))


def test_update_task_and_rollout_order(ws: Workspace) -> None:
    ws.add_tasks(
        [
            Task(id=i, instruction=i, check_status=s)
            for i, s in (("a", "unverified"), ("b", "pending"), ("c", "verified"), ("d", "proven"))
        ]
    )
    ws.update_task("b", check_status="proven", check_reason="", check_info={"noop_score": 0.0})
    rec = ws.get(Task, "b")
    assert (rec.check_status, rec.check_info) == ("proven", {"noop_score": 0.0})
    rows = ws.list(Task, limit=None)
    assert [t.id for t in tc.rollout_order(rows, ["proven", "verified", "unverified"])] in (
        ["b", "d", "c", "a"],
        ["d", "b", "c", "a"],
    )
    assert {t.id for t in tc.rollout_order(rows, ["proven"])} == {"b", "d"}
    assert tc.status_counts(ws) == {"unverified": 1, "proven": 2, "verified": 1}
    with pytest.raises(Exception, match="no field"):
        ws.update_task("a", colour="red")


def test_passed_trajectory_becomes_an_example_and_the_committee_hears_the_score() -> None:
    traj = Trajectory(id="tr", instruction="Append 'three' to ~/list.txt", app="mousepad", score=1.0)
    ex = tc.passed_example(traj, 4)
    assert ex is not None and (ex.start, ex.end, ex.instruction) == (0, 4, traj.instruction)
    assert ex.prompt_version == tc.CHECK_PROMPT_VERSION and ex.id == tc.passed_example(traj, 4).id  # type: ignore[union-attr]
    assert tc.passed_example(traj.model_copy(update={"score": 0.0}), 4) is None
    assert tc.passed_example(traj.model_copy(update={"score": None}), 4) is None
    assert "PASSED" in tc.check_note(1.0) and "NOT" in tc.check_note(0.0) and tc.check_note(None) == ""


def test_status_rule_can_require_the_verifier() -> None:
    from studio.status import Vote

    votes = [Vote("j", c, True) for c in ("aligned", "coherent", "natural", "reasonable")]
    plain, strict = StatusRule("all", 1), StatusRule("all", 1, require_check=True)
    assert plain.status(votes) == "accepted" and plain.status(votes, check=0.0) == "accepted"
    assert strict.status(votes, check=0.0) == "disputed"
    assert strict.status(votes, check=None) == "disputed"  # a run that was not scored has no verifier's yes
    assert strict.status(votes, check=1.0) == "accepted"
    assert strict.status([Vote("j", "aligned", False)], check=1.0) == "rejected"  # never accepts on its own
    assert strict.status(votes, [{"decision": "accept", "when": 1.0}], check=0.0) == "overridden-accept"
    cfg = default_config()
    assert not StatusRule.from_config(cfg).require_check
    cfg.verify.require_check = True
    assert StatusRule.from_config(cfg).require_check


def test_workspace_statuses_follow_require_check(ws: Workspace) -> None:
    from studio.workspace import Example, Verdict

    for tid, score in (("t1", 1.0), ("t2", 0.0)):
        ws.start_trajectory(Trajectory(id=tid, instruction="x"))
        ws.finish_trajectory(tid, status="done", outcome="done", score=score)
        ws.add_examples([Example(id=f"e{tid}", trajectory_id=tid, start=0, end=1, instruction="x")])
        ws.add_verdicts(
            [
                Verdict(example_id=f"e{tid}", judge="local/smollm2", criterion=c, vote=True)
                for c in ("aligned", "coherent", "natural", "reasonable")
            ]
        )
    assert ws.example_statuses() == {"et1": "accepted", "et2": "accepted"}
    ws.config.verify.require_check = True
    assert ws.example_statuses() == {"et1": "accepted", "et2": "disputed"}
    assert ws.example_status("et2") == "disputed" and ws.example_status("et1") == "accepted"


def test_export_filters_by_task_status_and_trajectory_score(ws: Workspace) -> None:
    from studio.errors import ConfigError
    from studio.export.rows import ExportOptions, select
    from studio.workspace import Example

    ws.add_tasks([Task(id="p", instruction="p", check_status="proven"), Task(id="u", instruction="u")])
    for tid, task, score in (("t-pass", "p", 1.0), ("t-fail", "p", 0.0), ("t-none", "u", None)):
        ws.start_trajectory(Trajectory(id=tid, task_id=task, instruction="x"))
        ws.finish_trajectory(tid, status="done", outcome="done", score=score)
        ws.add_examples([Example(id=f"e-{tid}", trajectory_id=tid, start=0, end=1, instruction="x")])

    def chosen(**kw: Any) -> set[str]:
        return {s.example.id for s in select(ws, ExportOptions(status=("all",), **kw).validate())}

    assert chosen() == {"e-t-pass", "e-t-fail", "e-t-none"}
    assert chosen(task_status=("proven",)) == {"e-t-pass", "e-t-fail"}
    assert chosen(min_score=1.0) == {"e-t-pass"}
    assert chosen(min_score=0.0) == {"e-t-pass", "e-t-fail"}  # scored at all
    assert chosen(task_status=("unverified",), min_score=1.0) == set()
    with pytest.raises(ConfigError, match="task-status"):
        ExportOptions(task_status=("golden",)).validate()


def test_migrates_v3_tasks_without_checks(tmp_path: Path) -> None:
    from studio.workspace.migrate import SCHEMA_VERSION

    path = tmp_path / "v3"
    with Workspace.init(path) as w:
        w.add_tasks([Task(id="old", instruction="Add 2 and 3", app="galculator")])
        w.table("tasks").drop_columns(["check", "check_status", "check_reason", "check_info"])
    meta = json.loads((path / "workspace.json").read_text())
    meta["schema_version"] = 3
    (path / "workspace.json").write_text(json.dumps(meta))
    with Workspace.open(path) as w:
        assert w.meta["schema_version"] == SCHEMA_VERSION >= 4
        old = w.get(Task, "old")
        assert (old.check, old.check_status, old.check_reason, old.check_info) == ({}, "unverified", "no check", {})
        w.update_task("old", check={"evaluator": {"func": "infeasible"}}, check_status="pending")
        assert w.get(Task, "old").check_status == "pending"
        with pytest.raises(Exception, match="no task"):
            w.update_task("missing", check_status="pending")


def test_cli_imports_and_lists_tasks_with_their_status(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from envs.tasks import BUNDLED_TASKS_DIR
    from studio.cli import app

    ws_dir = tmp_path / "ws"
    Workspace.init(ws_dir).close()
    runner = CliRunner()
    out = runner.invoke(
        app, ["tasks", "import", str(BUNDLED_TASKS_DIR / "galculator"), "-w", str(ws_dir), "--no-verify"]
    )
    assert out.exit_code == 0, out.output
    assert "4 imported, 0 already present, 0 refused" in out.output
    listed = runner.invoke(app, ["tasks", "list", "-w", str(ws_dir), "--json", "--status", "pending"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert listed.exit_code == 0 and len(rows) == 4
    assert {r["origin"] for r in rows} == {"imported"} and all(r["check"]["evaluator"] for r in rows)
    bad = runner.invoke(app, ["tasks", "list", "-w", str(ws_dir), "--status", "golden"])
    assert bad.exit_code == 2 and "unknown status" in bad.output


def test_cli_list_table_shows_status_and_reason_of_imported_and_written_tasks(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from envs.tasks import BUNDLED_TASKS_DIR
    from studio.cli import app

    ws_dir = tmp_path / "ws"
    with Workspace.init(ws_dir) as w:
        tc.import_tasks(w, [BUNDLED_TASKS_DIR / "galculator" / "galculator-multiply.json"])
        w.add_tasks(
            [
                Task(
                    id="w-bad",
                    instruction="Open a terminal",
                    app="xterm",
                    check_status="unverified",
                    check_reason="bad check: the check runs 'xterm'",
                ),
                Task(id="w-ok", instruction="Compute 2+2", app="galculator", check_status="proven", check_reason=""),
            ]
        )
    out = CliRunner().invoke(app, ["tasks", "list", "-w", str(ws_dir)], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    rows = {line.split("│")[1].strip(): line for line in out.output.splitlines() if line.count("│") > 3}
    imported = rows["imported-galculator-multiply"]
    assert "imported" in imported and "pending" in imported and "not validated yet" in imported
    assert "unverified" in rows["w-bad"] and "bad check: the check runs 'xterm'" in rows["w-bad"]
    assert "proven" in rows["w-ok"]
    assert "proven 1, unverified 1, pending 1" in out.output
