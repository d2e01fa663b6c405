"""BatchLoader determinism, shards and exact resume; prepare_batch; downsample."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growgan.data.archive import open_archive
from growgan.data.loader import BatchLoader, _prepare_cpu, _prepare_torch, downsample, prepare_batch
from growgan.errors import GrowganError
from growgan.utils.image import to_float


def _ids(batch) -> list[int]:
    return batch[0][:, 0, 0, 0].tolist()  # the first pixel is the image index


def test_batches_match_archive_and_labels(small_archive):
    a = open_archive(small_archive)
    images, labels = next(BatchLoader(a, 10, seed=3))
    assert images.dtype == torch.uint8 and images.shape == (10, 3, 8, 6) and labels.dtype == torch.int64
    ids = images[:, 0, 0, 0].long()
    torch.testing.assert_close(images, torch.from_numpy(np.array(a.images))[ids])
    torch.testing.assert_close(labels, ids % 5)


def test_every_image_once_per_epoch_across_batch_boundaries(small_archive):
    loader = BatchLoader(small_archive, 10, seed=0)  # 37 images: epochs end mid-batch
    seen = [i for _ in range(37 * 3 // 10 + 1) for i in _ids(next(loader))][: 37 * 3]
    for e in range(3):
        assert sorted(seen[37 * e : 37 * (e + 1)]) == list(range(37))
    assert seen[:37] != seen[37:74]  # a fresh permutation each epoch


def test_same_seed_same_stream_other_seed_other_stream(small_archive):
    a, b, c = (BatchLoader(small_archive, 8, seed=s) for s in (5, 5, 6))
    sa, sb, sc = ([_ids(next(l)) for _ in range(6)] for l in (a, b, c))
    assert sa == sb and sa != sc


def test_ranks_get_disjoint_equal_shards(small_archive):
    world = 3
    loaders = [BatchLoader(small_archive, 4, seed=1, rank=r, world_size=world) for r in range(world)]
    shards = [[i for _ in range(3) for i in _ids(next(l))] for l in loaders]  # 12 = 37 // 3 per rank
    flat = [i for s in shards for i in s]
    assert len(flat) == len(set(flat)) == 36
    assert loaders[0].state_dict() == loaders[2].state_dict()  # ranks stay in step


def test_state_dict_restores_exactly_even_with_batch_size_change(small_archive):
    ref = BatchLoader(small_archive, 7, seed=2)
    for _ in range(4):
        next(ref)
    ref.set_batch_size(5)
    next(ref)
    state = ref.state_dict()
    expected = [_ids(next(ref)) for _ in range(12)]  # crosses epochs
    resumed = BatchLoader(small_archive, 64, seed=999)
    resumed.load_state_dict(state)
    assert [_ids(next(resumed)) for _ in range(12)] == expected


def test_restore_rejects_other_archive_size(small_archive, tmp_path):
    state = BatchLoader(small_archive, 4).state_dict()
    state["num_images"] = 10
    with pytest.raises(GrowganError, match="same archive"):
        BatchLoader(small_archive, 4).load_state_dict(state)


def test_prepare_batch_range_and_flip():
    x = torch.tensor([[[[0, 255, 128]]]], dtype=torch.uint8).repeat(64, 1, 1, 1)  # [64, 1, 1, 3]
    y = prepare_batch(x, "cpu")
    torch.testing.assert_close(y[0, 0, 0], torch.tensor([-1.0, 1.0, 128 / 127.5 - 1]))
    g = torch.Generator().manual_seed(0)
    f = prepare_batch(x, "cpu", flip=True, generator=g)
    flipped = f[:, 0, 0, 0] != y[:, 0, 0, 0]
    assert 10 < int(flipped.sum()) < 54  # about half, each image flipped or not as a whole
    torch.testing.assert_close(f[flipped], y[flipped].flip(3))
    torch.testing.assert_close(f[~flipped], y[~flipped])
    g2 = torch.Generator().manual_seed(0)
    torch.testing.assert_close(prepare_batch(x, "cpu", flip=True, generator=g2), f)


def test_device_path_matches_cpu_path():
    """The torch path (used on accelerators) gives the same bits and flips as the numpy CPU path."""
    x = torch.randint(0, 256, (32, 3, 4, 6), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    a = _prepare_cpu(x, True, torch.Generator().manual_seed(5))
    b = _prepare_torch(x, torch.device("cpu"), True, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, to_float(x))


def test_prepare_batch_equals_to_float_bit_for_bit():
    x = torch.arange(256, dtype=torch.uint8).reshape(4, 1, 8, 8)
    assert torch.equal(prepare_batch(x, "cpu"), to_float(x))
    with pytest.raises(TypeError):
        prepare_batch(to_float(x), "cpu")


def test_downsample_is_block_mean():
    x = torch.arange(2 * 3 * 8 * 12, dtype=torch.float32).reshape(2, 3, 8, 12)
    y = downsample(x, (2, 3))  # factors 4 x 4
    assert y.shape == (2, 3, 2, 3)
    torch.testing.assert_close(y[1, 2, 1, 2], x[1, 2, 4:8, 8:12].mean())
    assert downsample(x, (8, 12)) is x
    z = downsample(x, (4, 3))  # non-uniform factors 2 x 4
    torch.testing.assert_close(z[0, 0, 0, 0], x[0, 0, 0:2, 0:4].mean())
    u = downsample(torch.tensor([[[[0, 1], [1, 1]]]], dtype=torch.uint8), 1)  # mean 0.75 -> 1
    assert u.dtype == torch.uint8 and u.item() == 1
    with pytest.raises(ValueError):
        downsample(x, (3, 3))


def test_batch_larger_than_the_archive_spans_epochs(small_archive):
    ids = _ids(next(BatchLoader(small_archive, 100, seed=4)))  # 37 + 37 + 26
    assert len(ids) == 100 and sorted(ids[:37]) == sorted(ids[37:74]) == list(range(37))
