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
