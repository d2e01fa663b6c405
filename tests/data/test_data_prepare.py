"""The dataset tool on folders and zips (synthetic files) and on the real files in ../shared/data."""

from __future__ import annotations

import gzip
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from growgan.data.archive import open_archive
from growgan.data.prepare import PrepareOptions, prepare
from growgan.errors import GrowganError


def _write_class_folder(root: Path) -> None:
    """cat/ (2 colour images), dog/ (gray + RGBA in a sub-sub-folder), a broken JPEG, junk to ignore."""
    (root / "cat").mkdir(parents=True)
    (root / "dog" / "sub").mkdir(parents=True)
    Image.new("RGB", (6, 4), (200, 10, 10)).save(root / "cat" / "a.png")
    Image.new("RGB", (6, 4), (10, 200, 10)).save(root / "cat" / "b.jpg", quality=100)
    Image.new("L", (6, 4), 90).save(root / "dog" / "c.png")
    Image.new("RGBA", (6, 4), (1, 2, 3, 0)).save(root / "dog" / "sub" / "d.png")
    Image.new("RGB", (64, 64), (5, 5, 5)).save(root / "dog" / "broken.jpg")
    data = (root / "dog" / "broken.jpg").read_bytes()
    (root / "dog" / "broken.jpg").write_bytes(data[: len(data) // 2])  # truncated
    (root / "notes.txt").write_text("not an image")
    Image.new("RGB", (6, 4)).save(root / "cat" / ".hidden.png")


def test_folder_with_labels_skips_and_lists_the_broken_image(tmp_path):
    _write_class_folder(tmp_path / "src")
    res = prepare(str(tmp_path / "src"), tmp_path / "a", PrepareOptions(labels=True, resolution=(4, 6)))
    a = open_archive(res.path)
    assert (len(a), a.channels, a.resolution) == (4, 3, (4, 6))  # colour images present -> RGB
    assert a.label_names == ["cat", "dog"] and a.labels.tolist() == [0, 0, 1, 1]
    assert len(res.skipped) == 1 and res.skipped[0].startswith("dog/broken.jpg:")
    assert a.meta["num_skipped"] == 1 and a.meta["skipped"] == res.skipped
    assert a.images[0, :, 0, 0].tolist() == [200, 10, 10]
    assert a.images[2, :, 0, 0].tolist() == [90, 90, 90]  # gray -> RGB
    assert a.images[3, :, 0, 0].tolist() == [255, 255, 255]  # transparent RGBA over white


def test_strict_stops_at_the_broken_image(tmp_path):
    _write_class_folder(tmp_path / "src")
    with pytest.raises(GrowganError, match=r"dog/broken.jpg: unreadable image"):
        prepare(str(tmp_path / "src"), tmp_path / "a", PrepareOptions(strict=True, resolution=(4, 6)))
    assert not (tmp_path / "a").exists() and [p.name for p in tmp_path.iterdir()] == ["src"]


def test_zip_gives_the_same_content_as_the_folder(tmp_path):
    _write_class_folder(tmp_path / "src")
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as zf:
        for p in sorted((tmp_path / "src").rglob("*")):
            if p.is_file():
                zf.write(p, "top/" + p.relative_to(tmp_path / "src").as_posix())
    opts = PrepareOptions(labels=True, resolution=(4, 6))
    folder = open_archive(prepare(str(tmp_path / "src"), tmp_path / "f", opts).path)
    zipped = open_archive(prepare(str(tmp_path / "imgs.zip"), tmp_path / "z", opts).path)
    assert zipped.content_hash == folder.content_hash and zipped.label_names == ["cat", "dog"]


def test_gray_only_folder_defaults_to_one_channel_and_native_size(tmp_path):
    (tmp_path / "g").mkdir()
    for i in range(3):
        Image.new("L", (5, 3), 10 * i).save(tmp_path / "g" / f"{i}.png")
    a = open_archive(prepare(str(tmp_path / "g"), tmp_path / "a").path)
    assert (len(a), a.channels, a.resolution, a.labels) == (3, 1, (3, 5), None)
    assert a.images[:, 0, 0, 0].tolist() == [0, 10, 20]


def test_sixteen_bit_png_is_scaled(tmp_path):
    (tmp_path / "s").mkdir()
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(tmp_path / "s" / "x.png")
    Image.fromarray(np.full((4, 4), 257 * 100, np.uint16)).save(tmp_path / "s" / "y.png")
    a = open_archive(prepare(str(tmp_path / "s"), tmp_path / "a").path)
    assert a.images[:, 0, 0, 0].tolist() == [255, 100]


def test_max_images_subset_is_seeded(tmp_path):
    (tmp_path / "m").mkdir()
    for i in range(20):
        Image.new("L", (2, 2), i).save(tmp_path / "m" / f"{i:02d}.png")
    ids = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        a = open_archive(prepare(str(tmp_path / "m"), tmp_path / name, PrepareOptions(max_images=6, seed=seed)).path)
        ids.append(a.images[:, 0, 0, 0].tolist())
    assert ids[0] == ids[1] != ids[2]
    assert len(set(ids[0])) == 6 and ids[0] == sorted(ids[0])  # distinct, in source order


# ------------------------------------------------------------------ real files


def _raw_idx(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    return np.frombuffer(data, np.uint8, offset=16 if "idx3" in path.name else 8)


def test_mnist_test_split_round_trip(shared_data, tmp_path):
    mnist = shared_data / "mnist"
    res = prepare("mnist", tmp_path / "a", PrepareOptions(split="test", from_dir=mnist))
    a = open_archive(res.path, verify=True)
    assert (len(a), a.channels, a.resolution, a.num_classes) == (10000, 1, (28, 28), 10)
    np.testing.assert_array_equal(np.asarray(a.images).reshape(-1), _raw_idx(mnist / "t10k-images-idx3-ubyte.gz"))
    np.testing.assert_array_equal(a.labels, _raw_idx(mnist / "t10k-labels-idx1-ubyte.gz"))


def test_mnist_subset_resized_to_32(shared_data, tmp_path):
    mnist = shared_data / "mnist"
    opts = PrepareOptions(split="test", from_dir=mnist, resolution=(32, 32), max_images=40, seed=3)
    a = open_archive(prepare(str(mnist), tmp_path / "a", opts).path)  # the folder path works too
    raw = _raw_idx(mnist / "t10k-images-idx3-ubyte.gz").reshape(-1, 28, 28)
    labels = _raw_idx(mnist / "t10k-labels-idx1-ubyte.gz")
    resized = {
        np.asarray(Image.fromarray(raw[j]).resize((32, 32), Image.Resampling.LANCZOS)).tobytes(): j
        for j in range(len(raw))
    }
    found = [resized[a.images[i, 0].tobytes()] for i in range(len(a))]  # every image is a lanczos resize
    assert (len(a), a.resolution) == (40, (32, 32)) and len(set(found)) == 40
    np.testing.assert_array_equal(a.labels, labels[found])


def test_cifar10_test_split_round_trip(shared_data, tmp_path):
    tar = shared_data / "cifar-10" / "cifar-10-python.tar.gz"
    a = open_archive(prepare("cifar-10", tmp_path / "a", PrepareOptions(split="test", from_dir=tar.parent)).path)
    with tarfile.open(tar) as t:
        ref = pickle.load(t.extractfile("cifar-10-batches-py/test_batch"), encoding="bytes")
    assert (len(a), a.channels, a.resolution, a.num_classes) == (10000, 3, (32, 32), 10)
    np.testing.assert_array_equal(np.asarray(a.images).reshape(10000, -1), ref[b"data"])
    np.testing.assert_array_equal(a.labels, ref[b"labels"])
    assert a.label_names[0] == "airplane" and a.label_names[9] == "truck"


def test_image_folder_sample_non_square(shared_data, tmp_path):
    src = shared_data / "image-folder-sample"
    a = open_archive(prepare(str(src), tmp_path / "a", PrepareOptions(resolution=(48, 64), max_images=41)).path)
    assert (len(a), a.channels, a.resolution, a.labels) == (41, 3, (48, 64), None)
    assert a.meta["num_skipped"] == 0
    names = sorted(p.name for p in src.iterdir())
    cam = np.asarray(a.images[names.index("skimage_camera.png")], dtype=int)  # a grayscale photo
    assert (cam[0] == cam[1]).all() and (cam[1] == cam[2]).all()
    face = Image.open(src / "000001.jpg").convert("RGB")  # 178x218: center-crop to 178x134 then lanczos
    top = (218 - 134) // 2
    ref = np.asarray(face.crop((0, top, 178, top + 134)).resize((64, 48), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(a.images[0], ref.transpose(2, 0, 1))


# ------------------------------------------------------------------ synthetic CIFAR-10 files


def _cifar_tar(tmp_path: Path, batch_dict=None) -> tuple[Path, np.ndarray, np.ndarray]:
    """A tiny cifar-10-python.tar.gz: 5 train batches of 2 images, pickled like the real one."""
    rng = np.random.default_rng(7)
    data = rng.integers(0, 256, size=(10, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=10)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for b in range(5):
        d = batch_dict or {b"data": data[2 * b : 2 * b + 2], b"labels": labels[2 * b : 2 * b + 2].tolist()}
        (folder / f"data_batch_{b + 1}").write_bytes(pickle.dumps(d, protocol=2))
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": data[:1], b"labels": [3]}, protocol=2))
    names = [n.encode() for n in "a b c d e f g h i j".split()]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))
    tar = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(folder, arcname="cifar-10-batches-py")
    return tar, data, labels


def test_cifar_tar_and_extracted_folder(tmp_path):
    tar, data, labels = _cifar_tar(tmp_path)
    a = open_archive(prepare(str(tar), tmp_path / "a").path)
    np.testing.assert_array_equal(np.asarray(a.images).reshape(10, -1), data)
    np.testing.assert_array_equal(a.labels, labels)
    assert a.label_names == list("abcdefghij")
    b = open_archive(prepare(str(tmp_path), tmp_path / "b").path)  # a folder holding the extracted batches
    assert b.content_hash == a.content_hash
    t = open_archive(prepare(str(tar), tmp_path / "t", PrepareOptions(split="test")).path)
    assert len(t) == 1 and t.labels.tolist() == [3]


def test_cifar_to_gray_uses_luma(tmp_path):
    tar, data, _ = _cifar_tar(tmp_path)
    a = open_archive(prepare(str(tar), tmp_path / "a", PrepareOptions(channels=1, labels=False)).path)
    ref = np.asarray(Image.fromarray(data[4].reshape(3, 32, 32).transpose(1, 2, 0)).convert("L"))
    assert (a.channels, a.labels) == (1, None)
    np.testing.assert_array_equal(a.images[4, 0], ref)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))


def test_cifar_pickles_cannot_run_code(tmp_path):
    tar, _, _ = _cifar_tar(tmp_path, batch_dict={b"data": _Evil(), b"labels": [0]})
    with pytest.raises(GrowganError, match=r"data_batch_1 is damaged \(refusing to load"):
        prepare(str(tar), tmp_path / "a")


def test_ordered_map_keeps_order_and_stops_early():
    import time

    from growgan.data.prepare import _ordered_map

    def slow_when_even(i: int) -> int:
        time.sleep(0.002 if i % 2 == 0 else 0)
        return i * i

    assert list(_ordered_map(slow_when_even, range(200), workers=4, window=7)) == [i * i for i in range(200)]
    started = []
    gen = _ordered_map(started.append, range(10_000), workers=2, window=5)
    next(gen)
    gen.close()  # the consumer gave up: the rest is cancelled, not run
    assert len(started) < 100


def test_every_image_mode_from_real_files(tmp_path):
    """Files as saved by other tools: palette (with transparency), RGBA, LA, 1-bit, 16-bit, CMYK JPEG."""
    src = tmp_path / "modes"
    src.mkdir()
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    pal.save(src / "a_palette.png")
    pal.save(src / "b_palette_transparent.png", transparency=1)
    Image.new("RGBA", (4, 4), (40, 50, 60, 255)).save(src / "c_rgba.png")
    Image.new("LA", (4, 4), (70, 0)).save(src / "d_la.png")
    Image.new("1", (4, 4), 1).save(src / "e_bilevel.png")
    Image.fromarray(np.full((4, 4), 257 * 90, np.uint16)).save(src / "f_16bit.png")
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(src / "g_cmyk.jpg", quality=100)
    Image.new("L", (4, 4), 33).save(src / "h_gray.jpg", quality=100)
    res = prepare(str(src), tmp_path / "a", PrepareOptions(strict=True))
    a = open_archive(res.path)
    assert (len(a), a.channels, a.resolution, res.skipped) == (8, 3, (4, 4), [])
    got = [a.images[i, :, 1, 1].tolist() for i in range(8)]
    assert got[:6] == [[10, 20, 30], [255, 255, 255], [40, 50, 60], [255, 255, 255], [255, 255, 255], [90, 90, 90]]
    assert np.abs(np.array(got[6]) - [255, 0, 0]).max() <= 3 and np.abs(np.array(got[7]) - 33).max() <= 1  # JPEG
