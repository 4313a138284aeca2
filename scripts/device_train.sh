#!/usr/bin/env bash
# One lease of GPU training, run on the lent machine from the repository root, with .devcarry/ carried
# (python scripts/device_bundle.py RUN_DIRS... made it):
#   bash scripts/device_train.sh SECONDS [STEPS]
# Every run in .devcarry/runs/ continues in parallel for SECONDS of wall time (or to STEPS, default 1000000),
# on the GPU, then each checkpoint is copied to $OUT/runs/NAME/last, files split into 15 MiB parts
# (the device returns files of at most 16 MiB; scripts/device_unpack.py joins them).
set -euo pipefail
seconds=${1:?usage: device_train.sh SECONDS [STEPS]}
steps=${2:-1000000}
bundle=.devcarry
out=${OUT:-/tmp/out}
python=${PYTHON:-$([ -x /opt/torch/.venv/bin/python ] && echo /opt/torch/.venv/bin/python || echo python3)}
device=${DEVICE:-cuda}  # DEVICE=cpu rehearses the lease on a machine without a GPU

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
    sys.exit(f"missing on this machine: {', '.join(missing)}; add their wheels in scripts/device_bundle.py")
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), flush=True)
EOF

mkdir -p "$out/logs"
pids=()
for run in "$bundle"/runs/*/; do
  name=$(basename "$run")
  "$python" -P -c "import sys; from ipr_bench.train import continue_training as c; c(sys.argv[1], int(sys.argv[2]), '$device', float(sys.argv[3]))" \
    "$run" "$steps" "$seconds" > "$out/logs/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

for run in "$bundle"/runs/*/; do
  name=$(basename "$run")
  mkdir -p "$out/runs/$name/last"
  for f in "$run"last/*; do
    split -b 15M -d -a 2 "$f" "$out/runs/$name/last/$(basename "$f").part"
  done
done
tail -n 3 "$out"/logs/*.log
exit $status
