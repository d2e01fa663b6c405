"""Metrics of image-to-image translation against paired targets (Pix2Pix's evaluation:
Isola et al. 2017 report per-pixel and perceptual scores of G(A) against the true B).

- ``l1``: mean absolute difference of G(A) and B over every pixel and channel, on the uint8
  scale divided by 255 (0 = identical, 1 = black vs white everywhere); lower is better.
- ``ms-ssim-paired`` (key ``ms_ssim_paired``): the mean over pairs of MS-SSIM(G(A)_i, B_i)
  (`growgan.metrics.ms_ssim.ms_ssim`, data range 255); 1 = identical; higher is better.
- ``cycle-error`` (keys ``cycle_error_a``, ``cycle_error_b``, ``cycle_error`` = their mean): the
  cycle reconstruction error of a two-way run (CycleGAN, Zhu et al. 2017, whose cycle loss is
  this L1): mean |G_BA(G_AB(a)) - a| over a seeded subset of side A and mean |G_AB(G_BA(b)) - b|
  over side B, in the units of ``l1`` (uint8 scale / 255). Each direction's output is an image
  as `growgan translate` writes it (uint8), so the error is that of translating an image and
  translating the result back; 0 for identity generators; lower is better. It needs the two
  generators (``MetricContext.cycle``, a `CycleSets`), which `evaluate_translation` and
  ``growgan metrics RUN --data ARCHIVE`` provide for a run whose G has ``b_to_a``.
l1 and ms-ssim-paired need aligned sets (``MetricContext.paired``: fake image i translates the
input of real image i), which `evaluate_translation` provides. Distribution metrics (fid, swd,
fid-classifier, ...) score the same two sets as unpaired image sets: outputs vs targets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from growgan.data.paired import open_paired_archive, open_unpaired_archive
from growgan.errors import GrowganError
from growgan.metrics.ms_ssim import ms_ssim, ms_ssim_rule
from growgan.metrics.registry import MetricContext, MetricResult
from growgan.metrics.sources import ImageSource, array_source
from growgan.utils.image import to_uint8

PAIRED_METRICS = ("l1", "ms-ssim-paired")
CYCLE_METRICS = ("cycle-error",)


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


@dataclass
class CycleSets:
    """Both sides of a translation archive and their round trips, uint8 [N, C, H, W] each:
    a and rec_a = G_BA(G_AB(a)) [N_a, C_A, H, W]; b and rec_b = G_AB(G_BA(b)) [N_b, C_B, H, W]."""

    a: torch.Tensor
    rec_a: torch.Tensor
    b: torch.Tensor
    rec_b: torch.Tensor


class _Direction(torch.nn.Module):
    """One direction of a two-way G (``G.a_to_b`` or ``G.b_to_a``) as a module `translate_images` runs."""

    def __init__(self, G: torch.nn.Module, name: str):
        super().__init__()
        self.G, self.name = G, name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.G, self.name)(x)


def cycle_sets(G: torch.nn.Module, archive_path: str | os.PathLike, num_images: int, seed: int = 0,
               batch_size: int = 64, device=None) -> CycleSets:
    """Round trips A -> B -> A and B -> A -> B of a two-way G (``G.a_to_b``, ``G.b_to_a``; the
    cyclegan family) on seeded subsets of `num_images` of each side of a translation archive
    (paired or unpaired; the sides are drawn independently, as `unpaired_sets` draws them).
    Each direction's output is quantised to uint8 as `growgan translate` writes it.
    Raises GrowganError for a one-way G (pix2pix) or channels that do not fit."""
    if not (callable(getattr(G, "a_to_b", None)) and callable(getattr(G, "b_to_a", None))):
        raise GrowganError("cycle-error: needs a two-way run (G_AB and G_BA, the cyclegan family); "
                           "this run's G maps one way only, so drop cycle-error (use l1 for pix2pix)")
    data = open_unpaired_archive(archive_path)
    ca, cb = getattr(G, "channels_a", None), getattr(G, "channels_b", None)
    if (ca, cb) != (None, None) and (data.channels_a, data.channels_b) != (ca, cb):
        raise GrowganError(f"{archive_path}: sides have {data.channels_a}/{data.channels_b} channels but the run maps "
                           f"{ca} <-> {cb}; give the archive the run was trained on")
    g = torch.Generator().manual_seed(seed)
    pick = [torch.randperm(len(side), generator=g)[: min(int(num_images), len(side))].sort().values.numpy()
            for side in (data.a, data.b)]
    a = torch.from_numpy(data.a.images[pick[0]].copy())
    b = torch.from_numpy(data.b.images[pick[1]].copy())
    ab, ba = _Direction(G, "a_to_b"), _Direction(G, "b_to_a")
    rec_a = translate_images(ba, translate_images(ab, a, batch_size, device), batch_size, device)
    rec_b = translate_images(ab, translate_images(ba, b, batch_size, device), batch_size, device)
    return CycleSets(a, rec_a, b, rec_b)


def check_cycle(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> None:
    """cycle-error needs the round trips of a two-way run (ctx.cycle)."""
    if ctx.cycle is None:
        raise GrowganError("cycle-error: needs both generators of a two-way translation run; score the run with "
                           "growgan metrics RUN --data ARCHIVE (not two image sets)")


def _mean_abs(x: torch.Tensor, y: torch.Tensor) -> float:
    return float((x.to(torch.float64) - y.to(torch.float64)).abs().mean()) / 255.0


def cycle_error_metric(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
    c: CycleSets = ctx.cycle
    ea, eb = _mean_abs(c.rec_a, c.a), _mean_abs(c.rec_b, c.b)
    return MetricResult({"cycle_error_a": ea, "cycle_error_b": eb, "cycle_error": (ea + eb) / 2},
                        [f"cycle-error: mean |G_BA(G_AB(a)) - a| / 255 over {len(c.a)} A images, "
                         f"|G_AB(G_BA(b)) - b| / 255 over {len(c.b)} B images; cycle_error = their mean"])


def evaluate_translation(G: torch.nn.Module, archive_path: str | os.PathLike, names: list[str], num_images: int,
                         ctx: MetricContext, compute) -> dict:
    """Score G's translations of side A against side B: {name: MetricResult} (see module doc);
    on an unpaired archive against B's images as a set (paired metrics refuse it).
    cycle-error, when named, gets the round trips of both sides (`cycle_sets`)."""
    if "cycle-error" in names:
        ctx.cycle = cycle_sets(G, archive_path, num_images, ctx.seed, ctx.batch_size, ctx.device)
    if open_unpaired_archive(archive_path).meta.get("kind") != "paired":
        real, fake = unpaired_sets(G, archive_path, num_images, ctx.seed, ctx.batch_size, ctx.device)
        ctx.ms_ssim_real = False
        return compute(names, real, fake, ctx)
    real, fake = paired_sets(G, archive_path, num_images, ctx.seed, ctx.batch_size, ctx.device)
    ctx.paired = True
    ctx.ms_ssim_real = False
    return compute(names, real, fake, ctx)
