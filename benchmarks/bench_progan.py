"""ProGAN training speed per resolution on this CPU (Karras et al. 2018 networks, WGAN-GP step).

For each network size and each stabilised resolution 4..32 it times full training
iterations of the engine (one D step with gradient penalty and drift, one G step, EMA) on
a synthetic archive, counts their FLOPs with torch.utils.flop_counter's formulas (FlopCounterMode's registry), and
compares the achieved GFLOP/s with this CPU's fp32 matmul rate at the same thread count.

    python benchmarks/bench_progan.py [--threads 1] [--seconds 3] [--sizes mnist,zoo]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map
from torch.utils.flop_counter import flop_registry

from growgan.data.archive import write_archive
from growgan.growth import build_trainer as Trainer  # the Trainer with its growth plug-in
from growgan.training.presets import get_preset
from growgan.training.presets_progan import progan_config, progan_network

SIZES = {
    # progan-mnist-32's networks and per-resolution batch sizes
    "mnist": lambda: (get_preset("progan-mnist-32").network, {4: 64, 8: 64, 16: 32, 32: 32}),
    # pytorch_GAN_zoo's default PGAN: depth 512 at every scale up to 32 px, latent 512, batch 16
    "zoo": lambda: (progan_network(z_dim=512, fmap_base=8192, fmap_max=512), {4: 16, 8: 16, 16: 16, 32: 16}),
}


class FlopCount(TorchDispatchMode):
    """FlopCounterMode's per-op formulas (torch.utils.flop_counter.flop_registry) without its
    module tracker, whose backward hooks break under the double backward of the gradient penalty."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        fn = flop_registry.get(func._overloadpacket)
        if fn is not None:
            shape = lambda x: x.shape if torch.is_tensor(x) else x  # noqa: E731
            self.flops += fn(*tree_map(shape, args), **tree_map(shape, kwargs), out_val=tree_map(shape, out))
        return out


def matmul_gflops(seconds: float = 2.0, n: int = 1024) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0, k = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        a @ b
        k += 1
    return 2 * n**3 * k / (time.perf_counter() - t0) / 1e9


def time_resolution(network: dict, res: int, batch: int, archive: Path, seconds: float, single: bool = False) -> dict:
    """img/s and FLOPs of training iterations at `res`. single: one timed, FLOP-counted step and
    no warm-up (for networks whose single step takes minutes on a CPU)."""
    net = json.loads(json.dumps(network))
    stages = int(np.log2(res // 4)) + 1
    for part in ("G", "D"):
        net[part].update(num_stages=stages, fade_in=False, img_channels=1)
    cfg = progan_config(net, {}, batch_size=batch, kimg=1e6, tensorboard=False).copy(growth=None)
    tr = Trainer(cfg, archive, verbose=False)
    if single:
        t0 = time.perf_counter()
        with FlopCount() as fc:
            tr.step()
        dt = time.perf_counter() - t0
        return {"resolution": res, "batch": batch, "img_per_s": batch / dt, "gflop_per_step": fc.flops / 1e9,
                "gflop_per_s": fc.flops / dt / 1e9, "steps": 1}
    tr.step()  # warm-up
    with FlopCount() as fc:
        tr.step()
    flops = fc.flops
    t0, steps = time.perf_counter(), 0
    while steps < 1 or time.perf_counter() - t0 < seconds:
        tr.step()
        steps += 1
    dt = time.perf_counter() - t0
    return {"resolution": res, "batch": batch, "img_per_s": steps * batch / dt, "gflop_per_step": flops / 1e9,
            "gflop_per_s": flops * steps / dt / 1e9, "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--sizes", default="mnist,zoo")
    ap.add_argument("--resolutions", default="4,8,16,32")
    ap.add_argument("--single-from", type=int, default=16, help="zoo size: one step, no warm-up, from this resolution")
    ap.add_argument("--out", default=None, help="write the rows as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)  # a script, not the library: pin the threads we compare against
    peak = matmul_gflops()
    print(f"fp32 matmul 1024^3 on {args.threads} thread(s): {peak:.1f} GFLOP/s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        imgs = np.random.default_rng(0).integers(0, 256, (256, 1, 32, 32), dtype=np.uint8)
        archive = write_archive(Path(tmp) / "noise32", imgs, None, {"source": "benchmark noise"})
        for size in args.sizes.split(","):
            network, batches = SIZES[size]()
            for res in (int(r) for r in args.resolutions.split(",")):
                single = size == "zoo" and res >= args.single_from
                row = {"size": size, **time_resolution(network, res, batches[res], archive, args.seconds, single)}
                row["of_matmul_peak"] = row["gflop_per_s"] / peak
                rows.append(row)
                print(f"{size:6} {res:3}px batch {row['batch']:3}: {row['img_per_s']:9.1f} img/s  "
                      f"{row['gflop_per_step']:8.2f} GFLOP/step  {row['gflop_per_s']:6.1f} GFLOP/s "
                      f"({100 * row['of_matmul_peak']:.0f}% of matmul)", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"matmul_gflops": peak, "threads": args.threads, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
