#!/usr/bin/env python3
"""Markdown tables for bench/serverless.md from bench/serverless.sh's JSON (argv[1]: its OUT)."""
import json
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-serverless"
POL = ["keepalive:10m", "keepalive:20m", "kpa", "keda", "hybrid-histogram", "bascaler"]


def load(st):
    tr = []
    for kind in ("traces", "synthetic"):
        d = json.load(open(f"{out}/{kind}-{st}.json"))
        tr += d["traces"] if "traces" in d else [d]
    return tr


def short(name):
    return name.replace("azure_functions_2019_fn_", "").replace("_per_minute", "")


summary = []
for st in ("1s", "10s", "30s"):
    print(f"\n### Start-up delay {st}\n")
    print("Per cell: cold starts per 1,000 requests / p99 held latency (s) / idle pod-hours / total pod-hours.\n")
    print("| workload | requests | " + " | ".join(POL) + " |")
    print("|---|---:|" + "---|" * len(POL))
    wins = fewest = idle_ok = both = lost = 0
    for t in load(st):
        res = {r["policy"]: r for r in t["results"]}
        cells = []
        for p in POL:
            r = res[p]
            cells.append(f"{r['cold_starts_per_1000']:.1f} / {r['held_latency_p99_ms']/1000:.1f} / {r['idle_pod_hours']:.2f} / {r['cost_pod_hours']:.2f}")
        print(f"| {short(t['trace'])} | {res[POL[0]]['requests']:.0f} | " + " | ".join(cells) + " |")
        b = res["bascaler"]
        others = [res[p] for p in POL if p != "bascaler"]
        strictly = all(b["cold_starts"] < o["cold_starts"] - 1e-9 for o in others)
        ties = all(b["cold_starts"] <= o["cold_starts"] + 1e-9 for o in others)
        idle = b["idle_pod_hours"] <= res["hybrid-histogram"]["idle_pod_hours"] + 1e-9
        wins += ties
        fewest += strictly
        idle_ok += idle
        both += ties and idle
        lost += b["failed_requests"] > 1e-9 and min(o["failed_requests"] for o in others) <= 1e-9
    summary.append((st, fewest, wins, idle_ok, both, lost, len(load(st))))

print("\n### Totals per set (start-up 10 s)\n")
print("Cold starts per 1,000 of all the set's requests; p99 held latency: the worst workload's; pod-hours summed.\n")
print("| set | policy | cold starts / 1,000 | worst p99 held (s) | idle pod-hours | total pod-hours |")
print("|---|---|---:|---:|---:|---:|")
for kind in ("traces", "synthetic"):
    d = json.load(open(f"{out}/{kind}-10s.json"))
    trs = d["traces"] if "traces" in d else [d]
    for p in POL:
        rs = [r for t in trs for r in t["results"] if r["policy"] == p]
        cold, req = sum(r["cold_starts"] for r in rs), sum(r["requests"] for r in rs)
        print(f"| {kind} | {p} | {1000*cold/req:.2f} | {max(r['held_latency_p99_ms'] for r in rs)/1000:.1f} | "
              f"{sum(r['idle_pod_hours'] for r in rs):.2f} | {sum(r['cost_pod_hours'] for r in rs):.2f} |")

print("\n### Against the aim\n")
print("| start-up | bascaler: strictly fewer cold starts than every baseline | no more than any (ties count) | idle <= hybrid-histogram | no more cold starts than any and idle <= hybrid | requests lost that a baseline served | workloads |")
print("|---|---:|---:|---:|---:|---:|---:|")
for st, f, w, i, b, l, n in summary:
    print(f"| {st} | {f} | {w} | {i} | {b} | {l} | {n} |")
