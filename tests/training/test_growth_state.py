"""GrowthState: the one home of the fade-in alpha; JSON round trip; checkpoints written by
growgan before GrowthState existed (d50b1e1) still load, resume and generate the same."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from growgan.growth import build_trainer
from growgan.training.checkpoint import load_checkpoint, load_generator, restore_state
from growgan.training.config import TrainConfig
from growgan.training.state import GrowthState, set_alpha, state_to_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OLD = FIXTURES / "old-progan-d50b1e1.pt"  # ProGAN 4 -> 8 px, written mid-fade (alpha 0.25) by d50b1e1


def test_json_round_trip_and_old_layouts():
    g = GrowthState(kind="progan", resolution=(8, 8), fading=True, alpha=0.25, history=[{"images_seen": 16}])
    assert GrowthState.from_dict(json.loads(json.dumps(g.to_dict()))) == g
    assert GrowthState.from_dict({}) == GrowthState()  # fixed networks
    old_progan = {"kind": "progan", "resolution": 8, "fade_in": True, "alpha": 0.25, "history": []}
    assert GrowthState.from_dict(old_progan) == GrowthState("progan", (8, 8), True, 0.25, [])
    old_dggan = {"kind": "dggan", "alpha": 1.0, "resolution": [16, 16]}
    assert GrowthState.from_dict(old_dggan) == GrowthState("dggan", (16, 16), False, 1.0, [])


def test_old_checkpoint_loads_with_its_growth_state():
    ckpt = load_checkpoint(OLD)
    assert "fade_in" in ckpt["state"]["growth"]  # really the old layout
    config = TrainConfig.from_dict(ckpt["config"])
    state = restore_state(ckpt, config, "cpu", OLD)
    assert state.growth == GrowthState("progan", (8, 8), True, 0.25, [{"images_seen": 16, "resolution": 8, "fade_in": True}])
    assert state.G.alpha == state.G_ema.alpha == state.D.alpha == 0.25  # set_alpha on load
    expected = torch.load(FIXTURES / "old-progan-d50b1e1-expected.pt", weights_only=True)  # G_ema(z) by the old code
    with torch.no_grad():
        assert torch.equal(state.G_ema(expected["z"]), expected["img"])
        assert torch.equal(load_generator(OLD)(expected["z"]), expected["img"])


def test_old_checkpoint_resumes_through_the_fade(tmp_path):
    ckpt = load_checkpoint(OLD)
    config = TrainConfig.from_dict(ckpt["config"])
    archive = tmp_path / "blobs16"
    from engine_helpers import make_archive

    make_archive(archive, n=32, res=16)  # the archive the fixture was trained on (same seed, same images)
    trainer = build_trainer(config, archive, state=restore_state(ckpt, config, "cpu", OLD), resume=ckpt["extra"],
                            verbose=False)
    trainer.train_until(56)  # through the end of the fade at 48
    assert trainer.state.growth.kind == "progan" and trainer.state.growth.alpha == 1.0
    assert not trainer.state.growth.fading and trainer.state.G.alpha == 1.0
    assert json.loads(json.dumps(state_to_dict(trainer.state)["growth"]))["fading"] is False


def test_set_alpha_is_the_one_writer(tmp_path):
    ckpt = load_checkpoint(OLD)
    state = restore_state(ckpt, TrainConfig.from_dict(ckpt["config"]), "cpu", OLD)
    set_alpha(state, 0.75)
    assert state.growth.alpha == state.G.alpha == state.G_ema.alpha == state.D.alpha == 0.75
