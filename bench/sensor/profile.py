#!/usr/bin/env python3
"""Where vigil's supervisor spends its CPU per operation: `perf record` of a vigil run of one
workload, split into user space (by function) and kernel (by system call). Driven by
bench/sensor/profile.sh; needs perf and kernel samples (root, or perf_event_paranoid <= 1).

The figures are CPU time of the supervisor process only (perf samples of the `vigil` command
at a fixed frequency), per operation of the workload. They are not latency: the workload's
wait also includes wake-ups and the other CPU's work. Sampling in a VM attributes time to the
points where interrupts are re-enabled (`_raw_spin_unlock_irqrestore`); those are reported as
they come.
"""

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the workload set-up is shared)

FREQ = 4999
# Every `perf record` here runs with --no-buildid-cache: the cache hard-links each profiled
# binary into ~/.debug, and /bin/true or libc with a second link sends every later vigil run
# down its slower naming path (names are remembered only for files with one link).


def perf_rows(data, children, sort):
    """`perf report` rows for the supervisor (command `vigil`): (inclusive %, self samples, rest)."""
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-n", "-g", "none", "--sort", sort,
                        "--children" if children else "--no-children"], capture_output=True, text=True)
    rows = []
    for line in r.stdout.splitlines():
        if children:
            m = re.match(r"\s*([\d.]+)%\s+[\d.]+%\s+(\d+)\s+(\S+)\s+(.*)$", line)
        else:
            m = re.match(r"\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+(.*)$", line)
        if m:
            rows.append((float(m.group(1)), int(m.group(2)), m.group(3), m.group(4).strip()))
    return rows


def profile(b, name, argv, n, policy, out):
    data = os.path.join(out, f"perf-{name}.data")
    cmd = b.cmd("vigil-devnull", argv(n), policy)
    r = subprocess.run(["perf", "record", "-q", "--no-buildid-cache", "-F", str(FREQ), "-g", "-o", data, "--"] + cmd,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"profile: perf record failed:\n{r.stderr}")
    ops = n + min(n // 10, 100)
    us = lambda samples: samples / FREQ / ops * 1e6

    dsos = perf_rows(data, False, "comm,dso")
    all_samples = sum(x[1] for x in dsos)
    sup = [x for x in dsos if x[2] == "vigil"]
    total = sum(x[1] for x in sup)
    kernel = sum(x[1] for x in sup if x[3] == "[kernel.kallsyms]")
    print(f"\n## {name}: supervisor CPU {us(total):.1f} µs per operation "
          f"(kernel {us(kernel):.1f} µs, user space {us(total - kernel):.1f} µs)\n")

    print("Kernel, by system call (inclusive: a call's share includes the softirq work it ran):\n")
    print("| system call | µs per op |")
    print("|---|---:|")
    rows = []
    for pct, _self, comm, sym in perf_rows(data, True, "comm,sym"):
        if comm != "vigil":
            continue
        m = re.match(r"\[k\] __x64_sys_(\w+)$", sym)
        if m:
            rows.append((pct / 100 * all_samples, m.group(1)))
        elif sym == "[k] schedule":
            rows.append((pct / 100 * all_samples, "(context switches: `schedule`, inside the calls above)"))
    for smp, sys_name in sorted(rows, reverse=True)[:14]:
        if us(smp) >= 0.05:
            print(f"| {sys_name} | {us(smp):.2f} |")

    print("\nUser space, by function (self):\n")
    print("| function | µs per op |")
    print("|---|---:|")
    shown = 0
    for _pct, smp, comm, sym in perf_rows(data, False, "comm,sym"):
        if comm == "vigil" and sym.startswith("[.]") and shown < 15:
            fn = sym[3:].strip()
            fn = fn if len(fn) <= 90 else fn[:87] + "..."
            print(f"| `{fn}` | {us(smp):.2f} |")
            shown += 1


def groups_of(sym, dso):
    if "landlock" in sym or sym.startswith("[k] hook_"):
        return "Landlock hooks (`landlock_*`, `hook_*`)"
    if "seccomp" in sym or sym in ("[k] syscall_trace_enter",) or dso == "[unknown]":
        return "seccomp (`__seccomp_filter`, `syscall_trace_enter`, JIT-ed filter)"
    if sym.startswith("[k]"):
        return "rest of the kernel"
    return "user space"


def in_kernel(b, argv, n, policy, out, variants):
    """For in-kernel decisions (open_ro): the workload's own time by part, per variant."""
    print("\n## open_ro: the function's own time per operation, by part (no supervisor work)\n")
    names = {"floor": "floor", "vigil-nolandlock": "vigil --no-landlock", "vigil-devnull": "vigil"}
    print("| part | " + " | ".join(names.get(v, v) for v in variants) + " |")
    print("|---|" + "---:|" * len(variants))
    table = {}
    for v in variants:
        data = os.path.join(out, f"perf-open_ro-{v}.data")
        r = subprocess.run(["perf", "record", "-q", "--no-buildid-cache", "-F", str(FREQ), "-o", data, "--"]
                           + b.cmd(v, argv(n), policy), capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"profile: perf record failed:\n{r.stderr}")
        r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-n", "--no-children",
                            "--sort", "comm,dso,sym"], capture_output=True, text=True)
        ops = n + min(n // 10, 100)
        for line in r.stdout.splitlines():
            m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$", line)
            if m and m.group(2) == "workload":
                g = groups_of(m.group(4).strip(), m.group(3))
                table.setdefault(g, {}).setdefault(v, 0.0)
                table[g][v] += int(m.group(1)) / FREQ / ops * 1e9
    for g, row in table.items():
        print(f"| {g} | " + " | ".join(f"{row.get(v, 0):.0f} ns" for v in variants) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--workloads", default="connect,forkexec,open_ro")
    a = ap.parse_args()
    a.scale, a.rounds, a.startup_rounds = 1.0, 0, 0
    b = bench.Bench(a)
    b.start_listener()
    try:
        wls = {w[0]: w for w in b.workloads()}
        policy = b.learn("workload", [w[1](max(10, w[2] // 100)) for w in wls.values()])
        sizes = {"connect": 20000, "forkexec": 1000, "open_ro": 200000, "getppid": 400000}
        for name in a.workloads.split(","):
            if name == "open_ro":
                in_kernel(b, wls[name][1], 1000000, policy, a.out,
                          ["floor", "vigil-nolandlock", "vigil-devnull"])
            else:
                profile(b, name, wls[name][1], sizes[name], policy, a.out)
    finally:
        b.stop_listener()


if __name__ == "__main__":
    main()
