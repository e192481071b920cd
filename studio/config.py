"""Workspace configuration (``studio.toml``), validated with pydantic; unknown keys are rejected by name.

API keys are never stored here: a role names the environment variable that holds its key (``api_key_env``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from studio.errors import ConfigError

LOCAL_MODEL = "local/qwen2.5-coder-1.5b"  # the chat roles' default (BENCHMARKS.md, "Offline models per role")
QUERY_WRITER_MODEL = "local/qwen2.5-coder-0.5b"  # its queries retrieve better (BENCHMARKS.md, "Retrieval quality")
CONFIG_NAME = "studio.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSpec(_Strict):
    """One litellm model for one role. Only standard OpenAI parameters are sent to the provider."""

    model: str = LOCAL_MODEL
    api_base: str | None = None
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key")
    revision: str | None = Field(
        default=None,
        description="label of the model behind a served name; part of the cache key: change it when the "
        "server starts serving another model under the same name",
    )
    temperature: float = 0.0
    max_tokens: int = 512
    top_p: float | None = None
    seed: int | None = None
    timeout: float = 120.0
    max_retries: int = 2
    concurrency: int = 2
    vision: bool | None = Field(default=None, description="send screenshots; None = ask litellm")


class JudgeSpec(ModelSpec):
    """One committee judge: a model and how it judges.

    ``method``: ``"ask"`` asks the model the four criteria as JSON (judge prompt); ``"forced_choice"`` compares
    the model's score of the example's instruction (``score``: how much the trajectory raises the instruction's
    log-probability, or the log-odds of answering "yes") with that of ``distractors`` other instructions
    (in-process ``local/`` models only), plus the values check when ``check_values``; ``"values"``
    is the deterministic values check alone (no model call). ``accuracy`` is the judge's balanced accuracy
    measured by ``studio judge-eval``; a judge measured below ``pipeline.judge_accuracy_floor`` is advisory.
    """

    method: Literal["ask", "forced_choice", "values"] = "ask"
    score: Literal["likelihood", "yes", "overlap"] = Field(
        default="likelihood",
        description="forced_choice: log P(instruction | trajectory) - log P(instruction), the log-odds of 'yes', "
        "or (no model) the share of the instruction's words the trajectory contains",
    )
    distractors: int = Field(default=4, ge=1, le=16, description="forced_choice: other instructions compared")
    margin: float = Field(default=0.0, ge=0.0, description="forced_choice: nats the candidate must win by")
    check_values: bool = Field(default=True, description="forced_choice: also require the values check")
    contrast: bool = Field(
        default=False,
        description="forced_choice: also compare with the instruction's own counterfactual (its action word swapped)",
    )
    accuracy: float | None = Field(
        default=None, ge=0.0, le=1.0, description="balanced accuracy measured by `studio judge-eval`"
    )

    @property
    def label(self) -> str:
        """The judge's name on its verdicts: the model for ``ask``, ``method:model`` otherwise."""
        if self.method == "ask":
            return self.model
        if self.method == "values":
            return "values"
        if self.score == "overlap":
            return "forced_choice:overlap"
        return f"{self.method}:{self.model}" + ("" if self.score == "likelihood" else f":{self.score}")


def judge_labels(specs: list[JudgeSpec]) -> list[str]:
    """Unique labels of a committee: :attr:`JudgeSpec.label`, then ``label#2``, ``label#3`` for repeats."""
    seen: dict[str, int] = {}
    labels = []
    for spec in specs:
        seen[spec.label] = seen.get(spec.label, 0) + 1
        labels.append(spec.label if seen[spec.label] == 1 else f"{spec.label}#{seen[spec.label]}")
    return labels


class EmbedderSpec(_Strict):
    backend: Literal["local", "litellm", "lexical"] = "local"
    model: str = "all-MiniLM-L6-v2"
    api_base: str | None = None
    api_key_env: str | None = None
    batch_size: int = 64


