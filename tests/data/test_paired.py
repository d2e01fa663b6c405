"""Translation archives: folder layouts round-trip, joint jitter keeps pairs aligned, one-line
errors before anything is written, unpaired sampling resumes exactly, offline sets as defined."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from growgan.data.archive import open_archive, write_archive
from growgan.data.paired import (
    UnpairedLoader,
    joint_jitter,
    open_paired_archive,
    open_unpaired_archive,
    write_translation_archive,
)
from growgan.data.prepare import PrepareOptions
from growgan.data.translation_prepare import prepare_translation
from growgan.errors import GrowganError

RNG = np.random.default_rng(0)


def _png(path: Path, arr: np.ndarray) -> None:
    """Save uint8 [C, H, W] losslessly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)).save(path)


def _nothing_left(parent: Path, name: str) -> bool:
    return not any(p.name.startswith(name) or p.name.startswith(f".{name}") for p in parent.iterdir())


# ------------------------------------------------------------------ layouts round-trip


def test_paired_folders_round_trip(tmp_path):
    a = RNG.integers(0, 256, size=(5, 1, 8, 12), dtype=np.uint8)  # gray A, colour B, non-square
    b = RNG.integers(0, 256, size=(5, 3, 8, 12), dtype=np.uint8)
    names = ["k03", "a01", "sub/z", "m7", "b2"]
    for i, n in enumerate(names):
        _png(tmp_path / "src" / "A" / f"{n}.png", a[i])
        _png(tmp_path / "src" / "B" / f"{n}.png", b[i])
    prepare_translation(tmp_path / "src", tmp_path / "out", PrepareOptions(), "paired")
    data = open_paired_archive(tmp_path / "out")
    assert (data.num, data.resolution, data.channels_a, data.channels_b) == (5, (8, 12), 1, 3)
    order = np.argsort(names)  # packed in sorted name order
    got_a, got_b = data.batch([4, 0, 2])
    assert got_a.dtype == torch.uint8 and tuple(got_a.shape) == (3, 1, 8, 12)
    np.testing.assert_array_equal(got_a.numpy(), a[order[[4, 0, 2]]])
    np.testing.assert_array_equal(got_b.numpy(), b[order[[4, 0, 2]]])


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_side_by_side_round_trip(tmp_path, direction):
    left = RNG.integers(0, 256, size=(4, 3, 6, 6), dtype=np.uint8)
    right = RNG.integers(0, 256, size=(4, 3, 6, 6), dtype=np.uint8)
    for i in range(4):
        _png(tmp_path / "src" / "train" / f"{i}.png", np.concatenate([left[i], right[i]], axis=2))
    _png(tmp_path / "src" / "val" / "0.png", np.zeros((3, 6, 12), np.uint8))  # another split: not packed
    prepare_translation(tmp_path / "src", tmp_path / "out", PrepareOptions(), "side-by-side", direction)
    data = open_paired_archive(tmp_path / "out")
    a, b = data.batch(range(4))
    want_a, want_b = (left, right) if direction == "AtoB" else (right, left)
    np.testing.assert_array_equal(a.numpy(), want_a)
    np.testing.assert_array_equal(b.numpy(), want_b)


def test_unpaired_folders_and_two_bare_archives(tmp_path):
    a = RNG.integers(0, 256, size=(3, 1, 8, 8), dtype=np.uint8)
    b = RNG.integers(0, 256, size=(5, 3, 8, 8), dtype=np.uint8)
    for i in range(3):
        _png(tmp_path / "src" / "trainA" / f"{i}.png", a[i])
    for i in range(5):
        _png(tmp_path / "src" / "trainB" / f"x{i}.png", b[i])
    prepare_translation(tmp_path / "src", tmp_path / "out", PrepareOptions(), "unpaired")
    data = open_unpaired_archive(tmp_path / "out")
    np.testing.assert_array_equal(np.asarray(data.a.images), a)
    np.testing.assert_array_equal(np.asarray(data.b.images), b)
    with pytest.raises(GrowganError, match="unpaired archive"):
        open_paired_archive(tmp_path / "out")
    # two archives made separately, side by side, also open as an unpaired pair
    write_archive(tmp_path / "two" / "A", a, None, {})
    write_archive(tmp_path / "two" / "B", b, None, {})
    two = open_unpaired_archive(tmp_path / "two")
    assert (len(two.a), len(two.b), two.channels_a, two.channels_b) == (3, 5, 1, 3)


def test_ordinary_archive_reader_names_a_translation_archive(tmp_path):
    write_translation_archive(tmp_path / "t", "paired", np.zeros((2, 1, 4, 4), np.uint8), np.zeros((2, 3, 4, 4), np.uint8), {})
    with pytest.raises(GrowganError, match="is a translation archive"):
        open_archive(tmp_path / "t")


