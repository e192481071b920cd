"""The dataset card (``README.md``): a YAML header the Hugging Face Hub and ``datasets`` read, then prose.

Everything in it comes from the data and the options (the date is the newest exported example's creation time),
so exporting twice writes the same card.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.export.rows import ExportOptions

FORMAT_NAMES = {
    "openai": "OpenAI chat fine-tuning JSONL",
    "sharegpt": "ShareGPT JSONL",
    "hf": "Hugging Face datasets Parquet",
    "llamafactory": "LLaMA-Factory (sharegpt formatting + dataset_info.json)",
    "trl": "TRL SFT conversational JSONL",
    "ms-swift": "ms-swift messages JSONL (<image> tags, images/ relative to the export directory)",
    "adp": "Agent Data Protocol trajectories (ADP standardized schema 1.2.0), JSONL",
}


@dataclass
class CardStats:
    """What the card reports; filled while rows are written."""

    rows: dict[str, int] = field(default_factory=dict)  # per split
    examples: int = 0
    trajectories: int = 0
    images: int = 0
    apps: dict[str, int] = field(default_factory=dict)  # examples per app
    kinds: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)  # examples per documentation source
    actor_models: dict[str, int] = field(default_factory=dict)  # trajectories per model
    ledger_models: dict[str, list[str]] = field(default_factory=dict)  # role -> models
    newest: float = 0.0
    action_space_why: str = ""  # how the rows' layout was chosen
    skipped: dict[str, int] = field(default_factory=dict)  # element-layout rows left out, by reason


def _date(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime("%Y-%m-%d") if ts else "unknown"


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


def header(opts: ExportOptions, stats: CardStats, data_files: dict[str, str]) -> dict[str, Any]:
    """The YAML metadata (``configs`` only for formats ``datasets`` loads from the directory)."""
    meta: dict[str, Any] = {
        "pretty_name": f"{opts.name} (Learn-by-Interact Studio export)",
        "tags": ["learn-by-interact", "gui-agent", "desktop-automation", "synthetic"],
        "task_categories": ["image-text-to-text" if opts.images else "text-generation"],
        "size_categories": [_size_category(sum(stats.rows.values()))],
    }
    if data_files:
        meta["configs"] = [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": p} for s, p in data_files.items()],
            }
        ]
    return meta


def _table(counts: dict[str, int], head: tuple[str, str]) -> str:
    if not counts:
        return "(none)\n"
    lines = [f"| {head[0]} | {head[1]} |", "|---|---:|"]
    lines += [f"| {k or '(none)'} | {v} |" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines) + "\n"


def render(opts: ExportOptions, stats: CardStats, data_files: dict[str, str]) -> str:
    """The full ``README.md`` text."""
    import yaml

    from studio import __version__

    meta = header(opts, stats, data_files)
    settings = {
        "format": opts.format,
        "granularity": opts.granularity,
        "observation": opts.observation,
        "split": list(opts.split),
        "seed": opts.seed,
        "redact": opts.redact,
        "action_space": opts.action_space,
        **opts.filters(),
        "conventions": opts.conventions(),
    }
    ledger = "\n".join(f"- {role}: {', '.join(models)}" for role, models in sorted(stats.ledger_models.items()))
    conv = opts.convention
    layout = (
        "one row per step: the actor's prompt (task, previous REASON/ACTIONs, current screen) -> "
        "`REASON: ...` / `ACTION: <pyautogui code>`"
        if opts.granularity == "step"
        else "one row per example: the task and the first screen -> every step's REASON/ACTION"
    )
    if opts.format == "adp":
        layout = (
            "one ADP trajectory per example: the task, then per step the screen and one api_action per "
            "pyautogui call (REASON as its description)"
        )
    if opts.action_space == "elements":
        from studio.pipeline.agent.elements import ELEMENTS_PROMPT_VERSION

        layout = (
            f"the element actor's turns (`{ELEMENTS_PROMPT_VERSION}` prompt: rules, the numbered element listing "
            "of the screen, the span's steps so far with what changed, the task) -> one JSON reply "
            '`{"reason", "action": click|type|key|done|fail, "target"}`; '
            + ("one row per step" if opts.granularity == "step" else "one conversation of those turns per example")
        )
    if not conv.is_default:
        layout += (
            f"; actions rewritten as `{conv.syntax}` with `{conv.coords}` coordinates (prompt, history, "
            "a11y positions and targets alike)"
        )
    body = (
        f"""# {opts.name}

Desktop-agent training data synthesized with Learn-by-Interact Studio {__version__}: tasks from documentation,
rollouts in a sandboxed desktop, instructions written backward from the trajectories, filtered by a committee
of judge models.

- Format: {FORMAT_NAMES[opts.format]}
- Layout: {layout}
- Observation: {opts.observation}
- Action space: {opts.action_space}{f" ({stats.action_space_why})" if stats.action_space_why else ""}
- Date of the newest example: {_date(stats.newest)}

## Counts

| split | rows |
|---|---:|
"""
        + "".join(f"| {s} | {n} |\n" for s, n in stats.rows.items())
        + f"""
Examples: {stats.examples} · trajectories: {stats.trajectories} · images: {stats.images}
{_skipped(stats.skipped)}
### Apps

{_table(stats.apps, ("app", "examples"))}
### Example kinds

{_table(stats.kinds, ("kind", "examples"))}
### Documentation sources

{_table(stats.sources, ("source", "examples"))}
## Models used

Actors (trajectories per model):

{_table(stats.actor_models, ("model", "trajectories"))}
Model calls recorded in the workspace ledger, by role:

{ledger or "(none)"}

## Filters and settings

```json
{_json(settings)}
```

The split is by trajectory (sha256 of seed and trajectory id): no rollout appears in two splits.
Secrets (API keys, tokens) and local absolute paths were removed from all text
{"; e-mail addresses and long opaque tokens too" if opts.redact else ""}. Screenshots are not redacted.
"""
    )
    front = str(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True))
    return "---\n" + front + "---\n\n" + body


def _skipped(counts: dict[str, int]) -> str:
    """The element-layout rows left out (steps with no element form), or nothing."""
    if not counts:
        return ""
    return (
        "\nLeft out (no element form, never rewritten): "
        + ", ".join(f"{n} {why}" for why, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        + "\n"
    )


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, indent=2, ensure_ascii=False)


def write_card(out: Path, opts: ExportOptions, stats: CardStats, data_files: dict[str, str]) -> Path:
    path = out / "README.md"
    path.write_text(render(opts, stats, data_files), encoding="utf-8", newline="\n")
    return path
