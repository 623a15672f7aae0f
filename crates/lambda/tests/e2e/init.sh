#!/bin/sh
# Stand-in for Lambda's init (/var/rapid/init) in the end-to-end test. It runs inside the
# sandbox as the function's user; the test drives it through stdin, one line per step, the
# way Lambda sequences a sandbox:
#   start: every external extension in /opt/extensions (their stdout on fd 3, stderr on fd 4,
#          kept apart from the runtime's because the test reads the events there);
#   line 1 (every extension has registered): start the runtime, /var/runtime/bootstrap;
#   line 2 (shutdown): SIGTERM to the runtime, then wait for the extensions to exit (the test
#          sends SHUTDOWN through the Extensions API). When this script exits, bwrap tears
#          the sandbox's pid namespace down, as Lambda kills what is left.
# Argument: --no-extensions to start none (the wrapper's fallback).
ext_pids=""
if [ "$1" != "--no-extensions" ]; then
  for e in /opt/extensions/*; do
    [ -f "$e" ] && [ -x "$e" ] || continue
    "$e" >&3 2>&4 </dev/null &
    ext_pids="$ext_pids $!"
  done
fi
exec 3>&- 4>&-
read -r _ || exit 0
/var/runtime/bootstrap </dev/null &
runtime=$!
read -r _
kill -TERM "$runtime" 2>/dev/null
if [ -n "$ext_pids" ]; then
  wait $ext_pids
else
  wait "$runtime"
fi
