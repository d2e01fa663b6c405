"""Conditional vs unconditional, and SA-GAN / BigGAN against ResNet, at equal images seen.

For each dataset (MNIST and CIFAR-10 at 32 px, packed by `growgan dataset prepare`) it
trains every variant below to the same kimg with the growgan CLI, then scores G_ema with
`growgan metrics RUN --metrics class-accuracy,fid-classifier,fid-classifier-per-class`
against the training archive, using one offline classifier per dataset (trained first with
`growgan metrics train-classifier`). It prints a markdown table (and writes JSON) with
kimg, wall-clock seconds, img/s, class-accuracy (conditional runs only), fid-classifier and
the per-class fid-classifier mean, and keeps each run folder (grids/classes-*.png are the
per-class grids).

Variants (presets, with --set where a variant differs from its preset):
  dcgan          dcgan-32 (unconditional)
  dcgan-cond     dcgan-32 with c_dim=auto (label embedding in G, projection D)
  cgan           cgan-mnist-32 (one-hot label to G, label planes into D)
  acgan          acgan-mnist-32 (auxiliary classifier D)
  resnet         resnet-32 (unconditional)
  resnet-cond    resnet-32 with c_dim=auto (projection D)
  sagan          sagan-mnist-32 / sagan-cifar10-32
  biggan         biggan-mnist-32 / biggan-cifar10-32

    python benchmarks/bench_conditional.py --data mnist=/tmp/cz/mnist32 --data cifar10=/tmp/cz/cifar32 \
        --kimg 50 --out /tmp/cz/bench [--variants dcgan,dcgan-cond,...] [--num 2000]

Every command runs under `nice -n 19` with OMP_NUM_THREADS (default 1): this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

COND = ["--set", "network.G.c_dim=auto", "--set", "network.D.c_dim=auto"]
VARIANTS = {
    "dcgan": ("dcgan-32", []),
    "dcgan-cond": ("dcgan-32", COND),
    "cgan": ("cgan-mnist-32", []),
    "acgan": ("acgan-mnist-32", []),
    "resnet": ("resnet-32", []),
    "resnet-cond": ("resnet-32", COND),
    "sagan": ("sagan-{ds}-32", []),
    "biggan": ("biggan-{ds}-32", []),
}
CONDITIONAL = {"dcgan-cond", "cgan", "acgan", "resnet-cond", "sagan", "biggan"}


def _growgan(args: list[str], threads: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = ["nice", "-n", "19", sys.executable, "-m", "growgan", *args]
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)


def _preset_ds(name: str) -> str:
    return "cifar10" if "cifar" in name else "mnist"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", action="append", required=True, metavar="NAME=ARCHIVE")
    p.add_argument("--kimg", type=float, default=50.0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--num", type=int, default=2000, help="generated images per metric evaluation")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in args.data:
        ds, archive = item.split("=", 1)
        clf = args.out / f"clf-{ds}.pt"
        if not clf.exists():
            _growgan(["metrics", "train-classifier", "--data", archive, "--out", str(clf)], args.threads)
        for variant in args.variants.split(","):
            preset, extra = VARIANTS[variant]
            preset = preset.format(ds=_preset_ds(ds))
            runs = args.out / f"runs-{ds}-{variant}"
            t0 = time.time()
            _growgan(["train", "--preset", preset, "--data", archive, "--kimg", str(args.kimg), "--seed",
                      str(args.seed), "--out", str(runs), "--quiet", *extra], args.threads)
            seconds = time.time() - t0
            (run,) = sorted(runs.iterdir())[-1:]
            metrics = "fid-classifier" + (",class-accuracy,fid-classifier-per-class" if variant in CONDITIONAL else "")
            _growgan(["metrics", str(run), "--data", archive, "--metrics", metrics, "--num", str(args.num),
                      "--classifier", str(clf)], args.threads)
            values = {}
            for name in metrics.split(","):
                lines = (run / f"metric-{name.replace('-', '_')}.jsonl").read_text().splitlines()
                values.update(json.loads(lines[-1])["results"])
            rows.append({"dataset": ds, "variant": variant, "preset": preset, "kimg": args.kimg,
                         "seconds": round(seconds, 1), "img_per_s": round(args.kimg * 1000 / seconds, 1),
                         "class_accuracy": values.get("class_accuracy"), "fid_classifier": values.get("fid_classifier"),
                         "fid_classifier_class_mean": values.get("fid_classifier_class_mean"), "run": str(run)})
            (args.out / "results.json").write_text(json.dumps(rows, indent=2))
    print("| dataset | variant | preset | kimg | s | img/s | class-accuracy | fid-classifier | per-class fid-classifier |")
    print("|---|---|---|---|---|---|---|---|---|")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for r in rows:
        print(f"| {r['dataset']} | {r['variant']} | {r['preset']} | {r['kimg']:g} | {r['seconds']:.0f} | "
              f"{r['img_per_s']:.1f} | {fmt(r['class_accuracy'])} | {fmt(r['fid_classifier'])} | "
              f"{fmt(r['fid_classifier_class_mean'])} |")


if __name__ == "__main__":
    main()
