"""DGGAN growth: children inherit weights, EMA and optimizer state; the controller replays a
history as a pure function of images seen, fading each action in and settling it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from growgan.growth.dggan import DGGrowth, DGGrowthConfig, spec_at
from growgan.growth.fade import fade_reals
from growgan.networks.dggan import spec_resolution
from growgan.networks.dggan import apply_action, initial_spec, settle
from growgan.networks.registry import build_networks
from growgan.training.state import TrainState


def _state(spec: dict, steps: int = 2) -> TrainState:
    torch.manual_seed(0)
    G, D = build_networks(spec)
    G_ema, _ = build_networks(spec)
    G_ema.load_state_dict(G.state_dict())
    G_ema.requires_grad_(False)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.99))
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.99))
    for _ in range(steps):  # a few real steps so the optimizer state is non-trivial
        z = torch.randn(4, G.z_dim)
        loss = F.softplus(D(G(z))).mean() + F.softplus(-D(torch.randn(4, 1, *G.img_resolution))).mean()
        opt_G.zero_grad(), opt_D.zero_grad()
        loss.backward()
        opt_G.step(), opt_D.step()
    with torch.no_grad():
        for p in G_ema.parameters():
            p.add_(0.05)  # EMA differs from G
    return TrainState(spec=spec, G=G, D=D, G_ema=G_ema, opt_G=opt_G, opt_D=opt_D, images_seen=1000)


def _small_spec() -> dict:
    return initial_spec(img_channels=1, z_dim=8, base_resolution=(4, 4), width=8)


def test_children_inherit_weights_ema_and_optimizer_state():
    for action in ({"op": "G+conv", "k": 5, "w": 16}, {"op": "D+conv", "k": 3, "w": 4}, {"op": "grow-resolution"}):
        state = _state(_small_spec())
        old = {
            "G": {k: v.clone() for k, v in state.G.state_dict().items()},
            "D": {k: v.clone() for k, v in state.D.state_dict().items()},
            "ema": {k: v.clone() for k, v in state.G_ema.state_dict().items()},
            "optG": {n: {k: v.clone() for k, v in state.opt_G.state[p].items()} for n, p in state.G.named_parameters()},
        }
        DGGrowth(_small_spec(), DGGrowthConfig(history=[dict(action, at=1000)])).apply(state)
        assert state.spec == apply_action(_small_spec(), action)
        for name, t in old["G"].items():
            assert torch.equal(state.G.state_dict()[name], t), name
        for name, t in old["D"].items():
            assert torch.equal(state.D.state_dict()[name], t), name
        for name, t in old["ema"].items():
            assert torch.equal(state.G_ema.state_dict()[name], t), name
        params = dict(state.G.named_parameters())
        for name, st in old["optG"].items():
            new_st = state.opt_G.state[params[name]]
            assert torch.equal(new_st["exp_avg"], st["exp_avg"]) and torch.equal(new_st["exp_avg_sq"], st["exp_avg_sq"])
        # the new layers are trainable by the new optimizers
        assert {id(p) for p in state.G.parameters()} == {id(p) for p in state.opt_G.param_groups[0]["params"]}


def test_controller_fades_in_and_settles_as_a_function_of_images_seen():
    start = _small_spec()
    cfg = DGGrowthConfig(fade_kimg=1.0, history=[{"op": "G+conv", "k": 3, "w": 8, "at": 1000}, {"op": "grow-resolution", "at": 3000}])
    assert spec_at(start, cfg, 999) == (settle(start), 1.0)
    spec, alpha = spec_at(start, cfg, 1500)
    assert spec["G"]["fade"] == "layer" and alpha == 0.5
    spec, alpha = spec_at(start, cfg, 2000)
    assert spec["G"]["fade"] is None and alpha == 1.0 and len(spec["G"]["stages"][0]) == 2
    spec, alpha = spec_at(start, cfg, 3250)
    assert spec["G"]["fade"] == spec["D"]["fade"] == "stage" and alpha == 0.25

    state = _state(start)
    state.images_seen = 1000
    growth = DGGrowth(start, cfg)
    z = torch.randn(4, 8)
    with torch.no_grad():
        before = state.G_ema(z)
    assert growth.apply(state) is True
    assert state.G.alpha == state.G_ema.alpha == state.D.alpha == 0.0
    with torch.no_grad():
        assert torch.equal(state.G_ema(z), before)  # the fade starts function-preserving
    assert growth.apply(state) is False  # nothing to do twice
    state.images_seen = 2500
    assert growth.apply(state) is True and state.spec["G"]["fade"] is None


def test_reals_fade_like_the_generator():
    spec = apply_action(settle(apply_action(_small_spec(), {"op": "grow-resolution"})), {"op": "grow-resolution"})
    reals = torch.randn(2, 1, 32, 32)
    x16 = F.avg_pool2d(reals, 2)
    res, fading = spec_resolution(spec), spec["D"]["fade"] == "stage"
    assert fading and res == (16, 16)
    assert torch.equal(fade_reals(reals, res, fading, 1.0), x16)
    low = F.interpolate(F.avg_pool2d(x16, 2), scale_factor=2, mode="nearest")
    assert torch.allclose(fade_reals(reals, res, fading, 0.0), low)


def test_growth_state_and_description_follow_the_history():
    """Issue #18.5: what the loop shows (resolution, alpha, one-line description) for DGGAN."""
    start = _small_spec()  # 4x4
    cfg = DGGrowthConfig(fade_kimg=1.0, history=[{"op": "G+conv", "k": 3, "w": 8, "at": 1000}, {"op": "grow-resolution", "at": 3000}])
    growth = DGGrowth(start, cfg)
    state = _state(start)
    for seen, res, alpha, words in ((1500, (4, 4), 0.5, "G+conv(3,8) fading in (alpha 0.500)"),
                                    (2000, (4, 4), 1.0, "4x4: G 4:[3x8,3x8]"),
                                    (3250, (8, 8), 0.25, "8x8, grow-resolution fading in (alpha 0.250)")):
        state.images_seen = seen
        growth.apply(state)
        assert (tuple(state.growth.resolution), state.growth.alpha) == (res, alpha)
        assert words in growth.describe(state)
