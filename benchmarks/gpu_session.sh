#!/usr/bin/env bash
# One prepared GPU session (benchmarks/stylegan2.md, "On a GPU"): run from the repo root on a
# CUDA machine, with the data in .gpu/ (see below). Everything lands in $R, packed into $OUT.
#
#   .gpu/mnist32/      growgan archive of MNIST 32x32 (images.npy may be shipped as images.npy.xz)
#   .gpu/cifar10k/     growgan archive of 10,000 CIFAR-10 training images
#                      (growgan dataset prepare cifar-10-python.tar.gz --max-images 10000 --seed 0)
#   .gpu/clf-mnist.pt  .gpu/clf-cifar10.pt  the classifiers of benchmarks/dggan.md (fid-classifier)
#
# Phases: (A) training speed alone on the GPU (bench_gpu.py speed); (B) in parallel: StyleGAN2
# on MNIST at four widths, the CIFAR-10 preset with bf16 autocast and with fp16 blocks, the fp16
# check, a resume check with ADA, tests/test_cuda.py (NCCL included) and a zoo smoke test (every
# 32 px preset trains a few steps on cuda and generates); (C) the MNIST and CIFAR-10 runs scored
# on the GPU. TRAIN_S sets phase B's training seconds.
set -u
export PYTHONPATH=src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}  # ~9 processes share 16 cores in phase B
PY=${PY:-python3}
R=${R:-$(mktemp -d /tmp/gpu.XXXXXX)}  # fresh each time: a rerun on a warm machine must not read the last run's folders
OUT=${OUT:-/tmp/gpu-out}
if [ -n "$(ls -A "$R" 2>/dev/null)" ]; then
  # the resume check compares $R/resume/0000{0,1,2}-* and phase C scores every $R/runs/*: old runs would be mixed in
  echo "gpu_session.sh: R=$R is not empty; give a new or empty folder as R (or leave R unset)" >&2
  exit 2
fi
TRAIN_S=${TRAIN_S:-210}
DEV=${DEV:-cuda}  # DEV=cpu TRAIN_S=20: a dry run of the plumbing on a CPU
mkdir -p "$R" "$OUT"
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }

if [ -f .gpu/mnist32/images.npy.xz ] && [ ! -f .gpu/mnist32/images.npy ]; then
  $PY -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.gpu/mnist32/images.npy.xz'), open('.gpu/mnist32/images.npy','wb'))"
fi
MNIST=.gpu/mnist32 CIFAR=.gpu/cifar10k
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  $PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0), 'bf16', torch.cuda.is_bf16_supported())"
} > "$R/env.txt" 2>&1
el "env: $(tail -1 "$R/env.txt")"

# ---- A: speed, alone
el "A: speed"
timeout 100 $PY benchmarks/bench_gpu.py speed --device $DEV --mnist $MNIST --cifar $CIFAR --rounds 3 > "$R/speed.jsonl" 2> "$R/speed.err"
el "A done: $(wc -l < "$R/speed.jsonl") variants"

# ---- B: training runs in parallel, and the checks beside them
train() {  # name, then growgan train arguments
  local name=$1; shift
  timeout -k 60 -s TERM "$TRAIN_S" $PY -m growgan train --out "$R/runs" --name "$name" --quiet --kimg 5000 --set device=\"$DEV\" "$@" \
    > "$R/train-$name.log" 2>&1
}
W512="--set network.G.fmap_base=16384 --set network.G.fmap_max=512 --set network.D.fmap_base=16384 --set network.D.fmap_max=512"
W256="--set network.G.fmap_base=8192 --set network.G.fmap_max=256 --set network.D.fmap_base=8192 --set network.D.fmap_max=256"
el "B: training for $TRAIN_S s"
pids=()
train mnist-p128 --preset stylegan2-mnist-32 --data $MNIST --set amp='"off"' & pids+=($!)
train mnist-w256 --preset stylegan2-mnist-32 --data $MNIST --set amp='"off"' $W256 & pids+=($!)
train mnist-w512 --preset stylegan2-mnist-32 --data $MNIST --set amp='"off"' $W512 --set checkpoint_kimg=50 & pids+=($!)
train mnist-cifarcfg --preset stylegan2-cifar10-ada --data $MNIST --set amp='"off"' --set xflip=false --set checkpoint_kimg=50 & pids+=($!)
train cifar-bf16 --preset stylegan2-cifar10 --data $CIFAR & pids+=($!)
train cifar-fp16res --preset stylegan2-cifar10 --data $CIFAR --set amp='"off"' --set network.G.num_fp16_res=4 --set network.D.num_fp16_res=4 & pids+=($!)

