"""evaluate_generator / compute: the contract other areas rely on (keys, determinism, resizing)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growgan.errors import GrowganError
from growgan.metrics import array_source, compute, evaluate_generator, flatten
from growgan.metrics.sources import generate_images


@pytest.fixture(scope="module")
def archive32(tmp_path_factory, make_blobs):
    from growgan.data.archive import ArchiveWriter

    out = tmp_path_factory.mktemp("arc") / "blobs32"
    w = ArchiveWriter(out, channels=1, resolution=(32, 32))
    w.append(make_blobs(48, 32, 1, seed=3), np.arange(48) % 3)
    w.close({"source": "test blobs"})
    return out


def test_evaluate_generator_keys_determinism_and_downsampling(archive32, tiny_g):
    G = tiny_g(res=16)
    G.train()
    r1 = evaluate_generator(G, archive32, ["swd", "ms_ssim"], num_images=32, seed=1)
    # archive 32x32 is downsampled to G's 16x16: one SWD level (16), named by its height
    assert set(r1) == {"swd", "swd_16", "ms_ssim"}
    assert all(isinstance(v, float) and np.isfinite(v) for v in r1.values())
    assert G.training  # the mode is restored
    assert evaluate_generator(G, archive32, "swd,ms-ssim", num_images=32, seed=1) == r1
    assert evaluate_generator(G, archive32, "swd", num_images=32, seed=2)["swd"] != r1["swd"]


def test_generated_images_do_not_depend_on_batch_size(tiny_g):
    G = tiny_g(res=16)
    a = generate_images(G, 10, seed=5, batch_size=3)
    b = generate_images(G, 10, seed=5, batch_size=10)
    assert a.dtype == torch.uint8 and a.shape == (10, 1, 16, 16)
    assert torch.equal(a, b)


def test_compute_errors_and_flatten(make_blobs):
    a = array_source(make_blobs(8, 16, 1, seed=0))
    rgb = array_source(make_blobs(8, 16, 3, seed=0))
    with pytest.raises(GrowganError, match="channel"):
        compute("swd", a, rgb)
    with pytest.raises(GrowganError, match="unknown metric"):
        compute("swd,fidd", a, a)
    res = compute(["ms-ssim"], a, a)
    flat = flatten(res)
    assert flat["ms_ssim"] == pytest.approx(flat["ms_ssim_real"])  # same set, same pairs
    assert res["ms-ssim"].notes and "MS-SSIM" in res["ms-ssim"].notes[0]
