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
# Usage: bench/sensor/run.sh [--user UID] [--rounds N] [--startup-rounds N] [--scale F] [--pin CPU]
#   --user runs everything as that user (needs root): how a Lambda function runs, with a
#     supervisor that has no capabilities. The bench is staged in a temporary directory the
#     user can read, and the report lands in bench/out/sensor[-1cpu]-uidUID.md;
#   --scale multiplies the iterations of every run (0.2 for a quick check);
#   --pin runs everything on one CPU, so the supervisor and the function share it (a Lambda
#     function below 1,769 MB of memory has one vCPU).
# Environment: VIGIL=/path/to/vigil skips the cargo build and uses that binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
user=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --user) [ $# -ge 2 ] || { echo "bench/sensor: --user needs a uid" >&2; exit 2; }
            user="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- ${args[@]+"${args[@]}"}
if [ -n "$user" ] && [ "$(id -u)" != 0 ]; then
  echo "bench/sensor: --user needs root (to switch to uid $user)" >&2
  exit 2
fi
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
rev="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ -z "$user" ]; then
  exec env VIGIL_REV="$rev" python3 "$root/bench/sensor/bench.py" --vigil "$VIGIL" --out "$out" \
    --root "$root" --report "$report" "$@"
fi
# As another user: everything it runs or writes is staged where it can.
stage="$(mktemp -d /tmp/vigil-bench.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bench" "$stage/out"
cp -r "$root/bench/sensor" "$stage/bench/sensor"
cp -r "$out/bin" "$stage/out/bin"
cp "$VIGIL" "$stage/vigil"
chmod -R a+rwX "$stage"
setpriv --reuid="$user" --regid="$user" --clear-groups \
  env HOME="$stage" VIGIL_REV="$rev" python3 "$stage/bench/sensor/bench.py" --vigil "$stage/vigil" \
  --out "$stage/out" --root "$stage" --report "$stage/report.md" "$@"
final="${report%.md}-uid$user.md"
cp "$stage/report.md" "$final"
mkdir -p "$out/uid$user"
cp "$stage/out/raw.jsonl" "$out/uid$user/raw.jsonl" 2>/dev/null || true
echo "bench/sensor: report in $final" >&2
