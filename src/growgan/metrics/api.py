"""The metrics entry points: `compute` (two image sets -> results) and `evaluate_generator`.

Each metric is a function (real, fake, ctx) -> MetricResult (see `growgan.metrics.registry`),
registered by name below; the CLI, the training loop and the DGGAN search all go through
`compute`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from growgan.errors import GrowganError
from growgan.metrics import basic, feature_metrics, features, per_class, ppl, translation
from growgan.metrics.registry import MetricContext, MetricResult, get_check, get_metric, metric_names, register_metric
from growgan.metrics.scores import mean_cov
from growgan.data.archive import open_archive
from growgan.metrics.sources import ImageSource, archive_source, generator_source
from growgan.utils.io import atomic_path

__all__ = ["AtResolution", "MetricContext", "MetricResult", "compute", "save_fid_stats", "evaluate_generator", "flatten", "metric_names", "normalize_names"]


# One registration line per metric name (the functions live in basic.py and feature_metrics.py).
register_metric("swd", basic.swd_metric, basic.check_swd)
register_metric("ms-ssim", basic.ms_ssim_metric, basic.check_ms_ssim)
register_metric("is", feature_metrics.is_metric, feature_metrics.check_extractor("inception"))
register_metric("fid", feature_metrics.fid_metric("inception"), feature_metrics.check_extractor("inception"))
register_metric("kid", feature_metrics.kid_metric("inception"), feature_metrics.check_extractor("inception"))
register_metric("pr", feature_metrics.pr_metric("inception"), feature_metrics.check_extractor("inception"))
register_metric("fid-classifier", feature_metrics.fid_metric("classifier"), feature_metrics.check_extractor("classifier"))
register_metric("kid-classifier", feature_metrics.kid_metric("classifier"), feature_metrics.check_extractor("classifier"))
register_metric("pr-classifier", feature_metrics.pr_metric("classifier"), feature_metrics.check_extractor("classifier"))
register_metric("swd-per-class", per_class.swd_per_class, per_class.check_per_class("swd-per-class", basic.check_swd))
register_metric("fid-per-class", per_class.fid_per_class("inception"),
                per_class.check_per_class("fid-per-class", feature_metrics.check_extractor("inception")))
register_metric("fid-classifier-per-class", per_class.fid_per_class("classifier"),
                per_class.check_per_class("fid-classifier-per-class", feature_metrics.check_extractor("classifier")))
register_metric("class-accuracy", per_class.class_accuracy, feature_metrics.check_extractor("classifier"))
register_metric("l1", translation.l1_metric, translation.check_paired)
register_metric("ms-ssim-paired", translation.ms_ssim_paired_metric, translation.check_paired)
register_metric("cycle-error", translation.cycle_error_metric, translation.check_cycle)
register_metric("ppl-w-end", ppl.ppl_metric("w", "end"), ppl.check_ppl)
register_metric("ppl-w-full", ppl.ppl_metric("w", "full"), ppl.check_ppl)
register_metric("ppl-z-end", ppl.ppl_metric("z", "end"), ppl.check_ppl)
register_metric("ppl-z-full", ppl.ppl_metric("z", "full"), ppl.check_ppl)

GENERATOR_METRICS = tuple(ppl.PPL_METRICS)  # metrics of the generator alone: they need no real images


STATS_METRICS = ("fid",)  # metrics that take pytorch-fid statistics (mu, sigma) in place of images


def save_fid_stats(source: ImageSource, out: str | os.PathLike, ctx: MetricContext | None = None) -> dict:
    """Write pytorch-fid statistics of `source` to `out` (.npz with ``mu`` float64 [2048] and
    ``sigma`` float64 [2048, 2048], the mean and unbiased covariance of the FID Inception's pool
    features, as pytorch-fid's ``--save-stats``), atomically. Uses ctx.num_images images (a
    seeded random subset; default all). -> {"num": images used, "dim": feature size}.
    Needs the Inception weights (ctx.inception_weights or the usual places)."""
    ctx = ctx or MetricContext()
    if source.stats is not None:
        raise GrowganError(f"{source.name}: already statistics; give images to compute statistics from")
    extractor = features.build_extractor("inception", ctx)
    sub = source.subset(min(ctx.num_images or source.num, source.num), ctx.seed)
    if sub.num < 2:
        raise GrowganError(f"{source.name}: {sub.num} image(s); statistics need at least 2")
    mu, sigma = mean_cov(features.extract(extractor, sub, ctx.batch_size, ctx.device)["pool"])
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, mu=mu, sigma=sigma)
    return {"num": sub.num, "dim": int(mu.shape[0])}


def normalize_names(names: str | list[str]) -> list[str]:
    """"swd, ms_ssim" / ["MS-SSIM"] -> ["swd", "ms-ssim"]; unknown names -> GrowganError."""
    if isinstance(names, str):
        names = names.split(",")
    out = [n.strip().lower().replace("_", "-") for n in names if n.strip()]
    known = metric_names()
    bad = [n for n in out if n not in known]
    if bad:
        raise GrowganError(f"unknown metric {', '.join(bad)}; choose from {', '.join(known)}")
    return list(dict.fromkeys(out))


def check_prerequisites(names: list[str], real: ImageSource, fake: ImageSource, ctx: MetricContext) -> None:
    """Run every named metric's check; one GrowganError naming each metric that cannot run
    and why (a reason shared by several metrics, e.g. the Inception weights, is said once).
    Checks may load what the metric needs (the feature network) into ``ctx.memo``."""
    problems: dict[str, list[str]] = {}  # message -> metric names
    for name in names:
        check = get_check(name)
        if check is None:
            continue
        try:
            check(real, fake, ctx)
        except GrowganError as exc:
            problems.setdefault(str(exc), []).append(name)
    if problems:
        raise GrowganError("nothing computed; " + " | ".join(f"{', '.join(n)}: {msg}" for msg, n in problems.items()))


def compute(
    names: str | list[str], real: ImageSource, fake: ImageSource, ctx: MetricContext | None = None,
    on_result: Callable[[str, MetricResult], None] | None = None,
) -> dict[str, MetricResult]:
    """Score `fake` against `real` with each named metric -> {name: MetricResult}.

    Every metric's prerequisites are checked before any is computed (`check_prerequisites`);
    `on_result(name, result)` is called as each metric finishes (to print or record it), so
    a later failure loses nothing already computed. Raises GrowganError.
    """
    ctx = ctx or MetricContext()
    names = normalize_names(names)
    stats = [src.name for src in (real, fake) if src.stats is not None]
    if stats and [n for n in names if n not in STATS_METRICS]:
        raise GrowganError(f"{stats[0]}: holds FID statistics (mu, sigma), which score only "
                           f"{', '.join(STATS_METRICS)}; give images (an archive, folder or arr_0 .npz) for "
                           f"{', '.join(n for n in names if n not in STATS_METRICS)}")
    if not stats and real.channels != fake.channels:
        raise GrowganError(
            f"{real.name} has {real.channels} channel(s) but {fake.name} has {fake.channels}; compare like with like"
        )
    results: dict[str, MetricResult] = {}
    try:
        check_prerequisites(names, real, fake, ctx)
        for name in names:
            results[name] = get_metric(name)(real, fake, ctx)
            if on_result is not None:
                on_result(name, results[name])
        return results
    finally:
        ctx.memo.clear()  # features and networks are not kept past the call


def flatten(results: dict[str, MetricResult]) -> dict[str, float]:
    out: dict[str, float] = {}
    for res in results.values():
        out.update(res.values)
    return out


class AtResolution(torch.nn.Module):
    """G with its images nearest-upsampled to `size` (H, W) in pixels: [N, C, h, w] -> [N, C, H, W].
    Keeps the network contract's attributes (z_dim, c_dim, img_channels, img_resolution=size)."""

    def __init__(self, G: torch.nn.Module, size: tuple[int, int]):
        super().__init__()
        self.G, self.size = G, (int(size[0]), int(size[1]))
        self.z_dim, self.c_dim, self.img_channels = G.z_dim, getattr(G, "c_dim", 0), G.img_channels
        self.img_resolution = self.size

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        img = self.G(z, c)
        if tuple(img.shape[-2:]) == self.size:
            return img
        return torch.nn.functional.interpolate(img, size=self.size, mode="nearest")


