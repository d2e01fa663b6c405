"""Score a CycleGAN run's checkpoints on its unpaired archive (the CycleGAN half of the
translation benchmark; see benchmarks/cyclegan.md).

For each checkpoint of RUN (G_ema) and `--num` images of each domain (a seeded subset):
  swd_ab      SWD (growgan.metrics, x1e3 as growgan reports it) of G_AB(A) against B's images
  swd_ba      SWD of G_BA(B) against A's images
  cycle_a     mean |G_BA(G_AB(a)) - a| on the uint8 scale / 255 (cycle reconstruction error)
  cycle_b     mean |G_AB(G_BA(b)) - b| / 255
and, once, the reference swd_a_vs_b (A's images scored as if they were B's: what "no
translation at all" gets) and swd_b_vs_b (two disjoint halves of B: the floor at this --num).

    python benchmarks/bench_cyclegan.py RUN_DIR --data ARCHIVE [--num 2000] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from growgan.data.paired import open_unpaired_archive
from growgan.metrics.api import MetricContext, compute
from growgan.metrics.sources import array_source
from growgan.metrics.translation import translate_images
from growgan.networks.registry import build_generator
from growgan.training.checkpoint import list_checkpoints, load_generator


def _subset(images: np.ndarray, n: int, seed: int) -> torch.Tensor:
    idx = np.sort(np.random.default_rng(seed).choice(len(images), size=min(n, len(images)), replace=False))
    return torch.from_numpy(np.array(images[idx]))


def swd(real: torch.Tensor, fake: torch.Tensor) -> float:
    ctx = MetricContext(num_images=len(real), seed=0)
    return float(compute(["swd"], array_source(real, "real"), array_source(fake, "fake"), ctx)["swd"].values["swd"])


def cycle_error(x: torch.Tensor, there, back) -> float:
    rec = translate_images(back, translate_images(there, x))
    return float((rec.double() - x.double()).abs().mean() / 255.0)


class _Dir(torch.nn.Module):
    """One direction of a CycleGenerator as a module `translate_images` can run."""

    def __init__(self, fn, G):
        super().__init__()
        self.fn, self.G = fn, G

    def forward(self, x):
        return self.fn(x)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--data", required=True)
    p.add_argument("--num", type=int, default=2000)
    p.add_argument("--out")
    args = p.parse_args(argv)
    data = open_unpaired_archive(args.data)
    a, b = _subset(data.a.images, args.num, 1), _subset(data.b.images, args.num, 2)
    half = len(b) // 2
    rows = {"reference": {"swd_a_vs_b": swd(b, a), "swd_b_vs_b": swd(b[:half], b[half:2 * half])}}
    print(json.dumps(rows["reference"]), flush=True)
    ckpts = list_checkpoints(Path(args.run))
    torch.manual_seed(0)
    fresh = build_generator(torch.load(ckpts[0], weights_only=True, map_location="cpu")["state"]["spec"])
    for name, G in [("untrained (initial weights, seed 0)", fresh)] + [(c.name, c) for c in ckpts]:
        G = load_generator(G, ema=True) if isinstance(G, Path) else G.eval()
        ab, ba = _Dir(G.a_to_b, G), _Dir(G.b_to_a, G)
        row = {"swd_ab": swd(b, translate_images(ab, a)), "swd_ba": swd(a, translate_images(ba, b)),
               "cycle_a": cycle_error(a, ab, ba), "cycle_b": cycle_error(b, ba, ab)}
        rows[name] = row
        print(name, json.dumps(row), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
