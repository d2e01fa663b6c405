"""Which half collapses? StyleGAN2's recipe with the generator and discriminator swapped
between families, in a minimal loop outside the engine (benchmarks/stylegan2.md, session 6).

    python benchmarks/stylegan2_swap.py NAME KIMG --data MNIST32 --classifier CLF [--G F] [--D F] [options]
    python benchmarks/stylegan2_swap.py C 10 --G dcgan --data data/mnist32 --classifier clf.pt

The loop is the StyleGAN2 recipe of `stylegan2-mnist-32` written out by hand (so the engine
is not part of what is tested): batch 32 of MNIST 32x32 from --data, the non-saturating
logistic loss, lazy R1 (gamma 0.01 every 16 D steps, scaled by 16), Adam betas (0, 0.99),
eps 1e-8, lr 0.0025, one D step then one G step on the same fakes, no EMA (raw G is probed).
Networks are the registry's classes at the CPU preset's widths (stylegan2: z = w = 128,
4 mapping layers, fmap_base 1024 / fmap_max 128; dcgan: g_channels / d_channels 32; progan: the
4-stage network at full resolution with no growth, fmap_base 1024 / fmap_max 128; resnet: 64).

Every kimg, with latents of seed 7 (256 images, eval mode): the class histogram of a
trained MNIST classifier (--classifier, `growgan metrics train-classifier`), reported as its
entropy / log(10) (1 = all ten digits equally often, 0 = one class: collapse; 256 real MNIST
images score 0.99), the classifier's mean confidence, the pixel std over latents, and a grid
NAME/gKKK.png. Also (session 7) D's preference for spread: d mean D / d e for batches whose
samples' deviations from the batch mean are scaled by (1 + e) (`spread_fake`, `spread_real`;
< 0: D rewards fakes for moving towards their batch mean, the pull of mode collapse), and
the same with D's minibatch-stddev channel held at the unscaled value (`..._mbstd_frozen`).
One thread. Writes NAME/log.jsonl under --out (runs/swap).

Variants that change one thing of a network (diagnostics, not features):
  --G-set / --D-set JSON   spec keys for the constructor (e.g. '{"use_noise": false}')
  --G-norm none|pixel      dcgan G: its BatchNorm layers replaced by nothing or by PixelNorm
  --sg2 noskip             stylegan2 G: the image from the last toRGB only (no skip sum)
  --sg2 zinput             stylegan2 G: a learned projection of w added to the constant input
  --sg2 nodemod            stylegan2 G: modulation kept, demodulation replaced by a fixed scale
  --sg2 rgb01              stylegan2 G: toRGB weights x0.1 at initialisation (small first output)
  --sg2 rgbmean            stylegan2 G: the last toRGB bias starts at the data's mean pixel (session 8)
  --sg2 nobias             stylegan2 G: the synthesis layers' biases frozen at 0
  --sg2 frozen-input       stylegan2 G: nobias, and the constant input frozen at its initial value
  --sg2 fadeK              stylegan2 G: the 8, 16, 32 px toRGB outputs fade into the skip sum one
                           after another over K kimg each (coarse first; session 7)
  --affine-lr LR           stylegan2 G: Adam lr of the style affine layers (weights and biases) alone
                           (session 8; not with --conv-lr)
  --conv-lr LR             stylegan2 G: Adam lr of the demodulated conv weights alone (scale-free
                           under demodulation, so lr is their relative step; DCGAN's start at std
                           0.02, so lr 0.0025 moves them 12 % per step)
  --G-act lrelu            dcgan G: LeakyReLU(0.2) (the Karras generators' activation) for its ReLUs
  --G-up nearest           dcgan G: each stride-2 transposed conv replaced by nearest 2x upsampling
                           and a 3x3 conv, as ProGAN's generator upsamples (session 8)
  --G-eqlr                 dcgan G: conv weights stored N(0, 1) and multiplied by 0.02 at run time
                           (the same forward at init; Adam then moves them 0.25 % per step at lr
                           0.0025, as an equalized-LR generator's, not 12 %) (session 8)
  --G-depth 2              dcgan G: a 3x3 conv + BatchNorm + ReLU after each hidden block, so two
                           convs per resolution as the Karras generators (session 8)
  --D-mbstd-gain X         stylegan2 D: its minibatch-stddev channel scaled by X (session 7)
  --G-out tanh|linear      G's output squashed by tanh (stylegan2, progan: linear outputs), or
                           dcgan G's final tanh removed
The loop itself (session 9):
  --phases ref             stylegan2-ada-pytorch's training-loop phases instead: G's step on fresh
                           latents, D's step on other fresh fakes, and every 16th iteration R1 as
                           its own D step (gain 16), D's Adam at lr x 16/17 and beta2 ** (16/17)
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import growgan.networks.stylegan2 as sg2
from growgan.data import open_archive
from growgan.layers import PixelNorm
from growgan.metrics.classifier import load_classifier
from growgan.networks.registry import family_classes
from growgan.utils.image import save_grid
from stylegan2_diag import normalized_entropy, spread_derivative  # benchmarks/, this script's folder

WIDTH_KEYS = {
    "stylegan2": ({"w_dim": 128, "mapping_layers": 4, "fmap_base": 1024, "fmap_max": 128}, {"fmap_base": 1024, "fmap_max": 128}),
    "dcgan": ({"g_channels": 32}, {"d_channels": 32}),
    "progan": ({"num_stages": 4, "fmap_base": 1024, "fmap_max": 128}, {"num_stages": 4, "fmap_base": 1024, "fmap_max": 128}),
    "resnet": ({"channels": 64}, {"channels": 64}),
}


def build(family: str, part: str, extra: dict) -> nn.Module:
    """The registry's G or D of `family` for 1-channel 32x32 images at the widths above."""
    cls = family_classes(family)[part == "D"]
    kw = {"z_dim": 128, "img_channels": 1, **WIDTH_KEYS[family][part == "D"], **extra}
    if family != "progan":
        kw["img_resolution"] = 32
    if "z_dim" not in inspect.signature(cls).parameters:  # ProGAN's D takes no z_dim
        del kw["z_dim"]
    return cls(**kw)


