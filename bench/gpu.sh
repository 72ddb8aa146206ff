#!/usr/bin/env bash
# The GPU measurements of issue 15 in one run (about 8 minutes on an H200): the GPU tests, the supernet's
# forward+backward (bench/supernet.py) and the search and retraining steps (bench/search.py) at the paper's
# denoising and SR search configs, fp32 and bf16, with and without cell sharing, the DARTS-style baseline in
# the same run, peak CUDA memory and the largest batch that fits. Needs only PyTorch with CUDA, numpy,
# pandas, pyarrow, scikit-image, matplotlib and pytest (no Ray, no MLflow).
#
#   bash bench/gpu.sh                      # on the GPU machine
#   bash bench/gpu.sh --device cpu --quick # the same stages on a CPU, at small sizes (a dry run)
#
# Every figure goes to bench/results/gpu-<date>-<device>.jsonl (one JSON object a line), the console to
# the .log beside it. Each stage has its own time limit, so one slow stage cannot take the others' time.
set -uo pipefail
cd "$(dirname "$0")/.."
device=cuda quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: bash bench/gpu.sh [--device cuda|cpu] [--quick]" >&2; exit 2 ;;
  esac
done
python="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p bench/results
stem="bench/results/gpu-$(date +%Y%m%d-%H%M%S)-$device"
results="$stem.jsonl" log="$stem.log"
: > "$results"
if [ "$quick" = 1 ]; then
  supernet=(--batch 1 --crop 16 --rounds 1 --repeats 1 --threads 1)
  search=(--presets smoke --repeats 1 --warmup 0 --threads 1 --no-largest-batch --retrain-batch 2)
  slow=4  # a CPU takes longer at these sizes than the GPU at the paper's: the stages' limits x4
else
  supernet=(--rounds 1 --repeats 5)
  search=(--presets paper --repeats 5 --warmup 2 --batch-cap 2048)
  slow=1
fi
failed=0
stage() {  # stage NAME SECONDS COMMAND...: runs it under a time limit, records its exit status
  local name="$1" limit=$(($2 * slow)); shift 2
  echo "== $name ($*)" | tee -a "$log"
  local start=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || failed=1
  printf '{"bench": "stage", "stage": "%s", "rc": %d, "seconds": %d}\n' "$name" "$rc" $((SECONDS - start)) >> "$results"
}
"$python" - >> "$results" <<'PY'
import json, platform, subprocess, torch
def git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True).stdout.strip()
print(json.dumps({"bench": "machine", "torch": torch.__version__, "cuda": torch.version.cuda,
                  "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                  "python": platform.python_version(), "commit": git("rev-parse", "--short", "HEAD") or None,
                  "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no"))}))
PY
stage "pytest -m gpu" 150 "$python" -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu.py
for task in denoise sr; do
  stage "supernet $task" 75 "$python" bench/supernet.py --task "$task" --device "$device" --precision fp32,bf16 \
    --variants sharing,no_sharing,baseline "${supernet[@]}" --json "$results"
done
stage "search and retrain steps" 210 "$python" bench/search.py --device "$device" --precision fp32,bf16 \
  --task denoise,sr "${search[@]}" --json "$results"
echo "figures: $results   console: $log" | tee -a "$log"
exit $failed
