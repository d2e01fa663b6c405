"""The bottom of `growgan.metrics`: what a metric is, and the table of metrics by name.

A metric is a function ``(real: ImageSource, fake: ImageSource, ctx: MetricContext) ->
MetricResult``. Metric modules import this file and define such functions; the explicit
registration lines (one per metric name) are in `growgan.metrics.api`, the top of the
package. To add a metric: write the function in a module, add one `register_metric` line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from growgan.errors import GrowganError
from growgan.metrics.sources import ImageSource


@dataclass
class MetricResult:
    """Scalar values under flat keys (e.g. swd_32, swd), plus notes on rules applied."""

    values: dict[str, float]
    notes: list[str] = field(default_factory=list)


@dataclass
class MetricContext:
    """Options shared by all metrics of one `compute` call."""

    num_images: int | None = None  # images per set (None: each metric's default)
    # reals for the feature metrics (FID, KID, P/R and their classifier and per-class forms):
    # None = as num_images, "all" = every real image (stylegan2-ada's *_full, pytorch-fid on a
    # folder), or a count. SWD and MS-SSIM keep equal counts (ProGAN's definition).
    num_reals: int | str | None = None
    seed: int = 0
    batch_size: int = 64
    device: torch.device | None = None
    cache_dir: Path | None = None
    ms_ssim_pairs: int = 10_000
    ms_ssim_real: bool = True  # also the real set's diversity and real-vs-fake pairs
    inception_weights: str | None = None
    classifier: str | None = None  # path of a trained fid-classifier (for *-classifier metrics)
    perceptual: str | None = None  # path of the LPIPS VGG16 TorchScript file (for the ppl-* metrics)
    memo: dict = field(default_factory=dict)  # features shared by the metrics of one compute() call
    paired: bool = False  # real[i] is the target of fake[i] (translation; metrics.translation's l1, ms-ssim-paired)
    cycle: object | None = None  # metrics.translation.CycleSets of a two-way run (for cycle-error)

    def __post_init__(self) -> None:
        for name, v, none_ok in (("--batch-size", self.batch_size, False), ("--num", self.num_images, True),
                                 ("--pairs", self.ms_ssim_pairs, False)):
            if v is None and none_ok:
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise GrowganError(f"{name} {v}: must be a whole number >= 1")
        v = self.num_reals
        if v is not None and v != "all" and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise GrowganError(f"--num-reals {v}: must be 'all' or a whole number >= 1")

    def real_count(self, available: int, default: int) -> int:
        """How many of `available` real images the feature metrics use (see num_reals)."""
        if self.num_reals == "all":
            return available
        return min(self.num_reals or self.num_images or default, available)


MetricFn = Callable[[ImageSource, ImageSource, MetricContext], MetricResult]
# check(real, fake, ctx) raises GrowganError when the metric cannot run (missing weights or
# classifier file, unequal resolutions, too few images); `compute` runs every check first.
CheckFn = Callable[[ImageSource, ImageSource, MetricContext], None]
_METRICS: dict[str, MetricFn] = {}
_CHECKS: dict[str, CheckFn] = {}


def register_metric(name: str, fn: MetricFn, check: CheckFn | None = None) -> MetricFn:
    """Make `fn` available as metric `name` (lower case, words joined by '-'), with the
    prerequisite check `check` (see CheckFn), if it has any."""
    _METRICS[name] = fn
    if check is not None:
        _CHECKS[name] = check
    return fn


def get_check(name: str) -> CheckFn | None:
    """The prerequisite check of metric `name`, or None."""
    return _CHECKS.get(name)


def get_metric(name: str) -> MetricFn:
    if name not in _METRICS:
        raise GrowganError(f"unknown metric {name}; choose from {', '.join(metric_names())}")
    return _METRICS[name]


def metric_names() -> list[str]:
    return sorted(_METRICS)