# ------------------------------------------------------------------ errors: one line, nothing made


def _expect_error(src: Path, out: Path, layout: str, match: str) -> None:
    with pytest.raises(GrowganError, match=match) as info:
        prepare_translation(src, out, PrepareOptions(), layout)
    assert "\n" not in str(info.value)
    assert _nothing_left(out.parent, out.name)


def test_mismatched_names_missing_side_and_sizes_refused(tmp_path):
    img = np.zeros((1, 4, 4), np.uint8)
    src = tmp_path / "src"
    _png(src / "A" / "x.png", img)
    _expect_error(src, tmp_path / "o1", "paired", r"no B/ folder")
    _png(src / "B" / "y.png", img)
    _expect_error(src, tmp_path / "o2", "paired", r"1 image\(s\) in A/ have no partner in B/ \(e\.g\. x\)")
    (src / "B" / "y.png").rename(src / "B" / "x.png")
    _png(src / "B" / "x.png", np.zeros((1, 4, 8), np.uint8))  # same name, other aspect
    _expect_error(src, tmp_path / "o3", "paired", r"pair x is 4x4 in A but 4x8 in B")
    odd = tmp_path / "odd"
    _png(odd / "0.png", np.zeros((1, 4, 7), np.uint8))
    _expect_error(odd, tmp_path / "o4", "side-by-side", r"width 7 is odd")
    un = tmp_path / "un"
    _png(un / "A" / "0.png", np.zeros((1, 4, 4), np.uint8))
    _png(un / "B" / "0.png", np.zeros((1, 8, 8), np.uint8))
    _expect_error(un, tmp_path / "o5", "unpaired", r"A images are 4x4 but B images 8x8; pass --resolution")


# ------------------------------------------------------------------ joint jitter


def test_joint_jitter_keeps_pairs_aligned():
    n = 64
    a = torch.from_numpy(RNG.integers(0, 256, size=(n, 1, 10, 12), dtype=np.uint8))
    b = torch.cat([255 - a, a, a // 2], dim=1)  # B's pixels are functions of A's at the same place
    g = torch.Generator().manual_seed(3)
    ja, jb = joint_jitter(a, b, g, crop=(6, 7), flip=True)
    assert tuple(ja.shape) == (n, 1, 6, 7) and tuple(jb.shape) == (n, 3, 6, 7)
    torch.testing.assert_close(jb[:, :1], 255 - ja, rtol=0, atol=0)
    torch.testing.assert_close(jb[:, 1:2], ja, rtol=0, atol=0)
    # the jitter really varies: several windows and both flip outcomes occur
    windows = set()
    flips = 0
    for i in range(n):
        hits = [(t, l, f) for t in range(5) for l in range(6) for f in (0, 1)
                if torch.equal((a[i, :, t : t + 6, l : l + 7].flip(2) if f else a[i, :, t : t + 6, l : l + 7]), ja[i])]
        assert hits, "each output is a crop (maybe flipped) of its input"
        windows.add(hits[0][:2])
        flips += hits[0][2]
    assert len(windows) > 5 and 10 < flips < n - 10


def test_joint_jitter_resize_then_crop_keeps_alignment():
    a = torch.from_numpy(RNG.integers(0, 256, size=(8, 1, 16, 16), dtype=np.uint8))
    g = torch.Generator().manual_seed(0)
    ja, jb = joint_jitter(a, a.repeat(1, 3, 1, 1), g, crop=(16, 16), load=(18, 18))
    assert tuple(ja.shape) == (8, 1, 16, 16)
    torch.testing.assert_close(jb, ja.repeat(1, 3, 1, 1), rtol=0, atol=0)


# ------------------------------------------------------------------ unpaired sampling


def test_unpaired_loader_is_independent_and_resumes_exactly(tmp_path):
    imgs = np.arange(12, dtype=np.uint8).reshape(12, 1, 1, 1).repeat(2, 2).repeat(2, 3)
    write_translation_archive(tmp_path / "u", "unpaired", imgs, imgs.copy(), {})
    data = open_unpaired_archive(tmp_path / "u")
    loader = UnpairedLoader(data, batch_size=4, seed=5)
    first = [next(loader) for _ in range(2)]
    assert any(not torch.equal(x, y) for x, y in first)  # equal-sized domains not shuffled in lockstep
    state = loader.state_dict()
    expect = [next(loader) for _ in range(4)]
    again = UnpairedLoader(data, batch_size=4, seed=5)
    again.load_state_dict(state)
    for (xa, xb), (ya, yb) in zip(expect, [next(again) for _ in range(4)]):
        assert torch.equal(xa, ya) and torch.equal(xb, yb)


# ------------------------------------------------------------------ offline sets as defined


def _idx(folder: Path, prefix: str, images: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(struct.pack(">4B3I", 0, 0, 8, 3, n, h, w) + images.tobytes()))
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">4BI", 0, 0, 8, 1, n) + bytes(n)))


