"""Colour-mode conversion, aspect policies, resize filters (checked by hand-computed values)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from growgan.data.transform import ImageSpec, convert_array, convert_image, parse_resolution
from growgan.errors import GrowganError


def test_parse_resolution():
    assert parse_resolution("32") == (32, 32)
    assert parse_resolution("48x64") == (48, 64)  # (H, W)
    assert parse_resolution(None) is None
    for bad in ("abc", "0", "32x", "4x4x4", "-8"):
        with pytest.raises(GrowganError, match="--resolution"):
            parse_resolution(bad)


def test_box_filter_halving_is_the_block_mean():
    arr = np.random.default_rng(0).integers(0, 256, size=(8, 12), dtype=np.uint8)
    out = convert_image(Image.fromarray(arr), ImageSpec(1, (4, 6), "box"))
    mean = arr.reshape(4, 2, 6, 2).astype(np.float64).mean(axis=(1, 3))
    assert out.shape == (1, 4, 6)
    assert np.abs(out[0] - mean).max() <= 1.0  # block means; Pillow rounds after each separable pass


def test_filters_are_honoured_and_differ():
    arr = np.random.default_rng(1).integers(0, 256, size=(20, 20, 3), dtype=np.uint8)
    outs = {}
    for name, pil in (("box", Image.Resampling.BOX), ("bilinear", Image.Resampling.BILINEAR), ("lanczos", Image.Resampling.LANCZOS)):
        outs[name] = convert_image(Image.fromarray(arr), ImageSpec(3, (7, 9), name, "stretch"))
        ref = np.asarray(Image.fromarray(arr).resize((9, 7), pil)).transpose(2, 0, 1)
        np.testing.assert_array_equal(outs[name], ref)
    assert not np.array_equal(outs["box"], outs["lanczos"]) and not np.array_equal(outs["bilinear"], outs["lanczos"])


def _striped(h: int = 10, w: int = 20) -> Image.Image:
    """Left quarter red, right quarter blue, middle white."""
    arr = np.full((h, w, 3), 255, np.uint8)
    arr[:, : w // 4] = (255, 0, 0)
    arr[:, -w // 4 :] = (0, 0, 255)
    return Image.fromarray(arr)


def test_center_crop_keeps_the_middle():
    out = convert_image(_striped(), ImageSpec(3, (4, 4), "box", "center-crop"))  # 10x20 -> middle 10x10
    assert (out == 255).all()


def test_pad_adds_black_bars_and_keeps_everything():
    out = convert_image(_striped(), ImageSpec(3, (4, 4), "box", "pad"))  # 10x20 -> 20x20 padded -> 4x4
    assert (out[:, 0] == 0).all() and (out[:, 3] == 0).all()  # top and bottom rows: black bars
    assert tuple(out[:, 1, 0]) == (255, 0, 0) and tuple(out[:, 1, 3]) == (0, 0, 255)


def test_stretch_keeps_everything_without_bars():
    out = convert_image(_striped(), ImageSpec(3, (4, 4), "box", "stretch"))
    assert tuple(out[:, 0, 0]) == (255, 0, 0) and tuple(out[:, 3, 3]) == (0, 0, 255) and out.min(axis=0).max() == 255


def test_non_square_target_is_kept():
    out = convert_image(_striped(30, 30), ImageSpec(3, (48, 64), "bilinear", "center-crop"))
    assert out.shape == (3, 48, 64)


@pytest.mark.parametrize(
    "make, channels, expected",
    [
        (lambda: Image.new("L", (2, 2), 77), 3, [77, 77, 77]),
        (lambda: Image.new("RGB", (2, 2), (255, 0, 0)), 1, [76]),  # ITU-R 601-2 luma of pure red
        (lambda: Image.new("RGBA", (2, 2), (10, 20, 30, 0)), 3, [255, 255, 255]),  # transparent -> white
        (lambda: Image.new("RGBA", (2, 2), (10, 20, 30, 255)), 3, [10, 20, 30]),
        (lambda: Image.new("LA", (2, 2), (0, 0)), 1, [255]),
        (lambda: Image.new("CMYK", (2, 2), (0, 0, 0, 0)), 3, [255, 255, 255]),
        (lambda: Image.new("CMYK", (2, 2), (0, 255, 255, 0)), 3, [255, 0, 0]),
        (lambda: Image.new("1", (2, 2), 1), 1, [255]),
        (lambda: Image.new("I;16", (2, 2), 65535), 1, [255]),
        (lambda: Image.new("I;16", (2, 2), 32896), 3, [128, 128, 128]),  # 32896 * 255 / 65535 = 128
        (lambda: Image.new("I", (2, 2), 257 * 7), 1, [7]),
    ],
)
def test_modes_are_converted(make, channels, expected):
    out = convert_image(make(), ImageSpec(channels, (2, 2)))
    assert out.shape == (channels, 2, 2) and out.dtype == np.uint8
    assert out[:, 0, 0].tolist() == expected


def test_palette_image_uses_its_palette():
    img = Image.new("P", (2, 2), 1)
    img.putpalette([0, 0, 0, 12, 34, 56] + [0] * 762)
    assert convert_image(img, ImageSpec(3, (2, 2)))[:, 1, 1].tolist() == [12, 34, 56]


def test_convert_array_fast_paths():
    x = np.random.default_rng(2).integers(0, 256, size=(3, 1, 6, 6), dtype=np.uint8)
    assert convert_array(x, ImageSpec(1, (6, 6))) is x
    rgb = convert_array(x, ImageSpec(3, (6, 6)))
    assert rgb.shape == (3, 3, 6, 6) and (rgb == x).all()
    small = convert_array(x, ImageSpec(1, (3, 3), "box"))
    assert np.abs(small.astype(float) - x.reshape(3, 1, 3, 2, 3, 2).mean(axis=(3, 5))).max() <= 1.0
