#!/usr/bin/env python3
"""Vigil sensor overhead benchmark (issue 2). Driven by bench/sensor/run.sh; standard library only.

Runs the same workloads unmonitored, under a minimal allow-all seccomp filter (the floor of
any seccomp sensor), under `vigil run` (enforce mode, a policy learned by `vigil learn`) and
under `strace -f`, interleaved: every round runs every (workload, variant) pair once, in a
fresh random order. For the notified workloads (connect, fork+exec) it also runs a minimal
user-notification supervisor (notifsup.c) with and without SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
and modelling vigil's on-behalf connect, and vigil with events to /dev/null, so the report can
say where the time goes.

Figures: medians over rounds; ratios and differences are medians of the per-round pairs (both
sides measured in the same round, seconds apart), so slow phases of a shared machine hit both.
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

MIB = 1024 * 1024
MED = statistics.median

# Variants: how a command is run. (label for tables, short description)
VARIANTS = {
    "unmonitored": "unmonitored",
    "floor": "allow-all seccomp filter (floor)",
    "notify": "minimal notifying supervisor, answers CONTINUE (notifsup)",
    "notify-sync": "same, with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (notifsup --sync)",
    "notify-onbehalf": "minimal supervisor performing connect on the caller's behalf (notifsup --onbehalf)",
    "vigil-nolandlock": "vigil with `--no-landlock` (seccomp layer only)",
    "vigil-devnull": "vigil, events to /dev/null",
    "vigil": "vigil, events to a file (the main figure)",
    "vigil-pipe": "vigil, events on stderr read through a pipe (as a Lambda runtime reads them)",
    "strace": "strace -f -qq -o /dev/null",
}
MAIN = ["unmonitored", "floor", "vigil", "strace"]


def quantile(xs, q):
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def fmt(ns, sign=False):
    """A duration in ns, in a readable unit."""
    if abs(ns) < 0.5:
        ns = 0.0
    p = "+" if sign and ns >= 0 else ("−" if ns < 0 else "")
    a = abs(ns)
    if a >= 1e6:
        return f"{p}{a / 1e6:.2f} ms"
    if a >= 1e4:
        return f"{p}{a / 1e3:.1f} µs"
    if a >= 1e3:
        return f"{p}{a / 1e3:.2f} µs"
    return f"{p}{a:.0f} ns"


class Bench:
    def __init__(self, a):
        self.a = a
        self.out = os.path.abspath(a.out)
        self.bin = os.path.join(self.out, "bin")
        self.vigil = os.path.abspath(a.vigil)
        self.workload = os.path.join(self.bin, "workload")
        self.strace = shutil.which("strace")
        self.events_dir = os.path.join(self.out, "events")
        os.makedirs(self.events_dir, exist_ok=True)
        self.listener = None
        self.port = None
        self.denials = 0
        self.vigil_runs = 0
        self.seq = 0
        self.shares = []  # other work's share of the CPUs during each round
        self.loaded = 0  # rounds left out because of it
        self.linked = []  # files the policies list that have more than one hard link
        self.log = open(os.path.join(self.out, "raw.jsonl"), "w")
        self.sync_ok = self.probe_sync()

    def tool(self, name):
        return os.path.join(self.bin, name)

    def probe_sync(self):
        r = subprocess.run([self.tool("notifsup"), "--sync", "/bin/true"], capture_output=True)
        return r.returncode == 0

    # ---- running one command --------------------------------------------------------------

    def cmd(self, variant, argv, policy, events=None):
        if variant == "unmonitored":
            return argv
        if variant == "floor":
            return [self.tool("floor")] + argv
        if variant == "notify":
            return [self.tool("notifsup")] + argv
        if variant == "notify-sync":
            return [self.tool("notifsup"), "--sync"] + argv
        if variant == "notify-onbehalf":
            return [self.tool("notifsup"), "--onbehalf"] + argv
        if variant == "vigil":
            return [self.vigil, "run", "--policy", policy, "--events", events, "--"] + argv
        if variant == "vigil-devnull":
            return [self.vigil, "run", "--policy", policy, "--events", "/dev/null", "--"] + argv
        if variant == "vigil-nolandlock":
            return [self.vigil, "run", "--policy", policy, "--no-landlock", "--events", "/dev/null",
                    "--"] + argv
        if variant == "vigil-pipe":
            return [self.vigil, "run", "--policy", policy, "--"] + argv
        if variant == "strace":
            return [self.strace, "-f", "-qq", "-o", "/dev/null"] + argv
        raise ValueError(variant)

    def count_denials(self, lines):
        bad = 0
        for line in lines:
            line = line.strip()
            if line.startswith("{"):
                e = json.loads(line)
                if e.get("action_id") == 2 or e.get("class_uid") == 2004:
                    bad += 1
                    if self.denials + bad <= 5:
                        print(f"  denial: {e.get('message')}", file=sys.stderr)
            elif re.match(r"vigil: \d+ denied", line):
                bad = max(bad, 1)
        self.denials += bad
        self.vigil_runs += 1

    def new_events(self):
        self.seq += 1
        return os.path.join(self.events_dir, f"run-{self.seq}.jsonl")

    def run_op(self, variant, argv, policy):
        """One timed workload run; returns ns per operation. vigil's events (a file, or stderr
        for vigil-pipe) are checked for denials; the other sinks are checked by vigil's own
        summary line on stderr."""
        events = self.new_events() if variant == "vigil" else None
        full = self.cmd(variant, argv, policy, events)
        r = subprocess.run(full, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"bench: {' '.join(full)} exited {r.returncode}\n{r.stderr[-2000:]}")
        if variant.startswith("vigil"):
            lines = r.stderr.splitlines()
            if events:
                with open(events) as f:
                    lines += f.readlines()
                os.unlink(events)
            self.count_denials(lines)
        return float(r.stdout.strip().splitlines()[-1].split()[3])

    # ---- set-up ---------------------------------------------------------------------------

    def start_listener(self):
        portfile = os.path.join(self.out, "port")
        if os.path.exists(portfile):
            os.unlink(portfile)
        self.listener = subprocess.Popen([self.workload, "listen", portfile])
        for _ in range(500):
            if os.path.exists(portfile):
                with open(portfile) as f:
                    self.port = int(f.read().strip())
                return
            time.sleep(0.01)
        raise SystemExit("bench: the loopback listener did not start")

    def stop_listener(self):
        if self.listener:
            self.listener.kill()
            self.listener.wait()

    def workloads(self):
        """(name, argv for N, N, N under strace, variants)."""
        ro = os.path.join(self.out, "ro.txt")
        with open(ro, "w") as f:
            f.write("read-only file for the open_ro workload\n")
        s = self.a.scale
        n = lambda x: max(1, int(x * s))
        notified = ["notify"] + (["notify-sync"] if self.sync_ok else [])
        w = self.workload
        return [
            ("getppid", lambda k: [w, "getppid", str(k)], n(400000), n(4000), MAIN),
            ("open_ro", lambda k: [w, "open_ro", str(k), ro], n(40000), n(2000), MAIN + ["vigil-nolandlock"]),
            ("connect", lambda k: [w, "connect", str(k), str(self.port)], n(2000), n(300),
             MAIN + notified + ["notify-onbehalf", "vigil-devnull", "vigil-pipe"]),
            ("forkexec", lambda k: [w, "forkexec", str(k)], n(150), n(40),
             MAIN + notified + ["vigil-devnull", "vigil-pipe"]),
        ]

    def learn(self, name, cmds):
        """Learns a policy from the commands, the way a user would; returns its path."""
        path = os.path.join(self.out, f"{name}.yaml")
        if os.path.exists(path):
            os.unlink(path)
        for c in cmds:
            r = subprocess.run([self.vigil, "learn", "--out", path, "--events", "/dev/null", "--"] + c,
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"bench: vigil learn failed: {c}\n{r.stderr}")
        return path

    # ---- measurements ---------------------------------------------------------------------

    def rounds(self, want, body, label):
        """Runs `body(round)` until `want` rounds ran on a quiet machine, or 2×want rounds in all.
        Before each round it waits (up to 2 minutes) for the other work to use < 25% of the
        CPUs; during the round it measures the share the other work took (all CPU time on the
        machine minus this benchmark's own and its children's). A round where that share was
        above 25% is "loaded" and left out of the figures. Returns the list of clean rounds."""
        clean, rnd, t0 = [], 0, time.time()
        while len(clean) < want and rnd < 2 * want:
            wait_quiet(patience=120)
            snap = load_snapshot()
            body(rnd)
            share = others_share(snap)
            self.shares.append(share)
            if share <= LOADED:
                clean.append(rnd)
            else:
                self.loaded += 1
            print(f"  {label} round {rnd + 1}: other work {100 * share:.0f}% "
                  f"({len(clean)}/{want} clean, {time.time() - t0:.0f} s)", file=sys.stderr)
            rnd += 1
        return clean

    def micro(self, wls, policy):
        per_round = []  # per round: {(workload, variant): ns per op}
        jobs = [(w, v) for w in wls for v in w[4] if v != "strace" or self.strace]

        def body(rnd):
            random.shuffle(jobs)
            got = {}
            for (name, argv, n, n_strace, _), v in jobs:
                ns = self.run_op(v, argv(n_strace if v == "strace" else n), policy)
                got[(name, v)] = ns
                self.log.write(json.dumps({"kind": "micro", "round": rnd, "workload": name,
                                           "variant": v, "ns_per_op": ns}) + "\n")
            per_round.append(got)

        clean = self.rounds(self.a.rounds, body, "micro")
        self.micro_rounds = (len(clean), len(per_round))
        res = {w[0]: {v: [] for v in w[4]} for w in wls}
        for rnd in clean:
            for (name, v), ns in per_round[rnd].items():
                res[name][v].append(ns)
        return res

    def startup(self, policy):
        """Wall time of one whole run of `CMD /bin/true`, in batches of 10, interleaved."""
        vs = ["unmonitored", "floor", "notify", "vigil-binary", "vigil"] + (["strace"] if self.strace else [])
        per_round = []

        def body(rnd):
            random.shuffle(vs)
            got = {}
            for v in vs:
                events = None
                if v == "vigil-binary":
                    cmd = [self.vigil, "--version"]
                else:
                    if v == "vigil":
                        events = self.new_events()
                    cmd = self.cmd(v, ["/bin/true"], policy, events)
                r = subprocess.run([self.tool("spawntime"), "10"] + cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    raise SystemExit(f"bench: spawntime {' '.join(cmd)} failed\n{r.stderr}")
                got[v] = [int(x) for x in r.stdout.split()]
                self.log.write(json.dumps({"kind": "startup", "round": rnd, "variant": v, "ns": got[v]}) + "\n")
                if events:
                    with open(events) as f:
                        self.count_denials(f.readlines())
                    os.unlink(events)
            per_round.append(got)

        clean = self.rounds(self.a.startup_rounds, body, "start-up")
        self.startup_rounds = (len(clean), len(per_round))
        res = {v: [] for v in vs}
        for rnd in clean:
            for v, xs in per_round[rnd].items():
                res[v].extend(xs)
        return res

    def peak_rss(self, cmd):
        """Runs cmd (vigil or strace as the direct child), sampling its /proc status; returns
        (VmHWM, largest VmRSS seen) in bytes, and the CPU time it had used at the last sample
        (`schedstat`, ns). VmHWM is the kernel's own peak, so gaps between samples do not hide
        a short peak; the CPU time misses at most the last 2 ms of the run."""
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        hwm = rss = cpu = 0
        status = f"/proc/{p.pid}/status"

        def field(text, name):
            m = re.search(rf"^{name}:\s+(\d+) kB", text, re.M)
            return int(m.group(1)) * 1024 if m else 0

        # The stderr pipe is drained at the end; the runs below write far less than its buffer
        # would need to be for vigil to block (events go to a file).
        while p.poll() is None:
            try:
                with open(status) as f:
                    t = f.read()
                if "VmHWM" in t:  # a zombie has no memory figures; keep the last live ones
                    hwm = max(hwm, field(t, "VmHWM"))
                    rss = max(rss, field(t, "VmRSS"))
                    with open(f"/proc/{p.pid}/schedstat") as f:
                        cpu = max(cpu, int(f.read().split()[0]))
            except (FileNotFoundError, ProcessLookupError):
                break
            time.sleep(0.002)
        err = p.stderr.read().decode()
        if p.wait() != 0:
            raise SystemExit(f"bench: {' '.join(cmd)} exited {p.returncode}\n{err}")
        return hwm, rss, cpu

    def rss(self, wls, policy):
        by = {w[0]: w for w in wls}
        rows = []
        # Long runs: memory that grows with the number of notifications or processes shows here.
        for name, n in [("connect", 10 * by["connect"][2]), ("forkexec", 4 * by["forkexec"][2]),
                        ("getppid", by["getppid"][2])]:
            argv = by[name][1](n)
            ev = self.new_events()
            vh, vr, vc = self.peak_rss(self.cmd("vigil", argv, policy, ev))
            with open(ev) as f:
                self.count_denials(f.readlines())
            os.unlink(ev)
            sh = sr = sc = 0
            if self.strace:
                sh, sr, sc = self.peak_rss(self.cmd("strace", argv, policy))
            # Per operation, the workload's warm-up included (as `profile.py` counts it).
            ops = n + min(n // 10, 100)
            rows.append((name, n, vh, vr, sh, sr, vc / ops, sc / ops))
            self.log.write(json.dumps({"kind": "rss", "workload": name, "n": n, "vigil_hwm": vh,
                                       "vigil_rss": vr, "strace_hwm": sh, "strace_rss": sr,
                                       "vigil_cpu_ns": vc, "strace_cpu_ns": sc}) + "\n")
        return rows

    def supervisor_syscalls(self, wls, policy):
        """System calls the supervisor makes per operation: `strace -c` attached to the vigil
        process (not its children) during a separate, untimed run. Needs CAP_SYS_PTRACE (the
        supervisor is not dumpable), so only as root."""
        if os.geteuid() != 0 or not self.strace:
            return {}
        by = {w[0]: w for w in wls}
        out = {}
        # Counts are per occurrence of a marker call: one connect per connect, one pidfd_open per
        # new process.
        for name, n, marker in [("connect", 2000, "connect"), ("forkexec", 200, "pidfd_open")]:
            argv = by[name][1](n)
            p = subprocess.Popen(self.cmd("vigil-devnull", argv, policy),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.02)  # attach after the hand-off, before the warm-up is over
            path = os.path.join(self.out, f"syscalls-{name}.txt")
            s = subprocess.run([self.strace, "-c", "-o", path, "-p", str(p.pid)],
                               capture_output=True, text=True)
            p.wait()
            counts = {}
            if s.returncode == 0 and os.path.exists(path):
                with open(path) as f:
                    for line in f:
                        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)$", line)
                        if m and m.group(3) != "total":
                            counts[m.group(3)] = int(m.group(1))
            if counts.get(marker):
                out[name] = {k: v / counts[marker] for k, v in counts.items()}
        return out


def cpu_busy(interval=0.3):
    """Fraction of all CPUs busy over `interval` seconds (from /proc/stat), measured while the
    benchmark itself runs nothing: the other work on a shared machine."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v), idle
    t0, i0 = snap()
    time.sleep(interval)
    t1, i1 = snap()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


