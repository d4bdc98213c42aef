#!/usr/bin/env bash
# The command the device tool runs on the GPU machine, from the repository root, after
# `python bench/gpu/prepare.py` here (see bench/README.md):
#
#   PYTHONUNBUFFERED=1 bash bench/gpu/run_on_device.sh            # with carry=[".gpu_carry"]
#
# Installs the carried wheels into $SITE (the machine's own torch stays), unpacks ComfyUI, runs the
# benchmark on the app prepare.py built, and leaves the log, the results and the table in $OUT.
# Arguments replace the default benchmark arguments (`--device gpu --layout full`); AOT_PROBE_TIMEOUT=300
# runs bench/gpu/aot_probe.py --all first (aot_probe.log). A local dry run:
#   GPU_CARRY=/tmp/carry311 OUT=/tmp/out SITE=/tmp/site311 bash bench/gpu/run_on_device.sh --device cpu
set -euo pipefail

: "${OUT:?OUT must name the folder for the results}"
CARRY="${GPU_CARRY:-.gpu_carry}"
SITE="${SITE:-/tmp/site}"
PYTHON="${PYTHON:-python3}"
WORK="${BENCH_WORK:-/tmp/comfy-bench}"
mkdir -p "$OUT" "$WORK"

{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 || true
  "$PYTHON" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
} | tee "$OUT/environment.txt"

"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$CARRY"/wheels/*.whl
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONFAULTHANDLER=1  # a crash in compiled code still prints the Python stack
"$PYTHON" -c 'import av, gradio, spaces, torchsde; print("carried: gradio", gradio.__version__, "from", gradio.__file__)' \
  | tee -a "$OUT/environment.txt"

if [ -n "${AOT_PROBE_TIMEOUT:-}" ]; then  # the AoT variants first, each in its own process (aot_probe.py)
  "$PYTHON" bench/gpu/aot_probe.py --all --timeout "$AOT_PROBE_TIMEOUT" 2>&1 | tee "$OUT/aot_probe.log" || true
fi

rm -rf "$WORK/comfyui" && mkdir -p "$WORK/comfyui"
tar -xzf "$CARRY/comfyui.tar.gz" -C "$WORK/comfyui"
export COMFYUI_PATH="$WORK/comfyui/ComfyUI"

if [ "$#" -eq 0 ]; then
  set -- --device gpu --layout full
fi
set -o pipefail
"$PYTHON" bench/gpu/bench.py --app "$CARRY/space" --work "$WORK" --json "$OUT/results.json" "$@" 2>&1 \
  | tee "$OUT/bench.log"
sed -n '/^Text to image/,$p' "$OUT/bench.log" > "$OUT/table.md"
