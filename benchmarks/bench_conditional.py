"""Conditional vs unconditional, and SA-GAN / BigGAN against ResNet, at equal images seen.

For each dataset (MNIST and CIFAR-10 at 32 px, packed by `growgan dataset prepare`) it
trains every variant below to the same kimg with the growgan CLI, then scores G_ema with
`growgan metrics RUN --metrics fid-classifier[,class-accuracy,fid-classifier-per-class]`
against the training archive, using one offline classifier per dataset (given with
`--classifier NAME=FILE`, or trained first with `growgan metrics train-classifier`). Every
variant is scored the same way: same classifier file, same --num generated and real images,
same seed, G_ema without truncation.

It writes `results.json` in --out after every finished run and skips the runs already
there, so a killed run resumes (an unfinished run folder is removed and retrained). It
prints a markdown table with kimg, wall-clock seconds of the `growgan train` process, img/s
of its training loop (kimg * 1000 / the loop's seconds: start-up not counted),
class-accuracy (conditional runs only), fid-classifier and the per-class fid-classifier mean.
With --grids DIR it copies each run's last per-class grid (conditional: grids/classes-*.png,
one row per class, the same latents in every row) or G_ema grid (unconditional) to
DIR/cond-<dataset>-<variant>.png.

Variants (presets, with --set where a variant differs from its preset):
  dcgan          dcgan-32 (unconditional)
  dcgan-cond     dcgan-32 with c_dim=auto (label embedding in G, projection D)
  cgan           cgan-mnist-32 (one-hot label to G, label planes into D)
  acgan          acgan-mnist-32 (auxiliary classifier D)
  resnet         resnet-32 (unconditional)
  resnet-cond    resnet-32 with c_dim=auto (projection D)
  sagan          sagan-mnist-32 / sagan-cifar10-32
  biggan         biggan-mnist-32 / biggan-cifar10-32

    python benchmarks/bench_conditional.py --data mnist=/tmp/cz/mnist32 --kimg 20 \
        --classifier mnist=clf-mnist.pt --out /tmp/cz/bench [--variants dcgan,dcgan-cond,...] \
        [--num 5000] [--grids benchmarks/img]

Every command runs under `nice -n NICE` (default 15) with OMP_NUM_THREADS (default 1): this
machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
HEADER = ("| dataset | variant | preset | kimg | wall s | img/s | class-accuracy | fid-classifier | "
          "per-class fid-classifier (mean) |\n|---|---|---|---|---|---|---|---|---|")


def _growgan(args: list[str], threads: int, niceness: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = ["nice", "-n", str(niceness), sys.executable, "-m", "growgan", *args]
    print("$", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")


def _preset_ds(name: str) -> str:
    return "cifar10" if "cifar" in name else "mnist"


def _row_line(r: dict) -> str:
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return (f"| {r['dataset']} | {r['variant']} | {r['preset']} | {r['kimg']:g} | {r['seconds']:.0f} | "
            f"{r['img_per_s']:.0f} | {fmt(r['class_accuracy'])} | {fmt(r['fid_classifier'])} | "
            f"{fmt(r['fid_classifier_class_mean'])} |")


def _last(run: Path, name: str) -> dict:
    lines = (run / f"metric-{name.replace('-', '_')}.jsonl").read_text().splitlines()
    return json.loads(lines[-1])["results"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", action="append", required=True, metavar="NAME=ARCHIVE")
    p.add_argument("--classifier", action="append", default=[], metavar="NAME=FILE",
                   help="offline classifier per dataset (default: train one into --out)")
    p.add_argument("--kimg", type=float, default=20.0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--num", type=int, default=5000, help="generated (and real) images per metric evaluation")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--nice", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grids", type=Path, help="copy each run's last per-class (or G_ema) grid here")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    classifiers = dict(item.split("=", 1) for item in args.classifier)
    results = args.out / "results.json"
    rows = json.loads(results.read_text()) if results.exists() else []
    for item in args.data:
        ds, archive = item.split("=", 1)
        clf = Path(classifiers.get(ds, args.out / f"clf-{ds}.pt"))
        if not clf.exists():
            _growgan(["metrics", "train-classifier", "--data", archive, "--out", str(clf)], args.threads, args.nice)
        for variant in args.variants.split(","):
            key = dict(dataset=ds, variant=variant, kimg=args.kimg, seed=args.seed, num=args.num, classifier=str(clf))
            if any(all(r.get(k) == v for k, v in key.items()) for r in rows):
                print(f"# {ds} {variant}: done, skipped", flush=True)
                continue
            preset, extra = VARIANTS[variant]
            preset = preset.format(ds=_preset_ds(ds))
            runs = args.out / f"runs-{ds}-{variant}-{args.kimg:g}kimg-s{args.seed}"
            shutil.rmtree(runs, ignore_errors=True)  # an unfinished run of a killed benchmark
            t0 = time.time()
            _growgan(["train", "--preset", preset, "--data", archive, "--kimg", str(args.kimg), "--seed",
                      str(args.seed), "--out", str(runs), "--quiet", "--set", "tensorboard=false", *extra],
                     args.threads, args.nice)
            seconds = time.time() - t0
            (run,) = sorted(runs.iterdir())
            stats = json.loads((run / "stats.jsonl").read_text().splitlines()[-1])
            metrics = "fid-classifier" + (",class-accuracy,fid-classifier-per-class" if variant in CONDITIONAL else "")
            _growgan(["metrics", str(run), "--data", archive, "--metrics", metrics, "--num", str(args.num),
                      "--seed", str(args.seed), "--classifier", str(clf)], args.threads, args.nice)
            values = {}
            for name in metrics.split(","):
                values.update(_last(run, name))
            if args.grids:
                kind = "classes" if variant in CONDITIONAL else "ema"
                grid = sorted((run / "grids").glob(f"{kind}-*.png"))[-1]
                args.grids.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(grid, args.grids / f"cond-{ds}-{variant}.png")
            rows.append({**key, "preset": preset, "seconds": round(seconds, 1),
                         "img_per_s": round(stats["images_seen"] / stats["sec_total"], 1),
                         "class_accuracy": values.get("class_accuracy"), "fid_classifier": values.get("fid_classifier"),
                         "fid_classifier_class_mean": values.get("fid_classifier_class_mean"),
                         "per_class": {k: v for k, v in values.items() if k[-1].isdigit()}, "run": str(run)})
            tmp = results.with_suffix(".tmp")
            tmp.write_text(json.dumps(rows, indent=2))
            tmp.replace(results)  # atomic: a kill leaves the previous results.json
            print(_row_line(rows[-1]), flush=True)
    print(HEADER)
    for r in rows:
        print(_row_line(r))


if __name__ == "__main__":
    main()
