"""Metrics: ProGAN's sliced Wasserstein distance, MS-SSIM, and FID/KID/IS/precision-recall on
the FID Inception-v3 or an offline classifier, with cached real-data statistics.

Stages follow torch-fidelity: features -> statistics -> value. Images enter as uint8
[N, C, H, W]. `compute` scores two image sets; `evaluate_generator` scores a generator
against an archive (used by the training loop and the DGGAN search).
"""

from growgan.metrics.api import MetricContext, MetricResult, compute, evaluate_generator, flatten, metric_names
from growgan.metrics.ms_ssim import ms_ssim, ms_ssim_diversity
from growgan.metrics.sources import ImageSource, archive_source, array_source, generator_source, open_source
from growgan.metrics.swd import SWDConfig, swd

__all__ = [
    "ImageSource", "MetricContext", "MetricResult", "SWDConfig", "archive_source", "array_source", "compute",
    "evaluate_generator", "flatten", "generator_source", "metric_names", "ms_ssim", "ms_ssim_diversity",
    "open_source", "swd",
]
