#!/usr/bin/env bash
# Scale-to-zero benchmark (bench/serverless.md): every per-function Azure Functions 2019
# trace in ../shared/traces/serverless and the synthetic on/off workloads, under the six
# serverless policies, with a cold-start (pod start-up) delay of 1 s, 10 s and 30 s.
# Writes JSON per start-up delay into $OUT (default /tmp/bench-serverless) and the plots
# (simulate --out) for each delay into $OUT/plots-<delay>.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/bench-serverless}
T=${TRACES:-../shared/traces/serverless}
mkdir -p "$OUT"
go build -o "$OUT/bascaler" ./cmd/bascaler
traces=$(ls "$T"/*_per_minute.csv | paste -sd, -)
for st in 1s 10s 30s; do
  # Trace files: raw invocations per minute (--normalize none), the default 60/20/20 split,
  # the test fifth (96 minutes) evaluated, the first 80% as the policies' history.
  "$OUT/bascaler" simulate --trace "$traces" --normalize none --min 0 --startup "$st" \
    --policy keepalive:10m,keepalive:20m,kpa,keda,hybrid-histogram,bascaler \
    --format json >"$OUT/traces-$st.json" 2>/dev/null
  "$OUT/bascaler" simulate --trace synthetic:onoff-periodic,synthetic:onoff-irregular --min 0 --startup "$st" \
    --policy keepalive:10m,keepalive:20m,kpa,keda,hybrid-histogram,bascaler \
    --format json >"$OUT/synthetic-$st.json" 2>/dev/null
  # The same runs again with --out: per-interval CSVs, plots and the cold-start vs idle-time
  # plane per workload and over each set (coldstart_idle_all.svg).
  "$OUT/bascaler" simulate --trace "$traces" --normalize none --min 0 --startup "$st" \
    --policy keepalive:10m,keepalive:20m,kpa,keda,hybrid-histogram,bascaler \
    --format csv --out "$OUT/plots-traces-$st" >"$OUT/traces-$st.csv" 2>/dev/null
  "$OUT/bascaler" simulate --trace synthetic:onoff-periodic,synthetic:onoff-irregular --min 0 --startup "$st" \
    --policy keepalive:10m,keepalive:20m,kpa,keda,hybrid-histogram,bascaler \
    --format csv --out "$OUT/plots-synthetic-$st" >"$OUT/synthetic-$st.csv" 2>/dev/null
done
python3 bench/serverless_tables.py "$OUT" >"$OUT/tables.md"
echo "wrote $OUT ($OUT/tables.md)"
