"""The history pool of generated images (Shrivastava et al. 2017; CycleGAN's ImagePool)."""

import math

import pytest
import torch

from growgan.training.image_pool import ImagePool
from growgan.training.lr_schedule import linear_decay


def _tagged(start: int, n: int) -> torch.Tensor:
    """n images [1, 2, 2] whose every pixel is their tag start, start+1, ..."""
    return torch.arange(start, start + n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 2, 2).clone()


def test_pool_fills_then_returns_stored_images_with_probability_half():
    pool = ImagePool(50, seed=123)
    first = pool.query(_tagged(0, 50))
    assert torch.equal(first, _tagged(0, 50)) and len(pool) == 50  # filling: every new image comes back
    n, stored, seen = 4000, 0, set(range(50))
    for step in range(n // 8):
        batch = _tagged(50 + 8 * step, 8)
        out = pool.query(batch)
        for new, got in zip(batch[:, 0, 0, 0].tolist(), out[:, 0, 0, 0].tolist()):
            if got != new:
                stored += 1
                assert got in seen  # a stored image is one generated earlier
            seen.add(new)
        assert len(pool) == 50
    # Binomial(n, 0.5): mean n/2, sd sqrt(n)/2 = 31.6; 4.5 sd leaves a false alarm of ~7e-6
    assert abs(stored - n / 2) < 4.5 * math.sqrt(n) / 2, stored


def test_returned_image_is_replaced_by_the_new_one():
    pool = ImagePool(4, seed=0)
    pool.query(_tagged(0, 4))
    for t in range(4, 40):
        out = pool.query(_tagged(t, 1))
        tags = {int(img[0, 0, 0]) for img in pool.images}
        if int(out[0, 0, 0, 0]) != t:
            assert t in tags and int(out[0, 0, 0, 0]) not in tags  # swapped in, the returned one out
        assert len(tags) == 4


def test_pool_size_zero_passes_through():
    x = torch.randn(3, 1, 2, 2)
    assert torch.equal(ImagePool(0).query(x), x)


def test_pool_state_dict_resumes_exactly():
    a = ImagePool(5, seed=9)
    for t in range(0, 30, 3):
        a.query(_tagged(t, 3))
    b = ImagePool(5, seed=1)  # another seed: only the loaded state may make them agree
    b.load_state_dict(a.state_dict())
    for t in range(30, 90, 3):
        assert torch.equal(a.query(_tagged(t, 3)), b.query(_tagged(t, 3)))
    with pytest.raises(ValueError):
        ImagePool(6).load_state_dict(a.state_dict())


def test_linear_decay_over_the_second_half():
    total = 200_000
    assert linear_decay(0, total) == 1.0
    assert linear_decay(100_000, total) == 1.0
    assert linear_decay(150_000, total) == pytest.approx(0.5)
    assert linear_decay(190_000, total) == pytest.approx(0.1)
    assert linear_decay(200_000, total) == 0.0 and linear_decay(250_000, total) == 0.0
    assert linear_decay(50, 100, decay_start=0.0) == pytest.approx(0.5)