def _blobs(n: int, seed: int) -> np.ndarray:
    """n 28x28 gray images with a bright rectangle each (so Canny finds its border)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        t, l = rng.integers(3, 10, size=2)
        out[i, t : t + 12, l : l + 10] = 200
    return out


def test_edges2fashion_is_canny_of_the_resized_image(tmp_path):
    from skimage.feature import canny

    from growgan.data.translation_sets import CANNY_SIGMA, prepare_translation_set

    _idx(tmp_path / "fm", "train", _blobs(4, 1))
    prepare_translation_set("edges2fashion", tmp_path / "out", PrepareOptions(from_dir=tmp_path / "fm"))
    data = open_paired_archive(tmp_path / "out")
    a, b = data.batch(range(4))
    assert data.resolution == (32, 32)
    for i in range(4):
        edges = canny(b[i, 0].numpy() / 255.0, sigma=CANNY_SIGMA)  # the definition, on the stored B
        assert edges.sum() > 20
        np.testing.assert_array_equal(a[i, 0].numpy(), np.where(edges, 0, 255))


def test_mnist2fashion_is_unpaired_mnist_and_fashion(tmp_path):
    from growgan.data.translation_sets import prepare_translation_set

    _idx(tmp_path / "d" / "mnist", "train", np.full((3, 28, 28), 10, np.uint8))
    _idx(tmp_path / "d" / "fashion-mnist", "train", np.full((5, 28, 28), 200, np.uint8))
    prepare_translation_set("mnist2fashion", tmp_path / "out", PrepareOptions(from_dir=tmp_path / "d"))
    data = open_unpaired_archive(tmp_path / "out")
    assert data.meta["kind"] == "unpaired" and (len(data.a), len(data.b)) == (3, 5)
    assert int(np.asarray(data.a.images).max()) == 10 and int(np.asarray(data.b.images).min()) == 200


def _fake_cifar(root: Path, labels: list[int]) -> np.ndarray:
    """An extracted cifar-10-batches-py with 5 train batches of 2 images (labels as given)."""
    data = np.random.default_rng(7).integers(0, 256, size=(10, 3072), dtype=np.uint8)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for k in range(5):
        batch = {b"data": data[2 * k : 2 * k + 2], b"labels": labels[2 * k : 2 * k + 2]}
        (folder / f"data_batch_{k + 1}").write_bytes(pickle.dumps(batch, protocol=2))
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": data[:1], b"labels": [3]}, protocol=2))
    return data


def test_horse2deer_takes_cifar_classes_7_and_4(tmp_path):
    from growgan.data.translation_sets import prepare_translation_set

    labels = [7, 4, 0, 7, 4, 4, 1, 7, 7, 4]
    data = _fake_cifar(tmp_path / "c", labels)
    prepare_translation_set("horse2deer", tmp_path / "out", PrepareOptions(from_dir=tmp_path / "c"))
    got = open_unpaired_archive(tmp_path / "out")
    rgb = data.reshape(10, 3, 32, 32)
    for arch, cls in ((got.a, 7), (got.b, 4)):
        want = rgb[np.array(labels) == cls]
        assert len(arch) == len(want)
        assert sorted(map(bytes, np.asarray(arch.images))) == sorted(map(bytes, want))


def test_gray2cifar_a_is_the_luma_of_b(tmp_path):
    from growgan.data.translation_sets import prepare_translation_set

    data = _fake_cifar(tmp_path / "c", [0, 1] * 5)
    prepare_translation_set("gray2cifar", tmp_path / "out", PrepareOptions(from_dir=tmp_path / "c"))
    a, b = open_paired_archive(tmp_path / "out").batch(range(10))
    rgb = data.reshape(10, 3, 32, 32).astype(np.float64)
    luma = (rgb[:, 0] * 299 + rgb[:, 1] * 587 + rgb[:, 2] * 114) / 1000  # ITU-R 601-2
    np.testing.assert_array_equal(b.numpy(), data.reshape(10, 3, 32, 32))
    assert np.abs(a[:, 0].numpy() - luma).max() <= 0.5 + 1e-6  # rounded to the nearest level


# ------------------------------------------------------------------ standard downloads (local files only)


def _fake_facades(folder: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A tiny facades.tar.gz as pix2pix ships it: facades/train/*.jpg... here PNG, A|B halves."""
    photo = RNG.integers(0, 256, size=(2, 3, 4, 4), dtype=np.uint8)
    label = RNG.integers(0, 256, size=(2, 3, 4, 4), dtype=np.uint8)
    src = folder / "build" / "facades" / "train"
    for i in range(2):
        _png(src / f"{i}.png", np.concatenate([photo[i], label[i]], axis=2))  # photo | labels, as shipped
    tar = folder / "facades.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(folder / "build" / "facades", arcname="facades")
    return tar, photo, label


