"""Which offline model should each role use? Quality per role and good results per minute, measured.

Runs every role's real prompt (the pipeline's own prompt files and parsers) on the recorded set
``benchmarks/data/role_set.json`` (real screens of bundled eval tasks, see ``capture_role_set.py``) with each
local model, no cache, and scores every answer by the written rubric below. Prints one markdown table (paste it
into BENCHMARKS.md) and writes the raw answers to ``benchmarks/data/bench_roles.out.json`` for reading.

Rubric (a reply is *good* when):

* **task_writer** (self-instruct, 3 tasks asked per documentation section): a task is good when the stage's own
  filters keep it (cleaning, placeholders, prompt echoes, duplicates) *and* it is concrete (names a number, a
  quoted text, a file name or a capitalised UI term of the documentation) *and* it stays inside the app (no
  internet, browser, e-mail, other programs). Quality = good tasks / tasks asked.
* **backward_writer** (instruction for a whole recorded trajectory whose true task is known): good when every
  value of the true instruction (numbers, quoted texts, file names) appears in the written one, and for the
  calculator the operation is named (add/plus/sum, multiply/product/times, ...).
* **judge** (aligned vote on three candidates per trajectory: the true instruction, another task's instruction,
  the true one with changed numbers or texts): a vote is good when it matches the label; quality is balanced
  accuracy (mean of the true-positive and true-negative rates); a malformed reply counts as wrong.
* **query_writer** (search query for the first screen of each task): good when it is one line of 1-16 words that
  shares a content word with the task or names an element on the screen, and is not a copy of the prompt.
* **actor** (first action on the first screen of each task, in the element action space with its prompt and
  grammar): good when it parses as an allowed action and starts the task: types text that begins with the
  solution's first typed character or word, or clicks the element whose name is that character.

Good results per minute = quality x calls per minute. A role's default is the model with the most good results
per minute among those whose quality is at least ``QUALITY_FLOOR`` (bad data costs more downstream than time).

    python benchmarks/bench_roles.py [--models local/smollm2,...] [--roles task_writer,...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "data" / "role_set.json"
OUT = ROOT / "benchmarks" / "data" / "bench_roles.out.json"
MODELS = ["local/smollm2", "local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"]
ROLES = ["backward_writer", "task_writer", "actor", "query_writer", "judge"]
QUALITY_FLOOR = 0.5
#: Quiet-machine rates measured on this 2-core VM (issue #14): prompt tok/s, generation tok/s, under a JSON grammar.
QUIET_RATES = {"local/smollm2": (217, 65, 34), "local/qwen2.5-coder-0.5b": (108, 31, 17),
               "local/qwen2.5-coder-1.5b": (56, 19, 10)}  # fmt: skip
STRUCTURED = {"task_writer", "backward_writer", "judge", "actor"}  # answered under a JSON grammar
OFF_APP = re.compile(r"\b(internet|browser|e-?mail|download|website|online|web page|google|terminal)\b", re.I)
OPS = {
    "+": ("add", "plus", "sum", "+"),
    "*": ("multipl", "product", "times", "*", "x "),
    "-": ("subtract", "minus", "difference", "-"),
    "sqrt": ("square root", "square-root", "sqrt", "\u221a"),
}
STOP = {"the", "and", "with", "then", "that", "this", "into", "from", "using", "use", "calculator", "text",
        "editor", "first", "second", "line", "file", "home", "folder"}  # fmt: skip


@dataclass
class Score:
    """Answers of one (role, model)."""

    good: float = 0.0
    total: int = 0
    seconds: float = 0.0
    calls: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    quiet_s: float = 0.0  # seconds the same tokens take on a quiet machine (QUIET_RATES)
    tp: int = 0
    pos: int = 0
    tn: int = 0
    neg: int = 0

    @property
    def quality(self) -> float:
        if self.pos or self.neg:  # judge: balanced accuracy
            return 0.5 * (self.tp / max(1, self.pos) + self.tn / max(1, self.neg))
        return self.good / max(1, self.total)

    @property
    def per_minute(self) -> float:
        """Good results per minute on a quiet machine (the loaded machine's seconds vary 2-15x)."""
        return self.quality * self.calls / max(1e-9, self.quiet_s / 60)


def values(text: str) -> list[str]:
    """Numbers, quoted texts and file names of an instruction (what a right paraphrase must keep)."""
    quoted = re.findall(r"'([^']{2,})'|\"([^\"]{2,})\"", text)
    found = [a or b for a, b in quoted]
    rest = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)
    found += re.findall(r"\b[\w~/.-]+\.(?:txt|py|md|csv)\b", rest)
    found += [n for n in re.findall(r"\d+(?:\.\d+)?", rest) if not any(n in f for f in found)]
    return found


