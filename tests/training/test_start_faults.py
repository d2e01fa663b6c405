"""Runs that fail to start leave no run folder; ProGAN trains with a batch its minibatch-std
group does not divide and says so once (issue #16, item 6)."""

from __future__ import annotations

import json

from engine_helpers import tiny_config

from growgan.cli import main


def test_a_run_that_fails_to_start_leaves_no_run_folder(tiny_archive, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(tiny_config().to_dict()))
    out = tmp_path / "runs"
    rc = main(["train", "--config", str(cfg), "--data", str(tiny_archive), "--out", str(out), "--quiet",
               "--set", "network.G.img_channels=3", "--set", "network.D.img_channels=3"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("growgan: error:") and len(err.strip().splitlines()) == 1
    assert not out.exists() or list(out.iterdir()) == []


def test_progan_with_batch_6_uses_groups_of_3_and_says_so_once(tmp_path, capsys):
    import numpy as np

    from growgan.data.archive import write_archive
    from growgan.training.presets_progan import progan_config, progan_network

    imgs = np.random.default_rng(0).integers(0, 256, size=(24, 1, 8, 8), dtype=np.uint8)
    data = write_archive(tmp_path / "a", imgs, None, {"source": "noise"})
    growth = {"target_resolution": 8, "stabilise_kimg": 0.012, "fade_kimg": 0.012, "batch_sizes": {"4": 6, "8": 6}}
    cfg = progan_config(progan_network(z_dim=8, fmap_base=32, fmap_max=8), growth, batch_size=6, kimg=0.036,
                        log_kimg=0.012, grid_kimg=0, checkpoint_kimg=0.036, grid_size=4, tensorboard=False)
    f = tmp_path / "c.json"
    f.write_text(json.dumps(cfg.to_dict()))
    assert main(["train", "--config", str(f), "--data", str(data), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    log = (run / "log.txt").read_text()
    assert log.count("using groups of 3") == 1
