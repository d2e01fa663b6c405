"""Conditional vs unconditional, and SA-GAN / BigGAN against ResNet, at equal images seen.

For each dataset (MNIST and CIFAR-10 at 32 px, packed by `growgan dataset prepare`) it
trains every variant below to the same kimg with the growgan CLI, then scores G_ema with
`growgan metrics RUN --metrics fid-classifier,swd[,class-accuracy,fid-classifier-per-class,swd-per-class]`
(the bracketed ones for conditional variants) against the training archive, using one
offline classifier per dataset (given with
`--classifier NAME=FILE`, or trained first with `growgan metrics train-classifier`). Every
variant is scored the same way: same classifier file, same --num generated and real images,
same seed, G_ema without truncation.

Wall seconds and img/s depend on what else runs on the machine; the training FLOPs per image
(counted by growgan) and the CPU seconds of the `growgan train` process do not (or less).

It writes `results.json` in --out after every finished run and skips the runs already
there, so a killed run resumes (an unfinished run folder is removed and retrained); a
finished run that lacks a metric of the current list is scored for it (a metric row already
in the run folder with the same --num and --seed is reused). It
prints a markdown table with kimg, wall-clock seconds of the `growgan train` process, img/s
of its training loop (kimg * 1000 / the loop's seconds: start-up not counted),
class-accuracy (conditional runs only), the pixel standard deviation of G_ema's images over
latents within a class and over classes at one latent (`_latent_spread`: a G that draws one
image per class has the first near 0; computed in this process), fid-classifier, SWD (x1e3,
average over levels) and the per-class means of fid-classifier and SWD (conditional runs
only).
With --grids DIR it copies each run's last per-class grid (conditional: grids/classes-*.png,
one row per class, the same latents in every row) or G_ema grid (unconditional) to
DIR/cond-<dataset>-<kimg>kimg-<variant>.png.

Variants (presets, with --set where a variant differs from its preset):
  dcgan          dcgan-32 (unconditional)
  dcgan-cond     dcgan-32 with c_dim=auto (norm-1 label code in G, projection D)
  cgan           cgan-mnist-32 (one-hot label to G, label planes into D)
  acgan          acgan-mnist-32 (auxiliary classifier D)
  resnet         resnet-32 at the SA-GAN/BigGAN presets' widths (channels 16 on MNIST, 32 on
                 CIFAR-10, fmap_max 128; unconditional)
  resnet-cond    the same with c_dim=auto (norm-1 label code in G, projection D)
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
import resource
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
    "resnet": ("resnet-32", ["{narrow}"]),
    "resnet-cond": ("resnet-32", ["{narrow}", *COND]),
    "sagan": ("sagan-{ds}-32", []),
    "biggan": ("biggan-{ds}-32", []),
}
# resnet-32 at the widths of sagan-{ds}-32 / biggan-{ds}-32 (G 128-64-32-16 on MNIST, 128-128-64-32
# on CIFAR-10; D the reverse), so "SA-GAN / BigGAN against ResNet" compares what they add, not
# width: resnet-32's own 64 base channels cost ~15x the FLOPs per image of sagan-mnist-32.
NARROW = {"mnist": 16, "cifar10": 32}
CONDITIONAL = {"dcgan-cond", "cgan", "acgan", "resnet-cond", "sagan", "biggan"}
BASE_METRICS = ["fid-classifier", "swd"]
COND_METRICS = ["class-accuracy", "fid-classifier-per-class", "swd-per-class"]
HEADER = ("| dataset | variant | preset | kimg | train GFLOP/img | wall s | CPU s | img/s | class-accuracy | "
          "pixel std within class | pixel std between classes | "
          "fid-classifier | per-class fid-classifier (mean) | SWD x1e3 | per-class SWD x1e3 (mean) |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


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
    def fmt(key, digits=3):
        v = r.get(key)
        return "-" if v is None else f"{v:.{digits}f}"
    return (f"| {r['dataset']} | {r['variant']} | {r['preset']} | {r['kimg']:g} | {fmt('train_gflop_per_img', 2)} | "
            f"{r['seconds']:.0f} | {fmt('cpu_s', 0)} | {r['img_per_s']:.0f} | {fmt('class_accuracy')} | "
            f"{fmt('std_within')} | {fmt('std_between')} | {fmt('fid_classifier', 2)} | "
            f"{fmt('fid_classifier_class_mean', 2)} | {fmt('swd', 1)} | {fmt('swd_class_mean', 1)} |")


def _found(run: Path, name: str, num: int, seed: int) -> dict | None:
    """The results of the last row of metric `name` in `run` scored with `num` images and `seed`."""
    path = run / f"metric-{name.replace('-', '_')}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    rows = [r for r in rows if r.get("num_images") == num and r.get("seed") == seed]
    return rows[-1]["results"] if rows else None


def _score(run: Path, names: list[str], archive: str, clf: Path, args) -> dict:
    """Every metric of `names` for `run` (the ones already there with the same --num/--seed reused)."""
    todo = [n for n in names if _found(run, n, args.num, args.seed) is None]
    if todo:
        _growgan(["metrics", str(run), "--data", archive, "--metrics", ",".join(todo), "--num", str(args.num),
                  "--seed", str(args.seed), "--classifier", str(clf)], args.threads, args.nice)
    values = {}
    for name in names:
        found = _found(run, name, args.num, args.seed)
        if found is None:
            sys.exit(f"{run}: no {name} row for --num {args.num} --seed {args.seed} after scoring")
        values.update(found)
    return values


def _summary(values: dict) -> dict:
    return {"class_accuracy": values.get("class_accuracy"), "fid_classifier": values.get("fid_classifier"),
            "fid_classifier_class_mean": values.get("fid_classifier_class_mean"), "swd": values.get("swd"),
            "swd_class_mean": values.get("swd_class_mean"),
            "per_class": {k: v for k, v in values.items() if k[-1].isdigit() and "class" in k}}


def _latent_spread(run: Path, seed: int, threads: int, n: int = 16) -> dict:
    """How much G_ema's images depend on the latent and on the label (standing BN statistics,
    no truncation; pixels in [-1, 1]): `std_within` is the per-pixel standard deviation over
    n latents at one class, averaged over pixels and then over the classes (for an
    unconditional G: over the n latents); `std_between` is the per-pixel standard deviation
    over the classes at one latent, averaged over pixels and then over the n latents. A G that
    draws one image per class has std_within near 0 whatever its class-accuracy."""
    import torch

    from growgan.training.checkpoint import load_generator
    torch.set_num_threads(threads)
    G = load_generator(run)  # G_ema with standing statistics, eval mode
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))  # [n, z_dim]
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    with torch.no_grad():
        if not c_dim:
            return {"std_within": round(float(G(z).std(dim=0).mean()), 4), "std_between": None}
        within = [G(z, torch.full((n,), k, dtype=torch.long)).std(dim=0).mean() for k in range(c_dim)]
        between = [G(z[i:i + 1].expand(c_dim, -1), torch.arange(c_dim)).std(dim=0).mean() for i in range(n)]
    return {"std_within": round(float(torch.stack(within).mean()), 4),
            "std_between": round(float(torch.stack(between).mean()), 4)}


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _gflop_per_img(run: Path) -> float:
    """Training FLOPs per image seen (G and D steps, as the run's stats count them), in GFLOP."""
    last = json.loads((run / "stats.jsonl").read_text().splitlines()[-1])
    return round(last["flops"] / last["images_seen"] / 1e9, 3)


def _save(results: Path, rows: list[dict]) -> None:
    tmp = results.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows, indent=2))
    tmp.replace(results)  # atomic: a kill leaves the previous results.json


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
            names = BASE_METRICS + (COND_METRICS if variant in CONDITIONAL else [])
            done = [r for r in rows if all(r.get(k) == v for k, v in key.items())]
            if done:
                row = done[-1]
                if row.get("train_gflop_per_img") is None:  # rows of an older version of this script
                    row["train_gflop_per_img"] = _gflop_per_img(Path(row["run"]))
                    _save(results, rows)
                if "std_within" not in row:  # rows of an older version of this script
                    row.update(_latent_spread(Path(row["run"]), args.seed, args.threads))
                    _save(results, rows)
                if row.get("metrics") != names:  # scored with an older metric list: complete it
                    row.update(_summary(_score(Path(row["run"]), names, archive, clf, args)), metrics=names)
                    _save(results, rows)
                print(f"# {ds} {variant}: done, skipped", flush=True)
                continue
            preset, extra = VARIANTS[variant]
            preset = preset.format(ds=_preset_ds(ds))
            ch = NARROW[_preset_ds(ds)]
            narrow = [f"network.{p}.{k}={v}" for p in "GD" for k, v in (("channels", ch), ("fmap_max", 128))]
            extra = [a for e in extra for a in (sum((["--set", n] for n in narrow), []) if e == "{narrow}" else [e])]
            runs = args.out / f"runs-{ds}-{variant}-{args.kimg:g}kimg-s{args.seed}"
            shutil.rmtree(runs, ignore_errors=True)  # an unfinished run of a killed benchmark
            t0, cpu0 = time.time(), _children_cpu()
            _growgan(["train", "--preset", preset, "--data", archive, "--kimg", str(args.kimg), "--seed",
                      str(args.seed), "--out", str(runs), "--quiet", "--set", "tensorboard=false", *extra],
                     args.threads, args.nice)
            seconds, cpu = time.time() - t0, _children_cpu() - cpu0
            (run,) = sorted(runs.iterdir())
            stats = json.loads((run / "stats.jsonl").read_text().splitlines()[-1])
            values = _score(run, names, archive, clf, args)
            if args.grids:
                kind = "classes" if variant in CONDITIONAL else "ema"
                grid = sorted((run / "grids").glob(f"{kind}-*.png"))[-1]
                args.grids.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(grid, args.grids / f"cond-{ds}-{args.kimg:g}kimg-{variant}.png")
            rows.append({**key, "preset": preset, "set": extra[1::2], "seconds": round(seconds, 1), "cpu_s": round(cpu, 1),
                         "train_gflop_per_img": _gflop_per_img(run),
                         "img_per_s": round(stats["images_seen"] / stats["sec_total"], 1), **_summary(values),
                         **_latent_spread(run, args.seed, args.threads),
                         "metrics": names, "run": str(run)})
            _save(results, rows)
            print(_row_line(rows[-1]), flush=True)
    print(HEADER)  # the rows of this command's datasets, kimg, --num and --seed
    names = {item.split("=", 1)[0] for item in args.data}
    for r in rows:
        if r["dataset"] in names and (r["kimg"], r.get("num"), r.get("seed")) == (args.kimg, args.num, args.seed):
            print(_row_line(r))


if __name__ == "__main__":
    main()
