"""Diagnostics of benchmarks/stylegan2.md (session 2).

    python benchmarks/stylegan2_diag.py sensitivity CHECKPOINT...   # G's sensitivity to its latent
    python benchmarks/stylegan2_diag.py score --data ARCHIVE --classifier clf.pt RUN_OR_CHECKPOINT...
    python benchmarks/stylegan2_diag.py layers CHECKPOINT...          # where G stops using its styles
    python benchmarks/stylegan2_diag.py torgb CHECKPOINT...           # each resolution's share of the image
    python benchmarks/stylegan2_diag.py spread --data ARCHIVE CHECKPOINT...  # does D reward spread?

sensitivity: per checkpoint, raw G and G_ema: the std over 256 latents (seed 7) of each
pixel, averaged over pixels (eval mode, constant noise; images in [-1, 1]), and the mean
path length ||J_w^T y|| of 64 latents (y ~ N(0, I) / sqrt(H W), as StyleGAN2's regulariser).
score (`--device cuda` to run on a GPU): G_ema as benchmarks/dggan.md scored its arms: 5,000 generated images (latent seed
2024) against 5,000 training images, SWD (x1e3) and fid-classifier with the given classifier;
and (session 6) the class entropy of 1,000 G_ema images under that classifier (`class_entropy`).
layers (session 6): raw G of the checkpoint and an untrained G of the same spec (seed 0), 256
latents (seed 7), eval mode: per synthesis layer, the std over latents of its styles
(averaged over channels) and, from a forward hook, the rms of its output, of the output's
mean over latents (the part shared by all samples) and of the rest (the z-dependent part).
torgb (session 7): the StyleGAN2 paper's Figure 8 measure. Raw G, eval mode, constant noise,
256 latents (seed 7): each toRGB's output is upsampled to full resolution by the same FIR
upsampling the skip sum applies (times 2 per doubling), and its std over latents and pixels
(`std`), its z-dependent part's rms (`z_rms`, after subtracting the mean over latents) and
its share of the sum of the stds (`share`) are reported per resolution.
spread (session 7): raw G and D of the checkpoint, eval mode. For 8 batches of 32 (fakes:
latents of seed 5; reals from --data), every sample's deviation from its batch mean is
scaled by (1 + e), and d mean D / d e at e = 0 is averaged (`fake`, `real`): > 0 when D
prefers the batch more spread out, < 0 when it rewards samples for moving towards their
batch mean (the pull of mode collapse). `..._mbstd_frozen`: the same with D's
minibatch-stddev channel held at the unscaled batch's value, so the difference is that
channel's part.
One thread; prints one JSON line per target.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from growgan.metrics import evaluate_generator
from growgan.metrics.classifier import load_classifier
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


def layers(target: str) -> dict:
    G = load_generator(target, ema=False).eval()
    torch.manual_seed(0)
    G0 = type(G)(**G.spec()).eval()
    z = torch.randn(256, G.z_dim, generator=torch.Generator().manual_seed(7))  # not 0: G0's own init draws
    out = {"target": target}
    for key, g in (("init", G0), ("trained", G)):
        acts: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda _m, _i, o: acts.append(o)) for m in g.layers]
        with torch.no_grad():
            w = g.mapping(z)[:, 0]  # [N, w_dim]
            styles = [round(m.affine(w).std(0).mean().item(), 3) for m in g.layers]
            g.synthesis(g.mapping(z), noise_mode="const")
        for h in hooks:
            h.remove()
        rms = lambda t: round(t.square().mean().sqrt().item(), 3)  # noqa: E731
        out[key] = [{"style_std_over_z": s, "rms": rms(a), "shared_rms": rms(a.mean(0)), "z_part_rms": rms(a - a.mean(0))}
                    for s, a in zip(styles, acts)]
    return out


def torgb(target: str) -> dict:
    from growgan.layers import fir_upsample2x

    G = load_generator(target, ema=False).eval()
    z = torch.randn(256, G.z_dim, generator=torch.Generator().manual_seed(7))
    outs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outs.append(o)) for m in G.torgb]
    with torch.no_grad():
        G.synthesis(G.mapping(z), noise_mode="const")
        for h in hooks:
            h.remove()
        full, native = [], [list(o.shape[2:]) for o in outs]
        for i, o in enumerate(outs):  # o: [N, C, res_i, res_i]; upsample to the last resolution
            for _ in range(len(outs) - 1 - i):
                o = fir_upsample2x(o, G.fir)
            full.append(o)
    stds = [o.std().item() for o in full]
    return {"target": target, "torgb": [
        {"res": r, "std": round(s, 4), "z_rms": round((o - o.mean(0)).square().mean().sqrt().item(), 4),
         "share": round(s / sum(stds), 3)} for r, o, s in zip(native, full, stds)]}


def spread_derivative(D, x: torch.Tensor, freeze_mbstd: bool = False) -> float:
    """d mean D(x') / d e at e = 0, where x' = m + (1 + e) (x - m) scales every sample's
    deviation from the batch mean m (x [N, C, H, W] in [-1, 1]): > 0 when D rates the batch
    higher as it spreads out. freeze_mbstd: D's (first) minibatch-stddev layer keeps the
    unscaled batch's value in its output channel, so the difference is that channel's part;
    a D without one gives the plain value."""
    from growgan.layers import MinibatchStd

    e = torch.zeros([], requires_grad=True)
    m = x.mean(0, keepdim=True)
    hook = None
    mbstd = next((mod for mod in D.modules() if isinstance(mod, MinibatchStd)), None)
    if freeze_mbstd and mbstd is not None:
        keep: list[torch.Tensor] = []
        h0 = mbstd.register_forward_hook(lambda _m, _i, o: keep.append(o[:, -1:].detach()))
        with torch.no_grad():
            D(x)
        h0.remove()
        hook = mbstd.register_forward_hook(lambda _m, _i, o: torch.cat([o[:, :-1], keep[0]], 1))
    try:
        (g,) = torch.autograd.grad(D(m + (1 + e) * (x - m)).mean(), e)
    finally:
        if hook is not None:
            hook.remove()
    return g.item()


def spread(target: str, data: str) -> dict:
    import numpy as np

    from growgan.data import open_archive
    from growgan.networks.registry import build_networks
    from growgan.training.checkpoint import load_checkpoint, resolve_checkpoint

    st = load_checkpoint(resolve_checkpoint(target)[0])["state"]
    G, D = build_networks(st["spec"])
    G.load_state_dict(st["G"])
    D.load_state_dict(st["D"])
    G.eval(), D.eval()
    images = open_archive(data).images
    gen = torch.Generator().manual_seed(5)

    rows = []
    for _ in range(8):
        with torch.no_grad():
            fake = G(torch.randn(32, G.z_dim, generator=gen))
        idx = torch.randint(0, len(images), (32,), generator=gen).tolist()
        real = torch.from_numpy(np.stack([np.asarray(images[i]) for i in idx])).float() / 127.5 - 1
        rows.append([spread_derivative(D, x, frozen) for x in (fake, real) for frozen in (False, True)])
    m = np.array(rows).mean(0)
    return {"target": target, **{k: round(float(v), 3) for k, v in
                                 zip(("fake", "fake_mbstd_frozen", "real", "real_mbstd_frozen"), m)}}


def score(target: str, data: str, classifier: str | None, device: str = "cpu") -> dict:
    t0 = time.process_time()
    G = load_generator(target, ema=True, device=device)
    names = ["swd"] + (["fid-classifier"] if classifier else [])
    res = evaluate_generator(G, data, names, 5000, seed=2024, classifier=classifier, device=device)
    out = {"target": target, **{k: round(float(v), 2) for k, v in res.items()}}
    if classifier:
        out["class_entropy"] = class_entropy(G, classifier, device=device)
    return {**out, "cpu_s": round(time.process_time() - t0, 1)}


def normalized_entropy(counts: torch.Tensor) -> float:
    """Entropy / log(K) of a K-bin histogram `counts` [K] (rounded to 3 places): 1 = uniform,
    0 = one bin."""
    p = counts[counts > 0].float() / counts.sum()
    return round(-(p * p.log()).sum().item() / math.log(len(counts)), 3)


def class_entropy(G, classifier: str, num: int = 1000, device: str = "cpu") -> float:
    """Entropy / log(K) of the classifier's predicted-class histogram over `num` G_ema images
    (latent seed 2024, eval mode): 1 = every class equally often, 0 = one class (collapse).
    Unconditional generators only (labels are not drawn)."""
    clf = load_classifier(classifier).to(device)
    gen = torch.Generator().manual_seed(2024)  # latents drawn on the CPU: the same on every device
    counts = torch.zeros(clf.spec.num_classes)
    with torch.no_grad():
        for i in range(0, num, 250):
            z = torch.randn(min(250, num - i), G.z_dim, generator=gen).to(device)
            x = G.eval()(z).clamp(-1, 1)
            pred = clf(((x + 1) * 127.5).round().to(torch.uint8))["logits"].argmax(1)
            counts += pred.bincount(minlength=len(counts)).float().cpu()
    return normalized_entropy(counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("sensitivity", "score", "layers", "torgb", "spread"))
    ap.add_argument("targets", nargs="+")
    ap.add_argument("--data")
    ap.add_argument("--classifier")
    ap.add_argument("--device", default="cpu", help="score: where G and the metrics run (cpu, cuda)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for t in args.targets:
        if args.what == "score":
            res = score(t, args.data, args.classifier, args.device)
        elif args.what == "spread":
            res = spread(t, args.data)
        else:
            res = {"sensitivity": sensitivity, "layers": layers, "torgb": torgb}[args.what](t)
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
