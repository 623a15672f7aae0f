#!/usr/bin/env bash
# Where vigil's supervisor spends its CPU per operation (perf record; see profile.py).
# Needs perf with kernel samples: root, or kernel.perf_event_paranoid <= 1.
# Usage: bench/sensor/profile.sh [--workloads connect,forkexec,open_ro,getppid]
# Environment: VIGIL=/path/to/vigil skips the cargo build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/bench/out/sensor"
mkdir -p "$out/bin"
command -v perf >/dev/null || { echo "bench/sensor/profile.sh: perf not found" >&2; exit 1; }
if [ -z "${VIGIL:-}" ]; then
  cargo build --quiet --release -p vigil --manifest-path "$root/Cargo.toml"
  VIGIL="$root/target/x86_64-unknown-linux-gnu/release/vigil"
fi
for p in workload floor notifsup spawntime; do
  gcc -O2 -Wall -Wextra -Werror -o "$out/bin/$p" "$root/bench/sensor/$p.c"
done
PYTHONDONTWRITEBYTECODE=1 exec python3 "$root/bench/sensor/profile.py" --vigil "$VIGIL" --out "$out" --root "$root" "$@"
