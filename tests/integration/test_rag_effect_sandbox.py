"""The comparison of ``benchmarks/bench_rag_effect.py`` in miniature: real sandboxes, real galculator, real
evaluators, a real LanceDB index; a rule-following fake in place of the model (the model is not the point).

The fake actor knows no calculator syntax. With a worked example in its prompt it learns the operator from the
example whose instruction names the same operation (``Multiply 7 by 8`` typed ``7*8=``) and types the task's
numbers with it; without one it gives up (``done``). So retrieval-augmented agents solve the held-out tasks and
the baseline does not, through the real agents (``baseline``, ``rag:MODE``), the element action space, the
retriever, the runner and the report. The full run with the offline models is the benchmark.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from envs.observation import A11yNode, linearize
from envs.tasks import load_task
from studio.pipeline.agent import factory
from studio.pipeline.eval.rag_effect import compare
from studio.pipeline.eval.runner import EVAL_SUITE_DIR
from studio.pipeline.rollout.episode import InlineExecutor
from studio.workspace import Example, Review, Step, Trajectory, Workspace

pytestmark = pytest.mark.integration

if shutil.which("Xvfb") is None or shutil.which("nsenter") is None:  # pragma: no cover - setup problem
    pytest.skip("needs Xvfb and util-linux nsenter (run `make test` to install them)", allow_module_level=True)

SCREEN = linearize(
    [A11yNode(0, "frame", "galculator", "", 473, 216, 333, 368), A11yNode(6, "text", "", "0", 481, 268, 317, 52)]
)
#: Synthetic examples (not from assets/eval): instruction, typed text.
EXAMPLES = [("Multiply 7 by 8 with the calculator", "7*8="), ("Add 2 and 5 in the calculator", "2+5=")]
OPERATIONS = ("add", "multiply", "subtract", "divide")


class RuleActor:
    """Learns the operator from a retrieved example with the task's operation word; else gives up."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def __call__(self, messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        prompt = messages[-1]["content"]
        self.prompts.append(prompt)
        mine = prompt.rsplit("Screen:\n", 1)[1]  # after the examples: screen, history, task
        task = re.search(r"Task: (.*)", mine)
        assert task is not None
        reply = '{"reason": "I do not know how", "action": "done", "target": ""}'
        if re.search(r"^\d+\. type ", mine, re.M):  # typed already (a history line): finished
            reply = '{"reason": "typed it", "action": "done", "target": ""}'
        else:
            op_word = next((w for w in OPERATIONS if w in task.group(1).lower()), "")
            numbers = re.findall(r"\d+", task.group(1))
            for example in prompt.split("Worked examples:", 1)[-1].split("Example ")[1:]:
                shown = re.search(r'"action": "type", "target": "\d+([-+*/])\d+="', example)
                if "Worked examples:" in prompt and op_word and op_word in example.lower() and shown:
                    text = shown.group(1).join(numbers[:2]) + "="
                    reply = f'{{"reason": "as in the example", "action": "type", "target": "{text}"}}'
                    break
        return reply, {"model_calls": 1, "prompt_tokens": len(prompt) // 4, "completion_tokens": 20}


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    with Workspace.init(path) as ws:
        text = (path / "studio.toml").read_text(encoding="utf-8")
        (path / "studio.toml").write_text(text.replace('backend = "local" ', 'backend = "lexical" '), encoding="utf-8")
        examples = []
        for instruction, typed in EXAMPLES:
            traj = Trajectory(instruction=instruction, app="galculator")
            ws.start_trajectory(traj)
            ws.add_step(
                Step(
                    trajectory_id=traj.id,
                    index=0,
                    observation_text=SCREEN,
                    reason="type the sum",
                    action_code=f"pyautogui.typewrite('{typed}')",
                )
            )
            ws.finish_trajectory(traj.id)
            examples.append(
                Example(
                    trajectory_id=traj.id, start=0, end=1, step_indices=[0], instruction=instruction, app="galculator"
                )
            )
        ws.add(examples)
        for ex in examples:
            ws.add_review(Review(example_id=ex.id, decision="accept"))
    return path


@pytest.mark.timeout(900)
def test_retrieval_augmented_agents_beat_the_baseline_in_real_sandboxes(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = RuleActor()
    queries: list[str] = []

    def fake_completer(ws: Any, role: str = "actor", **kwargs: Any) -> Any:
        if role == "actor":
            assert kwargs.get("schema") is not None  # the element actor asks for its JSON grammar
            return actor

        def query(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
            queries.append(messages[-1]["content"])
            return "multiply numbers on the calculator", {"model_calls": 1, "prompt_tokens": 50, "completion_tokens": 6}

        return query

    monkeypatch.setattr(factory, "completer", fake_completer)
    tasks = [
        load_task(EVAL_SUITE_DIR / "galculator" / f"{name}.json")
        for name in ("galculator-big-product", "galculator-add")
    ]
    run = compare(
        workspace,
        tasks,
        tmp_path / "eval",
        agents=["baseline", "rag:observation", "rag:both"],
        max_steps=3,
        executor=InlineExecutor(factory.make_env, factory.make_policy),
    )

    got = {(r.agent, r.task_id): r for r in run.results}
    assert len(got) == 6 and not [r.error for r in run.results if r.error]
    for task in ("galculator-big-product", "galculator-add"):
        assert got[("baseline", task)].score == 0.0
        assert got[("rag:observation", task)].score == 1.0  # 250*40= and 123+456= typed in the real galculator
        assert got[("rag:both", task)].score == 1.0
        assert got[("rag:both", task)].model_calls > got[("rag:observation", task)].model_calls  # + query writer
        assert got[("rag:observation", task)].prompt_tokens > got[("baseline", task)].prompt_tokens
    assert queries and all("Task:" in q for q in queries)
    report = (tmp_path / "eval" / "report.md").read_text(encoding="utf-8")
    for shape in ("(Table 2 shape)", "(Figure 2 shape)", "(Table 4 shape)"):
        assert shape in report
    assert "| observation |" in report and "| both |" in report
