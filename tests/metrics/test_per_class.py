"""Per-class SWD / fid-classifier and class-accuracy on a two-class set whose classes are
told apart by stripe orientation: a generator that draws the requested class scores perfectly,
one that draws the other class scores zero accuracy and worse per-class distances, while
its unconditional image distribution is the same."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from growgan.data.archive import write_archive
from growgan.errors import GrowganError
from growgan.metrics import compute
from growgan.metrics.classifier import train_classifier
from growgan.metrics.registry import MetricContext, metric_names
from growgan.metrics.sources import archive_source, generator_source

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def _images(cls: np.ndarray, seed: int) -> np.ndarray:
    """Class 0: horizontal stripes, class 1: vertical ones (random phase and noise); the same
    mean brightness, so only structure tells them apart (SWD normalises brightness away)."""
    rng = np.random.default_rng(seed)
    n = len(cls)
    phase = rng.integers(0, 4, size=(n, 1, 1))
    rows = ((np.arange(32)[None, :, None] + phase) % 4 < 2) * 160 + np.zeros((n, 32, 32))
    cols = ((np.arange(32)[None, None, :] + phase) % 4 < 2) * 160 + np.zeros((n, 32, 32))
    img = np.where(cls[:, None, None] == 0, rows, cols) + rng.integers(0, 60, size=(n, 32, 32))
    return img[:, None].astype(np.uint8)


class ClassG(nn.Module):
    """A 'conditional generator' drawing the requested class (swap=False) or the other one."""

    def __init__(self, swap: bool):
        super().__init__()
        self.z_dim, self.c_dim, self.img_channels, self.img_resolution = 4, 2, 1, (32, 32)
        self.swap = swap
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, z, c):
        cls = (c.numpy() ^ 1) if self.swap else c.numpy()
        seed = int(abs(z[0, 0].item()) * 1e6)
        return torch.from_numpy(_images(cls, seed)).float() / 127.5 - 1 + 0 * self.dummy


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("pc")
    labels = np.arange(256) % 2
    arc = write_archive(root / "arc", _images(labels, 0), labels.astype(np.int64), {"label_names": ["dark", "bright"]})
    clf = root / "clf.pt"
    meta = train_classifier(arc, clf, epochs=4, batch_size=16, width=8, log=lambda s: None)
    assert meta["heldout_accuracy"] == 1.0  # the classes are separable by orientation
    return arc, clf


def _score(arc, clf, swap: bool, names):
    G = ClassG(swap)
    ctx = MetricContext(num_images=128, classifier=str(clf), cache_dir=None)
    return compute(names, archive_source(arc), generator_source(G, 128, seed=0), ctx)


def test_registered():
    assert {"class-accuracy", "swd-per-class", "fid-classifier-per-class", "fid-per-class"} <= set(metric_names())


def test_class_accuracy_is_one_for_the_right_class_and_zero_for_the_swapped(setup, tmp_path):
    arc, clf = setup
    good = _score(arc, clf, False, ["class-accuracy"])["class-accuracy"].values
    bad = _score(arc, clf, True, ["class-accuracy"])["class-accuracy"].values
    assert good["class_accuracy"] == 1.0 and good["class_accuracy_0"] == good["class_accuracy_1"] == 1.0
    assert bad["class_accuracy"] == 0.0


def test_per_class_distances_see_the_swap_that_unconditional_ones_miss(setup):
    arc, clf = setup
    names = ["swd-per-class", "fid-classifier-per-class", "fid-classifier"]
    good = {k: v for r in _score(arc, clf, False, names).values() for k, v in r.values.items()}
    bad = {k: v for r in _score(arc, clf, True, names).values() for k, v in r.values.items()}
    for key in ("swd_class_mean", "fid_classifier_class_mean"):
        assert good[key] < 0.5 * bad[key], (key, good[key], bad[key])
        assert {f"{key[:-5]}_0", f"{key[:-5]}_1"} <= set(good)
    # the two generators draw the same overall mix of dark and bright images
    assert abs(good["fid_classifier"] - bad["fid_classifier"]) < 0.5 * bad["fid_classifier_class_mean"]
    assert np.isclose(good["swd_class_mean"], np.mean([good["swd_class_0"], good["swd_class_1"]]))


def test_unlabelled_sources_are_one_line_errors(setup, tmp_path):
    arc, clf = setup
    unl = write_archive(tmp_path / "u", _images(np.zeros(8, dtype=int), 1), None, {})
    with pytest.raises(GrowganError, match="no class labels"):
        compute(["swd-per-class"], archive_source(unl), generator_source(ClassG(False), 8), MetricContext(num_images=8))
