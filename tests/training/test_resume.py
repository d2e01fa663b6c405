"""Exact resume: k steps + checkpoint + resume + k steps == 2k steps, bit for bit on CPU,
in process and through the CLI after a kill -9 between checkpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from engine_helpers import assert_same, tiny_config

from growgan.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, restore_state
from growgan.training.config import TrainConfig
from growgan.training.loop import Trainer
from growgan.training.state import state_to_dict

GROWGAN = [sys.executable, "-m", "growgan"]


CONFIGS = {
    # randomness everywhere: x-flips, annealed instance noise, lazy R1, label smoothing
    "logistic": dict(xflip=True, instance_noise=0.1, instance_noise_kimg=1.0, r1_gamma=1.0, r1_interval=2,
                     label_smoothing=0.1),
    # n_critic, WGAN-GP (random interpolation), drift, Adam betas (0, 0.99), no BatchNorm in D
    "wgan-gp": dict(loss="wgan", n_critic=2, gp_lambda=10.0, drift_epsilon=1e-3, betas_G=(0.0, 0.99),
                    betas_D=(0.0, 0.99), network=None),
}


def _cfg(name: str) -> TrainConfig:
    kw = dict(CONFIGS[name])
    cfg = tiny_config(**{k: v for k, v in kw.items() if k != "network"})
    if "network" in kw:
        net = cfg.network
        net["D"]["batchnorm"] = False
        cfg = cfg.copy(network=net)
    return cfg


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_k_steps_resume_k_steps_equals_2k_steps(name, tiny_archive, tmp_path):
    cfg = _cfg(name)
    per_step = cfg.batch_size * cfg.n_critic
    full = Trainer(cfg, tiny_archive, verbose=False)
    full.train_until(8 * per_step)

    first = Trainer(cfg, tiny_archive, run_dir=tmp_path, verbose=False)
    first.train_until(4 * per_step)  # saves a checkpoint at the end
    path = first.last_checkpoint
    del first
    torch.manual_seed(12345)  # disturb the global RNG: resume must restore it
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_dict(ckpt["config"])
    state = restore_state(ckpt, config, "cpu", path)
    second = Trainer(config, tiny_archive, state=state, run_dir=tmp_path, resume=ckpt["extra"], verbose=False)
    assert second.state.images_seen == 4 * per_step
    second.train_until(8 * per_step)
    assert_same(state_to_dict(full.state), state_to_dict(second.state))
    # and training really changed the weights (a frozen run would also be "identical")
    fresh = Trainer(cfg, tiny_archive, verbose=False)
    assert not torch.equal(fresh.state.G_ema.state_dict()["main.0.weight"], full.state.G_ema.state_dict()["main.0.weight"])


def _weights(ckpt_path: Path) -> dict:
    s = load_checkpoint(ckpt_path)["state"]
    return {k: s[k] for k in ("G", "D", "G_ema", "opt_G", "opt_D", "images_seen", "step")}


def test_kill_9_between_checkpoints_then_resume_is_exact(tiny_archive, tmp_path):
    cfg = tiny_config(checkpoint_kimg=0.032, keep_checkpoints=100, xflip=True)
    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(json.dumps(cfg.to_dict()))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base = ["train", "--config", str(cfg_file), "--data", str(tiny_archive), "--quiet"]
    target = "0.192"  # 24 steps of 8 images

    # the victim aims far beyond the target and is killed right after its first checkpoint
    victim = subprocess.Popen(GROWGAN + base + ["--kimg", "50", "--out", str(tmp_path / "victim")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ref = subprocess.Popen(GROWGAN + base + ["--kimg", target, "--out", str(tmp_path / "ref")], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    run_dir = None
    while time.time() < deadline:
        runs = list((tmp_path / "victim").glob("0*"))
        if runs and list_checkpoints(runs[0]):
            run_dir = runs[0]
            break
        time.sleep(0.02)
    time.sleep(0.05)  # a few more steps, past the checkpoint
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert run_dir is not None, victim.stderr.read().decode()
    assert victim.returncode == -signal.SIGKILL
    resumed_from, _ = latest_checkpoint(run_dir)
    assert int(resumed_from.stem.split("-")[1]) < 192
    assert ref.wait(timeout=120) == 0, ref.stderr.read()

    res = subprocess.run(GROWGAN + ["train", "--resume", str(run_dir), "--kimg", target, "--quiet"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    ref_run = next((tmp_path / "ref").glob("0*"))
    a, b = _weights(latest_checkpoint(ref_run)[0]), _weights(latest_checkpoint(run_dir)[0])
    assert a["images_seen"] == 192
    assert_same(a, b)
    # stats rows logged after the resumed checkpoint by the killed process were dropped
    rows = [json.loads(x) for x in (run_dir / "stats.jsonl").read_text().splitlines()]
    seen = [r["images_seen"] for r in rows]
    assert seen == sorted(seen) and seen[-1] == 192
