#!/usr/bin/env bash
# Benchmarks `vigil scan iam` against Parliament and Cloudsplaining on the AWS managed-policy
# corpus, side by side in the same run, and compares their findings policy by policy.
# Not part of the test suite. Needs python3 (venv) and access to PyPI on first run.
# Usage: bench/scan/run.sh [CORPUS_DIR]   (default: ../shared/corpus/aws-managed-policies)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
corpus="${1:-$root/../shared/corpus/aws-managed-policies}"
out="$root/bench/out"
mkdir -p "$out"
if [ ! -x "$out/venv/bin/python" ]; then
  python3 -m venv "$out/venv"
fi
"$out/venv/bin/pip" install --quiet "parliament==1.6.4" "cloudsplaining==0.9.1"
cargo build --quiet --release -p vigil --manifest-path "$root/Cargo.toml"
"$out/venv/bin/python" "$root/bench/scan/compare.py" \
  --vigil "$root/target/x86_64-unknown-linux-gnu/release/vigil" --corpus "$corpus" --out "$out"
