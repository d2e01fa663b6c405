"""`growgan metrics` on the command line: two-set comparison table, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from growgan.cli import main


@pytest.fixture(scope="module")
def two_archives(tmp_path_factory, make_blobs):
    from growgan.data.archive import ArchiveWriter

    root = tmp_path_factory.mktemp("cli")
    for name, seed in (("a", 1), ("b", 2)):
        w = ArchiveWriter(root / name, channels=1, resolution=(32, 32))
        w.append(make_blobs(24, 32, 1, seed=seed))
        w.close({"source": name})
    return root / "a", root / "b"


def test_compare_two_sets_prints_swd_per_level_and_ms_ssim(two_archives, capsys):
    a, b = two_archives
    assert main(["metrics", "--real", str(a), "--fake", str(b), "--metrics", "swd,ms-ssim", "--pairs", "50"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
            if line and not line.startswith("#") and len(line.split()) == 2 and line.split()[0] != "SWD"}
    assert {"32x32", "16x16", "average", "ms_ssim", "ms_ssim_real", "ms_ssim_cross"} <= set(rows)
    assert rows["average"] == pytest.approx((rows["32x32"] + rows["16x16"]) / 2, abs=1e-3)
    assert "Laplacian levels 32x32, 16x16" in out and "MS-SSIM: 5 scales" in out


def test_user_errors_are_one_line(two_archives, tmp_path, capsys):
    a, _ = two_archives
    assert main(["metrics", "--real", str(a)]) == 2
    assert main(["metrics", str(tmp_path / "nope"), "--data", str(a)]) == 2
    assert main(["metrics", "--real", str(a), "--fake", str(tmp_path), "--metrics", "swd"]) == 2  # empty folder
    assert main(["metrics", "--real", str(a), "--fake", str(a), "--metrics", "fidd"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("growgan: error: ") for line in err)
    assert "Traceback" not in "".join(err)


def test_image_folder_matches_archive(two_archives, tmp_path, capsys):
    from growgan.data.archive import open_archive
    from growgan.utils.image import save_image

    a, _ = two_archives
    imgs = np.asarray(open_archive(a).images)
    for i, im in enumerate(imgs):
        save_image(im, tmp_path / f"{i:03d}.png")
    assert main(["metrics", "--real", str(a), "--fake", str(tmp_path), "--metrics", "ms-ssim", "--pairs", "40"]) == 0
    rows = dict(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("ms_ssim"))
    assert float(rows["ms_ssim"]) == pytest.approx(float(rows["ms_ssim_real"]), abs=1e-6)  # PNG is lossless
