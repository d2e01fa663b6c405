"""Conditional training end to end on a tiny labelled archive (biggan): the per-class grid,
orthogonal regularisation in the stats, `generate --class --trunc`, and the one-line refusal
of a conditional network on an unlabelled archive (before any run folder is made)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import make_archive, tiny_config
from PIL import Image

from growgan.cli import main
from growgan.utils.image import make_grid


def _biggan_config(**changes):
    common = {"z_dim": 8, "channels": 4, "fmap_max": 8, "attn_res": [16], "img_channels": None,
              "img_resolution": None, "c_dim": "auto"}
    net = {"family": "biggan", "G": {**common, "shared_dim": 4}, "D": dict(common)}
    return tiny_config(network=net, loss="hinge", n_critic=2, ortho_reg=1e-4, grid_size=8, kimg=0.032,
                       grid_kimg=0.032, checkpoint_kimg=0.032, **changes)


@pytest.fixture(scope="module")
def biggan_run(tiny_archive, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    cfg = tmp_path_factory.mktemp("cfg") / "biggan.json"
    cfg.write_text(json.dumps(_biggan_config().to_dict()))
    assert main(["train", "--config", str(cfg), "--data", str(tiny_archive), "--out", str(out), "--quiet"]) == 0
    (run,) = out.iterdir()
    return run


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error: ") and "\n" not in err, err
    return err


def test_conditional_run_writes_a_per_class_grid_and_ortho_loss(biggan_run):
    config = json.loads((biggan_run / "config.json").read_text())
    assert config["network"]["G"]["c_dim"] == config["network"]["D"]["c_dim"] == 4  # "auto" -> 4 classes
    grids = sorted((biggan_run / "grids").glob("classes-*.png"))
    assert grids
    # one row per class (4), 8 columns: the layout of a 4 x 8 grid of 32 px images magnified x2
    h, w = make_grid(torch.zeros(32, 1, 32, 32), ncols=8).shape[1:]
    img = np.asarray(Image.open(grids[-1]))
    assert img.shape[:2] == (2 * h, 2 * w)
    rows = [json.loads(line) for line in (biggan_run / "stats.jsonl").read_text().splitlines()]
    assert any("loss/ortho" in r and r["loss/ortho"] > 0 for r in rows)


def test_generate_class_and_truncation(biggan_run, tmp_path, capsys):
    out = tmp_path / "g.png"
    assert main(["generate", str(biggan_run), "--class", "3", "--trunc", "0.5", "--num", "4", "--out", str(out)]) == 0
    assert out.is_file()
    assert main(["generate", str(biggan_run), "--class", "3", "--num", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(["generate", str(biggan_run), "--class", "1", "--num", "2", "--out", str(tmp_path / "b")]) == 0
    a = np.asarray(Image.open(sorted((tmp_path / "a").iterdir())[0]))
    b = np.asarray(Image.open(sorted((tmp_path / "b").iterdir())[0]))
    assert not np.array_equal(a, b)  # same seed, other class: another image
    assert "classes 0..3" in _error(capsys, ["generate", str(biggan_run), "--class", "4", "--out", str(tmp_path / "x.png")])
    assert "--trunc" in _error(capsys, ["generate", str(biggan_run), "--trunc", "0", "--out", str(tmp_path / "x.png")])


def test_conditional_network_on_unlabelled_archive_is_refused(tmp_path, capsys):
    data = make_archive(tmp_path / "unlabelled", n=16, labels=False)
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(_biggan_config().to_dict()))
    out = tmp_path / "runs"
    err = _error(capsys, ["train", "--config", str(cfg), "--data", str(data), "--out", str(out), "--quiet"])
    assert "unlabelled" in err and "c_dim" in err
    assert not out.exists() or not any(out.iterdir())
    cfg.write_text(json.dumps(tiny_config(network={**tiny_config().network, "G": {**tiny_config().network["G"], "c_dim": 4},
                                                   "D": {**tiny_config().network["D"], "c_dim": 4}}).to_dict()))
    err = _error(capsys, ["train", "--config", str(cfg), "--data", str(data), "--out", str(out), "--quiet"])
    assert "unlabelled" in err
    assert not out.exists() or not any(out.iterdir())


def _stylegan2_ada_zip(path: Path, labels: list[int]) -> Path:
    """A zip laid out as stylegan2-ada-pytorch's dataset_tool writes it (00000/img%08d.png and a
    root dataset.json with [relative_path, class] pairs); 32x32 grey images, class k a blob
    in corner k, so the classes differ in content."""
    import io
    import zipfile

    entries = []
    with zipfile.ZipFile(path, "w") as zf:
        for i, cls in enumerate(labels):
            img = np.zeros((32, 32), np.uint8)
            y, x = divmod(cls, 2)
            img[16 * y:16 * y + 12, 16 * x:16 * x + 12] = 200 + i % 50
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="png")
            name = f"00000/img{i:08d}.png"
            zf.writestr(name, buf.getvalue())
            entries.append([name, cls])
        zf.writestr("dataset.json", json.dumps({"labels": entries}))
    return path


def test_stylegan2_ada_zip_trains_conditionally(tmp_path, capsys):
    labels = [i % 3 for i in range(24)]
    src = _stylegan2_ada_zip(tmp_path / "ds.zip", labels)
    out = tmp_path / "runs"
    cfg = tmp_path / "cgan.json"
    net = {"family": "dcgan", "G": {"z_dim": 8, "g_channels": 4, "fmap_max": 16, "img_channels": None,
                                    "img_resolution": None, "c_dim": "auto", "label_input": "onehot"},
           "D": {"z_dim": 8, "d_channels": 4, "fmap_max": 16, "img_channels": None, "img_resolution": None,
                 "c_dim": "auto", "conditioning": "concat"}}
    cfg.write_text(json.dumps(tiny_config(network=net, kimg=0.032, grid_kimg=0.032, checkpoint_kimg=0.032).to_dict()))
    # the zip itself is a source, not an archive: one line that says how to pack it, nothing made
    err = _error(capsys, ["train", "--config", str(cfg), "--data", str(src), "--out", str(out), "--quiet"])
    assert "growgan dataset prepare" in err and str(src) in err
    assert not out.exists()
    arch = tmp_path / "arch"
    assert main(["dataset", "prepare", str(src), "--out", str(arch)]) == 0
    assert list(np.load(arch / "labels.npy")) == labels
    assert main(["train", "--config", str(cfg), "--data", str(arch), "--out", str(out), "--quiet"]) == 0
    (run,) = out.iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["network"]["G"]["c_dim"] == config["network"]["D"]["c_dim"] == 3  # the zip's 3 classes
    h, w = make_grid(torch.zeros(3 * 4, 1, 32, 32), ncols=4).shape[1:]  # one row per class, grid_size 4
    grid = np.asarray(Image.open(sorted((run / "grids").glob("classes-*.png"))[-1]))
    assert grid.shape[0] * w == grid.shape[1] * h  # 3 rows of 4 (any magnification)
    for k in (0, 2):
        assert main(["generate", str(run), "--class", str(k), "--num", "2", "--out", str(tmp_path / f"c{k}")]) == 0
    a, b = (np.asarray(Image.open(sorted((tmp_path / f"c{k}").iterdir())[0])) for k in (0, 2))
    assert not np.array_equal(a, b)  # same seed, other class from the zip's labels: another image


def test_a_stylegan2_ada_folder_given_as_data_says_how_to_pack_it(tmp_path, capsys):
    import zipfile

    root = tmp_path / "folder"
    zipfile.ZipFile(_stylegan2_ada_zip(tmp_path / "ds.zip", [0, 1])).extractall(root)
    err = _error(capsys, ["train", "--preset", "dcgan-32", "--data", str(root), "--out", str(tmp_path / "runs")])
    assert "growgan dataset prepare" in err and "not a packed archive" in err
    assert not (tmp_path / "runs").exists()
