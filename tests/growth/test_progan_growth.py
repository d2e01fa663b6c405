"""ProGAN growth: the schedule (hand-computed), and grow steps that keep EMA and optimizer state."""

import copy

import pytest
import torch

from growgan.errors import GrowganError
from growgan.growth.fade import fade_reals
from growgan.growth.progan import Phase, ProGrowth, ProGrowthConfig, phase_at
from growgan.layers import downsample2x, upsample2x
from growgan.networks.registry import build_networks
from growgan.training.state import TrainState

SPEC = {
    "family": "progan",
    "G": {"z_dim": 8, "img_channels": 1, "num_stages": 1, "fade_in": False, "fmap_base": 64, "fmap_max": 16},
    "D": {"img_channels": 1, "num_stages": 1, "fade_in": False, "fmap_base": 64, "fmap_max": 16, "mbstd_group_size": 2},
}


def _cfg(**kw):
    base = dict(target_resolution=32, stabilise_kimg=10, fade_kimg=10)
    return ProGrowthConfig.from_dict({**base, **kw})


def test_schedule_stabilise_then_fade_per_stage():
    cfg = _cfg()
    assert phase_at(0, cfg) == Phase(0, False, 1.0)
    assert phase_at(9_999, cfg) == Phase(0, False, 1.0)
    assert phase_at(10_000, cfg) == Phase(1, True, 0.0)  # fade into 8x8 starts at alpha 0
    assert phase_at(15_000, cfg) == Phase(1, True, 0.5)
    assert phase_at(20_000, cfg) == Phase(1, False, 1.0)
    assert phase_at(32_500, cfg) == Phase(2, True, 0.25)
    assert phase_at(50_000, cfg) == Phase(3, True, 0.0)
    assert phase_at(60_000, cfg) == Phase(3, False, 1.0)
    assert phase_at(10**9, cfg) == Phase(3, False, 1.0)  # the last stage trains on
    assert phase_at(15_000, cfg).resolution == 8


def test_schedule_per_stage_lists_and_alpha_jumps():
    cfg = _cfg(stabilise_kimg=[1, 2, 3, 4], fade_kimg=[0, 4, 8, 16], alpha_jumps=[0, 4, 4, 4])
    assert phase_at(999, cfg) == Phase(0, False, 1.0)
    assert phase_at(1_000 + 2_999, cfg) == Phase(1, True, 0.5)  # 0.74975 -> floor to a quarter
    assert phase_at(1_000 + 4_000, cfg) == Phase(1, False, 1.0)
    assert phase_at(1_000 + 4_000 + 2_000 + 7_999, cfg) == Phase(2, True, 0.75)
    with pytest.raises(GrowganError, match="one per stage"):
        _cfg(stabilise_kimg=[1, 2])
    with pytest.raises(GrowganError, match="4 \\* 2\\*\\*k"):
        _cfg(target_resolution=24)
    with pytest.raises(GrowganError, match="unknown config key.*growth.stabilize"):
        ProGrowthConfig.from_dict({"kind": "progan", "stabilize": 3})


def _state(seed=0):
    torch.manual_seed(seed)
    G, D = build_networks(SPEC)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.99))
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.99))
    st = TrainState(spec=copy.deepcopy(SPEC), G=G, D=D, G_ema=G_ema, opt_G=opt_G, opt_D=opt_D)
    for _ in range(2):  # give Adam some state and G_ema averages that differ from G
        for opt, net, inp in ((opt_G, G, torch.randn(4, 8)), (opt_D, D, torch.randn(4, 1, 4, 4))):
            opt.zero_grad()
            net(inp).square().mean().backward()
            opt.step()
    with torch.no_grad():
        for p in G_ema.parameters():
            p.add_(torch.randn_like(p))
    return st


class _Cfg:  # the fields of TrainConfig that ProGrowth.from_config reads
    network = SPEC
    lr_G, lr_D = 1e-3, 2e-3

    def __init__(self, **growth):
        self.growth = {"kind": "progan", "target_resolution": 16, "stabilise_kimg": 1, "fade_kimg": 1, **growth}


