"""Diagnostics of benchmarks/stylegan2.md (session 2).

    python benchmarks/stylegan2_diag.py sensitivity CHECKPOINT...   # G's sensitivity to its latent
    python benchmarks/stylegan2_diag.py score --data ARCHIVE --classifier clf.pt RUN_OR_CHECKPOINT...

sensitivity: per checkpoint, raw G and G_ema: the std over 256 latents (seed 7) of each
pixel, averaged over pixels (eval mode, constant noise; images in [-1, 1]), and the mean
path length ||J_w^T y|| of 64 latents (y ~ N(0, I) / sqrt(H W), as StyleGAN2's regulariser).
score: G_ema as benchmarks/dggan.md scored its arms: 5,000 generated images (latent seed
2024) against 5,000 training images, SWD (x1e3) and fid-classifier with the given classifier.
One thread; prints one JSON line per target.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from growgan.metrics import evaluate_generator
from growgan.training.checkpoint import load_generator


def sensitivity(target: str) -> dict:
    out = {"target": target}
    for ema in (False, True):
        G = load_generator(target, ema=ema)
        gen = torch.Generator().manual_seed(7)
        z = torch.randn(256, G.z_dim, generator=gen)
        with torch.no_grad():
            std = G(z).std(dim=0).mean().item()
        ws = G.mapping(z[:64]).detach().requires_grad_(True)
        img = G.synthesis(ws, noise_mode="const")
        y = torch.randn(img.shape, generator=gen) / math.sqrt(img.shape[2] * img.shape[3])
        (g,) = torch.autograd.grad((img * y).sum(), ws)
        key = "ema" if ema else "raw"
        out[f"pixel_std_{key}"] = round(std, 4)
        out[f"path_length_{key}"] = round(g.square().sum(2).mean(1).sqrt().mean().item(), 4)
    return out


def score(target: str, data: str, classifier: str | None) -> dict:
    t0 = time.process_time()
    G = load_generator(target, ema=True)
    names = ["swd"] + (["fid-classifier"] if classifier else [])
    res = evaluate_generator(G, data, names, 5000, seed=2024, classifier=classifier)
    return {"target": target, **{k: round(float(v), 2) for k, v in res.items()}, "cpu_s": round(time.process_time() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("sensitivity", "score"))
    ap.add_argument("targets", nargs="+")
    ap.add_argument("--data")
    ap.add_argument("--classifier")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for t in args.targets:
        print(json.dumps(sensitivity(t) if args.what == "sensitivity" else score(t, args.data, args.classifier)), flush=True)


if __name__ == "__main__":
    main()
