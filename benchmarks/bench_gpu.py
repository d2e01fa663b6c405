"""StyleGAN2 on a CUDA GPU: training speed and the fp16 blocks' behaviour (benchmarks/stylegan2.md).

    PYTHONPATH=src python benchmarks/bench_gpu.py speed --mnist MNIST32 --cifar CIFAR10 [--rounds 3]
    PYTHONPATH=src python benchmarks/bench_gpu.py fp16

speed: images/s of one engine training step (Trainer.train_until: D step, G step, lazy R1
every 16 D steps, EMA, stats) for each variant below, timed with torch.cuda.synchronize()
around rounds of 32 iterations (two R1 steps each), after a warm-up of 17 iterations;
rounds interleaved across variants so that anything else on the machine hits them alike;
median over rounds, and the peak CUDA memory of a round (torch.cuda.max_memory_allocated):
  preset-fp32       stylegan2-cifar10 (the CPU preset), amp=off
  preset-bf16       the same with bf16 autocast (amp=auto's choice on a bf16 GPU)
  preset-fp16res    amp=off, num_fp16_res=4 in G and D (stylegan2-ada's mixed precision:
                    float16 activations at 8-32 px, conv clamp 256)
  preset-naivefir   amp=off with the FIR filter's autograd-derived gradient (rosinality-style
                    pure-torch ops) instead of growgan's custom backward
  ada-fp32          stylegan2-cifar10-ada (the paper's cifar config: 512 channels, batch 64)
  ada-fp16res       the same with num_fp16_res=4
fp16: the fp16 blocks against float32 at the same weights: one G (512 channels, 32x32x3) and
one D built with num_fp16_res=4, run with fp16 on and off (the flag switched, weights kept),
64 latents (seed 0): the relative rms difference of G's images and of D's logits, the
largest fraction of a conv's outputs at the clamp (+-256), and whether R1's double
backward stays finite in fp16.
Prints one JSON line per result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

import torch

from growgan import layers
from growgan.growth import build_trainer as Trainer
from growgan.training.config import apply_overrides
from growgan.training.presets import get_preset

VARIANTS = {
    "preset-fp32": ("stylegan2-cifar10", "cifar", ["amp=\"off\""]),
    "preset-bf16": ("stylegan2-cifar10", "cifar", ["amp=\"bf16\""]),
    "preset-fp16res": ("stylegan2-cifar10", "cifar", ["amp=\"off\"", "network.G.num_fp16_res=4",
                                                      "network.D.num_fp16_res=4"]),
    "preset-naivefir": ("stylegan2-cifar10", "cifar", ["amp=\"off\""]),
    "ada-fp32": ("stylegan2-cifar10-ada", "cifar", ["amp=\"off\""]),
    "ada-fp16res": ("stylegan2-cifar10-ada", "cifar", ["amp=\"off\"", "network.G.num_fp16_res=4",
                                                       "network.D.num_fp16_res=4"]),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _NaiveFIR:
    """Context: growgan's FIR filter with autograd's own derivative (naive=True) everywhere."""

    def __enter__(self):
        self.orig = layers.fir_filter
        layers.fir_filter = lambda x, k, p, n=False: self.orig(x, k, p, True)

    def __exit__(self, *exc):
        layers.fir_filter = self.orig


def speed(args) -> None:
    data = {"mnist": args.mnist, "cifar": args.cifar}
    device = torch.device(args.device)
    trainers, rates, peaks = {}, {}, {}
    for name in args.variants:
        preset, which, sets = VARIANTS[name]
        cfg = apply_overrides(get_preset(preset), sets + [f"device=\"{args.device}\"", "tensorboard=false",
                                                           "report=false", "xflip=false"])
        t = Trainer(cfg, data[which], verbose=False)
        with (_NaiveFIR() if name.endswith("naivefir") else contextlib.nullcontext()):
            t.train_until(17 * cfg.batch_size)  # warm-up: cudnn's choices, one R1 step
        _sync(device)
        trainers[name], rates[name], peaks[name] = t, [], 0
        print(json.dumps({"warmed_up": name}), flush=True)
    for _ in range(args.rounds):
        for name, t in trainers.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            with (_NaiveFIR() if name.endswith("naivefir") else contextlib.nullcontext()):
                _sync(device)
                t0 = time.perf_counter()
                t.train_until(t.state.images_seen + 32 * t.config.batch_size)
                _sync(device)
            rates[name].append(32 * t.config.batch_size / (time.perf_counter() - t0))
            if device.type == "cuda":
                peaks[name] = max(peaks[name], torch.cuda.max_memory_allocated(device) / 2**20)
            print(json.dumps({"round": len(rates[name]), "variant": name, "img_per_s": round(rates[name][-1], 1)}),
                  flush=True)  # as it comes, so a time limit keeps the rounds done
    for name, t in trainers.items():
        finite = all(torch.isfinite(p).all().item() for p in t.state.G.parameters())
        print(json.dumps({"variant": name, "batch": t.config.batch_size, "img_per_s": round(statistics.median(rates[name]), 1),
                          "rounds": [round(r, 1) for r in rates[name]], "peak_mib": round(peaks[name]),
                          "G_finite": finite, "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}),
              flush=True)


def fp16(args) -> None:
    from growgan.losses import r1_penalty
    from growgan.networks.registry import build_networks

    device = torch.device(args.device)
    res = {"img_channels": 3, "img_resolution": [32, 32], "fmap_base": 16384, "fmap_max": 512, "num_fp16_res": 4}
    spec = {"family": "stylegan2", "G": {**res, "z_dim": 512, "w_dim": 512, "mapping_layers": 2},
            "D": {**res, "z_dim": 512, "mbstd_group_size": 32}}
    torch.manual_seed(0)
    G, D = (m.to(device).eval() for m in build_networks(spec))
    z = torch.randn(64, 512, device=device, generator=torch.Generator(device).manual_seed(0))
    clamp_hits = []

    def hook(_m, _i, out):
        if torch.is_tensor(out):
            clamp_hits.append((out.abs() >= 255.99).float().mean().item())

    out = {}
    on_G, on_D = list(G.use_fp16), list(D.use_fp16)
    img_ref = None
    for label, flag in (("fp32", False), ("fp16", True)):
        G.use_fp16 = [flag and u for u in on_G]
        D.use_fp16 = [flag and u for u in on_D]
        with torch.no_grad():
            img = G(z).float()  # eval mode: constant noise, so the two passes see the same inputs
            img_ref = img if img_ref is None else img_ref
            logits = D(img_ref).float()  # D judged on the same (float32 G's) images both times
        out[label] = (img, logits)
    rel = lambda a, b: ((a - b).square().mean().sqrt() / b.square().mean().sqrt()).item()
    print(json.dumps({"what": "fp16-vs-fp32", "G_rel_rms": round(rel(out["fp16"][0], out["fp32"][0]), 5),
                      "D_rel_rms": round(rel(out["fp16"][1], out["fp32"][1]), 5)}), flush=True)
    # R1's double backward with the fp16 blocks on (as left by the loop above)
    handles = [m.register_forward_hook(hook) for m in list(G.modules()) + list(D.modules())
               if type(m).__name__ in ("Conv", "SynthesisLayer", "ToRGB")]
    G.train(), D.train()
    x = G(z[:32]).float()
    r1 = r1_penalty(D, x.detach())
    r1.backward()
    for h in handles:
        h.remove()
    gfin = all(p.grad is None or torch.isfinite(p.grad).all().item() for p in D.parameters())
    print(json.dumps({"what": "fp16-double-backward", "r1": round(r1.item(), 4), "D_grads_finite": gfin,
                      "clamp_fraction_max": round(max(clamp_hits), 6) if clamp_hits else None}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("speed", "fp16"))
    ap.add_argument("--mnist")
    ap.add_argument("--cifar")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    args = ap.parse_args()
    {"speed": speed, "fp16": fp16}[args.what](args)


if __name__ == "__main__":
    main()
