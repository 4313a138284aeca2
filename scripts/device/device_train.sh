#!/usr/bin/env bash
# One lease of GPU training, run on the lent machine from the repository root, after the loads that
# python scripts/device/device_bundle.py RUN_DIRS... made have arrived (.devloads/NN, one call each; see that script):
#   bash scripts/device/device_train.sh SECONDS [STEPS]
# The loads are joined, checked and unpacked into .devcarry/; every run in .devcarry/runs/ continues in parallel
# for SECONDS of wall time (or to STEPS, default 1000000) on the GPU; each checkpoint is split into 15 MiB parts
# in .devreturn/NAME/ (the device returns files of at most 16 MiB, 8 per call), and the first batch is copied
# to $OUT; INDEX.txt there names the call that fetches the next (scripts/device/device_loads.py send), and
# scripts/device/device_unpack.py joins them at home.
# Around the training, within the same SECONDS (issue 25's lease plan; BENCH_SECONDS=0 CHECK=0 turn them off):
#   before: GPU rows of scripts/bench_train.py (fp32, bf16, torch.compile; batches 8 and 32), at most BENCH_SECONDS;
#   after:  scripts/device/device_codec_check.py on one run (CHECK_RUN): 64 LFW images per level encoded on the GPU (batched and
#           one at a time, timed), decoded again in a fresh CPU process, identical reconstructions counted.
# Both land in .devreturn/extras/ and travel home with the checkpoints (device_unpack.py puts them beside the runs).
set -euo pipefail
seconds=${1:?usage: device_train.sh SECONDS [STEPS]}
steps=${2:-1000000}
bundle=.devcarry
out=${OUT:-/tmp/out}
python=${PYTHON:-$([ -x /opt/torch/.venv/bin/python ] && echo /opt/torch/.venv/bin/python || echo python3)}
device=${DEVICE:-cuda}  # DEVICE=cpu rehearses the lease on a machine without a GPU

if [ -d .devloads ]; then
  rm -rf "$bundle"
  "$python" scripts/device/device_loads.py assemble .devloads .
fi
back=.devreturn
rm -rf "$back"

site=/tmp/ipr-site
# a wheel is a zip laid out for site-packages: unpacking it needs no pip and no network
"$python" -c "import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]" \
  "$site" "$bundle"/wheels/*.whl
export PYTHONPATH="$site" IPR_BENCH_DATA="$PWD/$bundle/data" IPR_BENCH_CACHE="$PWD/$bundle/cache"
export IPR_BENCH_WEIGHTS="$PWD/$bundle/weights" IPR_BENCH_COMMIT="$(cat "$bundle/COMMIT")"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
# preflight: name every missing module at once (the machine is assumed to have torch, torchvision, Pillow,
# numpy, scipy, pandas and OpenCV, as measured in ../shared/ENVIRONMENT.md), before any lease time is spent
"$python" -P - <<'EOF'
import importlib.util, sys
need = ["torch", "torchvision", "PIL", "numpy", "scipy", "pandas", "cv2", "compressai", "facenet_pytorch",
        "safetensors", "platformdirs", "einops", "pytorch_msssim", "ipr_bench"]
missing = [m for m in need if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing on this machine: {', '.join(missing)}; add their wheels in scripts/device/device_bundle.py")
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), flush=True)
EOF

mkdir -p "$back/logs" "$back/extras"
start=$SECONDS
bench_seconds=${BENCH_SECONDS:-150}
check=${CHECK:-1}
reserve=$(( check == 1 ? ${CHECK_SECONDS:-210} : 0 ))  # the codec check after training
if [ "$bench_seconds" -gt 0 ]; then
  timeout "$bench_seconds" "$python" -P scripts/bench_train.py --device "$device" --steps 30 --batches 8,32 \
    --precisions fp32,bf16 $([ "$device" = cuda ] && echo --compile) --note "GPU lease, before training" \
    --out "$back/extras/bench_train.jsonl" > "$back/logs/bench_train.log" 2>&1 || echo "bench stopped (time or error): see its log"
fi
train_seconds=$(( seconds - (SECONDS - start) - reserve ))
[ "$train_seconds" -gt 30 ] || { echo "no time left to train ($train_seconds s): ask for more SECONDS" >&2; train_seconds=30; }
pids=()
for run in "$bundle"/runs/*/; do
  name=$(basename "$run")
  "$python" -P -c "import sys; from ipr_bench.training.train import continue_training as c; c(sys.argv[1], int(sys.argv[2]), '$device', float(sys.argv[3]))" \
    "$run" "$steps" "$train_seconds" > "$back/logs/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if [ "$check" = 1 ]; then  # one model answers the cross-device question; its CPU decode is most of the reserve
  name=${CHECK_RUN:-$(ls "$bundle/runs" | head -n 1)}
  checked="$back/extras/codec_check-$name.json"
  timeout 60 "$python" -P scripts/device/device_codec_check.py encode "$bundle/runs/$name/last" --device "$device" \
    --n "${CHECK_N:-64}" --out "$checked" >> "$back/logs/codec_check.log" 2>&1 &&
    timeout 150 "$python" -P scripts/device/device_codec_check.py decode "$checked" --device cpu \
      >> "$back/logs/codec_check.log" 2>&1 || echo "codec check of $name stopped (time or error): see its log"
fi

for run in "$bundle"/runs/*/; do
  name=$(basename "$run")
  mkdir -p "$back/$name"
  for f in "$run"last/*; do
    split -b 15M -d -a 2 "$f" "$back/$name/$(basename "$f").part"
  done
done
tail -n 3 "$back"/logs/*.log
mkdir -p "$out"
"$python" scripts/device/device_loads.py send "$back" "$out" 0
exit $status
