#!/usr/bin/env bash
# Template scan benchmark and crash check over the real-template corpus.
#
#   bench/scan-templates/run.sh [CORPUS_DIR]
#
# Builds the release scanner (crates/scan/examples/template_scan.rs, which calls
# vigil_scan::scan_template_paths like `vigil scan template` does), then:
#   1. scans the whole corpus once and prints files, findings by code and errors;
#      fails if the process crashed (a panic aborts in release: non-zero exit);
#   2. times 5 whole-corpus runs (wall clock of the process) and fails above 3 s (best run);
#   3. times 20 single-file invocations and fails above 50 ms (best run).
# Prints the machine it ran on. Needs only bash, coreutils and cargo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${1:-${VIGIL_CORPUS_DIR:-$root/../shared/corpus/serverless-patterns}}"
[ -d "$corpus" ] || { echo "corpus not found: $corpus (pass it as the first argument)" >&2; exit 2; }

cargo build --quiet --release -p vigil-scan --example template_scan --manifest-path "$root/Cargo.toml"
bin="$root/target/x86_64-unknown-linux-gnu/release/examples/template_scan"
one="$corpus/lambda-sns-sam/template.yaml"
[ -f "$one" ] || one="$(find "$corpus" -name template.yaml | sort | head -1)"

echo "machine: $(uname -sm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "corpus: $corpus"
echo "files: $(find "$corpus" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.tf' -o -name '*.json' \) | wc -l) (.yaml/.yml/.tf/.json)"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
if ! "$bin" "$corpus" >"$out"; then
    echo "CRASH: the scanner exited with status $? on the corpus" >&2
    exit 1
fi
echo "crashes: 0"
grep -E '^(findings|errors|files_with_results) ' "$out"
echo "findings by code:"
grep '^code ' "$out" | sed 's/^code /  /'

ms() { date +%s%N; }
best_of() { # N COMMAND... -> best wall time in ms (with one decimal)
    local n="$1"; shift
    local best=""
    for _ in $(seq "$n"); do
        local t0 t1 d
        t0=$(ms); "$@" >/dev/null; t1=$(ms)
        d=$(( (t1 - t0) / 100000 ))
        if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
    done
    echo "$((best / 10)).$((best % 10))"
}
corpus_ms="$(best_of 5 "$bin" "$corpus")"
one_ms="$(best_of 20 "$bin" "$one")"
echo "whole corpus: best of 5 = ${corpus_ms} ms (limit 3000 ms)"
echo "one file ($(basename "$(dirname "$one")")/$(basename "$one")): best of 20 = ${one_ms} ms (limit 50 ms)"
awk -v c="$corpus_ms" -v o="$one_ms" 'BEGIN { exit !(c < 3000 && o < 50) }' || { echo "TOO SLOW" >&2; exit 1; }
echo "ok"