LOADED = 0.25  # a round where other work took more of the CPUs than this is left out


def load_snapshot():
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its waited-for
    children, wall time)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    busy = (sum(v[:8]) - v[3] - v[4]) / hz
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system, time.time()


def others_share(before):
    """Share of all CPUs used by other work since `before` (a load_snapshot)."""
    b0, m0, w0 = before
    b1, m1, w1 = load_snapshot()
    wall = max(1e-3, w1 - w0) * (os.cpu_count() or 1)
    return max(0.0, ((b1 - b0) - (m1 - m0)) / wall)


def wait_quiet(limit=0.25, patience=60.0):
    """Waits (up to `patience` s) until other work uses less than `limit` of the machine; returns
    the last measured fraction."""
    deadline = time.time() + patience
    busy = cpu_busy()
    while busy > limit and time.time() < deadline:
        time.sleep(2)
        busy = cpu_busy()
    return busy


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return (f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} vCPUs, "
            f"{mem // 1024} GiB RAM, kernel {platform.release()}, {idle_setting()}")


def idle_setting():
    """How an idle CPU waits: with no guest halt polling (cpuidle-haltpoll with
    guest_halt_poll_ns=0), every wake-up of an idle vCPU goes through the hypervisor, which is
    what a notifying supervisor's cross-CPU wake-ups cost on two vCPUs (see bench/README.md)."""
    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return None
    driver = read("/sys/devices/system/cpu/cpuidle/current_driver") or "no cpuidle driver"
    poll = read("/sys/module/haltpoll/parameters/guest_halt_poll_ns")
    if poll is None:
        return f"cpuidle: {driver}"
    return f"cpuidle: {driver}, guest halt polling {'off' if poll == '0' else poll + ' ns'}"


