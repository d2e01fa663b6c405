"""pytorch_GAN_zoo JSON configs: iterations -> images, alpha jumps, depthScales, pathDB packing,
unsupported keys, and a zoo-style config that trains across its scales."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from growgan.errors import GrowganError
from growgan.growth.progan import Phase, ProGrowthConfig, phase_at
from growgan.growth import build_trainer as Trainer
from growgan.training.zoo_config import config_from_zoo_json, zoo_archive

ZOO = {
    "pathDB": "imgs",
    "config": {
        "maxIterAtScale": [4, 6, 6], "alphaJumpMode": "linear", "alphaNJumps": [0, 2, 2],
        "alphaSizeJumps": [0, 2, 1], "depthScales": [8, 8, 4], "miniBatchSize": 8,
        "miniBatchScheduler": {"2": 4}, "dimLatentVector": 8, "lossMode": "WGANGP", "lambdaGP": 10.0,
        "epsilonD": 0.001, "baseLearningRate": 0.002, "miniBatchStdDev": True, "equalizedlR": True,
    },
}


@pytest.fixture()
def zoo_file(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):  # RGB photos of another size: the data tool resizes them to 16x16
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    path = tmp_path / "zoo.json"
    path.write_text(json.dumps(ZOO))
    return path


def test_iterations_become_images_per_stage(zoo_file):
    cfg = config_from_zoo_json(zoo_file)
    g = cfg.growth
    # batches per scale: 8, 8 (scheduler key 2 only from scale 2), 4
    assert g["batch_sizes"] == {"4": 8, "8": 8, "16": 4} and cfg.batch_size == 8
    # scale 0: 4 it x 8; scale 1: fade 2 jumps x 2 it x 8 = 32, then (6 - 4) x 8; scale 2: fade 2 x 1 x 4, then 4 x 4
    assert g["fade_kimg"] == [0.0, 0.032, 0.008] and g["stabilise_kimg"] == [0.032, 0.016, 0.016]
    assert cfg.kimg == pytest.approx(0.104) and g["alpha_jumps"] == [0, 2, 2] and g["target_resolution"] == 16
    assert cfg.network["G"]["channels"] == [8, 8, 4] and cfg.network["G"]["z_dim"] == 8
    assert (cfg.loss, cfg.gp_lambda, cfg.drift_epsilon, cfg.lr_G, cfg.lr_D) == ("wgan", 10.0, 0.001, 0.002, 0.002)
    assert cfg.betas_G == (0.0, 0.99)
    # the zoo's alpha jumps at iterations 0, 2, 4 of scale 1 (zoo alpha 1, 0.5, 0 = ours 0, 0.5, 1)
    pg = ProGrowthConfig.from_dict(g)
    assert phase_at(32 + 15, pg) == Phase(1, True, 0.0)  # iteration 1
    assert phase_at(32 + 16, pg) == Phase(1, True, 0.5)  # iteration 2
    assert phase_at(32 + 32, pg) == Phase(1, False, 1.0)  # iteration 4: fade over


def test_unsupported_keys_are_listed_in_one_error(tmp_path):
    bad = json.loads(json.dumps(ZOO))
    bad["config"].update({"alphaJumpMode": "custom", "kInnerG": 2, "styleMixing": 0.9})
    bad["datasetProfile"] = {}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(GrowganError) as err:
        config_from_zoo_json(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    for key in ("config.styleMixing", "datasetProfile", "config.kInnerG=2", "alphaJumpMode='custom'"):
        assert key in msg


def test_zoo_config_packs_pathdb_and_trains_through_its_scales(zoo_file):
    cfg = config_from_zoo_json(zoo_file)
    archive = zoo_archive(zoo_file)
    assert archive.parent == zoo_file.parent and (archive / "meta.json").exists()
    assert zoo_archive(zoo_file) == archive  # packed once, then reused
    trainer = Trainer(cfg, archive, verbose=False)
    trainer.train_until(int(cfg.kimg * 1000))
    st = trainer.state
    assert st.images_seen == 104 and st.G.img_resolution == (16, 16) and st.G.img_channels == 3
    assert st.G.blocks["2"].conv1.weight.shape[0] == 4  # depthScales[2]
    assert [h["resolution"] for h in st.growth.history] == [8, 8, 16, 16]


def test_cli_accepts_zoo_config(zoo_file):
    archive = zoo_archive(zoo_file)
    res = subprocess.run([sys.executable, "-m", "growgan", "train", "--zoo-config", str(zoo_file), "--data", str(archive),
                          "--dry-run"], env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)
    assert shown["growth"]["kind"] == "progan" and shown["network"]["G"]["img_channels"] == 3


def test_the_readme_example_file_loads():
    """examples/zoo-mnist.json (the README's --zoo-config command): 4 scales to 32 px, batch 16,
    50 + 3 x 100 iterations -> 5.6 kimg, fades of 10 jumps x 5 iterations (0.8 kimg)."""
    from pathlib import Path

    cfg = config_from_zoo_json(Path(__file__).resolve().parents[2] / "examples" / "zoo-mnist.json")
    assert cfg.growth["target_resolution"] == 32 and cfg.kimg == pytest.approx(5.6)
    assert cfg.growth["fade_kimg"] == pytest.approx([0.0, 0.8, 0.8, 0.8]) and cfg.growth["alpha_jumps"] == [0, 10, 10, 10]