class RolesConfig(_Strict):
    task_writer: ModelSpec = Field(default_factory=ModelSpec)
    actor: ModelSpec = Field(default_factory=ModelSpec)
    backward_writer: ModelSpec = Field(default_factory=ModelSpec)
    judges: list[JudgeSpec] = Field(default_factory=lambda: [JudgeSpec()])
    query_writer: ModelSpec = Field(default_factory=lambda: ModelSpec(model=QUERY_WRITER_MODEL, max_tokens=64))
    embedder: EmbedderSpec = Field(default_factory=EmbedderSpec)

    @field_validator("judges", mode="before")
    @classmethod
    def _judges_from_model_specs(cls, value: Any) -> Any:
        """A plain :class:`ModelSpec` in the committee is an ``ask`` judge."""
        if isinstance(value, list):
            return [
                JudgeSpec.model_validate(v.model_dump())
                if isinstance(v, ModelSpec) and not isinstance(v, JudgeSpec)
                else v
                for v in value
            ]
        return value


class SandboxConfig(_Strict):
    width: int = Field(default=1280, ge=320, le=7680)
    height: int = Field(default=800, ge=240, le=4320)
    apps: list[str] = Field(default_factory=lambda: ["mousepad", "galculator", "xterm", "gnumeric"])
    network: bool = False
    settle_timeout: float = 3.0


class SpanPolicy(_Strict):
    max_len: int = Field(default=4, ge=1, description="longest sub-trajectory T[i:j] turned into an example")
    max_per_trajectory: int = Field(default=12, ge=1)
    prefer_short: bool = True


class PipelineConfig(_Strict):
    tasks_per_section: int = Field(default=3, ge=1)
    max_sections_per_app: int = Field(default=4, ge=1)
    max_tasks: int = Field(default=8, ge=1)
    policy: Literal["model", "explorer", "model+explorer"] = "model"
    max_steps: int = Field(default=8, ge=1)
    parallel: int = Field(default=1, ge=1)
    spans: SpanPolicy = Field(default_factory=SpanPolicy)
    quorum: Literal["all", "majority"] | int = "all"
    judge_accuracy_floor: float = Field(
        default=0.75,
        ge=0.0,
        le=1.0,
        description="judges whose measured accuracy is below this are advisory: stored and shown, never deciding",
    )


class RetrievalConfig(_Strict):
    """Retrieval-augmented acting (the paper's Algorithm 2); see ``studio.pipeline.retrieval.retriever``."""

    mode: Literal["none", "instruction", "observation", "model", "both"] = "both"
    m1: int = Field(default=5, ge=0, description="observation-based (BM25) examples per step")
    m2: int = Field(default=5, ge=0, description="model-based (dense) examples per step, not already chosen")
    budget_tokens: int = Field(default=2000, ge=0, description="prompt tokens for examples (len(text)/4)")
    accepted_only: bool = True
    max_query_terms: int = Field(default=32, ge=1, description="salient observation tokens in a BM25 query")
    query_with_task: bool = Field(
        default=True, description="modes model and both: the dense query is the task instruction + the model's query"
    )
    fusion: Literal["interleave", "rrf", "mrr", "linear"] = Field(
        default="rrf", description="how mode both merges its two lists (a LanceDB reranker; interleave: o1, m1, ...)"
    )
    dense_weight: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="weight of the dense (model query) list; the observation list gets the rest",
    )
    task_weight: float = Field(
        default=0.25, ge=0.0, le=1.0, description="rrf: weight of a third list, the dense search for the task"
    )
    rrf_k: int = Field(default=60, ge=1, description="K of reciprocal-rank fusion")
    dedup: Literal["none", "span", "trajectory"] = Field(
        default="span", description="drop hits overlapping a better hit's trajectory span (or any of its trajectory)"
    )
    mmr_lambda: float = Field(default=1.0, ge=0.0, le=1.0, description="MMR relevance vs diversity; 1 = off")
    candidates: int = Field(default=20, ge=1, description="hits asked of each search before fusion")


