"""Metrics of image-to-image translation against paired targets (Pix2Pix's evaluation:
Isola et al. 2017 report per-pixel and perceptual scores of G(A) against the true B).

- ``l1``: mean absolute difference of G(A) and B over every pixel and channel, on the uint8
  scale divided by 255 (0 = identical, 1 = black vs white everywhere); lower is better.
- ``ms-ssim-paired`` (key ``ms_ssim_paired``): the mean over pairs of MS-SSIM(G(A)_i, B_i)
  (`growgan.metrics.ms_ssim.ms_ssim`, data range 255); 1 = identical; higher is better.
Both need aligned sets (``MetricContext.paired``: fake image i translates the input of real
image i), which `evaluate_translation` provides. Distribution metrics (fid, swd,
fid-classifier, ...) score the same two sets as unpaired image sets: outputs vs targets.
"""

from __future__ import annotations

import os

import torch

from growgan.data.paired import open_paired_archive, open_unpaired_archive
from growgan.errors import GrowganError
from growgan.metrics.ms_ssim import ms_ssim, ms_ssim_rule
from growgan.metrics.registry import MetricContext, MetricResult
from growgan.metrics.sources import ImageSource, array_source
from growgan.utils.image import to_uint8

PAIRED_METRICS = ("l1", "ms-ssim-paired")


def check_paired(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> None:
    """Paired metrics need aligned sets of one size and channel count."""
    if not ctx.paired:
        raise GrowganError("compares each output with its own target, so it runs on a translation run "
                           "(growgan metrics RUN or growgan translate --metrics), not on two unrelated image sets")
    if real.num != fake.num or real.resolution != fake.resolution or real.channels != fake.channels:
        raise GrowganError(f"{real.name} and {fake.name} are not aligned pairs ({real.num} vs {fake.num} images, "
                           f"{real.resolution} vs {fake.resolution})")


def _pairs(real: ImageSource, fake: ImageSource, batch_size: int):
    for s in range(0, real.num, batch_size):
        yield real.get(s, s + batch_size), fake.get(s, s + batch_size)  # uint8 [n, C, H, W] each


def l1_metric(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
    total, count = 0.0, 0
    for r, f in _pairs(real, fake, ctx.batch_size):
        total += float((f.to(torch.float64) - r.to(torch.float64)).abs().sum())
        count += r.numel()
    return MetricResult({"l1": total / count / 255.0}, [f"l1: mean |output - target| / 255 over {real.num} pairs"])


def ms_ssim_paired_metric(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
    vals = []
    for r, f in _pairs(real, fake, ctx.batch_size):
        dev = ctx.device or torch.device("cpu")
        vals.append(ms_ssim(f.to(dev), r.to(dev)).cpu())  # [n]
    value = float(torch.cat(vals).mean())
    return MetricResult({"ms_ssim_paired": value},
                        [ms_ssim_rule(real.resolution) + f"; mean over {real.num} (output, target) pairs"])


@torch.no_grad()
def translate_images(G: torch.nn.Module, a: torch.Tensor, batch_size: int = 64, device=None) -> torch.Tensor:
    """uint8 [N, C_A, H, W] inputs -> uint8 [N, C_B, H, W] outputs of G in eval mode (dropout off)."""
    device = torch.device(device) if device is not None else next(G.parameters()).device
    was = G.training
    G.eval()
    try:
        out = [to_uint8(G(a[s: s + batch_size].to(device).float() / 127.5 - 1.0)).cpu()
               for s in range(0, a.shape[0], batch_size)]
    finally:
        G.train(was)
    return torch.cat(out)


def paired_sets(G: torch.nn.Module, archive_path: str | os.PathLike, num_images: int, seed: int = 0,
                batch_size: int = 64, device=None) -> tuple[ImageSource, ImageSource]:
    """(targets B, outputs G(A)) of `num_images` pairs of a paired archive (a seeded subset in
    index order), aligned image by image. Pairs are translated at the archive's size when G
    takes it, else centre-cropped (both sides alike) to G's training size."""
    data = open_paired_archive(archive_path)
    n = min(int(num_images), data.num)
    idx = torch.randperm(data.num, generator=torch.Generator().manual_seed(seed))[:n].sort().values.numpy()
    a, b = data.batch(idx)
    H, W = a.shape[-2:]
    m = int(getattr(G, "size_multiple", 1))
    if H % m or W % m:
        h, w = G.img_resolution
        top, left = (H - h) // 2, (W - w) // 2
        a, b = a[..., top: top + h, left: left + w], b[..., top: top + h, left: left + w]
    outputs = translate_images(G, a.contiguous(), batch_size, device)
    name = os.fspath(archive_path)
    return array_source(b.contiguous(), f"{name} (targets B)"), array_source(outputs, f"G({name} A)")


def unpaired_sets(G: torch.nn.Module, archive_path: str | os.PathLike, num_images: int, seed: int = 0,
                  batch_size: int = 64, device=None) -> tuple[ImageSource, ImageSource]:
    """(domain B images, outputs G(A)) of an unpaired archive (CycleGAN): seeded subsets of
    `num_images` of each domain, drawn independently; not aligned (set metrics only)."""
    data = open_unpaired_archive(archive_path)
    g = torch.Generator().manual_seed(seed)
    pick = [torch.randperm(len(side), generator=g)[: min(int(num_images), len(side))].sort().values.numpy()
            for side in (data.a, data.b)]
    a = torch.from_numpy(data.a.images[pick[0]].copy())
    b = torch.from_numpy(data.b.images[pick[1]].copy())
    outputs = translate_images(G, a, batch_size, device)
    name = os.fspath(archive_path)
    return array_source(b, f"{name} (domain B)"), array_source(outputs, f"G({name} A)")


def evaluate_translation(G: torch.nn.Module, archive_path: str | os.PathLike, names: list[str], num_images: int,
                         ctx: MetricContext, compute) -> dict:
    """Score G's translations of side A against side B: {name: MetricResult} (see module doc);
    on an unpaired archive against B's images as a set (paired metrics refuse it)."""
    if open_unpaired_archive(archive_path).meta.get("kind") != "paired":
        real, fake = unpaired_sets(G, archive_path, num_images, ctx.seed, ctx.batch_size, ctx.device)
        ctx.ms_ssim_real = False
        return compute(names, real, fake, ctx)
    real, fake = paired_sets(G, archive_path, num_images, ctx.seed, ctx.batch_size, ctx.device)
    ctx.paired = True
    ctx.ms_ssim_real = False
    return compute(names, real, fake, ctx)
