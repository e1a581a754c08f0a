#!/usr/bin/env bash
# Everything a lent GPU machine is for, in one call: build the extension for the card
# (sm_90 by default), run the CUDA tests, run the GPU benchmarks. Results go to $OUT:
# cuda-tests.log, bench.log, bench-gpu.json (pytest-benchmark) and bench-gpu.jsonl (one
# line per finished case, so a time-out keeps what was measured).
#   bash bench/gpu_run.sh            # BENCH_K=<pytest -k expr> narrows the benchmarks
set -uo pipefail
# pytorch-fid is not installed there: carry its wheel in .whl/ (see docs/performance.md).
if ls .whl/*.whl > /dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
OUT=${OUT:-/tmp/genbench-gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 GENBENCH_CUDA=ON GENBENCH_CUDA_ARCHITECTURES=${GENBENCH_CUDA_ARCHITECTURES:-90}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/gpu.txt"

start=$(date +%s)
if ! python3 -m pip install -q --no-build-isolation --no-deps -e . > "$OUT/build.log" 2>&1; then
  tail -60 "$OUT/build.log"; exit 1
fi
for p in plugins/*/; do python3 -m pip install -q --no-build-isolation --no-deps -e "$p" >> "$OUT/build.log" 2>&1; done
echo "build: $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu.txt"
python3 -c "import harness.ops as o; print('ops built:', o.built_backends(), o.LOAD_ERROR or '')" | tee -a "$OUT/gpu.txt"

timeout "${TEST_TIMEOUT:-180}" python3 -m pytest tests/test_ops_bias_act_upsample.py tests/test_ops_diffusion.py \
  tests/test_ops_autograd.py tests/test_ssim.py tests/test_domain_fd.py tests/test_fid_inception.py -m cuda -q \
  -p no:cacheprovider > "$OUT/cuda-tests.log" 2>&1
echo "cuda tests exit: $?"; tail -15 "$OUT/cuda-tests.log"

# BENCH_FILES=bench/test_bench_ops.py (the default) or more, e.g. "bench/test_bench_ops.py bench/test_bench_fid.py".
# shellcheck disable=SC2086
GENBENCH_BENCH_LOG="$OUT/bench-gpu.jsonl" timeout "${BENCH_TIMEOUT:-300}" python3 -m pytest ${BENCH_FILES:-bench/test_bench_ops.py} \
  -k "cuda and (${BENCH_K:-not nothing})" -q -p no:cacheprovider --benchmark-json="$OUT/bench-gpu.json" \
  --benchmark-min-rounds=5 --benchmark-max-time=0.1 > "$OUT/bench.log" 2>&1
echo "bench exit: $?"; grep -A60 -E "fused ops:|feature extraction:" "$OUT/bench.log" || tail -30 "$OUT/bench.log"
