"""Paired translation metrics (metrics/translation.py) from their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growgan.errors import GrowganError
from growgan.metrics.api import compute, flatten
from growgan.metrics.registry import MetricContext
from growgan.metrics.sources import array_source


def test_l1_is_the_mean_absolute_difference_over_255():
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (5, 3, 16, 16), generator=g, dtype=torch.uint8)
    fake = torch.randint(0, 256, (5, 3, 16, 16), generator=g, dtype=torch.uint8)
    want = (real.double() - fake.double()).abs().mean().item() / 255
    got = flatten(compute("l1", array_source(real, "r"), array_source(fake, "f"), MetricContext(paired=True, batch_size=2)))
    assert got["l1"] == pytest.approx(want, rel=1e-12)


def test_ms_ssim_paired_is_one_for_identical_pairs_and_lower_otherwise():
    g = torch.Generator().manual_seed(1)
    real = torch.randint(0, 256, (4, 1, 32, 32), generator=g, dtype=torch.uint8)
    ctx = lambda: MetricContext(paired=True, ms_ssim_real=False)  # noqa: E731
    same = flatten(compute("ms-ssim-paired", array_source(real, "r"), array_source(real.clone(), "f"), ctx()))
    assert same["ms_ssim_paired"] == pytest.approx(1.0, abs=1e-5)
    other = flatten(compute("ms-ssim-paired", array_source(real, "r"), array_source(real.flip(0), "f"), ctx()))
    assert other["ms_ssim_paired"] < 0.5


def test_paired_metrics_refuse_unpaired_sets():
    x = torch.zeros(4, 1, 16, 16, dtype=torch.uint8)
    with pytest.raises(GrowganError, match="compares each output with its own target"):
        compute("l1", array_source(x, "r"), array_source(x, "f"), MetricContext())


class _TwoWay(torch.nn.Module):
    """A two-way G with known maps on [-1, 1]: G_AB(x) = ab * x, G_BA(y) = ba * y."""

    input_kind = "image"

    def __init__(self, ab: float, ba: float):
        super().__init__()
        self.ab, self.ba = ab, ba
        self.dummy = torch.nn.Parameter(torch.zeros(1))  # a device for translate_images

    def a_to_b(self, x):
        return self.ab * x

    def b_to_a(self, y):
        return self.ba * y

    def forward(self, x, c=None):
        return self.a_to_b(x)


@pytest.fixture(scope="module", params=["unpaired", "paired"])
def translation_archive(request, tmp_path_factory):
    from growgan.data.paired import write_translation_archive

    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (7, 1, 8, 8), dtype=np.uint8)
    b = rng.integers(0, 256, (7 if request.param == "paired" else 5, 1, 8, 8), dtype=np.uint8)
    return write_translation_archive(tmp_path_factory.mktemp("tr") / "data", request.param, a, b, {"source": "test"}), a, b


def _cycle(G, path, num=100):
    from growgan.metrics.translation import cycle_sets

    ctx = MetricContext(cycle=cycle_sets(G, path, num))
    x = array_source(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), "x")
    return flatten(compute("cycle-error", x, x, ctx))


def test_cycle_error_is_zero_for_identity_generators(translation_archive):
    got = _cycle(_TwoWay(1.0, 1.0), translation_archive[0])
    assert got == {"cycle_error_a": 0.0, "cycle_error_b": 0.0, "cycle_error": 0.0}


def test_cycle_error_equals_a_hand_computation(translation_archive):
    """G_AB = 0.5 x, G_BA = x on [-1, 1]: an image u (uint8) goes to A->B output
    floor((u / 127.5 - 1) * 0.5 * 127.5 + 128) = floor(u / 2 + 64.25) (written as uint8), and G_BA
    gives it back unchanged; so is B -> A -> B. Error = mean |floor(u/2 + 64.25) - u| / 255."""
    path, a, b = translation_archive
    want = {k: float(np.abs(np.floor(x / 2 + 64.25) - x).mean() / 255) for k, x in (("a", a.astype(np.float64)),
                                                                                   ("b", b.astype(np.float64)))}
    got = _cycle(_TwoWay(0.5, 1.0), path)  # num >= both sides: every image
    assert got["cycle_error_a"] == pytest.approx(want["a"], rel=1e-12)
    assert got["cycle_error_b"] == pytest.approx(want["b"], rel=1e-12)
    assert got["cycle_error"] == pytest.approx((want["a"] + want["b"]) / 2, rel=1e-12)
    sub = _cycle(_TwoWay(0.5, 1.0), path, num=3)  # a seeded subset of 3 per side
    assert sub["cycle_error_a"] != got["cycle_error_a"] or sub["cycle_error_b"] != got["cycle_error_b"]


def test_cycle_error_refuses_one_way_generators_and_image_sets(translation_archive):
    from growgan.metrics.translation import cycle_sets

    class OneWay(torch.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(GrowganError, match="needs a two-way run"):
        cycle_sets(OneWay(), translation_archive[0], 4)
    x = array_source(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), "x")
    with pytest.raises(GrowganError, match="needs both generators"):
        compute("cycle-error", x, x, MetricContext())
