"""Evaluation report from canned results (no X, no model): the numbers in the tables are right."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.errors import PipelineError
from studio.pipeline.agent.factory import make_policy
from studio.pipeline.agent.usage import add_usage
from studio.pipeline.eval.report import (
    ablation_groups,
    render_report,
    summarize_results,
    write_report,
)
from studio.pipeline.eval.runner import (
    AGENTS,
    NoopPolicy,
    TaskResult,
    agent_factory,
    read_results,
    split_agent,
)
from studio.pipeline.rollout.episode import EpisodeResult, Event, Executor, RolloutJob, StepEvent
from studio.records import Step


def _r(task: str, app: str, agent: str, score: float, **kw: object) -> TaskResult:
    return TaskResult(task_id=task, app=app, agent=agent, score=score, status="done", **kw)  # type: ignore[arg-type]


CANNED = [
    _r(
        "x1",
        "xterm",
        "baseline",
        1.0,
        steps=3,
        model_calls=3,
        prompt_tokens=3000,
        completion_tokens=90,
        cost=0.03,
        elapsed_s=10.0,
    ),
    _r(
        "x2",
        "xterm",
        "baseline",
        0.0,
        steps=5,
        model_calls=5,
        prompt_tokens=5000,
        completion_tokens=150,
        cost=0.05,
        elapsed_s=20.0,
    ),
    _r(
        "g1",
        "galculator",
        "baseline",
        1.0,
        steps=2,
        model_calls=2,
        prompt_tokens=1000,
        completion_tokens=60,
        cost=0.02,
        elapsed_s=6.0,
    ),
    _r(
        "g2",
        "galculator",
        "baseline",
        0.5,
        steps=6,
        model_calls=6,
        prompt_tokens=4000,
        completion_tokens=100,
        cost=0.06,
        elapsed_s=12.0,
    ),
    _r("x1", "xterm", "noop", 0.0, steps=1),
    _r("x2", "xterm", "noop", 0.0, steps=1),
    _r("g1", "galculator", "noop", 0.0, steps=1),
    TaskResult("g2", "galculator", "noop", 0.0, "error", steps=0, error="SandboxError: Xvfb died"),
]


def _row(md: str, first_cell: str, after: str) -> list[str]:
    section = md[md.index(after) :]
    for line in section.splitlines():
        if line.startswith(f"| {first_cell} |"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no row {first_cell!r} after {after!r}")


def test_summary_numbers() -> None:
    s = summarize_results(CANNED)
    b = s["baseline"]
    assert b.tasks == 4 and b.solved == 2 and b.errors == 0
    assert b.success_rate == pytest.approx(62.5)
    assert b.app_success("xterm") == pytest.approx(50.0)
    assert b.app_success("galculator") == pytest.approx(75.0)
    assert b.mean_steps == pytest.approx(4.0)
    assert b.calls_per_task == pytest.approx(4.0)
    assert b.prompt_tokens_per_task == pytest.approx(3250.0)
    assert b.completion_tokens_per_task == pytest.approx(100.0)
    assert b.cost_per_task == pytest.approx(0.04)
    assert s["noop"].success_rate == 0.0 and s["noop"].errors == 1


def test_report_tables_hold_the_right_numbers() -> None:
    md = render_report(CANNED, title="T")
    # Table 2 shape: agent | galculator | xterm | overall | solved
    assert _row(md, "agent", "Table 2") == ["agent", "galculator", "xterm", "overall", "solved"]
    assert _row(md, "baseline", "Table 2") == ["baseline", "75.0", "50.0", "62.5", "2/4"]
    assert _row(md, "noop", "Table 2") == ["noop", "0.0", "0.0", "0.0", "0/4"]
    # Figure 2 shape
    assert _row(md, "baseline", "Figure 2") == ["baseline", "4.00", "4.00", "3,250", "100", "0.0400", "12.0", "0"]
    assert _row(md, "noop", "Figure 2")[1:3] == ["0.75", "0.00"]
    assert _row(md, "noop", "Figure 2")[-1] == "1"
    # per-task matrix and the error list
    assert _row(md, "g2", "## Per task") == ["g2", "galculator", "0.5", "err"]
    assert "`noop` / `g2`: SandboxError: Xvfb died" in md
    assert "Not run: pass several modes" in md


def test_ablation_table_appears_for_several_modes() -> None:
    rag = [
        _r("x1", "xterm", "rag:observation", 1.0, model_calls=2, prompt_tokens=900, completion_tokens=100),
        _r("x2", "xterm", "rag:observation", 0.0, model_calls=4, prompt_tokens=1900, completion_tokens=100),
        _r("x1", "xterm", "rag:both", 1.0, model_calls=4, prompt_tokens=2000, completion_tokens=0),
        _r("x2", "xterm", "rag:both", 1.0, model_calls=6, prompt_tokens=3000, completion_tokens=0),
    ]
    summaries = summarize_results([*CANNED, *rag])
    assert list(ablation_groups(summaries)) == ["rag"]
    md = render_report([*CANNED, *rag])
    assert _row(md, "observation", "Table 4") == ["observation", "-", "50.0", "50.0", "3.00", "1,500"]
    assert _row(md, "both", "Table 4") == ["both", "-", "100.0", "100.0", "5.00", "2,500"]
    assert "Not run" not in md


def test_write_report_makes_markdown_and_pngs(tmp_path: Path) -> None:
    path, plots = write_report(CANNED, tmp_path, title="Canned")
    assert path.read_text().startswith("# Canned")
    assert [p.name for p in plots] == ["success_rate.png", "tokens_per_task.png"]
    for p in plots:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({p.name})" in path.read_text()


def test_results_round_trip_and_torn_line(tmp_path: Path) -> None:
    p = tmp_path / "results.jsonl"
    p.write_text("".join(r.to_json() + "\n" for r in CANNED[:2]) + '{"task_id": "x3", "ap')
    back = read_results(p)
    assert back == CANNED[:2]


def test_agent_registry() -> None:
    assert {"noop", "solution", "baseline", "explorer"} <= set(AGENTS)
    assert split_agent("rag:model") == ("rag", "model") and split_agent("noop") == ("noop", "")
    with pytest.raises(PipelineError, match="unknown agent 'nope'.*known agents: baseline"):
        agent_factory("nope")
    AGENTS["tmp-lazy"] = "studio.pipeline.eval.runner:_noop_agent"  # "module:attr" entries import lazily
    try:
        req = {
            "kind": "agent",
            "agent": "tmp-lazy:x",
            "mode": "x",
            "task_id": "t",
            "task_path": None,
            "workspace": None,
            "max_steps": 1,
        }
        assert isinstance(make_policy(req), NoopPolicy)
    finally:
        del AGENTS["tmp-lazy"]


def test_broken_agent_fails_its_episode_not_the_run() -> None:
    spec = {
        "kind": "agent",
        "agent": "solution",
        "mode": "",
        "task_id": "t",
        "task_path": None,
        "workspace": None,
        "max_steps": 1,
    }
    policy = make_policy(spec)  # no task file: the error surfaces at the first decision
    with pytest.raises(PipelineError, match="could not start"):
        policy.decide(None)  # type: ignore[arg-type]


def test_augmented_policy_fills_examples_in_the_inner_policys_layout_and_adds_usage() -> None:
    from studio.pipeline.agent.policies import AugmentedPolicy, Decision

    seen: list[str] = []
    layouts: list[str] = []

    class Inner:
        name = "inner"

        def decide(self, ctx):  # type: ignore[no-untyped-def]
            seen.append(ctx.examples_text)
            return Decision([], usage={"model_calls": 1, "prompt_tokens": 100, "completion_tokens": 5})

    class ElementInner(Inner):
        example_layout = "reply"

    class Ctx:
        examples_text = ""

    def fill(ctx, layout):  # type: ignore[no-untyped-def]
        layouts.append(layout)
        return "EX1", {"model_calls": 1, "prompt_tokens": 20, "cost": 0.5, "retrieved": ["e1"]}

    pol = AugmentedPolicy(Inner(), fill)
    d = pol.decide(Ctx())  # type: ignore[arg-type]
    assert seen == ["EX1"]
    assert d.usage == {"model_calls": 2, "prompt_tokens": 120, "completion_tokens": 5, "cost": 0.5, "retrieved": ["e1"]}
    assert pol.totals == {"model_calls": 1, "prompt_tokens": 20, "cost": 0.5}
    AugmentedPolicy(ElementInner(), fill).decide(Ctx())  # type: ignore[arg-type]
    assert layouts == ["code", "reply"]
    assert add_usage({}, {"cache_hits": True, "model": "x"}) == {"cache_hits": 1}


class FakeExecutor(Executor):
    """Emits canned events per job: usage from two steps, then the result (tests the runner's bookkeeping)."""

    def __init__(self, score: Callable[[RolloutJob], float]) -> None:
        self.score = score
        self.jobs: list[RolloutJob] = []

    def run(
        self, jobs: list[RolloutJob], on_event: Callable[[Event], None], stop: threading.Event | None = None
    ) -> list[EpisodeResult]:
        out = []
        for job in jobs:
            self.jobs.append(job)
            for i in range(2):
                on_event(
                    StepEvent(
                        Step(
                            trajectory_id=job.trajectory_id,
                            index=i,
                            usage={"model_calls": 1, "prompt_tokens": 10, "completion_tokens": 2},
                        )
                    )
                )
            res = EpisodeResult(job.trajectory_id, job.task.id, "done", 2, self.score(job), "", 1.5)
            on_event(res)
            out.append(res)
        return out


def _suite(tmp_path: Path) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    for tid in ("a", "b"):
        (suite / f"{tid}.json").write_text(
            json.dumps(
                {
                    "id": tid,
                    "instruction": f"do {tid}",
                    "related_apps": ["xterm"],
                    "evaluator": {
                        "func": "exact_match",
                        "result": {"type": "rule", "rules": {}},
                        "expected": {"type": "rule", "rules": {"expected": 1}},
                    },
                }
            )
        )
    (suite / "a.actions").write_text("# comment\npyautogui.press('enter')\ntime.sleep(0.5)\n")
    return suite


def test_run_suite_bookkeeping_with_a_fake_executor(tmp_path: Path) -> None:
    from studio.pipeline.eval.runner import run_suite

    ex = FakeExecutor(lambda job: 1.0 if job.policy["agent"] == "solution" else 0.0)
    run = run_suite(_suite(tmp_path), ["solution", "noop"], tmp_path / "out", executor=ex)
    by = {(r.agent, r.task_id): r for r in run.results}
    assert by[("solution", "a")].score == 1.0 and by[("solution", "a")].model_calls == 2
    assert by[("solution", "a")].prompt_tokens == 20 and by[("solution", "a")].completion_tokens == 4
    assert by[("solution", "b")].status == "error" and "no solution file" in by[("solution", "b")].error
    assert by[("noop", "a")].score == 0.0
    # step budgets: solution = script lines + 1, noop = 1
    budgets = {(j.policy["agent"], j.task.id): j.max_steps for j in ex.jobs}
    assert budgets == {("solution", "a"): 3, ("noop", "a"): 1, ("noop", "b"): 1}
    assert len(read_results(tmp_path / "out" / "results.jsonl")) == 4
    assert run.report_path is not None and run.report_path.exists() and len(run.plots) == 2
    # resume: finished error-free pairs are not run again; the errored one is retried
    ex2 = FakeExecutor(lambda job: 1.0)
    run2 = run_suite(_suite(tmp_path), ["solution", "noop"], tmp_path / "out", executor=ex2, report=False)
    assert ex2.jobs == [] and len(run2.results) == 4
    with pytest.raises(PipelineError, match="unknown agent"):
        run_suite(_suite(tmp_path), ["bogus"], tmp_path / "out2", executor=ex2)


def test_bundled_eval_suite_composition() -> None:
    """>= 40 valid tasks over the bundled apps, each with a parseable solution, none shared with assets/tasks."""
    from envs.action_parser import parse_actions_text
    from envs.evaluate import check_supported
    from envs.tasks import BUNDLED_TASKS_DIR, load_tasks, solution_path
    from studio.pipeline.eval.runner import EVAL_SUITE_DIR, task_app

    tasks = load_tasks(EVAL_SUITE_DIR)
    assert len(tasks) >= 40
    counts: dict[str, int] = {}
    for t in tasks:
        check_supported(t)
        sol = solution_path(t)
        assert sol is not None, t.id
        assert parse_actions_text(sol.read_text(), str(sol)), t.id
        counts[task_app(t)] = counts.get(task_app(t), 0) + 1
    assert counts == {
        "xterm": 12,
        "mousepad": 10,
        "galculator": 10,
        "gnumeric": 8,
        "libreoffice_calc": 2,
        "libreoffice_writer": 1,
        "chrome": 2,
    }
    ids = [t.id for t in tasks]
    assert len(set(ids)) == len(ids)
    synth = {t.id for t in load_tasks(BUNDLED_TASKS_DIR)}
    synth_instr = {t.instruction for t in load_tasks(BUNDLED_TASKS_DIR)}
    assert not synth & set(ids)
    assert not synth_instr & {t.instruction for t in tasks}