def evaluate_generator(
    G: torch.nn.Module,
    archive_path: str | os.PathLike,
    names: str | list[str],
    num_images: int,
    seed: int = 0,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    cache_dir: str | os.PathLike | None = None,
    classifier: str | os.PathLike | None = None,
    inception_weights: str | os.PathLike | None = None,
    grouped: bool = False,
    at_archive_resolution: bool = False,
    num_reals: int | str | None = None,
) -> dict:
    """Generate `num_images` from G (fixed seed) and score them against the archive.

    An image-to-image G (``input_kind == "image"``) is scored on a paired archive instead:
    it translates `num_images` inputs of side A and its outputs are scored against their
    targets on side B (`growgan.metrics.translation`: l1, ms-ssim-paired, and any set metric;
    the two sets are aligned, so num_reals does not apply).

    num_reals: real images for the feature metrics (FID, KID, P/R, their classifier forms):
    None = num_images, "all" = the whole archive (stylegan2-ada's fid50k_full), or a count;
    SWD and MS-SSIM always take equal counts (ProGAN's definition).

    Reals are area-downsampled to G's resolution when the archive is larger; with
    at_archive_resolution=True G's images are instead nearest-upsampled to the archive's
    size, so a growing G is scored on one footing at every stage (and a 4x4 G can be scored
    by SWD, whose pyramid needs 16 px). Returns flat
    scalar keys, e.g. {"swd": .., "swd_32": .., "swd_16": .., "ms_ssim": ..}; lower is
    better for every key except "is", "pr_*" and "class_accuracy*". With grouped=True: {metric name: {key: value}}.
    """
    names = normalize_names(names)
    if device is None:  # where G is: images, features and PPL's latents all on one device
        device = next((p.device for p in G.parameters()), torch.device("cpu"))
    if getattr(G, "input_kind", "latent") == "image":  # image-to-image G: translate side A of a paired archive
        ctx = MetricContext(num_images=num_images, seed=seed, batch_size=batch_size,
                            device=torch.device(device) if device is not None else None,
                            cache_dir=Path(cache_dir) if cache_dir is not None else None,
                            classifier=str(classifier) if classifier is not None else None,
                            inception_weights=str(inception_weights) if inception_weights is not None else None)
        results = translation.evaluate_translation(G, archive_path, names, num_images, ctx, compute)
        return {name: dict(res.values) for name, res in results.items()} if grouped else flatten(results)
    if at_archive_resolution and archive_path is not None:
        G = AtResolution(G, tuple(open_archive(archive_path).resolution))
    res = tuple(G.img_resolution) if not isinstance(G.img_resolution, int) else (G.img_resolution,) * 2
    real = archive_source(archive_path, resolution=res)
    fake = generator_source(G, num_images, seed=seed, batch_size=batch_size, device=device)
    ctx = MetricContext(
        num_images=num_images, num_reals=num_reals, seed=seed, batch_size=batch_size,
        device=torch.device(device) if device is not None else None,
        cache_dir=Path(cache_dir) if cache_dir is not None else None, ms_ssim_real=False,
        classifier=str(classifier) if classifier is not None else None,
        inception_weights=str(inception_weights) if inception_weights is not None else None,
    )
    results = compute(names, real, fake, ctx)
    if grouped:
        return {name: dict(res.values) for name, res in results.items()}
    return flatten(results)