def _synthesis_noskip(self, ws, noise_mode=None):
    noise_mode = noise_mode or ("random" if self.training else "const")
    x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
    x = self.layers[0](x, ws[:, 0], noise_mode)
    for i in range(1, len(self.torgb)):
        x = self.layers[2 * i](self.layers[2 * i - 1](x, ws[:, 2 * i - 1], noise_mode), ws[:, 2 * i], noise_mode)
    return self.torgb[-1](x, ws[:, -1])


def _synthesis_zinput(self, ws, noise_mode=None):
    noise_mode = noise_mode or ("random" if self.training else "const")
    c0, h0, w0 = self.const.shape
    x = self.const.unsqueeze(0) + self.inproj(ws[:, 0]).reshape(ws.shape[0], c0, h0, w0)
    x = self.layers[0](x, ws[:, 0], noise_mode)
    img = self.torgb[0](x, ws[:, 1])
    for i in range(1, len(self.torgb)):
        x = self.layers[2 * i](self.layers[2 * i - 1](x, ws[:, 2 * i - 1], noise_mode), ws[:, 2 * i], noise_mode)
        img = sg2.fir_upsample2x(img, self.fir) + self.torgb[i](x, ws[:, 2 * i + 1])
    return img


def _synthesis_fade(self, ws, noise_mode=None):
    """The skip sum with toRGB i (i >= 1) weighted by clamp(kimg / fade_kimg - (i - 1), 0, 1):
    resolutions fade in one after another, coarse first, as progressive growing would."""
    noise_mode = noise_mode or ("random" if self.training else "const")
    x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
    x = self.layers[0](x, ws[:, 0], noise_mode)
    img = self.torgb[0](x, ws[:, 1])
    for i in range(1, len(self.torgb)):
        a = min(max(self.kimg_now / self.fade_kimg - (i - 1), 0.0), 1.0)
        x = self.layers[2 * i](self.layers[2 * i - 1](x, ws[:, 2 * i - 1], noise_mode), ws[:, 2 * i], noise_mode)
        img = sg2.fir_upsample2x(img, self.fir) + (self.torgb[i](x, ws[:, 2 * i + 1]) * a if a > 0 else 0)
    return img


