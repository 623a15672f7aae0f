"""Side-by-side timing and finding comparison of vigil, Parliament and Cloudsplaining.

Run through bench/scan/run.sh, which provides the venv with both tools installed.
Prints a table of timings (with the machine) and, per category, how many policies each
tool flags and where they disagree; writes every disagreement to OUT/differences.json.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time


def best_of(n, fn):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    files = sorted(
        os.path.join(args.corpus, f) for f in os.listdir(args.corpus) if f.endswith(".json")
    )
    texts = {os.path.basename(f)[:-5]: open(f, encoding="utf-8").read() for f in files}
    one = os.path.join(args.corpus, "AWSLambda_FullAccess.json")
    if not os.path.exists(one):
        one = files[0]

    # --- vigil: the whole corpus in one process, and one invocation on one file.
    def vigil_corpus():
        r = subprocess.run([args.vigil, "scan", "iam", "--format", "json", args.corpus],
                           capture_output=True, check=False)
        vigil_corpus.out = r.stdout

    t_vigil = best_of(3, vigil_corpus)
    t_vigil_one = best_of(10, lambda: subprocess.run(
        [args.vigil, "scan", "iam", "--format", "json", one], capture_output=True, check=False))
    report = json.loads(vigil_corpus.out)
    ours = {}
    for f in report["findings"]:
        name = os.path.basename(f["file"])[:-5]
        ours.setdefault(name, set()).add((f["category"], f["code"]))

    # --- Cloudsplaining, in process (its own checks, default exclusions and settings).
    from cloudsplaining.scan.policy_document import PolicyDocument

    cs = {}

    def cloudsplaining_corpus():
        for name, text in texts.items():
            d = PolicyDocument(json.loads(text))
            cs[name] = {
                "privilege-escalation": [p["type"] for p in d.allows_privilege_escalation],
                "data-exfiltration": d.allows_data_exfiltration_actions,
                "credentials-exposure": d.credentials_exposure,
                "resource-exposure": d.permissions_management_without_constraints,
                "infrastructure-modification": d.infrastructure_modification,
                "service-wildcard": d.service_wildcard,
            }

    t_cs = best_of(1, cloudsplaining_corpus)

    # --- Parliament, in process (default auditors, as `parliament --file` runs them).
    import parliament

    pa = {}
    crashed = {}

    def parliament_corpus():
        for name, text in texts.items():
            try:
                p = parliament.analyze_policy_string(text)
                pa[name] = sorted({f.issue for f in p.findings})
            except Exception as e:  # Parliament raises on some current policies
                pa[name] = []
                crashed[name] = str(e)

    t_pa = best_of(1, parliament_corpus)

    venv_bin = os.path.dirname(sys.executable)
    t_pa_one = best_of(3, lambda: subprocess.run(
        [os.path.join(venv_bin, "parliament"), "--file", one], capture_output=True, check=False))
    t_cs_one = best_of(3, lambda: subprocess.run(
        [os.path.join(venv_bin, "cloudsplaining"), "scan-policy-file", "--input-file", one],
        capture_output=True, check=False))

    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}"
    print(f"machine: {machine}; corpus: {len(files)} policies")
    print(f"{'tool':<16}{'whole corpus (s)':>18}{'one file, CLI (s)':>20}{'corpus vs vigil':>18}")
    for tool, t, t1 in (("vigil", t_vigil, t_vigil_one), ("cloudsplaining", t_cs, t_cs_one),
                        ("parliament", t_pa, t_pa_one)):
        print(f"{tool:<16}{t:>18.3f}{t1:>20.3f}{t / t_vigil:>17.1f}x")
    print(f"parliament raised an exception on {len(crashed)} of {len(files)} policies "
          f"(e.g. {sorted(set(crashed.values()))[:3]})")
    print("(vigil: one process over the directory, best of 3; Cloudsplaining and Parliament: "
          "in-process loop over the parsed files, one run; one file: a CLI invocation, best of 3-10)")

    # --- Per-policy comparison by category.
    def has(name, category):
        return any(c == category for c, _ in ours.get(name, ()))

    rows = []
    diffs = {}
    for cat in ("privilege-escalation", "data-exfiltration", "credentials-exposure",
                "resource-exposure", "infrastructure-modification", "service-wildcard"):
        rows.append(compare(cat, "cloudsplaining", lambda n, c=cat: has(n, c),
                            lambda n, c=cat: bool(cs[n][c]), texts, diffs, cs, ours, c=cat))
    for cat, issues in (("unknown-action", {"UNKNOWN_ACTION", "UNKNOWN_PREFIX"}),
                        ("resource-mismatch", {"RESOURCE_MISMATCH"}),
                        ("resource-wildcard", {"RESOURCE_STAR"})):
        rows.append(compare(cat, "parliament", lambda n, c=cat: has(n, c),
                            lambda n, i=issues: bool(set(pa[n]) & i), texts, diffs, pa, ours, c=cat))
    print()
    print(f"{'category':<30}{'peer':<16}{'vigil':>7}{'peer':>7}{'both':>7}{'only vigil':>12}{'only peer':>11}")
    for r in rows:
        print(f"{r[0]:<30}{r[1]:<16}{r[2]:>7}{r[3]:>7}{r[4]:>7}{r[5]:>12}{r[6]:>11}")
    diffs["parliament crashed"] = crashed
    with open(os.path.join(args.out, "differences.json"), "w") as f:
        json.dump(diffs, f, indent=1, sort_keys=True, default=sorted)
    print(f"\nevery disagreement: {os.path.join(args.out, 'differences.json')}")


def compare(cat, peer, ours_fn, theirs_fn, texts, diffs, peer_data, ours, c):
    a = {n for n in texts if ours_fn(n)}
    b = {n for n in texts if theirs_fn(n)}
    diffs[f"{cat} only vigil"] = {n: sorted(code for k, code in ours.get(n, ()) if k == c) for n in sorted(a - b)}
    diffs[f"{cat} only {peer}"] = {n: peer_data[n].get(c) if isinstance(peer_data[n], dict) else peer_data[n]
                                  for n in sorted(b - a)}
    return (cat, peer, len(a), len(b), len(a & b), len(a - b), len(b - a))


if __name__ == "__main__":
    main()