( timeout 120 $PY benchmarks/bench_gpu.py fp16 --device $DEV > "$R/fp16.jsonl" 2> "$R/fp16.err"
  # resume with ADA on cuda: 0.5 kimg straight, against 0.25 kimg then --resume to 0.5
  a="--preset stylegan2-mnist-32 --data $MNIST --set augment=\"ada\" --set ada_p=0.3 --set checkpoint_kimg=0.25 --set device=\"$DEV\" --quiet"
  timeout 120 $PY -m growgan train $a --out "$R/resume" --name straight --kimg 0.5 > "$R/resume.log" 2>&1
  timeout 120 $PY -m growgan train $a --out "$R/resume" --name straight2 --kimg 0.5 >> "$R/resume.log" 2>&1
  timeout 120 $PY -m growgan train $a --out "$R/resume" --name split --kimg 0.25 >> "$R/resume.log" 2>&1
  timeout 120 $PY -m growgan train --resume "$R/resume/00002-split" --kimg 0.5 --quiet >> "$R/resume.log" 2>&1
  $PY - "$R/resume" >> "$R/resume.log" 2>&1 <<'EOF'
import sys, glob, torch
s0, s1, s2 = (torch.load(sorted(glob.glob(f"{sys.argv[1]}/0000{i}-*/checkpoints/*.pt"))[-1], map_location="cpu",
                         weights_only=True)["state"] for i in (0, 1, 2))
for what, sb in (("straight again", s1), ("resumed", s2)):
    for key in ("G", "D", "G_ema"):
        diff = max((s0[key][k].float() - sb[key][k].float()).abs().max().item() for k in s0[key])
        print(f"{key}: max |straight - {what}| = {diff:.3g} ({'bit-exact' if diff == 0 else 'differs'})")
print("ada_p straight, resumed:", float(s0["ada_p"]), float(s2["ada_p"]))
EOF
  # the CUDA tests (skipped without a GPU; the stop flag through a one-process NCCL group among them)
  timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_cuda.py > "$R/test_cuda.log" 2>&1; echo "pytest rc=$?" >> "$R/test_cuda.log"
) &
CHECKS=$!

( for p in dcgan-32 resnet-32 cgan-mnist-32 acgan-mnist-32 sagan-mnist-32 biggan-mnist-32 progan-mnist-32 \
           stylegan-mnist-32 stylegan2-mnist-32 dggan-mnist-32; do
    if timeout 90 $PY -m growgan train --preset $p --data $MNIST --kimg 0.25 --out "$R/zoo" --name $p --quiet \
         --set checkpoint_kimg=0.25 --set device=\"$DEV\" > "$R/zoo-$p.log" 2>&1; then
      run=$(ls -d "$R"/zoo/*-$p | tail -1)
      timeout 60 $PY -m growgan generate "$run" --device $DEV --num 16 --out "$R/zoo/$p.png" --quiet >> "$R/zoo-$p.log" 2>&1
      echo "$p train ok, generate rc=$?"
    else
      echo "$p train FAILED rc=$?"
    fi
  done > "$R/zoo.txt" ) &
ZOO=$!
wait "${pids[@]}"
el "B: training stopped"
wait $CHECKS $ZOO
el "B: checks done"

# ---- C: scores on the GPU
for run in "$R"/runs/*-mnist-*; do
  timeout 120 $PY benchmarks/stylegan2_diag.py score --device $DEV --data $MNIST --classifier .gpu/clf-mnist.pt "$run" \
    >> "$R/scores.jsonl" 2>> "$R/scores.err" &
done
for run in "$R"/runs/*-cifar-*; do
  timeout 120 $PY benchmarks/stylegan2_diag.py score --device $DEV --data $CIFAR --classifier .gpu/clf-cifar10.pt "$run" \
    >> "$R/scores.jsonl" 2>> "$R/scores.err" &
done
wait
el "C done"
for f in "$R"/runs/*/stats.jsonl; do echo "$f $(tail -1 "$f")"; done > "$R/last-stats.txt"
tar -C "$R" --exclude='*.pt' --exclude='events.out*' -czf "$OUT/gpu.tar.gz" .
el "packed $(du -h "$OUT/gpu.tar.gz" | cut -f1)"
