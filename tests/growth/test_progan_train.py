"""ProGAN through the training engine: exact resume across growth steps and mid-fade, the
CLI with the preset, and a 2-process torchrun run that crosses a growth step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import assert_same

from growgan.training.checkpoint import load_checkpoint, restore_state
from growgan.training.config import TrainConfig
from growgan.growth import build_trainer as Trainer
from growgan.training.state import state_to_dict

GROWGAN = [sys.executable, "-m", "growgan"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def blobs16(tmp_path_factory) -> Path:
    from growgan.data.archive import write_archive

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16]
    imgs = np.empty((64, 1, 16, 16), dtype=np.uint8)
    for i in range(64):
        cy, cx = rng.integers(3, 13, size=2)
        imgs[i, 0] = (np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0) * 255).astype(np.uint8)
    return write_archive(tmp_path_factory.mktemp("data") / "blobs16", imgs, None, {"source": "test blobs"})


def tiny_progan(**changes) -> TrainConfig:
    """16 px, <= 8 channels; phases of 32 images: stab 4 [0,32) fade 8 [32,64) stab 8 [64,96) fade 16 [96,128)."""
    from growgan.training.presets_progan import progan_config, progan_network

    growth = {"target_resolution": 16, "stabilise_kimg": 0.032, "fade_kimg": 0.032, "reset_optimizers": False,
              "batch_sizes": {"4": 8, "8": 4, "16": 4}, "lr_D": {"8": 0.002}}
    cfg = progan_config(progan_network(z_dim=8, fmap_base=32, fmap_max=8), growth, batch_size=8, kimg=0.128,
                        log_kimg=0.016, grid_kimg=0.032, checkpoint_kimg=0.032, grid_size=4, tensorboard=False,
                        xflip=True, ema_kimg=0.05)
    return cfg.copy(**changes) if changes else cfg


@pytest.mark.parametrize("reset", [False, True])
def test_resume_mid_fade_is_bit_identical_across_growth(blobs16, tmp_path, reset):
    cfg = tiny_progan()
    cfg.growth["reset_optimizers"] = reset
    full = Trainer(cfg, blobs16, verbose=False)
    full.train_until(112)  # through fade-8, stab-8 and into fade-16
    assert [(h["resolution"], h["fade_in"]) for h in full.state.growth.history] == [(8, True), (8, False), (16, True)]
    assert full.state.G.img_resolution == (16, 16) and 0 < full.state.G.alpha < 1

    first = Trainer(cfg, blobs16, run_dir=tmp_path, verbose=False)
    first.train_until(48)  # stops in the middle of the 8x8 fade
    assert first.state.spec["G"]["fade_in"] and 0 < first.state.G.alpha < 1
    path = first.last_checkpoint
    del first
    torch.manual_seed(999)  # resume must not depend on the global RNG
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_dict(ckpt["config"])
    state = restore_state(ckpt, config, "cpu", path)
    second = Trainer(config, blobs16, state=state, run_dir=tmp_path, resume=ckpt["extra"], verbose=False)
    second.train_until(112)
    assert_same(state_to_dict(full.state), state_to_dict(second.state))
    assert second.state.opt_D.param_groups[0]["lr"] == 0.001  # 16 px: back to the base lr (8 px had 0.002)


@pytest.fixture(scope="module")
def cli_run(blobs16, tmp_path_factory) -> Path:
    """`growgan train --preset progan-mnist-32`, shrunk to 16 px and 32-image phases."""
    out = tmp_path_factory.mktemp("cli") / "runs"
    sets = ["growth.target_resolution=16", "growth.stabilise_kimg=0.032", "growth.fade_kimg=0.032",
            'growth.batch_sizes={"4": 8, "8": 8, "16": 8}', "network.G.fmap_base=32", "network.G.fmap_max=8",
            "network.D.fmap_base=32", "network.D.fmap_max=8", "network.G.z_dim=8", "grid_kimg=0.032",
            "checkpoint_kimg=0.064", "grid_size=4", "tensorboard=false"]
    cmd = GROWGAN + ["train", "--preset", "progan-mnist-32", "--data", str(blobs16), "--kimg", "0.16", "--out",
                     str(out), "--quiet"] + [x for s in sets for x in ("--set", s)]
    res = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    return next(out.glob("0*"))


def test_cli_preset_grows_and_writes_grids_per_resolution(cli_run):
    from PIL import Image

    # grids every 32 images: one at the end of every phase (4, fade 8, 8, fade 16, 16 px)
    seen = sorted(int(p.stem.split("-")[1]) for p in (cli_run / "grids").glob("ema-*.png"))
    assert seen == [32, 64, 96, 128, 160]
    assert all(Image.open(p).size[0] > 64 for p in (cli_run / "grids").glob("ema-*.png"))
    ck = load_checkpoint(sorted((cli_run / "checkpoints").glob("*.pt"))[-1])
    st = ck["state"]
    assert st["spec"]["G"]["num_stages"] == 3 and st["images_seen"] == 160
    assert [(h["resolution"], h["fade_in"]) for h in st["growth"]["history"]] == [
        (8, True), (8, False), (16, True), (16, False)]


def test_metrics_prints_the_swd_table_of_the_run(cli_run, blobs16):
    probe = subprocess.run(GROWGAN + ["metrics", "--help"], env=ENV, capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("growgan metrics is not available in this checkout yet")
    met = subprocess.run(GROWGAN + ["metrics", str(cli_run), "--data", str(blobs16), "--metrics", "swd",
                                    "--num", "64"], env=ENV, capture_output=True, text=True, timeout=180)
    assert met.returncode == 0, met.stderr
    assert "swd" in met.stdout.lower() and "16" in met.stdout


def test_data_smaller_than_target_is_a_clear_error(blobs16, tmp_path):
    cmd = GROWGAN + ["train", "--preset", "progan-mnist-32", "--data", str(blobs16), "--kimg", "0.01", "--out",
                     str(tmp_path), "--quiet", "--set", "tensorboard=false"]
    res = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.startswith("growgan: error:") and "target_resolution" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_torchrun_two_processes_cross_a_growth_step(blobs16, tmp_path):
    cfg = tiny_progan(kimg=0.064, checkpoint_kimg=0.064)
    cfg.growth["batch_sizes"] = {"4": 4, "8": 4, "16": 4}
    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(json.dumps(cfg.to_dict()))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "growgan",
           "train", "--config", str(cfg_file), "--data", str(blobs16), "--out", str(tmp_path / "runs"), "--quiet"]
    res = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    run = next((tmp_path / "runs").glob("0*"))
    ck = load_checkpoint(sorted((run / "checkpoints").glob("*.pt"))[-1])
    st = ck["state"]
    assert st["images_seen"] == 64 and st["spec"]["G"]["num_stages"] == 2
    assert [h["resolution"] for h in st["growth"]["history"]] == [8]
    assert ck["extra"]["world_size"] == 2


def test_growth_is_visible_in_stats_log_and_tensorboard(blobs16, tmp_path):
    """Issue #18.5: every stats row of a growing run carries the networks' resolution and fade
    alpha, as the schedule defines them (phases of 32 images: stab 4 [0,32), fade 8 [32,64),
    stab 8 [64,96), fade 16 [96,128)); every growth event is a log line; TensorBoard gets both."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_progan(tensorboard=True, log_kimg=0.008, grid_kimg=0.0, checkpoint_kimg=0.0)
    trainer = Trainer(cfg, blobs16, run_dir=tmp_path, verbose=False)
    trainer.train_until(128)
    trainer.log.close()

    def expected(n: int) -> tuple[int, float]:  # the schedule above, written out
        if n < 32:
            return 4, 1.0
        if n < 64:
            return 8, (n - 32) / 32
        if n < 96:
            return 8, 1.0
        return 16, (n - 96) / 32

    rows = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    assert len(rows) >= 8
    for row in rows:
        # the row is logged after the step that reached images_seen; the step ran with the
        # architecture and alpha applied before it, i.e. at images_seen - batch (batch 8 at 4 px, 4 later)
        res, alpha = row["growth/resolution"], row["growth/alpha"]
        n = row["images_seen"] - (8 if res == 4 else 4)
        assert (res, alpha) == pytest.approx(expected(n)), row
    log = (tmp_path / "log.txt").read_text()
    events = [line for line in log.splitlines() if ": growth -> " in line]
    # the start (4x4), fade-in of 8, 8 stable, fade-in of 16
    assert len(events) == 4, events
    assert "4x4 (stable" in events[0] and "8x8 fading in" in events[1] and "8x8 (stable" in events[2]
    assert "16x16 fading in" in events[3] and "kimg 0.096" in events[3]
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    tb = {s.step: s.value for s in acc.Scalars("growth/resolution")}
    assert tb == {r["images_seen"]: r["growth/resolution"] for r in rows}
    assert [s.value for s in acc.Scalars("growth/alpha")] == pytest.approx([r["growth/alpha"] for r in rows])


