"""DGGAN (Liu et al., AAAI 2021) vs Progressive GAN at equal compute, on a 32x32 archive.

For each seed: a DGGAN search (`growgan search`, the best trains on to --final-kimg), then
two ProGAN runs (`progan-mnist-32` with its phases scaled to the length):
  - "equal final": ProGAN trains for as many images as the final DGGAN model has seen;
  - "equal total": ProGAN trains for as many images as the whole search processed
    (every candidate's own training + the final continuation).
Every model is scored with growgan.metrics.evaluate_generator (SWD per level and mean, plus
fid-classifier when that metric exists) on a fixed seed; results go to OUT/results.json and
a markdown table on stdout.

    python benchmarks/bench_dggan.py --data /tmp/bench/mnist32 --out /tmp/bench/runs --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

GROWGAN = [sys.executable, "-m", "growgan"]


def run(cmd: list[str]) -> None:
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def newest(out: Path, suffix: str) -> Path:
    return sorted(p for p in out.iterdir() if p.is_dir() and p.name.endswith(suffix))[-1]


def search_images(run_dir: Path) -> tuple[int, int]:
    """(images processed by the search + final continuation, images seen by the final model)."""
    rows = [json.loads(line) for line in (run_dir / "search.jsonl").read_text().splitlines()]
    cands = {r["id"]: r for r in rows if r["type"] == "candidate"}
    processed = 0
    for c in cands.values():
        start = cands[c["parent"]]["kimg"] if c["parent"] else 0.0
        processed += int(round((c["kimg"] - start) * 1000))
    final = json.loads((run_dir / "final.json").read_text())
    best = json.loads((run_dir / "best.json").read_text())
    processed += max(0, final["images_seen"] - best["images_seen"])
    return processed, final["images_seen"]


def progan(data: str, out: Path, seed: int, images: int, name: str) -> Path:
    kimg = images / 1000.0
    phase = kimg / 7.0  # 4 stages stabilised + 3 fades, as the preset's 20k + 20k phases
    run(GROWGAN + ["train", "--preset", "progan-mnist-32", "--data", data, "--out", str(out), "--seed", str(seed),
                   "--kimg", f"{kimg:.3f}", "--name", name, "--quiet",
                   "--set", f"growth.stabilise_kimg={phase:.4f}", "--set", f"growth.fade_kimg={phase:.4f}",
                   "--set", "tensorboard=false", "--set", f"grid_kimg={kimg:.3f}", "--set", f"checkpoint_kimg={kimg:.3f}"])
    return newest(out, name)


def score(run_dir: Path, data: str, num: int, classifier: str | None = None, ema: bool = True) -> dict:
    from growgan.metrics import evaluate_generator, metric_names
    from growgan.training.checkpoint import load_generator

    # fid-classifier needs a classifier file (growgan metrics train-classifier); SWD needs nothing
    names = ["swd"] + (["fid-classifier"] if classifier and "fid-classifier" in metric_names() else [])
    kw = {"classifier": classifier} if len(names) > 1 else {}
    return evaluate_generator(load_generator(run_dir, ema=ema), data, names, num, seed=2024, **kw)


MODELS = ("dggan", "progan_equal_final", "progan_equal_total")


def rescore(results: list[dict], args) -> None:
    """Score every model's raw G and G_ema again (same seed and count): at these short budgets
    the presets' EMA half-life (ProGAN's 0.999 per minibatch = ~22 kimg at batch 32) is longer
    than the runs, so G_ema still carries much of its early average and raw G is also reported."""
    for row in results:
        for key in MODELS:
            row[f"{key}_scores"] = score(Path(row[key]), args.data, args.eval_images, args.classifier, ema=True)
            row[f"{key}_scores_raw"] = score(Path(row[key]), args.data, args.eval_images, args.classifier, ema=False)
        print(f"rescored seed {row['seed']}", flush=True)


def grids(results: list[dict], out: Path) -> None:
    """Pictures per seed: DGGAN | ProGAN equal final | ProGAN equal total, 36 samples each
    from the same latents (seed 0), of G_ema (grids-sN.png) and raw G (grids-raw-sN.png)."""
    import torch

    from growgan.training.checkpoint import load_generator
    from growgan.utils.image import make_grid, save_image, to_uint8

    for row, ema in [(r, e) for r in results for e in (True, False)]:
        panels = []
        for key in MODELS:
            G = load_generator(Path(row[key]), ema=ema).eval()
            z = torch.randn(36, G.z_dim, generator=torch.Generator().manual_seed(0))
            with torch.no_grad():
                panels.append(make_grid(to_uint8(G(z)), ncols=6, pad=2))
        gap = torch.full((panels[0].shape[0], panels[0].shape[1], 8), 255, dtype=torch.uint8)
        pic = torch.cat([panels[0], gap, panels[1], gap, panels[2]], dim=2)
        save_image(pic, out / f"grids-{'' if ema else 'raw-'}s{row['seed']}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--cand-kimg", type=float, default=0.5)
    ap.add_argument("--final-kimg", type=float, default=12.0)
    ap.add_argument("--max-children", type=int, default=2)
    ap.add_argument("--eval-images", type=int, default=1000)
    ap.add_argument("--classifier", default=None, help="fid-classifier network (growgan metrics train-classifier)")
    ap.add_argument("--rescore", action="store_true", help="only score the runs in OUT/results.json again (raw G and G_ema)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res_path = out / "results.json"
    results = json.loads(res_path.read_text()) if res_path.is_file() else []
    if args.rescore:
        from growgan.utils.io import atomic_write_json

        rescore(results, args)
        atomic_write_json(res_path, results)
        table(results)
        grids(results, out)
        return
    for seed in args.seeds:
        t0 = time.time()
        run(GROWGAN + ["search", "--preset", "dggan-mnist-32", "--data", args.data, "--out", str(out), "--seed", str(seed),
                       "--name", f"dggan-s{seed}", "--quiet", "--set", "tensorboard=false",
                       "--set", f"growth.search.candidate_kimg={args.cand_kimg}",
                       "--set", f"growth.search.final_kimg={args.final_kimg}",
                       "--set", f"growth.search.max_children={args.max_children}"])
        dg = newest(out, f"dggan-s{seed}")
        t_dg = time.time() - t0
        total, final = search_images(dg)
        row = {"seed": seed, "dggan": str(dg), "dggan_final_images": final, "dggan_total_images": total,
               "dggan_wall_s": round(t_dg), "best_spec": json.loads((dg / "best_spec.json").read_text())}
        row["dggan_scores"] = score(dg, args.data, args.eval_images, args.classifier)
        row["dggan_scores_raw"] = score(dg, args.data, args.eval_images, args.classifier, ema=False)
        for tag, images in (("progan_equal_final", final), ("progan_equal_total", total)):
            t0 = time.time()
            rd = progan(args.data, out, seed, images, f"{tag}-s{seed}")
            row[tag] = str(rd)
            row[f"{tag}_wall_s"] = round(time.time() - t0)
            row[f"{tag}_scores"] = score(rd, args.data, args.eval_images, args.classifier)
            row[f"{tag}_scores_raw"] = score(rd, args.data, args.eval_images, args.classifier, ema=False)
        results.append(row)
        from growgan.utils.io import atomic_write_json

        atomic_write_json(res_path, results)
        print(json.dumps(row, indent=1), flush=True)
    table(results)
    grids(results, out)


def table(results: list[dict]) -> None:
    keys = [f"{m}_scores{raw}" for raw in ("", "_raw") for m in MODELS if f"{m}_scores{raw}" in results[0]]
    print("| model | " + " | ".join(sorted(results[0]["dggan_scores"])) + " |")
    for k in keys:
        cols = []
        for m in sorted(results[0]["dggan_scores"]):
            vals = [r[k][m] for r in results]
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            cols.append(f"{statistics.mean(vals):.1f} ± {sd:.1f} (n={len(vals)})")
        name = k.replace("_scores_raw", " (raw G)").replace("_scores", " (G_ema)")
        print(f"| {name} | " + " | ".join(cols) + " |")


if __name__ == "__main__":
    main()
