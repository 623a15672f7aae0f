#!/usr/bin/env bash
# Sensor overhead benchmark (issue 2): the same workloads unmonitored, under a minimal
# allow-all seccomp filter (the floor), under `vigil run` and under `strace -f`, interleaved;
# plus a minimal notifying supervisor (notifsup.c) to show where the time goes.
# Prints a markdown report and writes it to bench/out/sensor.md (bench/out/sensor-1cpu.md with
# --pin); raw samples go to bench/out/sensor/raw.jsonl. See bench/README.md.
# Not part of the test suite. Works as root and as an unprivileged user (the supervisor
# system-call count needs root). Needs gcc and python3; strace for the peer comparison
# (installed with apt-get when missing and running as root).
#
# Usage: bench/sensor/run.sh [--rounds N] [--startup-rounds N] [--scale F] [--pin CPU]
#   --scale multiplies the iterations of every run (0.2 for a quick check);
#   --pin runs everything on one CPU, so the supervisor and the function share it.
# Environment: VIGIL=/path/to/vigil skips the cargo build and uses that binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/bench/out/sensor"
mkdir -p "$out/bin"

if [ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]; then
  echo "bench/sensor: needs Linux x86_64 (the floor filter and the workloads are x86_64)" >&2
  exit 1
fi
if ! command -v strace >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq strace >/dev/null || true
  fi
  command -v strace >/dev/null || echo "bench/sensor: strace not found; its column is left empty" >&2
fi

if [ -z "${VIGIL:-}" ]; then
  cargo build --quiet --release -p vigil --manifest-path "$root/Cargo.toml"
  VIGIL="$root/target/x86_64-unknown-linux-gnu/release/vigil"
fi
for p in workload floor notifsup spawntime; do
  gcc -O2 -Wall -Wextra -Werror -o "$out/bin/$p" "$root/bench/sensor/$p.c"
done

"$VIGIL" probe >"$out/probe.txt" 2>&1 || true
if ! grep -q 'would use: kernel-sensor' "$out/probe.txt"; then
  echo "bench/sensor: vigil would not use the kernel sensor here:" >&2
  cat "$out/probe.txt" >&2
  exit 1
fi

report="$root/bench/out/sensor.md"
for arg in "$@"; do
  [ "$arg" = "--pin" ] && report="$root/bench/out/sensor-1cpu.md"
done
exec python3 "$root/bench/sensor/bench.py" --vigil "$VIGIL" --out "$out" --root "$root" \
  --report "$report" "$@"