def test_standard_set_checksum_match_extract_and_mismatch(tmp_path, monkeypatch):
    from growgan.data import translation_sets as ts

    tar, photo, label = _fake_facades(tmp_path / "mirror")
    digest = hashlib.sha256(tar.read_bytes()).hexdigest()
    opts = PrepareOptions(from_dir=tmp_path / "mirror", cache_dir=tmp_path / "cache")
    result = ts.prepare_translation_set("facades", tmp_path / "out", opts, sha256=digest)
    a, b = open_paired_archive(result.path).batch([0, 1])
    np.testing.assert_array_equal(a.numpy(), label)  # facades trains labels -> photo (BtoA)
    np.testing.assert_array_equal(b.numpy(), photo)
    assert result.meta["sha256"] == digest and result.meta["checksum"] == "verified"
    with pytest.raises(GrowganError, match=r"sha256 [0-9a-f]{64} does not match the expected 0{64}") as info:
        ts.prepare_translation_set("facades", tmp_path / "out2", opts, sha256="0" * 64)
    assert "\n" not in str(info.value) and not (tmp_path / "out2").exists()


def test_download_verifies_the_published_checksum(tmp_path, monkeypatch):
    """The download path itself, against a file:// mirror: a match is kept, a mismatch refused."""
    from growgan.data import translation_sets as ts

    build = tmp_path / "mirror" / "build" / "horse2zebra"
    for side, n in (("trainA", 2), ("trainB", 3)):
        for i in range(n):
            _png(build / side / f"{i}.png", RNG.integers(0, 256, size=(3, 4, 4), dtype=np.uint8))
    zpath = tmp_path / "mirror" / "horse2zebra.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for p in sorted(build.rglob("*.png")):
            z.write(p, arcname=f"horse2zebra/{p.relative_to(build).as_posix()}")
    good = hashlib.sha256(zpath.read_bytes()).hexdigest()
    base = (tmp_path / "mirror").as_uri() + "/"
    monkeypatch.setitem(ts.STANDARD, "horse2zebra", ts.StandardSet("horse2zebra", "horse2zebra.zip", (base,), good,
                                                                   "unpaired", "AtoB", ("horse", "zebra")))
    opts = PrepareOptions(cache_dir=tmp_path / "cache")
    result = ts.prepare_translation_set("horse2zebra", tmp_path / "out", opts)
    data = open_unpaired_archive(result.path)
    assert (len(data.a), len(data.b)) == (2, 3)
    assert (tmp_path / "cache" / "downloads" / "horse2zebra" / "horse2zebra.zip").is_file()
    monkeypatch.setitem(ts.STANDARD, "horse2zebra", ts.StandardSet("horse2zebra", "horse2zebra.zip", (base,), "f" * 64,
                                                                   "unpaired", "AtoB", ("horse", "zebra")))
    with pytest.raises(GrowganError, match="expected f{64}") as info:
        ts.prepare_translation_set("horse2zebra", tmp_path / "out2", PrepareOptions(cache_dir=tmp_path / "cache2"))
    assert "\n" not in str(info.value) and not (tmp_path / "cache2" / "downloads" / "horse2zebra" / "horse2zebra.zip").exists()


def test_extraction_refuses_paths_outside(tmp_path):
    from growgan.data.translation_sets import extract

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../evil.png", b"x")
    with pytest.raises(GrowganError, match="outside the extraction folder"):
        extract(bad, tmp_path / "x")
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "x").exists()


def test_failed_translation_write_leaves_nothing_and_overwrite_swaps_whole(tmp_path):
    from growgan.data.paired import TranslationWriter

    out = tmp_path / "t"
    with pytest.raises(RuntimeError):
        with TranslationWriter(out, "paired") as w:
            w.side("A", 1, (4, 4)).append(np.zeros((2, 1, 4, 4), np.uint8))
            raise RuntimeError("killed between the sides")
    assert list(tmp_path.iterdir()) == []  # no archive, no temporary
    write_translation_archive(out, "paired", np.zeros((2, 1, 4, 4), np.uint8), np.zeros((2, 1, 4, 4), np.uint8), {})
    with pytest.raises(GrowganError, match="already exists; choose another --out or pass --overwrite"):
        write_translation_archive(out, "paired", np.ones((3, 1, 4, 4), np.uint8), np.ones((3, 1, 4, 4), np.uint8), {})
    write_translation_archive(out, "paired", np.ones((3, 1, 4, 4), np.uint8), np.ones((3, 1, 4, 4), np.uint8), {},
                              overwrite=True)
    assert open_paired_archive(out).num == 3 and [p.name for p in tmp_path.iterdir()] == ["t"]
