"""StyleGAN2 benchmarks on this CPU (results in benchmarks/stylegan2.md).

    nice -n 19 env OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_stylegan2.py fir
    nice -n 19 env OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_stylegan2.py r1

fir: forward + first + second-order gradient of FIR down/upsampling (an R1-shaped double
backward through `tanh(filter(x))`), the custom `FIRFilter` gradient against autograd's own
derivative of the depthwise conv (``naive=True``), same inputs, same results.
r1: one lazy-R1 penalty step (D forward, input gradient with create_graph, backward into D)
of the stylegan2 D at 32x32, with the custom filter and with the naive one patched in.
train: the CPU presets' training speed through the engine (Trainer.train_until: D step, G
step, lazy R1 every 16 D steps, EMA, stats), after a 17-iteration warm-up, in rounds of 32
iterations interleaved across presets and variants; images per wall second and per CPU
second of this process (time.process_time), median over rounds. Variants: "default" (the
code as it is) and "grouped" (the modulated convs forced to the grouped, fused formulation
that growgan used for training before session 9; needs a growgan with the `fused` option).
To compare two checkouts, run one round of each alternately (benchmarks/stylegan2.md):

    PYTHONPATH=src python benchmarks/bench_stylegan2.py train --mnist ARCHIVE --cifar ARCHIVE --rounds 3
steps: growgan's stylegan2 G and D against NVIDIA's stylegan2-ada-pytorch networks (a checkout
given by --ref; on a CPU they run its pure-PyTorch reference ops), both at the swap loop's
widths (benchmarks/stylegan2_refswap.py), batch 32, in training mode: G forward, G step
(non-saturating loss through D, backward), D step (logistic loss on fakes and reals,
backward), R1 step (input gradient with create_graph, backward); best of 5 interleaved rounds:

    PYTHONPATH=src python benchmarks/bench_stylegan2.py steps --ref STYLEGAN2_ADA_PYTORCH
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


def bench_train(a) -> None:
    import contextlib
    import json
    import statistics

    from growgan.growth import build_trainer
    from growgan.networks import stylegan2
    from growgan.training.config import apply_overrides
    from growgan.training.presets import get_preset

    @contextlib.contextmanager
    def variant(name):
        if name == "default":
            yield
            return
        plain = stylegan2.modulated_conv2d
        stylegan2.modulated_conv2d = lambda *args, **kw: plain(*args, **{**kw, "fused": True})
        try:
            yield
        finally:
            stylegan2.modulated_conv2d = plain

    data = {"stylegan2-mnist-32": a.mnist, "stylegan2-cifar10": a.cifar}
    trainers, wall, cpu = {}, {}, {}
    for preset in a.presets:
        for v in a.variants:
            cfg = apply_overrides(get_preset(preset), ["tensorboard=false", "report=false", "metrics=[]"])
            t = build_trainer(cfg, data[preset], verbose=False)
            with variant(v):
                t.train_until(17 * cfg.batch_size)
            trainers[preset, v], wall[preset, v], cpu[preset, v] = t, [], []
    for _ in range(a.rounds):
        for (preset, v), t in trainers.items():
            n = 32 * t.config.batch_size
            with variant(v):
                w0, c0 = time.perf_counter(), time.process_time()
                t.train_until(t.state.images_seen + n)
                wall[preset, v].append(n / (time.perf_counter() - w0))
                cpu[preset, v].append(n / (time.process_time() - c0))
    for (preset, v) in trainers:
        print(json.dumps({"preset": preset, "variant": v, "img_per_s_wall": round(statistics.median(wall[preset, v]), 1),
                          "img_per_cpu_s": round(statistics.median(cpu[preset, v]), 1),
                          "rounds_cpu": [round(r, 1) for r in cpu[preset, v]]}), flush=True)


def bench_steps(a) -> None:
    import sys

    import torch.nn.functional as F

    sys.path.insert(0, a.ref)
    from stylegan2_refswap import RefD, RefG  # benchmarks/, this script's folder
    from stylegan2_swap import build
    from training import networks  # the reference checkout's

    torch.manual_seed(0)
    nets = {"growgan": (build("stylegan2", "G", {}), build("stylegan2", "D", {})),
            "stylegan2-ada": (RefG(networks), RefD(networks))}
    x = torch.randn(32, 1, 32, 32)

    def g_forward(G, D):
        with torch.no_grad():
            G(torch.randn(32, 128))

    def g_step(G, D):
        F.softplus(-D(G(torch.randn(32, 128)))).mean().backward()

    def d_step(G, D):
        with torch.no_grad():
            fakes = G(torch.randn(32, 128))
        (F.softplus(D(fakes)).mean() + F.softplus(-D(x)).mean()).backward()

    def r1_step(G, D):
        r = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(D(r).sum(), r, create_graph=True)
        g.square().sum().backward()

    steps = (g_forward, g_step, d_step, r1_step)
    best = {}
    for _ in range(6):  # the first round warms up
        for name, (G, D) in nets.items():
            for fn in steps:
                t0 = time.perf_counter()
                fn(G, D)
                best.setdefault((fn.__name__, name), []).append(time.perf_counter() - t0)
    print("| step, batch 32 | growgan (ms) | stylegan2-ada reference ops (ms) | growgan / reference |")
    print("|---|---|---|---|")
    for fn in steps:
        ours, ref = min(best[fn.__name__, "growgan"][1:]), min(best[fn.__name__, "stylegan2-ada"][1:])
        print(f"| {fn.__name__} | {ours * 1e3:.1f} | {ref * 1e3:.1f} | {ours / ref:.2f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["fir", "r1", "train", "steps"])
    ap.add_argument("--ref", help="steps: a checkout of NVlabs/stylegan2-ada-pytorch")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--mnist", default="builtin", help="train: the archive for stylegan2-mnist-32")
    ap.add_argument("--cifar", help="train: a CIFAR-10 archive for stylegan2-cifar10")
    ap.add_argument("--presets", nargs="+", default=["stylegan2-mnist-32", "stylegan2-cifar10"])
    ap.add_argument("--variants", nargs="+", default=["default"], choices=["default", "grouped"])
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.what == "train":
        bench_train(a)
    elif a.what == "steps":
        if not a.ref:
            ap.error("steps needs --ref PATH (a checkout of NVlabs/stylegan2-ada-pytorch)")
        bench_steps(a)
    else:
        {"fir": bench_fir, "r1": bench_r1}[a.what](a.seconds)
