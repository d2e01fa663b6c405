"""The metrics entry points: `compute` (two image sets -> results) and `evaluate_generator`.

Each metric is a function (real, fake, ctx) -> MetricResult registered by name; the
CLI, the training loop and the DGGAN search all go through `compute`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from growgan.errors import GrowganError
from growgan.metrics.sources import ImageSource, archive_source, generator_source


@dataclass
class MetricResult:
    """Scalar values under flat keys (e.g. swd_32, swd), plus notes on rules applied."""

    values: dict[str, float]
    notes: list[str] = field(default_factory=list)


@dataclass
class MetricContext:
    """Options shared by all metrics of one `compute` call."""

    num_images: int | None = None  # images per set (None: each metric's default)
    seed: int = 0
    batch_size: int = 64
    device: torch.device | None = None
    cache_dir: Path | None = None
    ms_ssim_pairs: int = 10_000
    ms_ssim_real: bool = True  # also the real set's diversity and real-vs-fake pairs
    inception_weights: str | None = None
    classifier: str | None = None  # path of a trained fid-classifier (for *-classifier metrics)
    memo: dict = field(default_factory=dict)  # features shared by the metrics of one compute() call


MetricFn = Callable[[ImageSource, ImageSource, MetricContext], MetricResult]
CheckFn = Callable[[ImageSource, ImageSource, MetricContext], None]
_METRICS: dict[str, MetricFn] = {}
_CHECKS: dict[str, CheckFn] = {}


def register_metric(name: str, check: CheckFn | None = None) -> Callable[[MetricFn], MetricFn]:
    """Register `fn(real, fake, ctx) -> MetricResult` under `name`. `check(real, fake, ctx)`
    raises GrowganError when the metric cannot run (missing weights or classifier file,
    unequal resolutions, too few images); `compute` runs every check before any metric."""

    def deco(fn: MetricFn) -> MetricFn:
        _METRICS[name] = fn
        if check is not None:
            _CHECKS[name] = check
        return fn

    return deco


def metric_names() -> list[str]:
    _load_all()
    return sorted(_METRICS)


def _load_all() -> None:
    # Metric modules register themselves on import.
    import growgan.metrics.basic  # noqa: F401

    import growgan.metrics.feature_metrics  # noqa: F401


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
    """Run every named metric's check; one GrowganError naming each metric that cannot run.

    Checks may load what the metric needs (e.g. the Inception weights) into ``ctx.memo``.
    """
    problems: dict[str, list[str]] = {}  # message -> metrics (fid, kid, pr share one Inception: say it once)
    for name in names:
        check = _CHECKS.get(name)
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
    if real.channels != fake.channels:
        raise GrowganError(
            f"{real.name} has {real.channels} channel(s) but {fake.name} has {fake.channels}; compare like with like"
        )
    names = normalize_names(names)
    results: dict[str, MetricResult] = {}
    try:
        check_prerequisites(names, real, fake, ctx)
        for name in names:
            results[name] = _METRICS[name](real, fake, ctx)
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
) -> dict[str, float]:
    """Generate `num_images` from G (fixed seed) and score them against the archive.

    Reals are area-downsampled to G's resolution when the archive is larger. Returns flat
    scalar keys, e.g. {"swd": .., "swd_32": .., "swd_16": .., "ms_ssim": ..}; lower is
    better for every key except "is" and "pr_*".
    """
    names = normalize_names(names)
    res = tuple(G.img_resolution) if not isinstance(G.img_resolution, int) else (G.img_resolution,) * 2
    real = archive_source(archive_path, resolution=res)
    fake = generator_source(G, num_images, seed=seed, batch_size=batch_size, device=device)
    ctx = MetricContext(
        num_images=num_images, seed=seed, batch_size=batch_size,
        device=torch.device(device) if device is not None else None,
        cache_dir=Path(cache_dir) if cache_dir is not None else None, ms_ssim_real=False,
        classifier=str(classifier) if classifier is not None else None,
        inception_weights=str(inception_weights) if inception_weights is not None else None,
    )
    return flatten(compute(names, real, fake, ctx))