def apply_variant(G: nn.Module, variant: str | None, data_mean: float = 0.0) -> None:
    if variant is not None and variant.startswith("fade"):
        G.fade_kimg, G.kimg_now = float(variant[4:] or 1.5), 0.0
        G.synthesis = types.MethodType(_synthesis_fade, G)
    elif variant == "noskip":
        G.synthesis = types.MethodType(_synthesis_noskip, G)
    elif variant == "zinput":
        c0, h0, w0 = G.const.shape
        G.inproj = sg2.FC(G.w_dim, c0 * h0 * w0, act=False)
        G.synthesis = types.MethodType(_synthesis_zinput, G)
    elif variant == "nodemod":
        plain = sg2.modulated_conv2d

        def fixed_scale(x, weight, styles, demodulate=True, padding=0, eps=1e-8, up=False, fused=None):
            y = plain(x, weight, styles, demodulate=False, padding=padding, up=up, fused=fused)
            return y * weight.square().sum(dim=(1, 2, 3)).rsqrt().reshape(1, -1, 1, 1) if demodulate else y

        sg2.modulated_conv2d = fixed_scale
    elif variant in ("nobias", "frozen-input"):
        for m in G.layers:
            m.bias.requires_grad_(False)
        G.const.requires_grad_(variant == "nobias")
    elif variant == "rgb01":
        with torch.no_grad():
            for m in G.torgb:
                m.weight.mul_(0.1)
    elif variant == "rgbmean":  # the last toRGB's bias starts at the data's mean pixel (MNIST: -0.74)
        with torch.no_grad():
            G.torgb[-1].bias.fill_(data_mean)


def joint_step(G, D, opt_G, opt_D, reals, step, a):
    """One iteration of the default loop: D's step (R1 added every 16th iteration, from the
    first), then G's step on the same fakes. Returns D's logits (real, fake)."""
    fakes = G(torch.randn(a.batch, G.z_dim))
    real_logits, fake_logits = D(reals), D(fakes.detach())
    loss_D = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
    if a.gamma > 0 and step % 16 == 0:  # lazy R1 (Mescheder et al. 2018; StyleGAN2 appendix B)
        r = reals.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(r).sum(), r, create_graph=True)
        loss_D = loss_D + grad.square().sum((1, 2, 3)).mean() * (a.gamma / 2) * 16
    opt_D.zero_grad(set_to_none=True)
    loss_D.backward()
    opt_D.step()
    D.requires_grad_(False)
    loss_G = F.softplus(-D(fakes)).mean()
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    D.requires_grad_(True)
    return real_logits.detach(), fake_logits.detach()