def operation(actions: list[str]) -> str | None:
    code = " ".join(actions)
    if "sqrt" in code or "click(" in code and "144" in code:
        return "sqrt"
    for op in "+*-":
        if op in code.split("typewrite", 1)[-1]:
            return op
    return None


def backward_right(written: str, task: dict) -> bool:
    low = written.lower()
    if not all(v.lower() in low for v in values(task["instruction"])):
        return False
    op = operation([s["action_code"] for s in task["steps"]]) if task["app"] == "galculator" else None
    return op is None or any(w in low for w in OPS[op])


def changed(instruction: str) -> str:
    """The instruction with its values changed (a wrong candidate a careless judge accepts)."""
    out = re.sub(r"\d+(?:\.\d+)?", lambda m: str(int(float(m.group()) + 7)), instruction)
    return re.sub(r"'([^']+)'", lambda m: "'" + m.group(1)[::-1].capitalize() + "'", out)


def concrete(task: str, doc: str) -> bool:
    if re.search(r"\d|'[^']+'|\"[^\"]+\"|\b\w+\.\w{2,4}\b", task):
        return True
    terms = {t for t in re.findall(r"\b[A-Z][a-z]{3,}\b", doc)}
    return any(t in task for t in terms)


def first_token(task: dict) -> str:
    for s in task["steps"]:
        m = re.search(r"typewrite\((['\"])(.*?)\1", s["action_code"])
        if m:
            return m.group(2)
    return ""


# ------------------------------------------------------------------------------------------------ roles


class Runner:
    """Calls one model for one role with timing (no cache: every call reaches the model)."""

    def __init__(self, model: str, cache_dir: Path) -> None:
        from studio.config import ModelSpec
        from studio.llm import MemoryLedger, ModelClient

        self.model = model
        self.ledger = MemoryLedger()
        self.client = ModelClient(cache_dir, self.ledger, use_cache=False)
        self.spec = ModelSpec(model=model, max_tokens=256, temperature=0.0, seed=1)

    def structured(self, role: str, score: Score) -> Callable[[list[dict], Any], Any]:
        def call(messages: list[dict], schema: Any) -> Any:
            t0 = time.perf_counter()
            n = len(self.ledger.records)
            try:
                return self.client.complete_structured(schema, role, self.spec, messages, stage="bench")
            finally:
                score.seconds += time.perf_counter() - t0
                score.calls += 1
                self.account(role, score, n)

        return call

    def account(self, role: str, score: Score, since: int) -> None:
        """Add the tokens of the calls recorded since ``since`` and their quiet-machine time."""
        pr, gen, gen_json = QUIET_RATES.get(self.model, (50, 15, 8))
        for rec in self.ledger.records[since:]:
            score.prompt_tokens += rec.prompt_tokens
            score.completion_tokens += rec.completion_tokens
            score.quiet_s += rec.prompt_tokens / pr + rec.completion_tokens / (gen_json if role in STRUCTURED else gen)

    def text(self, role: str, score: Score, prompt: str, max_tokens: int, schema: Any = None) -> str:
        t0 = time.perf_counter()
        n = len(self.ledger.records)
        spec = self.spec.model_copy(update={"max_tokens": max_tokens})
        msgs = [{"role": "user", "content": prompt}]
        res = self.client.complete(role, spec, msgs, stage="bench", schema=schema)
        score.seconds += time.perf_counter() - t0
        score.calls += 1
        self.account(role, score, n)
        return res.text