@pytest.mark.parametrize("reset", [False, True])
def test_grow_keeps_ema_and_optimizer_state_and_registers_new_params(reset):
    st = _state()
    growth = ProGrowth.from_config(_Cfg(reset_optimizers=reset, lr_G={"8": 5e-4}))
    assert growth.apply(st) is False and st.G.num_stages == 1  # still stabilising 4x4
    old_ema = {k: v.clone() for k, v in st.G_ema.state_dict().items()}
    old_opt = {n: copy.deepcopy(st.opt_G.state[p]) for n, p in st.G.named_parameters()}
    z = torch.randn(4, 8)
    old_ema_out = st.G_ema(z)
    st.images_seen = 1_000  # start of the fade to 8x8
    assert growth.apply(st) is True
    assert st.spec["G"]["num_stages"] == 2 and st.spec["G"]["fade_in"] and st.D.fade_in
    assert st.G.alpha == st.G_ema.alpha == st.D.alpha == 0.0
    new_ema = st.G_ema.state_dict()
    for k, v in old_ema.items():  # every old EMA average survives (to_rgb.0 is still in use)
        torch.testing.assert_close(new_ema[k], v, rtol=0, atol=0)
    torch.testing.assert_close(st.G_ema(z), upsample2x(old_ema_out), rtol=0, atol=0)
    params = dict(st.G.named_parameters())
    assert {id(p) for p in st.opt_G.param_groups[0]["params"]} == {id(p) for p in params.values()}
    assert "blocks.1.conv0.weight" in params and "to_rgb.1.weight" in params
    for name, p in params.items():
        if reset or name not in old_opt:
            assert p not in st.opt_G.state
        else:
            torch.testing.assert_close(st.opt_G.state[p]["exp_avg_sq"], old_opt[name]["exp_avg_sq"], rtol=0, atol=0)
    assert st.opt_G.param_groups[0]["lr"] == 5e-4 and st.opt_D.param_groups[0]["lr"] == 2e-3
    assert st.growth.history == [{"images_seen": 1_000, "resolution": 8, "fade_in": True}]
    st.images_seen = 1_500
    assert growth.apply(st) is False and st.G.alpha == 0.5
    st.images_seen = 2_000  # end of the fade: old toRGB/fromRGB dropped
    assert growth.apply(st) is True
    assert "to_rgb.0.weight" not in dict(st.G.named_parameters()) and not st.G.fade_in


def test_batch_size_per_resolution_and_unknown_family():
    growth = ProGrowth.from_config(_Cfg(batch_sizes={"4": 32, "8": 16}))
    assert growth.batch_size(0) == 32 and growth.batch_size(1_000) == 16
    assert growth.batch_size(10**6) is None  # 16x16 not listed: keep config.batch_size
    cfg = _Cfg()
    cfg.network = {"family": "dcgan", "G": {}, "D": {}}
    with pytest.raises(GrowganError, match="progan network"):
        ProGrowth.from_config(cfg)


def test_fade_reals_downsamples_and_blends():
    x = torch.randn(2, 3, 32, 32)
    x8 = fade_reals(x, 8, False, 1.0)
    torch.testing.assert_close(x8[0, 1, 2, 3], x[0, 1, 8:12, 12:16].mean(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fade_reals(x, 8, True, 1.0), x8)
    torch.testing.assert_close(fade_reals(x, 8, True, 0.0), upsample2x(downsample2x(x8)))
    mid = fade_reals(x, 8, True, 0.3)
    torch.testing.assert_close(mid, 0.3 * x8 + 0.7 * upsample2x(downsample2x(x8)), rtol=1e-5, atol=1e-6)
    with pytest.raises(GrowganError, match="multiple of 8x8"):
        fade_reals(torch.randn(1, 1, 28, 28), 8, False, 1.0)