def ref_phases(G, D, opt_G, opt_D, reals, step, a):
    """One iteration as stylegan2-ada-pytorch's training loop runs it (path length off):
    'Gboth' (non-saturating loss on fresh latents), 'Dmain' (logistic loss on fresh fakes and
    the reals), and every 16th iteration from the first 'Dreg': R1 alone, as its own Adam step
    with the gain 16. Returns the Dmain logits (real, fake)."""
    D.requires_grad_(False)
    loss_G = F.softplus(-D(G(torch.randn(a.batch, G.z_dim)))).mean()
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    D.requires_grad_(True)
    with torch.no_grad():
        fakes = G(torch.randn(a.batch, G.z_dim))
    real_logits, fake_logits = D(reals), D(fakes)
    loss_D = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
    opt_D.zero_grad(set_to_none=True)
    loss_D.backward()
    opt_D.step()
    if a.gamma > 0 and step % 16 == 0:
        r = reals.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(r).sum(), r, create_graph=True)
        loss_r1 = grad.square().sum((1, 2, 3)).mean() * (a.gamma / 2) * 16
        opt_D.zero_grad(set_to_none=True)
        loss_r1.backward()
        opt_D.step()
    return real_logits.detach(), fake_logits.detach()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("kimg", type=float)
    ap.add_argument("--G", default="stylegan2", choices=sorted(WIDTH_KEYS))
    ap.add_argument("--D", default="stylegan2", choices=sorted(WIDTH_KEYS))
    ap.add_argument("--G-set", default="{}")
    ap.add_argument("--D-set", default="{}")
    ap.add_argument("--G-norm", choices=("none", "pixel"))
    ap.add_argument("--sg2", help="noskip, zinput, nodemod, rgb01, rgbmean, nobias, frozen-input or fadeK")
    ap.add_argument("--G-out", choices=("tanh", "linear"))
    ap.add_argument("--G-up", choices=("nearest",), help="dcgan G: nearest upsampling + 3x3 conv for its transposed convs")
    ap.add_argument("--G-eqlr", action="store_true", help="dcgan G: equalized-LR storage of its conv weights")
    ap.add_argument("--G-depth", type=int, choices=(1, 2), default=1, help="dcgan G: 2 = a 3x3 conv after every hidden block")
    ap.add_argument("--conv-lr", type=float)
    ap.add_argument("--affine-lr", type=float, help="stylegan2 G: Adam lr of the style affine layers alone")
    ap.add_argument("--G-act", choices=("lrelu",))
    ap.add_argument("--D-mbstd-gain", type=float, help="stylegan2 D: its minibatch-stddev channel multiplied by this")
    ap.add_argument("--gamma", type=float, default=0.01)
    ap.add_argument("--lr", type=float, default=0.0025, help="G's (and D's unless --lr-D)")
    ap.add_argument("--lr-D", type=float)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--phases", choices=("joint", "ref"), default="joint",
                    help="joint: one D step with R1 added every 16th, then G on the same fakes; ref: "
                         "stylegan2-ada's phases (G, D, then R1 as its own D step every 16th, fresh latents "
                         "for each, D's Adam lr x 16/17 and beta2 ** (16/17))")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", required=True, help="an MNIST 32x32 archive (growgan dataset prepare mnist ...)")
    ap.add_argument("--classifier", required=True, help="growgan metrics train-classifier --data ARCHIVE --out clf.pt")
    ap.add_argument("--out", default="runs/swap")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    data = torch.from_numpy(np.array(open_archive(a.data).images))  # uint8 [N, 1, 32, 32]
    G, D = build(a.G, "G", json.loads(a.G_set)), build(a.D, "D", json.loads(a.D_set))
    if a.G_up == "nearest":  # dcgan G: each stride-2 transposed conv -> nearest 2x upsampling + 3x3 conv
        for i, m in enumerate(G.main):
            if isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2):
                conv = nn.Conv2d(m.in_channels, m.out_channels, 3, 1, 1, bias=m.bias is not None)
                with torch.no_grad():
                    conv.weight.normal_(0.0, 0.02)
                    if conv.bias is not None:
                        conv.bias.zero_()
                G.main[i] = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv)
    if a.G_depth == 2:  # dcgan G: a 3x3 conv + BN + ReLU after every hidden block (two convs per resolution)
        deeper = []
        for m in G.main:
            deeper.append(m)
            if isinstance(m, nn.ReLU):
                c = deeper[-2].num_features  # the BatchNorm before this ReLU
                conv = nn.Conv2d(c, c, 3, 1, 1, bias=False)
                bn = nn.BatchNorm2d(c)
                with torch.no_grad():
                    conv.weight.normal_(0.0, 0.02)
                    bn.weight.normal_(1.0, 0.02)
                deeper += [conv, bn, nn.ReLU(True)]
        G.main = nn.Sequential(*deeper)
    if a.G_eqlr:  # dcgan G: conv weights stored N(0, 1) and scaled by 0.02 at run time (same forward at init)
        from torch.nn.utils import parametrize

        class _Scale(nn.Module):
            def forward(self, w):
                return w * 0.02

        for m in G.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                with torch.no_grad():
                    m.weight.div_(0.02)
                parametrize.register_parametrization(m, "weight", _Scale())
    if a.G_norm:
        for i, m in enumerate(G.main):
            if isinstance(m, nn.BatchNorm2d):
                G.main[i] = nn.Identity() if a.G_norm == "none" else PixelNorm()
    apply_variant(G, a.sg2, data[:10000].float().mean().item() / 127.5 - 1)
    if a.D_mbstd_gain:
        D.mbstd.register_forward_hook(lambda _m, _i, o: torch.cat([o[:, :-1], o[:, -1:] * a.D_mbstd_gain], 1))
    if a.G_act == "lrelu":
        for i, m in enumerate(G.main):
            if isinstance(m, nn.ReLU):
                G.main[i] = nn.LeakyReLU(0.2)
    if a.G_out == "linear" and isinstance(getattr(G, "main", None), nn.Sequential) and isinstance(G.main[-1], nn.Tanh):
        G.main[-1] = nn.Identity()
    elif a.G_out == "tanh":
        G.forward = types.MethodType(lambda self, z, c=None, _f=G.forward: torch.tanh(_f(z, c)), G)
    groups = [{"params": list(G.parameters())}]
    if a.conv_lr:
        conv = [m.weight for m in G.layers]
        ids = {id(p) for p in conv}
        groups = [{"params": [p for p in G.parameters() if id(p) not in ids]}, {"params": conv, "lr": a.conv_lr}]
    if a.affine_lr:  # the style affines (w -> styles): the path by which z reaches the synthesis
        aff = [p for m in list(G.layers) + list(G.torgb) for p in m.affine.parameters()]
        ids = {id(p) for p in aff}
        groups = [{"params": [p for p in G.parameters() if id(p) not in ids]}, {"params": aff, "lr": a.affine_lr}]
    opt_G = torch.optim.Adam(groups, lr=a.lr, betas=(0.0, 0.99), eps=1e-8)
    ratio = 16 / 17 if a.phases == "ref" else 1.0  # stylegan2-ada's lazy-regularisation correction (mb_ratio)
    opt_D = torch.optim.Adam(D.parameters(), lr=(a.lr_D or a.lr) * ratio, betas=(0.0, 0.99 ** ratio), eps=1e-8)
    clf = load_classifier(a.classifier)
    out = os.path.join(a.out, a.name)
    os.makedirs(out, exist_ok=True)
    z_probe = torch.randn(256, G.z_dim, generator=torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(a.seed)

    spread_z = torch.randn(8, 32, G.z_dim, generator=torch.Generator().manual_seed(11))
    spread_reals = data[torch.randint(0, len(data), (8 * 32,), generator=torch.Generator().manual_seed(11))]

    def spreads() -> dict:
        """D's preference for spread, 8 batches of 32 fakes (raw G, train mode as G's steps see
        it) and of 32 reals, averaged (session 7). G's noise and style mixing draw from the
        global RNG, which the training latents use too: the probe runs on a fork of it, so the
        training run is the one it would be without the probe."""
        rows = []
        with torch.random.fork_rng(devices=[]):
            for k in range(8):
                with torch.no_grad():
                    f = G(spread_z[k])
                r = spread_reals[32 * k:32 * (k + 1)].float() / 127.5 - 1
                rows.append([spread_derivative(D, x, frozen) for x in (f, r) for frozen in (False, True)])
        m = np.array(rows).mean(0)
        return {"spread_fake": round(float(m[0]), 3), "spread_fake_mbstd_frozen": round(float(m[1]), 3),
                "spread_real": round(float(m[2]), 3), "spread_real_mbstd_frozen": round(float(m[3]), 3)}

    def probe(kimg: float) -> dict:
        row = spreads()
        G.eval()
        with torch.no_grad():
            x = G(z_probe).clamp(-1, 1)  # [256, 1, 32, 32]
            p = clf(((x + 1) * 127.5).round().to(torch.uint8))["logits"].softmax(1)
        G.train()
        counts = p.argmax(1).bincount(minlength=p.shape[1])
        save_grid(x[:64], os.path.join(out, f"g{kimg:05.1f}.png"))
        return {**row, "kimg": kimg, "cls_entropy": normalized_entropy(counts),
                "cls_conf": round(p.max(1).values.mean().item(), 3), "pix_std": round(x.std(0).mean().item(), 3)}

    seen, step, next_probe, t0 = 0, 0, 1.0, time.process_time()
    with open(os.path.join(out, "log.jsonl"), "w") as log:
        while seen < a.kimg * 1000:
            reals = data[torch.randint(0, len(data), (a.batch,), generator=gen)].float() / 127.5 - 1
            if a.phases == "ref":
                real_logits, fake_logits = ref_phases(G, D, opt_G, opt_D, reals, step, a)
            else:
                real_logits, fake_logits = joint_step(G, D, opt_G, opt_D, reals, step, a)
            seen, step = seen + a.batch, step + 1
            if hasattr(G, "kimg_now"):
                G.kimg_now = seen / 1000
            if seen >= next_probe * 1000:
                row = probe(next_probe)
                row.update(D_real=round(real_logits.mean().item(), 2), D_fake=round(fake_logits.mean().item(), 2),
                           cpu_s=round(time.process_time() - t0))
                print(json.dumps(row), file=log, flush=True)
                next_probe += 1.0

if __name__ == "__main__":
    main()
