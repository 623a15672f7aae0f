#!/usr/bin/env bash
# Cold-start and warm-invocation overhead of the Vigil Lambda layer, side by side with the same
# function without the layer, interleaved in the same run (bench/lambda/src/main.rs says what
# is measured). Writes bench/out/lambda.md and prints it.
#
# The function: Python 3 (/usr/bin/python3) with the AWS runtime interface client
# (awslambdaric, from PyPI into bench/out/lambda-py, once) and a handler returning a constant.
# The layer: scripts/build-layer's zip, unpacked into bench/out/lambda-layer with its scripts
# pointed there instead of /opt. The policy: learned in the same simulated sandbox (one
# learn-mode round through the extension, whose SHUTDOWN event carries the learned policy),
# then used in enforce mode from the task root (vigil.yaml), as a deployment would.
#
# Not part of the test suite. Needs python3, pip, unzip, and crates.io/PyPI on first run.
# Usage: bench/lambda/run.sh [ROUNDS [WARM_INVOCATIONS]]   (default 20 rounds, 100 warm)
#        VIGIL_LAYER_ZIP=FILE bench/lambda/run.sh …   measures that layer instead of building one
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds="${1:-20}"
warm="${2:-100}"
out="$root/bench/out"
python=/usr/bin/python3
mkdir -p "$out"

# VIGIL_LAYER_ZIP: measure an existing layer zip instead of building one from this tree.
if [ -n "${VIGIL_LAYER_ZIP:-}" ]; then
  cp "$VIGIL_LAYER_ZIP" "$out/lambda-layer.zip"
else
  "$root/scripts/build-layer" "$out/lambda-layer.zip" >/dev/null
fi

layer="$out/lambda-layer"
rm -rf "$layer"
mkdir -p "$layer"
unzip -q "$out/lambda-layer.zip" -d "$layer"
sed -i "s#/opt/vigil/vigil#$layer/vigil/vigil#g" "$layer/vigil/wrap" "$layer/extensions/vigil"

py="$out/lambda-py"
if [ ! -d "$py/awslambdaric" ]; then
  rm -rf "$py"
  "$python" -m pip --version >/dev/null 2>&1 && pip=("$python" -m pip) || pip=(pip3)
  "${pip[@]}" install --quiet --disable-pip-version-check --target "$py" "awslambdaric==4.2.2"
fi
task="$out/lambda-task"
mkdir -p "$task"
cat >"$task/handler.py" <<'EOF'
def handler(event, context):
    return {"statusCode": 200, "body": "ok"}
EOF
# Lambda's images ship compiled bytecode; so does this function.
"$python" -m compileall -q "$py" "$task" >/dev/null

CARGO_TARGET_DIR="$root/target/bench-lambda" \
  cargo build --quiet --release --manifest-path "$root/bench/lambda/Cargo.toml"
bench="$root/target/bench-lambda/release/vigil-bench-lambda"
logs="$out/lambda-logs"
rm -rf "$logs"
common=(--layer "$layer" --task "$task" --pythonpath "$py" --python "$python" --logs "$logs")

"$bench" "${common[@]}" --learn "$task/vigil.yaml"
"$bench" "${common[@]}" --rounds "$rounds" --warm "$warm" --out "$out/lambda.md"
