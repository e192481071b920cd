"""`studio judge-eval` end to end with a real local model (SmolLM2-135M in-process) on a tiny labelled set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envs.tasks import ASSETS_DIR, REPO_ROOT
from studio.pipeline.eval.judge_set import load_item, save_item

pytestmark = pytest.mark.integration
pytest.importorskip("llama_cpp")


def test_judge_eval_cli_with_a_real_local_model(tmp_path: Path) -> None:
    item = load_item(ASSETS_DIR / "judge_set" / "galculator-add.json")
    item.candidates = [c for c in item.candidates if c.kind in ("true", "changed_action")]
    assert [c.label for c in item.candidates] == [True, False]
    save_item(tmp_path / "set", item)
    config = tmp_path / "studio.toml"
    config.write_text(
        '[[roles.judges]]\nmethod = "forced_choice"\nmodel = "local/smollm2"\ndistractors = 1\n'
        '[[roles.judges]]\nmethod = "values"\naccuracy = 0.5\n'
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "studio.cli",
            "judge-eval",
            str(tmp_path / "set"),
            "--config",
            str(config),
            "--json",
            "--quiet",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {r["judge"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(rows) == {"forced_choice:local/smollm2", "values", "committee"}
    fc = rows["forced_choice:local/smollm2"]
    assert fc["n"] == 2 and fc["calls"] >= 4 and fc["cost"] == 0.0  # real log-probabilities were computed
    assert fc["tp"] + fc["fn"] == 1 and fc["tn"] + fc["fp"] == 1
    assert 0.0 <= fc["balanced_accuracy"] <= 1.0
    values = rows["values"]
    assert (values["tp"], values["fp"]) == (1, 1)  # the swapped action keeps the values: only the model can tell
    committee = rows["committee"]  # values is advisory (0.5 < floor 0.75): the model's judge decides alone
    assert committee["n"] == 2 and (committee["tp"], committee["fp"]) == (fc["tp"], fc["fp"])


def test_state_cache_gives_the_same_scores_with_fewer_evaluated_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The forced-choice scorer restores a trajectory's prompt state after the no-trajectory prompt ran in between:
    fewer tokens evaluated, and exactly the scores of evaluating everything again (real SmolLM2)."""
    from studio.llm import local_provider
    from studio.llm.yes_no import LocalScorer
    from studio.pipeline.stages.backward import clean_steps, render_trajectory
    from studio.pipeline.stages.judges import LikelihoodScorer

    item = load_item(ASSETS_DIR / "judge_set" / "galculator-add.json")
    text = render_trajectory(clean_steps(item.steps), item.final_observation, max_obs_lines=12)
    runs = {}
    for mb in ("0", "256"):
        monkeypatch.setenv("STUDIO_LOCAL_PROMPT_CACHE_MB", mb)
        monkeypatch.setattr(local_provider, "_loaded", {})  # load again: the cache is set at load time
        local = LocalScorer("local/smollm2")
        scorer = LikelihoodScorer(local)
        scores = [scorer.scores(item.app, text, [c.instruction])[0] for c in item.candidates[:3]]
        runs[mb] = (scores, local.evaluated_tokens)
    (plain, plain_tokens), (cached, cached_tokens) = runs["0"], runs["256"]
    assert cached == pytest.approx(plain, abs=1e-3)  # a restore changes nothing (a 1-token batch moved ~1 nat)
    assert cached_tokens < plain_tokens / 2