def linked_files(policies):
    """Files a learned policy lists (programs, mapped libraries) that have more than one hard
    link: vigil names from memory only files with one link (another link's name could pass for
    this one's), so each exec or mapping of these takes the slower path, through the kernel's
    name. perf's build-id cache (~/.debug) hard-links every binary it has profiled."""
    found = {}
    for path in policies:
        with open(path) as f:
            for line in f:
                m = re.match(r"\s*- (/\S+)\s*$", line)
                if not m:
                    continue
                try:
                    n = os.stat(m.group(1)).st_nlink
                except OSError:
                    continue
                if n > 1:
                    found[m.group(1)] = n
    return sorted(found.items())


def git_rev(root):
    if os.environ.get("VIGIL_REV"):
        return os.environ["VIGIL_REV"]
    r = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def report(a, b, wls, micro, start, rss, sysc, load0, load1, elapsed, pinned):
    lines = []
    add = lines.append

    def pairs(name, x, y, f):
        r = micro[name]
        return [f(p, q) for p, q in zip(r[x], r[y])]

    ratio = lambda name, x, y: pairs(name, x, y, lambda p, q: p / q)
    diff = lambda name, x, y: pairs(name, x, y, lambda p, q: p - q)

    targets = {
        "getppid": ("ratio", "floor", 1.15, "≤ 1.15× floor"),
        "open_ro": ("ratio", "floor", 1.15, "≤ 1.15× floor"),
        "connect": ("diff", "floor", 25000.0, "≤ +25 µs over floor"),
        "forkexec": ("ratio", "unmonitored", 1.3, "≤ 1.3× unmonitored"),
    }
    labels = {
        "getppid": "getppid",
        "open_ro": "open + close, read-only",
        "connect": "socket + connect + close, 127.0.0.1",
        "forkexec": "fork + exec /bin/true + wait",
    }
    has_strace = bool(b.strace)
    results = []

    cpu = (f"**pinned to one CPU** (`taskset`-style affinity {sorted(pinned)}: function and supervisor "
           f"share it)" if pinned else "not pinned")
    add(f"Machine: {machine()}; **shared with other work**: during a round, other work took "
        f"{100 * MED(b.shares):.0f}% of the CPUs (median over rounds; max {100 * max(b.shares):.0f}%); "
        f"{b.loaded} rounds where it took more than {100 * LOADED:.0f}% were left out and rerun; "
        f"load average {load0[0]:.2f} at start and {load1[0]:.2f} at end; {cpu}. vigil {git_rev(a.root)}, release build; "
        f"{datetime.date.today().isoformat()}; run as {'root' if os.geteuid() == 0 else 'an unprivileged user'}; "
        f"{elapsed:.0f} s in all.\n")
    if b.linked:
        add("**Note:** files the workloads run or map have more than one hard link ("
            + ", ".join(f"`{p}` {n}" for p, n in b.linked)
            + "). vigil names from memory only files with one link, so these runs measure its slower "
            "path (the kernel's name, read for every exec or mapping). perf's build-id cache "
            "(`~/.debug`) hard-links the binaries it has profiled.\n")
    add(f"Per-operation times are medians over {b.micro_rounds[0]} clean interleaved rounds (of "
        f"{b.micro_rounds[1]} run; start-up: {b.startup_rounds[0]} of {b.startup_rounds[1]}); ratios and differences are "
        f"medians of per-round pairs. vigil runs in enforce mode with a policy learned by `vigil learn`; "
        f"{b.vigil_runs} measured vigil runs, **{b.denials} denials**.\n")
    add("| workload (per operation) | unmonitored | floor | vigil | strace -f | vigil / floor | "
        "vigil / unmonitored | strace / unmonitored | target | result |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for name, _argv, n, n_strace, _vs in wls:
        r = micro[name]
        m = {v: MED(r[v]) for v in r if r[v]}
        rf, ru = ratio(name, "vigil", "floor"), ratio(name, "vigil", "unmonitored")
        kind, base, limit, text = targets[name]
        if kind == "ratio":
            val = MED(rf if base == "floor" else ru)
            got = f"{val:.2f}×"
        else:
            val = MED(diff(name, "vigil", base))
            got = fmt(val, sign=True)
        ok = val <= limit
        results.append((name, ok))
        st = fmt(m["strace"]) if has_strace else "–"
        sr = f"{MED(ratio(name, 'strace', 'unmonitored')):.0f}×" if has_strace else "–"
        add(f"| {labels[name]} | {fmt(m['unmonitored'])} | {fmt(m['floor'])} | {fmt(m['vigil'])} | {st} | "
            f"{MED(rf):.2f}× | {MED(ru):.2f}× | {sr} | {text} | {'pass' if ok else '**MISS**'} ({got}) |")

    sm = {v: MED(xs) for v, xs in start.items()}
    sp = {v: quantile(xs, 0.9) for v, xs in start.items()}
    added = sm["vigil"] - sm["unmonitored"]
    ok = added <= 3e6
    results.append(("startup", ok))
    st = fmt(sm["strace"]) if "strace" in sm else "–"
    sr = f"{sm['strace'] / sm['unmonitored']:.1f}×" if "strace" in sm else "–"
    add(f"| `CMD /bin/true`, whole run, wall time | {fmt(sm['unmonitored'])} | {fmt(sm['floor'])} | "
        f"{fmt(sm['vigil'])} | {st} | {sm['vigil'] / sm['floor']:.2f}× | {sm['vigil'] / sm['unmonitored']:.2f}× | "
        f"{sr} | ≤ +3 ms | {'pass' if ok else '**MISS**'} ({fmt(added, sign=True)}; p90 "
        f"{fmt(sp['vigil'] - sp['unmonitored'], sign=True)}) |")
    if rss:
        peak = max(x[2] for x in rss)
        ok = peak <= 10 * MIB
        results.append(("rss", ok))
        speak = f"{max(x[4] for x in rss) / MIB:.1f} MiB" if has_strace else "–"
        add(f"| peak RSS of the monitor (VmHWM), largest run | – | – | {peak / MIB:.1f} MiB | {speak} | – | – | – | "
            f"≤ 10 MiB | {'pass' if ok else '**MISS**'} |")
    add("")
    add("Targets: " + ", ".join(f"{n} {'pass' if ok else 'MISS'}" for n, ok in results) + ".\n")

    # Spread and iterations.
    add("Spread over rounds (10th–90th percentile of the per-round pairs) and iterations per run "
        "(strace runs fewer; its figure is per operation too):\n")
    add("| workload | N | N (strace) | vigil / floor | vigil / unmonitored | vigil − floor | vigil − unmonitored |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for name, _argv, n, n_strace, _vs in wls:
        rf, ru = ratio(name, "vigil", "floor"), ratio(name, "vigil", "unmonitored")
        df, du = diff(name, "vigil", "floor"), diff(name, "vigil", "unmonitored")
        add(f"| {name} | {n} | {n_strace} | {quantile(rf, .1):.2f}–{quantile(rf, .9):.2f}× | "
            f"{quantile(ru, .1):.2f}–{quantile(ru, .9):.2f}× | {fmt(MED(df), True)} ({fmt(quantile(df, .1), True)} "
            f"to {fmt(quantile(df, .9), True)}) | {fmt(MED(du), True)} |")
    add("")

    # Where the time goes.
    for name, base in [("open_ro", "floor"), ("connect", "floor"), ("forkexec", "unmonitored")]:
        r = micro[name]
        add(f"Where the time goes, {labels[name]} (per operation; differences are medians of per-round "
            f"pairs against {base}):\n")
        add(f"| variant | median | − {base} | / {base} |")
        add("|---|---:|---:|---:|")
        for v in ["unmonitored", "floor", "notify", "notify-sync", "notify-onbehalf", "vigil-nolandlock",
                  "vigil-devnull", "vigil", "vigil-pipe"]:
            if v in r and r[v]:
                add(f"| {VARIANTS[v]} | {fmt(MED(r[v]))} | {fmt(MED(diff(name, v, base)), True)} | "
                    f"{MED(ratio(name, v, base)):.2f}× |")
        if name in sysc and sysc[name]:
            c = sysc[name]
            total = sum(c.values())
            calls = ", ".join(f"{k} {v:.1f}" for k, v in sorted(c.items(), key=lambda kv: -kv[1]) if v >= 0.05)
            add(f"\nSupervisor system calls per operation ({total:.1f}; `strace -c` attached to the vigil "
                f"process in a separate run): {calls}.")
        add("")

    add("Start-up, wall time of one whole run (batches of 10 runs, interleaved):\n")
    add("| variant | median | p90 | − /bin/true (median) | − /bin/true (p90) |")
    add("|---|---:|---:|---:|---:|")
    names = {"unmonitored": "`/bin/true`", "floor": "`floor /bin/true`", "notify": "`notifsup /bin/true`",
             "vigil-binary": "`vigil --version` (the binary's own start-up)",
             "vigil": "`vigil run --policy true.yaml -- /bin/true`", "strace": "`strace -f /bin/true`"}
    for v in ["unmonitored", "floor", "notify", "vigil-binary", "vigil", "strace"]:
        if v in sm:
            add(f"| {names[v]} | {fmt(sm[v])} | {fmt(sp[v])} | {fmt(sm[v] - sm['unmonitored'], True)} | "
                f"{fmt(sp[v] - sp['unmonitored'], True)} |")
    add("")
    if rss:
        add("Memory and CPU time of the monitoring process (vigil's supervisor; strace), separate "
            "runs; CPU per operation from its `schedstat`, start-up included:\n")
        add("| run | vigil VmHWM | vigil VmRSS (max sampled) | strace VmHWM | strace VmRSS | "
            "vigil CPU / op | strace CPU / op |")
        add("|---|---:|---:|---:|---:|---:|---:|")
        for name, n, vh, vr, sh, sr, vc, sc in rss:
            add(f"| {name} × {n} | {vh / MIB:.1f} MiB | {vr / MIB:.1f} MiB | {sh / MIB:.1f} MiB | "
                f"{sr / MIB:.1f} MiB | {fmt(vc)} | {fmt(sc) if sc else '–'} |")
        add("")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--out", required=True, help="work directory (binaries in OUT/bin)")
    ap.add_argument("--root", required=True)
    ap.add_argument("--report", required=True, help="where to write the markdown report")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--startup-rounds", type=int, default=30)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every N")
    ap.add_argument("--pin", type=int, default=None, metavar="CPU",
                    help="run everything on this one CPU (supervisor and function share it)")
    a = ap.parse_args()
    pinned = None
    if a.pin is not None:
        os.sched_setaffinity(0, {a.pin})
        pinned = {a.pin}
    b = Bench(a)
    if not b.sync_ok:
        print("bench: SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP not available (Linux < 6.6?); skipping that variant",
              file=sys.stderr)
    load0 = os.getloadavg()
    started = time.time()
    b.start_listener()
    try:
        wls = b.workloads()
        print("bench: learning the policies (vigil learn)", file=sys.stderr)
        wl_policy = b.learn("workload", [w[1](max(10, w[2] // 100)) for w in wls])
        true_policy = b.learn("true", [["/bin/true"]])
        b.linked = linked_files([wl_policy, true_policy])
        for p, n in b.linked:
            print(f"bench: {p} has {n} hard links: vigil takes its slower path for it "
                  f"(see the report)", file=sys.stderr)
        print(f"bench: {a.rounds} rounds of {sum(len(w[4]) for w in wls)} runs", file=sys.stderr)
        micro = b.micro(wls, wl_policy)
        print(f"bench: start-up, {a.startup_rounds} rounds", file=sys.stderr)
        start = b.startup(true_policy)
        print("bench: memory and supervisor system calls (untimed runs)", file=sys.stderr)
        rss = b.rss(wls, wl_policy)
        sysc = b.supervisor_syscalls(wls, wl_policy)
    finally:
        b.stop_listener()
    text = report(a, b, wls, micro, start, rss, sysc, load0, os.getloadavg(), time.time() - started, pinned)
    with open(a.report, "w") as f:
        f.write(text)
    print(text)
    if b.denials:
        print(f"bench: {b.denials} denials in measured vigil runs: the policy does not cover the workload, "
              f"the figures are not valid", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
