"""`growgan dataset ...` end to end: good runs, and every bad input -> exit 2 with one line naming the file."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from growgan.cli import main
from growgan.data import named


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GROWGAN_CACHE", str(tmp_path / "cache"))


def _fails(capsys, argv: list[str], *needles: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not line.startswith("downloading ")]  # progress notes
    assert len(lines) == 1 and lines[0].startswith("growgan: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _folder(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (8, 8), (i, 2 * i, 3 * i)).save(root / f"{i}.png")
    return root


def test_prepare_info_grid_builtin(tmp_path, capsys):
    out = tmp_path / "fm"
    assert main(["dataset", "prepare", "builtin", "--out", str(out), "--max-images", "100"]) == 0
    assert f"{out}: 100 images, 1x32x32, 10 classes" in capsys.readouterr().out  # builtin defaults to 32x32
    assert main(["dataset", "info", str(out), "--verify"]) == 0
    text = capsys.readouterr().out
    assert "100 images, 1x32x32, 10 classes" in text and "Ankle boot" in text and "hash matches" in text
    assert main(["dataset", "grid", str(out), "--out", str(tmp_path / "reals.png"), "--num", "16"]) == 0
    grid = Image.open(tmp_path / "reals.png")
    assert grid.mode == "L" and grid.size == ((4 * (32 + 2) + 2) * 2,) * 2  # 4x4 tiles, upscaled x2 to >= 64 px


def test_skipped_images_are_counted_and_listed(tmp_path, capsys):
    src = _folder(tmp_path / "src")
    (src / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main(["dataset", "prepare", str(src), "--out", str(tmp_path / "a")]) == 0
    cap = capsys.readouterr()
    assert "skipped 1 unreadable image(s):" in cap.err and "bad.png" in cap.err
    assert "3 images, 3x8x8, unlabelled" in cap.out


def test_python_m_entry_point_reports_error_without_traceback(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "growgan", "dataset", "info", str(tmp_path / "nope")],
        capture_output=True, text=True, env={**os.environ, "GROWGAN_CACHE": str(tmp_path)},
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr and str(tmp_path / "nope") in r.stderr


@pytest.mark.parametrize(
    "case",
    ["missing", "empty", "strict", "unknown-name", "bad-resolution", "mixed-sizes", "loose-labels", "truncated-idx",
     "foreign-tar", "bad-zip", "exists", "unsupported"],
)
def test_bad_prepare_inputs(case, tmp_path, capsys):
    out = str(tmp_path / "out")
    if case == "missing":
        _fails(capsys, ["dataset", "prepare", str(tmp_path / "nowhere"), "--out", out], "nowhere: no such file")
    elif case == "empty":
        (tmp_path / "empty").mkdir()
        _fails(capsys, ["dataset", "prepare", str(tmp_path / "empty"), "--out", out], "empty: no image files")
    elif case == "strict":
        src = _folder(tmp_path / "src")
        (src / "1.png").write_bytes((src / "1.png").read_bytes()[:40])
        _fails(capsys, ["dataset", "prepare", str(src), "--out", out, "--strict"], "1.png: unreadable image", "--strict")
    elif case == "unknown-name":
        _fails(capsys, ["dataset", "prepare", "imagenet", "--out", out], "imagenet: no such file", "mnist, fashion-mnist")
    elif case == "bad-resolution":
        _fails(capsys, ["dataset", "prepare", "builtin", "--out", out, "--resolution", "32x"], "--resolution '32x'")
    elif case == "mixed-sizes":
        src = _folder(tmp_path / "src")
        Image.new("RGB", (9, 8)).save(src / "wide.png")
        _fails(capsys, ["dataset", "prepare", str(src), "--out", out], "2 different sizes", "--resolution")
    elif case == "loose-labels":
        src = _folder(tmp_path / "src")
        _fails(capsys, ["dataset", "prepare", str(src), "--out", out, "--labels"], "0.png is not", "--no-labels")
    elif case == "truncated-idx":
        (tmp_path / "idx").mkdir()
        (tmp_path / "idx" / "train-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03" + (5).to_bytes(4, "big") * 3 + b"x" * 10)
        _fails(capsys, ["dataset", "prepare", str(tmp_path / "idx"), "--out", out], "train-images-idx3-ubyte: holds 10 bytes")
    elif case == "foreign-tar":
        (tmp_path / "x.tar.gz").write_bytes(b"not a tar")
        _fails(capsys, ["dataset", "prepare", str(tmp_path / "x.tar.gz"), "--out", out], "x.tar.gz: not a readable tar.gz")
    elif case == "bad-zip":
        (tmp_path / "x.zip").write_bytes(b"PK nothing")
        _fails(capsys, ["dataset", "prepare", str(tmp_path / "x.zip"), "--out", out], "x.zip: not a readable zip")
    elif case == "exists":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "meta.json").write_text("{}")
        _fails(capsys, ["dataset", "prepare", "builtin", "--out", out], "out: already exists", "--overwrite")
    elif case == "unsupported":
        (tmp_path / "x.csv").write_text("1,2")
        _fails(capsys, ["dataset", "prepare", str(tmp_path / "x.csv"), "--out", out], "x.csv: unsupported file type")
    assert not (tmp_path / "out").exists() or case == "exists"


def test_checksum_mismatch_through_the_cli(tmp_path, capsys, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "cifar-10-python.tar.gz").write_bytes(b"tampered")
    fake = dataclasses.replace(named.DATASETS["cifar-10"], mirrors=(mirror.as_uri() + "/",), system_dirs=())
    monkeypatch.setitem(named.DATASETS, "cifar-10", fake)
    _fails(capsys, ["dataset", "prepare", "cifar-10", "--out", str(tmp_path / "c")],
           "cifar-10-python.tar.gz: downloaded file has sha256", "expected 6d958be0")
    assert not any((tmp_path / "cache").rglob("*.gz"))


def test_no_network_through_the_cli(tmp_path, capsys, monkeypatch):
    fake = dataclasses.replace(named.DATASETS["cifar-10"], mirrors=("file:///nonexistent/",), system_dirs=())
    monkeypatch.setitem(named.DATASETS, "cifar-10", fake)
    _fails(capsys, ["dataset", "prepare", "cifar-10", "--out", str(tmp_path / "c")],
           "put cifar-10-python.tar.gz into", "--from DIR")


@pytest.mark.parametrize("damage", ["truncated", "foreign", "half-written"])
def test_bad_archives(damage, tmp_path, capsys):
    a = tmp_path / "a"
    assert main(["dataset", "prepare", str(_folder(tmp_path / "src")), "--out", str(a)]) == 0
    capsys.readouterr()
    if damage == "truncated":
        os.truncate(a / "images.npy", 100)
        needle = "images.npy is unreadable or truncated"
    elif damage == "foreign":
        (a / "meta.json").write_text('{"hello": 1}')
        needle = "does not describe a growgan archive"
    else:
        (a / "meta.json").unlink()
        needle = "meta.json is missing"
    _fails(capsys, ["dataset", "info", str(a)], str(a), needle, "growgan dataset prepare")
    _fails(capsys, ["dataset", "grid", str(a), "--out", str(tmp_path / "g.png")], needle)
    assert not (tmp_path / "g.png").exists()


def test_channels_and_labels_options(tmp_path, capsys):
    out = tmp_path / "rgb"
    argv = ["dataset", "prepare", "builtin", "--out", str(out), "--max-images", "5", "--channels", "3", "--no-labels",
            "--resolution", "28"]
    assert main(argv) == 0
    assert "5 images, 3x28x28, unlabelled" in capsys.readouterr().out
    from growgan.data import open_archive

    x = np.asarray(open_archive(out).images)
    assert (x[:, 0] == x[:, 1]).all() and (x[:, 1] == x[:, 2]).all() and x.max() > 0


def test_empty_out_folder_is_used(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    assert main(["dataset", "prepare", "builtin", "--out", str(tmp_path / "out"), "--max-images", "3"]) == 0


def test_idx_without_labels_file(tmp_path, capsys):
    import gzip
    import struct

    (tmp_path / "idx").mkdir()
    body = struct.pack(">4B3I", 0, 0, 8, 3, 2, 3, 3) + bytes(range(18))
    (tmp_path / "idx" / "my-images-idx3-ubyte.gz").write_bytes(gzip.compress(body))
    _fails(capsys, ["dataset", "prepare", str(tmp_path / "idx"), "--out", str(tmp_path / "a"), "--labels"],
           "no labels file beside it (my-labels-idx1-ubyte.gz)", "--no-labels")
    assert main(["dataset", "prepare", str(tmp_path / "idx"), "--out", str(tmp_path / "a")]) == 0
    assert "2 images, 1x3x3, unlabelled" in capsys.readouterr().out
    # Kaggle's spelling, uncompressed, with its labels file: found and paired
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "train-images.idx3-ubyte").write_bytes(body)
    (tmp_path / "k" / "train-labels.idx1-ubyte").write_bytes(struct.pack(">4BI", 0, 0, 8, 1, 2) + bytes([4, 7]))
    assert main(["dataset", "prepare", str(tmp_path / "k"), "--out", str(tmp_path / "b")]) == 0
    assert "2 images, 1x3x3, 8 classes" in capsys.readouterr().out


def test_info_and_grid_accept_builtin(builtin_path, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GROWGAN_CACHE", str(builtin_path.parent))
    monkeypatch.chdir(tmp_path)
    assert main(["dataset", "info", "builtin"]) == 0
    assert f"{builtin_path}: 10000 images, 1x32x32, 10 classes" in capsys.readouterr().out
    assert main(["dataset", "grid", "builtin", "--out", "reals.png", "--num", "4", "--upscale", "1"]) == 0
    assert Image.open(tmp_path / "reals.png").size == (2 * 34 + 2, 2 * 34 + 2)
