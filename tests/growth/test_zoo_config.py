"""pytorch_GAN_zoo JSON configs: iterations -> images, alpha jumps, depthScales, pathDB packing,
unsupported keys, and a zoo-style config that trains across its scales."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from pathlib import Path

from engine_helpers import make_archive

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
    bad["config"].update({"alphaJumpMode": "cosine", "kInnerG": 2, "styleMixing": 0.9})
    bad["datasetProfile"] = {}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(GrowganError) as err:
        config_from_zoo_json(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    for key in ("config.styleMixing", "datasetProfile", "config.kInnerG=2", "alphaJumpMode='cosine'"):
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


# --- the configurations of pytorch_GAN_zoo / PGAN-Paddle's README (seed 003) ----------------

PADDLE = Path(__file__).resolve().parents[1] / "fixtures" / "pgan-paddle-celeba_cropped.json"


def test_pgan_paddle_readme_config_converts_exactly():
    """The README's file, byte for byte: per-scale batches and learning rates, zoo defaults elsewhere."""
    cfg = config_from_zoo_json(PADDLE)
    g = cfg.growth
    assert g["target_resolution"] == 128  # 6 maxIterAtScale entries: 4 .. 128 px
    assert g["batch_sizes"] == {"4": 64, "8": 64, "16": 64, "32": 64, "64": 32, "128": 22}
    lr = {"4": 0.003, "8": 0.003, "16": 0.003, "32": 0.003, "64": 0.001, "128": 0.001}
    assert g["lr_G"] == lr and g["lr_D"] == lr
    # zoo defaults: 600 jumps of 32 iterations open scales 1..5
    assert g["alpha_jumps"] == [0, 600, 600, 600, 600, 600]
    assert g["fade_kimg"][1] == pytest.approx(600 * 32 * 64 / 1000)
    assert g["stabilise_kimg"][5] == pytest.approx((160000 - 600 * 32) * 22 / 1000)
    assert g["stabilise_kimg"][0] == pytest.approx(48000 * 64 / 1000)
    assert cfg.network["G"]["channels"] == [512, 512, 512, 512, 256, 128] and cfg.network["G"]["z_dim"] == 512
    assert (cfg.loss, cfg.gp_lambda, cfg.drift_epsilon) == ("wgan", 10.0, 0.001)


def test_config_scheduler_holds_until_changed_and_learning_rate_alias(tmp_path):
    doc = {"pathDB": "x", "config": {"maxIterAtScale": [4, 4, 4], "alphaNJumps": [0, 1, 1], "alphaSizeJumps": [0, 1, 1],
                                     "depthScales": [8, 8, 8], "learningRate": 0.002, "GDPP": False},
           "configScheduler": {"1": {"learningRate": 0.0005, "lambdaGP": 10.0}}}
    path = tmp_path / "z.json"
    path.write_text(json.dumps(doc))
    cfg = config_from_zoo_json(path)
    assert cfg.lr_G == 0.002 and cfg.growth["lr_G"] == {"4": 0.002, "8": 0.0005, "16": 0.0005}


def test_custom_alpha_mode_with_equal_steps_maps_else_one_line(tmp_path):
    doc = {"pathDB": "x", "config": {"maxIterAtScale": [4, 8], "depthScales": [8, 8], "alphaJumpMode": "custom",
                                     "iterAlphaJump": [[], [0, 2, 4]], "alphaJumpVals": [[], [1.0, 0.5, 0.0]]}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    cfg = config_from_zoo_json(path)
    assert cfg.growth["alpha_jumps"] == [0, 2] and cfg.growth["fade_kimg"][1] == pytest.approx(4 * 16 / 1000)
    doc["config"]["alphaJumpVals"] = [[], [1.0, 0.75, 0.0]]
    path.write_text(json.dumps(doc))
    with pytest.raises(GrowganError, match="alphaJumpMode 'linear'") as err:
        config_from_zoo_json(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("change, says", [
    ({"GDPP": True}, "growgan has no GDPP loss; set GDPP to false"),
    ({"configScheduler": {"2": {"lambdaGP": 5.0}}}, "configScheduler.2.lambdaGP=5.0"),
    ({"configScheduler": {"2": {"miniBatchSize": 8}}}, "config.miniBatchScheduler"),
    ({"configScheduler": {"1": {"baseLearningRate": "fast"}}}, "a learning rate needs a number > 0"),
    ({"baseLearningRate": 0.001, "learningRate": 0.002}, "give one of them"),
    ({"miniBatchScheduler": ["a"]}, "miniBatchScheduler a mapping"),
])
def test_unmappable_zoo_settings_say_what_to_do(tmp_path, change, says):
    doc = json.loads(PADDLE.read_text())
    doc["config"].update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(GrowganError) as err:
        config_from_zoo_json(path)
    assert says in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_pgan_paddle_readme_config_trains_on_a_32px_archive(tmp_path):
    """`growgan train --zoo-config` on the README's file with pathDB replaced by a 32 px archive
    and the schedule shortened (4 scales of 2 iterations, narrow layers for a CPU test); its
    miniBatchScheduler and configScheduler are kept as they are."""
    archive = make_archive(tmp_path / "faces32", n=64, channels=3, res=32, labels=False)
    doc = json.loads(PADDLE.read_text())
    doc["pathDB"] = str(archive)
    doc["config"].update({"maxIterAtScale": [2, 2, 2, 2], "alphaNJumps": [0, 1, 1, 1], "alphaSizeJumps": [0, 1, 1, 1],
                          "depthScales": [8, 8, 8, 8], "dimLatentVector": 8})
    path = tmp_path / "config_celeba_cropped.json"
    path.write_text(json.dumps(doc, indent=2))
    res = subprocess.run([sys.executable, "-m", "growgan", "train", "--zoo-config", str(path), "--out", str(tmp_path / "runs"),
                          "--quiet", "--set", "tensorboard=false"],
                         env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    run = next((tmp_path / "runs").iterdir())
    ckpt = torch.load(sorted(run.glob("checkpoints/checkpoint-*.pt"))[-1], weights_only=True, map_location="cpu")
    assert ckpt["state"]["images_seen"] == 4 * 2 * 64  # 4 scales x 2 iterations x miniBatchScheduler's 64
    assert ckpt["config"]["growth"]["lr_G"] == {"4": 0.003, "8": 0.003, "16": 0.003, "32": 0.003}
    assert ckpt["state"]["opt_G"]["param_groups"][0]["lr"] == 0.003  # configScheduler's rate, not the zoo's 0.001
    assert ckpt["state"]["G_ema"]["blocks.3.conv1.weight"].shape[0] == 8  # grew to the 32 px stage
