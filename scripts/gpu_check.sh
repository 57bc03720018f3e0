#!/usr/bin/env bash
# On a GPU machine: the conformance, placement and device suites with every model on CUDA
# (tests/test_devices.py: each public computation on CUDA against the CPU), then the scoring
# benchmark on CUDA and on the CPU in the same run. Staged by scripts/gpu_stage.sh (wheels, a copy
# of the checkout, SmolLM2's config + tokenizer); writes logs and the benchmark's JSON/markdown to
# $OUT. Each step has its own time limit and a failing step does not stop the next.
#
#   usage: bash STAGE/tree/scripts/gpu_check.sh STAGE      (OUT=folder for the results)
# Knobs: TESTS_S / BENCH_S (each step's limit, s), SEQ_LENS, TEXT_LENS, REPS, TEST_DEVICE
# (cuda), BENCH_DEVICES (cuda,cpu), PYTHON, SITE (where the wheels go), NO_INSTALL=1 (skip them).
set -uo pipefail
stage=$(cd "${1:?usage: gpu_check.sh STAGE}" && pwd)
tree=$stage/tree
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
py=${PYTHON:-python3}
site=${SITE:-/tmp/site}
t0=$(date +%s)

step() {  # step NAME LIMIT_S CMD...: run CMD from the tree, its output to $OUT/NAME.txt and here
  local name=$1 limit=$2
  shift 2
  echo "=== [$(($(date +%s) - t0)) s] $name (limit ${limit} s): $*"
  (cd "$tree" && timeout -k 10 "$limit" "$@") 2>&1 | tee "$OUT/$name.txt"
  local rc=${PIPESTATUS[0]}
  echo "=== [$(($(date +%s) - t0)) s] $name: exit $rc"
}

{
  echo "=== install wheels into $site"
  [ -n "${NO_INSTALL:-}" ] || "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
    "$stage"/whl/*.whl || echo "!!! wheel install failed"
  export PYTHONPATH=$site:$tree/src
  nvidia-smi -L
  "$py" - <<'PY'
import importlib.metadata as md, platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
for d in ("transformers", "transformer_lens", "anywidget", "ipywidgets", "datasets", "numpy", "pytest"):
    try:
        print(d, md.version(d))
    except Exception as e:
        print(d, "MISSING", e)
import induction_widgets as iw
print("induction_widgets from", iw.__file__)
PY
} 2>&1 | tee "$OUT/env.txt"
export PYTHONPATH=$site:$tree/src

IW_TEST_DEVICE=${TEST_DEVICE:-cuda} step tests "${TESTS_S:-180}" "$py" -m pytest -v -rfEx \
  -p no:cacheprovider tests/test_conformance.py tests/test_placement.py tests/test_devices.py
step bench "${BENCH_S:-200}" "$py" -m benchmarks.scoring --config "$stage/smollm2" \
  --build-dir /tmp/iw-smollm2-random --devices "${BENCH_DEVICES:-cuda,cpu}" --seq-lens "${SEQ_LENS:-25,100,250,500}" \
  --text-lens "${TEXT_LENS:-1024}" --reps "${REPS:-3}" --budget-s $(( ${BENCH_S:-200} - 40 )) \
  --json "$OUT/bench.json" --md "$OUT/bench.md"
echo "=== done in $(($(date +%s) - t0)) s"
