"""The loop's contracts: non-finite stop, signals, AMP, growth hooks, state cloning,
periodic metrics that do not perturb training."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
from engine_helpers import tiny_config
from test_resume import assert_same

import growgan.losses
from growgan.growth.inherit import regrow
from growgan.training.checkpoint import list_checkpoints, load_checkpoint
from growgan.training.loop import NonFiniteLossError, Trainer
from growgan.training.state import clone_state, state_to_dict


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tiny_archive, tmp_path, monkeypatch):
    real_d_loss = growgan.losses.d_loss
    calls = {"n": 0}

    def d_loss(*a, **k):
        calls["n"] += 1
        loss = real_d_loss(*a, **k)
        return loss * float("nan") if calls["n"] > 5 else loss  # NaN from the 6th D step (48 images)

    monkeypatch.setattr(growgan.losses, "d_loss", d_loss)
    tr = Trainer(tiny_config(log_kimg=0.032), tiny_archive, run_dir=tmp_path, verbose=False)
    with pytest.raises(NonFiniteLossError, match=r"kimg 0\.064.*loss/D = nan.*checkpoint-000000032\.pt"):
        tr.train_until(128)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-000000032.pt"]
    state = load_checkpoint(tmp_path / "checkpoints" / "checkpoint-000000032.pt")["state"]
    assert all(torch.isfinite(t).all() for t in state["D"].values() if t.is_floating_point())


def test_sigterm_saves_a_checkpoint_and_restores_handlers(tiny_archive, tmp_path):
    tr = Trainer(tiny_config(checkpoint_kimg=0), tiny_archive, run_dir=tmp_path, verbose=False, handle_signals=True)
    before = signal.getsignal(signal.SIGTERM)
    step = tr.step

    def step_then_signal():
        step()
        if tr.state.step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    tr.step = step_then_signal
    assert tr.train_until(800) == "interrupted"
    assert tr.state.images_seen == 24 and tr.last_checkpoint.name == "checkpoint-000000024.pt"
    assert signal.getsignal(signal.SIGTERM) is before


def test_bf16_autocast_trains(tiny_archive):
    tr = Trainer(tiny_config(amp="bf16", loss="hinge", r1_gamma=1.0), tiny_archive, verbose=False)
    w0 = tr.state.G.state_dict()["main.0.weight"].clone()
    tr.train_until(24)
    assert tr.amp == torch.bfloat16 and tr.state.scaler is None
    assert not torch.equal(w0, tr.state.G.state_dict()["main.0.weight"])
    assert all(torch.isfinite(p).all() for p in tr.state.G.parameters())


class StubGrowth:
    """Replaces the networks once at 16 images (same spec, so all weights are inherited)
    and switches to batch 4 there; records prepare_reals calls."""

    def __init__(self):
        self.grown, self.prepared = False, 0

    def apply(self, state):
        if state.images_seen >= 16 and not self.grown:
            regrow(state, json.loads(json.dumps(state.spec)))
            self.grown = True
            return True
        return False

    def batch_size(self, images_seen):
        return 4 if images_seen >= 16 else None

    def prepare_reals(self, reals, state):
        self.prepared += 1
        return reals


def test_growth_hooks_rewrap_and_follow_the_new_networks(tiny_archive):
    tr = Trainer(tiny_config(), tiny_archive, verbose=False)
    tr.growth = stub = StubGrowth()
    tr.train_until(16)
    old_G, old_ema = tr.state.G, tr.state.G_ema
    tr.train_until(24)
    assert stub.grown and tr.state.G is not old_G and tr.loader.batch_size == 4
    assert tr.state.images_seen == 24 and stub.prepared == 4  # 2 batches of 8, then 2 of 4
    assert tr.runner.G_fwd is tr.state.G and tr.runner.D_fwd is tr.state.D
    # EMA updates went to the new G_ema, not the discarded one
    assert not torch.equal(old_ema.state_dict()["main.0.weight"], tr.state.G_ema.state_dict()["main.0.weight"])


def test_clone_state_is_equal_and_independent(tiny_archive):
    cfg = tiny_config()
    parent = Trainer(cfg, tiny_archive, verbose=False)
    parent.train_until(16)
    snapshot = json.loads(json.dumps({"n": parent.state.images_seen}))
    before = {k: v.clone() for k, v in parent.state.G.state_dict().items()}
    child_state = clone_state(parent.state, cfg)
    assert_same(state_to_dict(parent.state), state_to_dict(child_state))
    child = Trainer(cfg, tiny_archive, state=child_state, verbose=False)
    child.train_until(48)
    assert child.state.images_seen == 48 and parent.state.images_seen == snapshot["n"]
    assert_same(before, parent.state.G.state_dict())


def test_periodic_metrics_are_logged_and_do_not_perturb_training(tiny_archive, tmp_path, monkeypatch):
    import growgan.metrics

    seen = []

    def fake_evaluate(G, archive_path, names, num_images, seed=0, **kw):
        torch.manual_seed(999)  # a metric that reseeds the global RNG must not change training
        seen.append((str(archive_path), tuple(names), num_images))
        return {"swd": {"swd": float(torch.rand(()))}}

    with_metrics = Trainer(tiny_config(metrics=["swd"], metrics_every_kimg=0.016, metrics_num_images=10,
                                       xflip=True), tiny_archive, run_dir=tmp_path, verbose=False, evaluator=fake_evaluate)
    with_metrics.train_until(48)
    plain = Trainer(tiny_config(xflip=True), tiny_archive, verbose=False)
    plain.train_until(48)
    assert_same(state_to_dict(plain.state), state_to_dict(with_metrics.state))
    assert seen == [(str(tiny_archive), ("swd",), 10)] * 3
    rows = [json.loads(x) for x in (tmp_path / "metric-swd.jsonl").read_text().splitlines()]
    assert [r["images_seen"] for r in rows] == [16, 32, 48]
    # the one metric-file layout (training.rundir.append_metric), the same as `growgan metrics RUN_DIR` writes
    assert all(set(r) == {"metric", "value", "results", "images_seen", "kimg", "timestamp"} for r in rows)
    assert all(r["metric"] == "swd" and r["results"] == {"swd": r["value"]} for r in rows)
    assert sorted(p.name for p in tmp_path.glob("metric-*.jsonl")) == ["metric-swd.jsonl"]


def test_seed_makes_runs_reproducible(tiny_archive):
    runs = []
    for seed in (0, 0, 1):
        tr = Trainer(tiny_config(seed=seed, xflip=True), tiny_archive, verbose=False)
        tr.train_until(24)
        runs.append(state_to_dict(tr.state))
    assert_same(runs[0], runs[1])
    assert not torch.equal(runs[0]["G"]["main.0.weight"], runs[2]["G"]["main.0.weight"])


def test_training_latents_are_not_the_init_stream(tiny_archive):
    """The networks are initialised from torch.manual_seed(seed); the latent generator must be
    an independent stream. With seed 0 it used to be seeded with 0 as well, so the first
    training latents were G's and D's initial weights drawn a second time."""
    tr = Trainer(tiny_config(seed=0), tiny_archive, verbose=False)
    z_dim = tr.state.G.z_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        init_stream = torch.randn(64, z_dim)  # the numbers the networks' initialisation drew first
    gen = torch.Generator().set_state(tr.gen.get_state())
    first_latents = torch.randn(64, z_dim, generator=gen)
    assert not torch.allclose(first_latents, init_stream)
    # independent streams: no more correlation than chance (|r| ~ 1/sqrt(64 * z_dim))
    r = torch.corrcoef(torch.stack([first_latents.flatten(), init_stream.flatten()]))[0, 1]
    assert abs(r.item()) < 0.1
