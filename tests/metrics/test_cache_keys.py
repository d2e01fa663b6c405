"""Caches of real-image features are keyed by content: the extractor's weights file content
and what the archive's files hold now (issue #16, item 7)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from growgan.data.archive import write_archive
from growgan.metrics import features
from growgan.metrics.api import MetricContext
from growgan.metrics.sources import archive_source


class ChannelMeans(torch.nn.Module):
    """A stand-in extractor whose features are known: per-image channel means."""

    name = "means"
    weights_id = "fixed"

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, images):
        m = images.to(torch.float32).mean(dim=(2, 3))
        return {"pool": m, "logits": m}


def _archive(path, seed=0):
    imgs = np.random.default_rng(seed).integers(0, 256, size=(6, 3, 8, 8), dtype=np.uint8)
    return write_archive(path, imgs, None, {"source": "noise"}), imgs


def test_an_archive_changed_in_place_is_not_served_from_the_cache(tmp_path, monkeypatch):
    arc, imgs = _archive(tmp_path / "arc")
    ctx = MetricContext(cache_dir=tmp_path / "cache", batch_size=4)
    ext = ChannelMeans()
    first = features.real_features(ext, archive_source(arc), ctx)["pool"]
    np.testing.assert_allclose(first.numpy(), imgs.mean(axis=(2, 3)), rtol=1e-6)
    # unchanged files (size and mtime as recorded in meta.json): no byte is hashed again
    import growgan.data.archive as archive_mod

    real_hash = archive_mod.content_hash
    monkeypatch.setattr(archive_mod, "content_hash", lambda *a, **k: pytest.fail("re-hashed an unchanged archive"))
    features.real_features(ext, archive_source(arc), ctx)
    monkeypatch.setattr(archive_mod, "content_hash", real_hash)
    # change images.npy in place, same size (e.g. a script that edits the pixels)
    new = 255 - imgs
    npy = arc / "images.npy"
    with open(npy, "r+b") as f:
        f.seek(os.path.getsize(npy) - new.nbytes)
        f.write(new.tobytes())
    st = os.stat(npy)
    os.utime(npy, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))  # as a later edit would; coarse clocks aside
    second = features.real_features(ext, archive_source(arc), ctx)["pool"]
    np.testing.assert_allclose(second.numpy(), new.mean(axis=(2, 3)), rtol=1e-6)
    # the new hash is recorded beside the cache: the next open does not re-hash
    monkeypatch.setattr(archive_mod, "content_hash", lambda *a, **k: pytest.fail("re-hashed a recorded archive"))
    third = features.real_features(ext, archive_source(arc), ctx)["pool"]
    assert torch.equal(third, second)


def test_other_inception_weights_at_the_same_path_miss_the_cache(tmp_path):
    from growgan.metrics.inception import FIDInceptionV3, load_inception

    arc, _ = _archive(tmp_path / "arc")
    weights = tmp_path / "pt_inception.pth"
    ctx = MetricContext(cache_dir=tmp_path / "cache", batch_size=8, inception_weights=str(weights))
    got = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        torch.save(FIDInceptionV3().state_dict(), weights)  # other weights, same file name
        ext = load_inception(weights)
        cached = features.real_features(ext, archive_source(arc), ctx)["pool"]
        fresh = features.extract(ext, archive_source(arc), 8)["pool"]
        torch.testing.assert_close(cached, fresh.to(torch.float32).to(torch.float64))  # never the other weights'
        got.append(cached)
    assert not torch.allclose(got[0], got[1])
    assert len(list((tmp_path / "cache" / "stats").glob("features-*.pt"))) == 2