def test_progress_bar_shows_resolution_and_alpha(blobs16, tmp_path, monkeypatch):
    """Issue #18.5: on a terminal the training bar carries res=HxW and the fade alpha."""
    import io

    from growgan.utils import progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(progress, "_enabled", True)
    trainer = Trainer(tiny_progan(grid_kimg=0.0, checkpoint_kimg=0.0), blobs16, verbose=True)
    trainer.train_until(48)  # into the 8x8 fade
    text = err.getvalue()
    assert "res=4x4" in text and "alpha=1.00" in text
    assert "res=8x8" in text  # the bar follows the growth


def test_periodic_metrics_score_a_growing_G_at_the_archive_resolution(blobs16, tmp_path):
    """SWD every 16 images from the 4x4 stage on: the run is not stopped by SWD's 16 px
    minimum, and each row scores G's images nearest-upsampled to the archive's 16x16."""
    from growgan.metrics import compute
    from growgan.metrics.registry import MetricContext
    from growgan.metrics.sources import archive_source, generate_images, ImageSource
    from growgan.training.ema import standing_stats

    cfg = tiny_progan(metrics=["swd"], metrics_every_kimg=0.016, metrics_num_images=32, kimg=0.016)
    trainer = Trainer(cfg, blobs16, run_dir=tmp_path, verbose=False)
    trainer.train_until(16)  # still 4x4, before any fade
    assert tuple(trainer.state.G.img_resolution) == (4, 4)
    rows = [json.loads(line) for line in (tmp_path / "metric-swd.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and set(rows[0]["results"]) >= {"swd", "swd_16"}
    # independent: the same images, upsampled by hand (each 4x4 pixel -> a 4x4 block)
    imgs = generate_images(standing_stats(trainer.state.G_ema), 32, cfg.seed, 64, None)  # uint8 [32, 1, 4, 4]
    up = imgs.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    fake = ImageSource("upsampled", 32, 1, (16, 16), lambda idx: up[torch.as_tensor(np.asarray(idx))])
    ref = compute(["swd"], archive_source(blobs16), fake, MetricContext(num_images=32, seed=cfg.seed))
    assert rows[0]["results"]["swd"] == pytest.approx(ref["swd"].values["swd"], rel=1e-6)
