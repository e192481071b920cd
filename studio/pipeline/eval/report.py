"""The evaluation report: per-agent summaries, Markdown tables in the paper's shapes, and PNG plots.

* **Table 2 shape** - success rate per app and overall, one row per agent.
* **Figure 2 shape** - per task: mean steps, model calls, prompt/completion tokens and cost, per agent
  (as a table and as ``tokens_per_task.png``), plus ``success_rate.png``.
* **Table 4 shape** - the retrieval ablation: when several modes of one agent ran (``rag:observation``,
  ``rag:model``, ``rag:both`` ...), one row per mode.

Success rate is OSWorld's: the mean evaluator score over the suite's tasks, in percent (a task whose run
failed scores 0 and stays in the denominator). matplotlib is imported only when plots are drawn (Agg backend).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.pipeline.eval.runner import TaskResult

REPORT_NAME = "report.md"
SUCCESS_PLOT = "success_rate.png"
TOKENS_PLOT = "tokens_per_task.png"


@dataclass
class AgentSummary:
    """Aggregates of one agent over the tasks it ran (means are per task)."""

    agent: str
    tasks: int = 0
    solved: int = 0  # score == 1
    errors: int = 0
    score_sum: float = 0.0
    steps: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    elapsed_s: float = 0.0
    per_app: dict[str, list[float]] = field(default_factory=dict)

    def add(self, r: TaskResult) -> None:
        self.tasks += 1
        self.solved += int(r.score >= 1.0)
        self.errors += int(bool(r.error))
        self.score_sum += r.score
        self.steps += r.steps
        self.model_calls += r.model_calls
        self.prompt_tokens += r.prompt_tokens
        self.completion_tokens += r.completion_tokens
        self.cost += r.cost
        self.elapsed_s += r.elapsed_s
        self.per_app.setdefault(r.app, []).append(r.score)

    def _mean(self, total: float) -> float:
        return total / self.tasks if self.tasks else 0.0

    @property
    def success_rate(self) -> float:
        """Mean score in percent."""
        return 100.0 * self._mean(self.score_sum)

    def app_success(self, app: str) -> float | None:
        scores = self.per_app.get(app)
        return 100.0 * sum(scores) / len(scores) if scores else None

    @property
    def mean_steps(self) -> float:
        return self._mean(self.steps)

    @property
    def calls_per_task(self) -> float:
        return self._mean(self.model_calls)

    @property
    def prompt_tokens_per_task(self) -> float:
        return self._mean(self.prompt_tokens)

    @property
    def completion_tokens_per_task(self) -> float:
        return self._mean(self.completion_tokens)

    @property
    def cost_per_task(self) -> float:
        return self._mean(self.cost)

    @property
    def seconds_per_task(self) -> float:
        return self._mean(self.elapsed_s)


def summarize_results(results: Iterable[TaskResult]) -> dict[str, AgentSummary]:
    """One summary per agent, in the order agents first appear."""
    out: dict[str, AgentSummary] = {}
    for r in results:
        out.setdefault(r.agent, AgentSummary(r.agent)).add(r)
    return out


def _apps(results: list[TaskResult]) -> list[str]:
    return sorted({r.app for r in results})


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _table(header: list[str], rows: list[list[str]], align_left: int = 1) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(":---" if i < align_left else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def success_table(summaries: dict[str, AgentSummary], apps: list[str], label: str = "agent") -> list[str]:
    """Table 2 shape: success rate (%) per app and overall, plus solved/total."""
    header = [label, *apps, "overall", "solved"]
    rows = [
        [s.agent, *(_pct(s.app_success(a)) for a in apps), _pct(s.success_rate), f"{s.solved}/{s.tasks}"]
        for s in summaries.values()
    ]
    return _table(header, rows)


def cost_table(summaries: dict[str, AgentSummary]) -> list[str]:
    """Figure 2 shape: steps, model calls, tokens, cost and wall time per task."""
    header = [
        "agent",
        "steps/task",
        "model calls/task",
        "prompt tok/task",
        "completion tok/task",
        "USD/task",
        "s/task",
        "errors",
    ]
    rows = [
        [
            s.agent,
            f"{s.mean_steps:.2f}",
            f"{s.calls_per_task:.2f}",
            f"{s.prompt_tokens_per_task:,.0f}",
            f"{s.completion_tokens_per_task:,.0f}",
            f"{s.cost_per_task:.4f}",
            f"{s.seconds_per_task:.1f}",
            str(s.errors),
        ]
        for s in summaries.values()
    ]
    return _table(header, rows)


def ablation_groups(summaries: dict[str, AgentSummary]) -> dict[str, list[AgentSummary]]:
    """Agents with several modes (``rag:observation``, ``rag:model`` ...): base name -> its variants."""
    groups: dict[str, list[AgentSummary]] = {}
    for name, s in summaries.items():
        groups.setdefault(name.partition(":")[0], []).append(s)
    return {base: ss for base, ss in groups.items() if len(ss) > 1 and any(":" in s.agent for s in ss)}


def ablation_table(variants: list[AgentSummary], apps: list[str]) -> list[str]:
    """Table 4 shape: one row per retrieval mode: success per app, overall, calls and tokens per task."""
    header = ["mode", *apps, "overall", "model calls/task", "tokens/task"]
    rows = []
    for s in variants:
        mode = s.agent.partition(":")[2] or "(default)"
        tokens = s.prompt_tokens_per_task + s.completion_tokens_per_task
        rows.append(
            [
                mode,
                *(_pct(s.app_success(a)) for a in apps),
                _pct(s.success_rate),
                f"{s.calls_per_task:.2f}",
                f"{tokens:,.0f}",
            ]
        )
    return _table(header, rows)


def _cell(r: TaskResult | None) -> str:
    if r is None:
        return ""
    if r.error:
        return "err"
    return f"{r.score:g}"


def render_report(
    results: list[TaskResult], *, title: str = "Evaluation", plots: Iterable[str] = (), elapsed_s: float | None = None
) -> str:
    """The Markdown report for ``results`` (``plots``: PNG file names to embed, relative to the report)."""
    summaries = summarize_results(results)
    apps = _apps(results)
    task_ids = list(dict.fromkeys(r.task_id for r in results))
    lines = [f"# {title}", ""]
    meta = f"{len(task_ids)} task(s) ({', '.join(apps) or '-'}), {len(summaries)} agent(s): "
    meta += ", ".join(summaries)
    if elapsed_s is not None:
        meta += f"; wall time {elapsed_s:.0f} s"
    lines += [meta, "", "Success rate = mean evaluator score over the tasks, in percent (failed runs score 0).", ""]
    lines += ["## Success rate by app (Table 2 shape)", "", *success_table(summaries, apps), ""]
    lines += ["## Cost per task (Figure 2 shape)", "", *cost_table(summaries), ""]
    lines += ["## Retrieval ablation (Table 4 shape)", ""]
    groups = ablation_groups(summaries)
    if groups:
        for base, variants in groups.items():
            lines += [f"Agent `{base}`:", "", *ablation_table(variants, apps), ""]
    else:
        lines += [
            "Not run: pass several modes of one agent (e.g. `--agent rag:observation --agent rag:model "
            "--agent rag:both`) to fill this table.",
            "",
        ]
    plots = list(plots)
    if plots:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots] + [""]
    by_key = {(r.agent, r.task_id): r for r in results}
    app_of = {r.task_id: r.app for r in results}
    lines += ["## Per task", "", "Score per agent (`err` = the run failed; see below)", ""]
    rows = [[t, app_of[t], *(_cell(by_key.get((a, t))) for a in summaries)] for t in task_ids]
    lines += [*_table(["task", "app", *summaries], rows, align_left=2), ""]
    failed = [r for r in results if r.error]
    if failed:
        lines += ["## Errors", ""]
        for r in failed:
            msg = " ".join(r.error.split())
            lines.append(f"- `{r.agent}` / `{r.task_id}`: {msg[:300]}{'...' if len(msg) > 300 else ''}")
        lines.append("")
    return "\n".join(lines)


def plot_results(results: list[TaskResult], out_dir: Path) -> list[Path]:
    """Draw ``success_rate.png`` (per app and overall) and ``tokens_per_task.png`` into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summaries = summarize_results(results)
    apps = _apps(results)
    agents = list(summaries)
    groups = [*apps, "overall"]
    width = 0.8 / max(1, len(agents))
    paths: list[Path] = []

    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(groups) + 2), 4.0), dpi=100)
    for i, name in enumerate(agents):
        s = summaries[name]
        values = [s.app_success(a) or 0.0 for a in apps] + [s.success_rate]
        xs = [g + (i - (len(agents) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, values, width, label=name)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, 105)
    ax.set_ylabel("success rate (%)")
    ax.set_title("Success rate by app")
    ax.legend(fontsize="small")
    fig.tight_layout()
    paths.append(out_dir / SUCCESS_PLOT)
    fig.savefig(paths[-1])
    plt.close(fig)

    fig, ax1 = plt.subplots(figsize=(max(6.0, 1.2 * len(agents) + 2), 4.0), dpi=100)
    xs = list(range(len(agents)))
    prompt = [summaries[a].prompt_tokens_per_task for a in agents]
    completion = [summaries[a].completion_tokens_per_task for a in agents]
    ax1.bar(xs, prompt, 0.6, label="prompt tokens")
    ax1.bar(xs, completion, 0.6, bottom=prompt, label="completion tokens")
    ax1.set_xticks(xs, agents)
    ax1.set_ylabel("tokens per task")
    ax2 = ax1.twinx()
    ax2.plot(xs, [summaries[a].calls_per_task for a in agents], "kD", label="model calls")
    ax2.set_ylabel("model calls per task")
    ax2.set_ylim(bottom=0)
    ax1.set_title("Inference cost per task")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize="small", loc="best")
    fig.tight_layout()
    paths.append(out_dir / TOKENS_PLOT)
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths


def write_report(
    results: list[TaskResult],
    out_dir: str | Path,
    *,
    title: str = "Evaluation",
    elapsed_s: float | None = None,
    plots: bool = True,
) -> tuple[Path, list[Path]]:
    """Write ``report.md`` (and the PNG plots) into ``out_dir``; returns the report path and plot paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pngs = plot_results(results, out) if plots and results else []
    path = out / REPORT_NAME
    text = render_report(results, title=title, plots=[p.name for p in pngs], elapsed_s=elapsed_s)
    path.write_text(text + "\n", encoding="utf-8")
    return path, pngs
