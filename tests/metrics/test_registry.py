"""The metrics registry: every name the docs promise is registered (one line each in
metrics/api.py), lookups of unknown names are one-line errors."""

from __future__ import annotations

import pytest

from growgan.errors import GrowganError
from growgan.metrics.api import normalize_names
from growgan.metrics.registry import get_metric, metric_names


def test_every_metric_is_registered_once_by_name():
    assert metric_names() == sorted(["swd", "ms-ssim", "is", "fid", "kid", "pr", "fid-classifier", "kid-classifier",
                                     "pr-classifier", "swd-per-class", "fid-per-class",
                                     "fid-classifier-per-class", "class-accuracy", "l1", "ms-ssim-paired", "cycle-error",
                                     "ppl-w-end", "ppl-w-full", "ppl-z-end", "ppl-z-full"])
    assert all(callable(get_metric(n)) for n in metric_names())
    assert get_metric("fid") is not get_metric("fid-classifier")  # each extractor its own function


def test_unknown_metric_is_a_one_line_error():
    with pytest.raises(GrowganError, match="unknown metric nope"):
        get_metric("nope")
    assert normalize_names("SWD, ms_ssim") == ["swd", "ms-ssim"]