class AgentConfig(_Strict):
    """How the model actor acts; see ``studio.pipeline.agent.elements`` and README "Evaluation"."""

    action_space: Literal["auto", "elements", "pyautogui"] = Field(
        default="auto",
        description="elements: click/type/key on numbered a11y elements, JSON reply; pyautogui: a line of "
        "pyautogui code (prompt actor.v1); auto: pyautogui for vision models, elements otherwise",
    )
    history_steps: int = Field(default=4, ge=0, le=64, description="elements: past steps shown, with changes")
    max_elements: int = Field(default=80, ge=5, le=2000, description="elements: elements listed per screen")


#: Task statuses rolled out by default, in this order.
TASK_CHECK_ORDER: tuple[Literal["proven", "verified", "unverified"], ...] = ("proven", "verified", "unverified")
#: Task statuses whose written solution is also replayed as a rollout by default.
REPLAYED_STATUSES: tuple[Literal["proven", "verified"], ...] = ("proven",)


class VerifyConfig(_Strict):
    """Executable task checks (``studio.pipeline.stages.task_check``)."""

    write_checks: bool = Field(default=True, description="the task writer writes config + evaluator per task")
    solutions: bool = Field(default=True, description="... and a solution (pyautogui lines) that proves it")
    rollout: list[Literal["proven", "verified", "unverified"]] = Field(
        default_factory=lambda: list(TASK_CHECK_ORDER),
        description="task statuses rolled out, in this order (a pending check counts as unverified)",
    )
    replay_solutions: list[Literal["proven", "verified"]] = Field(
        default_factory=lambda: list(REPLAYED_STATUSES),
        description="statuses whose written solution is also replayed as a rollout (a scored run; [] = never)",
    )
    require_check: bool = Field(
        default=False, description="an example is accepted only if its trajectory's check also scored 1.0"
    )
    seed_examples: int = Field(
        default=2, ge=0, le=5, description="examples shown to the writer: seeds first, then the app's built-in ones"
    )


#: What a bare ``--ray`` (no ADDRESS) stands for on the command line: Ray at the config's ``[executor] address``.
RAY_FROM_CONFIG = ":config:"


class ExecutorConfig(_Strict):
    """Where rollouts and evaluations run: sandboxes in processes on this machine, or Ray actors on a cluster."""

    kind: Literal["local", "ray"] = "local"
    address: str = Field(
        default="",
        description="Ray cluster (host:port, ray://host:port, auto); '' = a Ray "
        "started on this machine for the run (loopback only)",
    )
    sandbox_resource: str = Field(default="sandbox", description="custom resource a node declares per sandbox")
    sandboxes: int = Field(default=0, ge=0, description="sandboxes at once on Ray; 0 = all the cluster declares")
    max_retries: int = Field(default=2, ge=0, description="re-runs of an episode whose worker or node died")
    check_nodes: bool = Field(
        default=True, description="refuse nodes without the system packages or with another studio version"
    )


