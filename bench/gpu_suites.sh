#!/usr/bin/env bash
# On a lent GPU machine, after bench/gpu_run.sh has built and installed genbench: the
# quick suite on the GPU, and DCGAN at the DCGAN-on-MNIST paper's settings for a minute
# of the standard budget. Leaderboards, sample grids and stats go to $OUT.
#   BENCH_K=none bash bench/gpu_run.sh && bash bench/gpu_suites.sh
set -uo pipefail
OUT=${OUT:-/tmp/genbench-gpu}
[ -d /tmp/site ] && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
runs=/tmp/genbench-gpu-runs
for suite in quick bench/suites/dcgan-gpu-minute.toml; do
  timeout "${SUITE_TIMEOUT:-300}" genbench run --suite "$suite" --device cuda --out "$runs" --no-progress \
    > "$OUT/leaderboard-$(basename "$suite" .toml).md" 2> "$OUT/run-$(basename "$suite" .toml).log"
  echo "$suite exit: $?"
done
for d in "$runs"/*/; do
  name=$(basename "$d")
  [ -f "$d/samples.png" ] && cp "$d/samples.png" "$OUT/samples-$name.png"
  [ -f "$d/stats.jsonl" ] && cp "$d/stats.jsonl" "$OUT/stats-$name.jsonl"
done
