"""The one image decoder: dataset prepare and the metrics folder reader turn the same files
into the same pixels (issue #16, item 1), with values from the rules' definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from growgan.cli import main
from growgan.data.archive import open_archive
from growgan.data.decode import parse_background
from growgan.data.prepare import PrepareOptions, prepare
from growgan.errors import GrowganError
from growgan.metrics.ms_ssim import ms_ssim
from growgan.metrics.sources import open_source


def _both(folder, tmp_path, **opts):
    """(archive images, metrics-folder images) of one folder, uint8 [N, C, H, W]."""
    arc = open_archive(prepare(str(folder), tmp_path / "arc", PrepareOptions(**opts)).path)
    bg = opts.get("background")
    return np.array(arc.images), open_source(folder, background=bg).get(0, 10_000).numpy()


def test_16bit_gray_pngs_scale_by_255_over_65535(tmp_path):
    rng = np.random.default_rng(0)
    spread = np.rint(np.linspace(0, 65535, 24 * 24)).astype(np.uint16)  # values spread over 0..65535
    raw = [rng.permutation(spread).reshape(24, 24) for _ in range(8)]
    raw[0][0, :3] = (0, 65535, 32896)  # 32896 * 255 / 65535 = 128.0: the endpoints and one exact value
    (tmp_path / "png16").mkdir()
    for i, a in enumerate(raw):
        Image.fromarray(a).save(tmp_path / "png16" / f"{i}.png")
    assert Image.open(tmp_path / "png16" / "0.png").mode.startswith("I;16")  # really 16-bit files
    expected = np.stack([np.rint(a.astype(np.float64) * 255 / 65535) for a in raw])[:, None].astype(np.uint8)
    archive, folder = _both(tmp_path / "png16", tmp_path)
    np.testing.assert_array_equal(archive, expected)
    np.testing.assert_array_equal(folder, expected)
    assert tuple(expected[0, 0, 0, :3]) == (0, 255, 128)
    assert abs(folder.mean() - 127.5) < 0.2  # spread over 0..65535 -> 127.5 (the clipping bug gave 254.5)
    sim = ms_ssim(torch.from_numpy(folder), torch.from_numpy(archive))
    assert torch.allclose(sim, torch.ones(8))  # a folder and its own archive: MS-SSIM 1


def _rgba_folder(root):
    root.mkdir()
    for i in range(6):  # an opaque square on a transparent black background
        a = np.zeros((16, 16, 4), np.uint8)
        a[4:12, 4:12] = (200, 40 * i, 10, 255)
        Image.fromarray(a, "RGBA").save(root / f"{i}.png")


def _palette_folder(root):
    root.mkdir()
    for i in range(4):  # palette: index 0 transparent black, index 1 opaque red
        img = Image.new("P", (16, 16), 0)
        img.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
        img.paste(1, (4, 4, 12, 12))
        img.save(root / f"{i}.png", transparency=0)


@pytest.mark.parametrize("make", [_rgba_folder, _palette_folder])
@pytest.mark.parametrize("background, value", [(None, (255, 255, 255)), ("black", (0, 0, 0)), ("#102030", (16, 32, 48))])
def test_transparency_goes_onto_one_background(tmp_path, make, background, value):
    make(tmp_path / "src")
    opts = {} if background is None else {"background": parse_background(background)}
    archive, folder = _both(tmp_path / "src", tmp_path, **opts)
    np.testing.assert_array_equal(archive, folder)
    assert archive.shape[1:] == (3, 16, 16)
    assert (archive[:, :, 0, 0] == np.array(value)).all()  # a transparent corner: the background colour
    assert (archive[:, 0, 8, 8] >= 200).all() and (archive[:, 2, 8, 8] <= 10).all()  # the opaque square kept


def test_exif_rotated_jpegs_are_upright_in_size_and_content(tmp_path):
    (tmp_path / "jpg").mkdir()
    upright = np.zeros((48, 32, 3), np.uint8)  # 32 wide x 48 high: red top half, blue bottom half
    upright[:24] = (255, 0, 0)
    upright[24:] = (0, 0, 255)
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # what a camera writes with Orientation 6
    assert stored.size == (48, 32)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    for i in range(4):
        stored.save(tmp_path / "jpg" / f"{i}.jpg", quality=95, exif=exif.tobytes())
    archive, folder = _both(tmp_path / "jpg", tmp_path)
    assert archive.shape == (4, 3, 48, 32)  # C x H x W of the upright photo
    np.testing.assert_array_equal(archive, folder)
    top, bottom = archive[:, :, 4:20].mean(axis=(0, 2, 3)), archive[:, :, 28:44].mean(axis=(0, 2, 3))
    assert top[0] > 200 and top[2] < 50 and bottom[2] > 200 and bottom[0] < 50


def test_channels_follow_one_rule_in_both_readers(tmp_path):
    (tmp_path / "mix").mkdir()
    Image.new("L", (8, 8), 90).save(tmp_path / "mix" / "a.png")
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "mix" / "b.png")
    archive, folder = _both(tmp_path / "mix", tmp_path)
    np.testing.assert_array_equal(archive, folder)
    assert tuple(folder[0, :, 0, 0]) == (90, 90, 90) and tuple(folder[1, :, 0, 0]) == (255, 0, 0)
    gray = open_archive(prepare(str(tmp_path / "mix"), tmp_path / "g", PrepareOptions(channels=1)).path).images
    assert gray[0, 0, 0, 0] == 90 and gray[1, 0, 0, 0] == 76  # ITU-R 601-2 luma of pure red: 0.299 * 255 = 76.2


def test_decompression_bombs_are_refused_in_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "bomb").mkdir()
    Image.new("1", (10_000, 9_000)).save(tmp_path / "bomb" / "big.png")  # 90 M pixels in ~10 kB
    Image.new("L", (8, 8)).save(tmp_path / "bomb" / "ok.png")
    assert (tmp_path / "bomb" / "big.png").stat().st_size < 100_000
    # metrics: one line, exit 2, naming the file (Pillow alone only warns below 2x its limit)
    assert main(["metrics", "--real", str(tmp_path / "bomb"), "--fake", str(tmp_path / "bomb"), "--metrics", "ms-ssim"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error:") and "\n" not in err and "big.png" in err and "decompression bomb" in err
    # prepare: skipped and listed; with --strict, the same one line
    res = prepare(str(tmp_path / "bomb"), tmp_path / "a", PrepareOptions())
    assert len(open_archive(res.path)) == 1 and "big.png" in res.skipped[0] and "decompression bomb" in res.skipped[0]
    with pytest.raises(GrowganError, match="big.png"):
        prepare(str(tmp_path / "bomb"), tmp_path / "b", PrepareOptions(strict=True))


def test_background_values_are_checked():
    assert parse_background("white") == (255, 255, 255) and parse_background("0,128,255") == (0, 128, 255)
    for bad in ("pink", "1,2", "#12345", "300,0,0"):
        with pytest.raises(GrowganError, match="--background"):
            parse_background(bad)
