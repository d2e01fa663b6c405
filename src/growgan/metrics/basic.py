"""The pixel-space metrics: ProGAN's SWD and the MS-SSIM diversity measure."""

from __future__ import annotations

from growgan.errors import GrowganError
from growgan.metrics.registry import MetricContext, MetricResult
from growgan.metrics.ms_ssim import ms_ssim_between, ms_ssim_diversity, ms_ssim_rule
from growgan.metrics.sources import ImageSource
from growgan.metrics.swd import SWDConfig, swd, swd_rule


def check_swd(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> None:
    """SWD's prerequisites: sets of one resolution, at least 2 images each."""
    if real.resolution != fake.resolution:
        raise_resolution(real, fake)
    if min(real.num, fake.num) < 2:
        raise GrowganError(f"SWD needs at least 2 images per set; {real.name} has {real.num}, {fake.name} {fake.num}")


def check_ms_ssim(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> None:
    """MS-SSIM's prerequisite: at least 2 fake images."""
    if fake.num < 2:
        raise GrowganError(f"MS-SSIM needs at least 2 images; {fake.name} has {fake.num}")


def swd_metric(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
    if real.resolution != fake.resolution:
        raise_resolution(real, fake)
    num = min(ctx.num_images or 16384, real.num, fake.num)
    real, fake = real.subset(num, ctx.seed), fake.subset(num, ctx.seed + 1)
    cfg = SWDConfig()
    values = swd(
        real.get, fake.get, num_images=num, seed=ctx.seed, cfg=cfg, device=ctx.device,
        resolution=real.resolution, num_real=real.num, num_fake=fake.num,
    )
    return MetricResult(values, [swd_rule(real.resolution, cfg.min_resolution) + f"; {num} images per set"])


def ms_ssim_metric(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
    num = min(ctx.num_images or 10_000, fake.num)
    fakes = fake.subset(num, ctx.seed + 1).get(0, num)
    values = {"ms_ssim": ms_ssim_diversity(fakes, ctx.ms_ssim_pairs, ctx.seed, device=ctx.device)}
    pairs = min(ctx.ms_ssim_pairs, num * (num - 1) // 2)
    notes = [ms_ssim_rule(fake.resolution) + f"; {pairs} random pairs of distinct images"]
    if ctx.ms_ssim_real and real is not None:
        n_real = min(ctx.num_images or 10_000, real.num)
        reals = real.subset(n_real, ctx.seed).get(0, n_real)
        values["ms_ssim_real"] = ms_ssim_diversity(reals, ctx.ms_ssim_pairs, ctx.seed, device=ctx.device)
        if real.resolution == fake.resolution:
            values["ms_ssim_cross"] = ms_ssim_between(reals, fakes, ctx.ms_ssim_pairs, ctx.seed, device=ctx.device)
        notes.append("ms_ssim: fake set; ms_ssim_real: real set; ms_ssim_cross: random (real, fake) pairs")
    return MetricResult(values, notes)


def raise_resolution(real: ImageSource, fake: ImageSource) -> None:
    (rh, rw), (fh, fw) = real.resolution, fake.resolution
    raise GrowganError(f"{real.name} images are {rh}x{rw} but {fake.name} images are {fh}x{fw}; compare sets of one size")
