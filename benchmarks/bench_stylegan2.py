"""StyleGAN2 benchmarks on this CPU (results in benchmarks/stylegan2.md).

    nice -n 19 env OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_stylegan2.py fir
    nice -n 19 env OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_stylegan2.py r1

fir: forward + first + second-order gradient of FIR down/upsampling (an R1-shaped double
backward through `tanh(filter(x))`), the custom `FIRFilter` gradient against autograd's own
derivative of the depthwise conv (``naive=True``), same inputs, same results.
r1: one lazy-R1 penalty step (D forward, input gradient with create_graph, backward into D)
of the stylegan2 D at 32x32, with the custom filter and with the naive one patched in.
"""

from __future__ import annotations

import argparse
import time

import torch

from growgan import layers


def _best(fn, seconds: float) -> float:
    fn()  # warm-up
    best, t_end = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_fir(seconds: float) -> None:
    k = layers.fir_kernel()
    print("| op | input [N, C, H, W] | naive (ms) | custom (ms) | speed-up |")
    print("|---|---|---|---|---|")
    for name, op in (("down", layers.fir_downsample2x), ("up", layers.fir_upsample2x)):
        for shape in ((16, 64, 32, 32), (16, 128, 16, 16), (4, 32, 128, 128)):
            x0 = torch.randn(shape)
            times = []
            for naive in (True, False):
                def run():
                    x = x0.clone().requires_grad_(True)
                    y = torch.tanh(op(x, k, naive))
                    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
                    g.square().sum().backward()
                times.append(_best(run, seconds))
            print(f"| {name} | {list(shape)} | {times[0] * 1e3:.2f} | {times[1] * 1e3:.2f} | {times[0] / times[1]:.2f}x |")


def bench_r1(seconds: float) -> None:
    from growgan.losses import r1_penalty
    from growgan.networks.registry import build_networks

    spec = {"family": "stylegan2", "G": {"z_dim": 64, "img_channels": 3, "img_resolution": [32, 32], "w_dim": 64,
                                           "fmap_base": 2048, "fmap_max": 128},
            "D": {"z_dim": 64, "img_channels": 3, "img_resolution": [32, 32], "fmap_base": 2048, "fmap_max": 128}}
    _, D = build_networks(spec)
    x = torch.randn(32, 3, 32, 32)
    orig = layers.fir_filter
    times = []
    for naive in (True, False):
        import growgan.layers as L
        L.fir_filter = (lambda x, k, p, n=False: orig(x, k, p, True)) if naive else orig

        def run():
            D.zero_grad(set_to_none=True)
            r1_penalty(D, x).backward()
        times.append(_best(run, seconds))
    layers.fir_filter = orig
    print(f"R1 step, stylegan2 D 32x32 (fmap_base 2048, max 128), batch 32: naive {times[0] * 1e3:.1f} ms, "
          f"custom {times[1] * 1e3:.1f} ms, speed-up {times[0] / times[1]:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["fir", "r1"])
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    {"fir": bench_fir, "r1": bench_r1}[a.what](a.seconds)