class StudioConfig(_Strict):
    schema_version: int = 1
    roles: RolesConfig = Field(default_factory=RolesConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    def advisory_judges(self) -> frozenset[str]:
        """Labels of the judges whose measured accuracy is below ``pipeline.judge_accuracy_floor``."""
        floor = self.pipeline.judge_accuracy_floor
        specs = self.roles.judges
        return frozenset(
            label
            for label, spec in zip(judge_labels(specs), specs, strict=True)
            if spec.accuracy is not None and spec.accuracy < floor
        )


def _format_validation(err: ValidationError, source: str) -> str:
    lines = [f"{source} is not a valid studio configuration:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(f"  unknown key '{loc}' - remove it or check its spelling")
        else:
            lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


def parse_config(text: str, source: str = CONFIG_NAME) -> StudioConfig:
    """Parse TOML text into a validated config. Raises ``ConfigError`` naming the bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}. Fix the line it names.") from exc
    try:
        return StudioConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source)) from exc


def load_config(path: Path) -> StudioConfig:
    if not path.exists():
        raise ConfigError(f"{path} does not exist. Create a workspace with `studio init DIR`.")
    return parse_config(path.read_text(encoding="utf-8"), str(path))


DEFAULT_TOML = """\
# Learn-by-Interact Studio workspace configuration.
# Unknown keys are an error. API keys never go here: set `api_key_env` to the NAME of an
# environment variable (e.g. "OPENAI_API_KEY") or rely on litellm's standard variables.
schema_version = 1

# Every role is a litellm model string. The defaults run offline, in-process, with no key (installed by
# `make setup`, see `python -m studio.llm.models list`); each role's model was chosen by measurement
# (BENCHMARKS.md, "Offline models per role"):
#   local/qwen2.5-coder-1.5b   Qwen2.5-Coder-1.5B-Instruct Q4_K_M (2.2 GB RAM)
#   local/qwen2.5-coder-0.5b   Qwen2.5-Coder-0.5B-Instruct Q4_K_M (0.9 GB RAM, about twice as fast)
#   local/smollm2              SmolLM2-135M-Instruct (fast, proves the plumbing, writes poor data)
# Examples for hosted models:
#   model = "openai/gpt-4o-mini"                      # OPENAI_API_KEY
#   model = "anthropic/claude-3-5-sonnet-20241022"    # ANTHROPIC_API_KEY
#   model = "gemini/gemini-1.5-flash"                 # GEMINI_API_KEY
#   model = "openai/Qwen2.5-7B-Instruct"              # any OpenAI-compatible server (vLLM, Ollama, llama.cpp)
#   api_base = "http://127.0.0.1:8000/v1"
#   revision = "2026-12-01"   # part of the cache key: change it when the server's model behind a name changes
[roles.task_writer]
model = "local/qwen2.5-coder-1.5b"
temperature = 0.7
max_tokens = 384

[roles.actor]
model = "local/qwen2.5-coder-1.5b"
temperature = 0.0
max_tokens = 256

[roles.backward_writer]
model = "local/qwen2.5-coder-1.5b"
temperature = 0.2
max_tokens = 256

# The committee (quorum below; add [[roles.judges]] tables for more judges). Small local models cannot answer
# "does this trajectory complete the instruction?" (they say yes to nearly anything), so the deciding judge
# compares: it scores the instruction and 4 other instructions of the app by how much the trajectory raises
# their likelihood, and checks the instruction's values (numbers, quoted text, file names) against what the
# run typed and showed. `accuracy`: balanced accuracy measured by `studio judge-eval` (BENCHMARKS.md, "Judges").
[[roles.judges]]
method = "forced_choice"
model = "local/smollm2"
distractors = 4
accuracy = 0.89               # 0.893 on all 320 labelled candidates (TPR 0.95, TNR 0.84)
# The paper's four questions (aligned, coherent, natural, reasonable), each with a rationale. Its accuracy is
# below pipeline.judge_accuracy_floor, so it is advisory: its votes are stored and shown, it never accepts alone.
[[roles.judges]]
model = "local/qwen2.5-coder-1.5b"
temperature = 0.0
max_tokens = 256
accuracy = 0.5               # said yes to everything it was shown (the balanced accuracy of always-yes)

# Measured as query writer (BENCHMARKS.md, "Retrieval quality"): the 0.5B's queries retrieve better than the
# 1.5B's (mode model hit@5 0.62 vs 0.42 on 24 held-out steps) at half the time.
[roles.query_writer]
model = "local/qwen2.5-coder-0.5b"
max_tokens = 64

[roles.embedder]
backend = "local"            # local (all-MiniLM-L6-v2, offline) | litellm | lexical
model = "all-MiniLM-L6-v2"

[sandbox]
width = 1280
height = 800
apps = ["mousepad", "galculator", "xterm", "gnumeric"]
network = false              # apps get no network unless a task asks for it

[pipeline]
tasks_per_section = 3        # the paper's "exemplify 3 tasks"
max_sections_per_app = 4     # substantive sections per app the task writer reads
max_tasks = 8
policy = "model"             # model | explorer (model-free random walk over a11y elements)
max_steps = 8
parallel = 1                 # sandboxes at once
quorum = "all"               # all | majority | N judges that must accept

[pipeline.spans]
max_len = 4                  # the paper found < 5 step examples most useful
max_per_trajectory = 12
prefer_short = true

# Executable checks: the task writer writes each task with an OSWorld config + evaluator (+ a solution);
# the verify stage validates them in a sandbox (proven / verified / unverified); rollouts of checked tasks
# are scored, and a full rollout scoring 1.0 becomes an example with its original instruction.
[verify]
write_checks = true
solutions = true
rollout = ["proven", "verified", "unverified"]   # statuses rolled out, in this order
replay_solutions = ["proven"]   # ... and whose written solution is also replayed as a rollout ([] = never)
require_check = false        # true: an example is accepted only if its trajectory's check scored 1.0
seed_examples = 2            # examples shown to the writer: imported / proven tasks, then built-in ones

# Retrieval-augmented acting (Algorithm 2): at every step, examples found by the current observation
# (BM25, up to m1) and by a query the query_writer model writes (dense vectors, up to m2 more).
[retrieval]
mode = "both"                # none | instruction (dense on the task, no model) | observation | model | both
m1 = 5                       # observation-based examples per step
m2 = 5                       # model-based examples per step (not already chosen)
budget_tokens = 2000         # prompt budget for examples, estimated as characters / 4
accepted_only = true         # index only examples the committee (or a person) accepted
max_query_terms = 32         # salient words of a long observation kept in its BM25 query
query_with_task = true       # the dense query is the task instruction + the query_writer's query
fusion = "rrf"               # mode both: rrf | mrr | linear (LanceDB rerankers, weighted) | interleave
dense_weight = 0.5           # weight of the dense (model query) list; the observation list gets the rest
task_weight = 0.25           # rrf: weight of a third list, the dense search for the task instruction
rrf_k = 60                   # K of reciprocal-rank fusion
dedup = "span"               # none | span (no two overlapping spans of one rollout) | trajectory (one per rollout)
mmr_lambda = 1.0             # < 1: diversify by maximal marginal relevance over the example vectors
candidates = 20              # hits asked of each search before fusion and de-duplication

# How the model actor acts (rollouts and `studio eval`). elements: the screen as numbered a11y elements,
# one JSON action (click an element / type text / press a key / done); pyautogui: a line of pyautogui code
# with coordinates. auto = pyautogui for vision models, elements otherwise (BENCHMARKS.md, "Offline actor ...").
[agent]
action_space = "auto"        # auto | elements | pyautogui
history_steps = 4            # elements: past steps shown, each with what changed on the screen
max_elements = 80            # elements: elements listed per screen

# Where rollouts and evaluations run (`studio rollout/run/eval --ray [ADDRESS]` chooses Ray for one command).
[executor]
kind = "local"               # local (K processes on this machine) | ray (one Ray actor per sandbox)
address = ""                 # Ray cluster, e.g. "10.0.0.1:6379" or "auto"; "" = start Ray on this machine
sandbox_resource = "sandbox" # each node declares how many sandboxes it holds: ray start --resources='{"sandbox": 4}'
sandboxes = 0                # sandboxes at once on Ray; 0 = every sandbox the cluster declares
max_retries = 2              # an episode whose worker or node dies is run again elsewhere, at most this often
"""


def default_config() -> StudioConfig:
    return parse_config(DEFAULT_TOML, "default configuration")