def run_task_writer(r: Runner, data: dict, limit: int) -> Score:
    from studio.pipeline.stages.self_instruct import generate_tasks

    s = Score()
    model = r.structured("task_writer", s)
    for app, sections in data["docs"].items():
        for sec in sections[: max(1, limit // 2)]:
            view = type("Sec", (), sec)
            res = generate_tasks([view], model, app=app, n=3)
            good = [t.instruction for t in res.tasks
                    if concrete(t.instruction, sec["text"]) and not OFF_APP.search(t.instruction)]  # fmt: skip
            s.good += len(good)
            s.total += 3
            s.samples.append({"app": app, "section": sec["section"], "kept": [t.instruction for t in res.tasks],
                              "good": good, "failures": [f.error for f in res.failures]})  # fmt: skip
    return s


def trajectory_text(task: dict) -> str:
    from studio.pipeline.stages.backward import clean_steps, render_trajectory
    from studio.records import Step

    steps = clean_steps([Step(**st) for st in task["steps"]])
    return render_trajectory(steps, task.get("final_observation"))


def run_backward(r: Runner, data: dict, limit: int) -> Score:
    from studio.pipeline.prompts import render_prompt
    from studio.pipeline.stages.backward import INSTRUCTION_PROMPT, InstructionReply, clean_instruction

    s = Score()
    model = r.structured("backward_writer", s)
    for task in data["tasks"][:limit]:
        messages, _ = render_prompt(INSTRUCTION_PROMPT, app=task["app"], trajectory=trajectory_text(task))
        reply = model(messages, InstructionReply)
        written = clean_instruction(reply.value.instruction) if reply.ok else ""
        ok = bool(written) and backward_right(written, task)
        s.good += ok
        s.total += 1
        s.samples.append({"task": task["instruction"], "written": written or reply.raw[:200], "right": ok})
    return s


def run_judge(r: Runner, data: dict, limit: int) -> Score:
    from studio.pipeline.stages.committee import judge_once

    s = Score()
    model = r.structured("judge", s)
    tasks = data["tasks"][:limit]
    for task in tasks:
        other = next(t for t in data["tasks"] if t["app"] == task["app"] and t is not task)
        cands = [(task["instruction"], True), (other["instruction"], False), (changed(task["instruction"]), False)]
        for instruction, label in cands:
            verdicts = judge_once(_Ex(task, instruction), trajectory_text(task), "bench", model)
            vote = next((v.vote for v in verdicts if v.criterion == "aligned"), None)
            if label:
                s.pos += 1
                s.tp += vote is True
            else:
                s.neg += 1
                s.tn += vote is False
            s.total += 1
            s.samples.append({"instruction": instruction, "label": label, "vote": vote})
    return s


@dataclass
class _Ex:
    task: dict
    instruction: str

    @property
    def id(self) -> str:
        return "bench-" + self.task["task_id"]

    @property
    def app(self) -> str:
        return str(self.task["app"])


def run_query_writer(r: Runner, data: dict, limit: int) -> Score:
    from studio.pipeline.prompts import load_prompt

    s = Score()
    template, _ = load_prompt("query_writer.v1")
    for task in data["tasks"][:limit]:
        obs = task["steps"][0]["observation_text"]
        prompt = template.format(instruction=task["instruction"], history="(none yet)", observation=obs[:3000])
        q = r.text("query_writer", s, prompt, 48).strip().splitlines()[0:1]
        query = q[0].strip() if q else ""
        words = re.findall(r"[A-Za-z]{4,}", query.lower())
        inst = {w for w in re.findall(r"[a-z]{4,}", task["instruction"].lower()) if w not in STOP}
        names = {w for w in re.findall(r"[a-z]{4,}", obs.lower())}
        ok = 1 <= len(query.split()) <= 16 and bool(set(words) & (inst | names)) and "query:" not in query.lower()
        s.good += ok
        s.total += 1
        s.samples.append({"task": task["instruction"], "query": query, "good": ok})
    return s


def run_actor(r: Runner, data: dict, limit: int) -> Score:
    """The actor in the element action space (the default for every offline model): its real prompt
    (``actor_elements``), its reply grammar and parser."""
    from envs.actions import TypeText
    from envs.metrics import parse_a11y_table
    from envs.observation import Observation
    from studio.pipeline.agent.elements import ElementReply, element_prompt, parse_element_reply
    from studio.pipeline.agent.policies import StepContext

    s = Score()
    for task in data["tasks"][:limit]:
        obs_text = task["steps"][0]["observation_text"]
        obs = Observation(b"", 1280, 800, a11y_nodes=parse_a11y_table(obs_text))
        prompt = element_prompt(StepContext(task["instruction"], obs))
        d = parse_element_reply(r.text("actor", s, prompt, 96, schema=ElementReply), obs)
        want = first_token(task)
        ok = False
        if d.actions and want:
            a = d.actions[0]
            if isinstance(a, TypeText):
                ok = a.text[:1] == want[:1] and (want[0].isdigit() or a.text.split()[:1] == want.split()[:1])
            elif d.action_code and "click_element" in d.action_code:
                node = obs.node(int(d.action_code.split("click_element(")[1].split(")")[0].split(",")[0]))
                ok = node is not None and node.name.strip() == want[:1]
        s.good += ok
        s.total += 1
        s.samples.append({"task": task["instruction"], "action": d.action_code, "error": d.error, "good": ok})
    return s


RUNNERS = {"task_writer": run_task_writer, "backward_writer": run_backward, "judge": run_judge,
           "query_writer": run_query_writer, "actor": run_actor}  # fmt: skip


def table(results: dict[str, dict[str, Score]]) -> str:
    lines = ["| role | model | quality | answers | calls | s/call here | quiet s/call | good per quiet minute | "
             "choice |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for role, per in results.items():
        ok = {m: sc for m, sc in per.items() if sc.quality >= QUALITY_FLOOR}
        best = max(ok, key=lambda m: ok[m].per_minute) if ok else max(per, key=lambda m: per[m].quality)
        for m, sc in per.items():
            lines.append(f"| {role} | {m} | {sc.quality:.2f} | {sc.total} | {sc.calls} | "
                         f"{sc.seconds / max(1, sc.calls):.1f} | {sc.quiet_s / max(1, sc.calls):.1f} | "
                         f"{sc.per_minute:.2f} | {'**default**' if m == best else ''} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--roles", default=",".join(ROLES))
    ap.add_argument("--out", type=Path, default=OUT, help="raw answers (JSON)")
    ap.add_argument("--limit", type=int, default=4, help="tasks per role (judge: half, 3 candidates each)")
    args = ap.parse_args()
    data = json.loads(DATA.read_text(encoding="utf-8"))
    # two tasks per app first, so a small --limit still covers both apps
    by_app = [t for k in range(3) for app in ("galculator", "mousepad")
              for t in [x for x in data["tasks"] if x["app"] == app][k : k + 1]]  # fmt: skip
    data["tasks"] = by_app
    results: dict[str, dict[str, Score]] = {}
    print(f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        runners = {m: Runner(m, Path(tmp)) for m in args.models.split(",")}
        for role in args.roles.split(","):
            for model, r in runners.items():
                limit = 2 if role == "task_writer" else (max(1, args.limit // 2) if role == "judge" else args.limit)
                t0 = time.monotonic()
                sc = RUNNERS[role](r, data, limit)
                results.setdefault(role, {})[model] = sc
                print(f"{role:<16} {model:<26} quality {sc.quality:.2f}  {sc.calls} calls  {sc.seconds:.0f} s "
                      f"(quiet estimate {sc.quiet_s:.0f} s)  load {os.getloadavg()[0]:.1f}  "
                      f"({time.monotonic() - t0:.0f} s wall)", flush=True)  # fmt: skip
                args.out.write_text(json.dumps({ro: {m: {"quality": x.quality, "calls": x.calls, "seconds": x.seconds,
                                                    "quiet_s": x.quiet_s, "samples": x.samples}
                                                for m, x in per.items()} for ro, per in results.items()},
                                          indent=1, ensure_ascii=False))  # fmt: skip
    print("\n" + table(results))


if __name__ == "__main__":
    main()
