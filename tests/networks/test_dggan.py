"""DGGAN growable networks: every action is function-preserving at alpha = 0, specs rebuild
the nets, parameter names are stable across growth, and a settled fade is a plain layer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.growth.inherit import inherit_weights
from growgan.networks.dggan import apply_action, describe, initial_spec, settle, spec_resolution
from growgan.networks.registry import build_networks, network_spec

ACTIONS = [
    {"op": "G+conv", "k": 3, "w": 8},  # same width
    {"op": "G+conv", "k": 5, "w": 16},  # wider: needs a new toRGB
    {"op": "G+conv", "k": 1, "w": 4},  # narrower
    {"op": "D+conv", "k": 3, "w": 8},
    {"op": "D+conv", "k": 5, "w": 16},  # wider: needs a new fromRGB
    {"op": "D+conv", "k": 1, "w": 4},
    {"op": "grow-resolution"},
    {"op": "grow-resolution", "k": 5, "g_w": 16, "d_w": 4},  # width changes across stages
    # a whole new stage at once (fixed schedules replaying a found net)
    {"op": "grow-resolution", "g_layers": [{"k": 3, "w": 6}, {"k": 1, "w": 10}], "d_layers": [{"k": 5, "w": 7}, {"k": 3, "w": 5}]},
]


def _grown_parent(seed: int = 0) -> tuple[dict, torch.nn.Module, torch.nn.Module]:
    """A non-trivial settled parent: two stages, extra layers with mixed widths in both nets."""
    spec = initial_spec(img_channels=1, z_dim=16, base_resolution=(4, 4), width=8)
    for a in ({"op": "G+conv", "k": 5, "w": 12}, {"op": "D+conv", "k": 3, "w": 6}, {"op": "grow-resolution"}):
        spec = settle(apply_action(spec, a))
    torch.manual_seed(seed)
    G, D = build_networks(spec)
    with torch.no_grad():  # biases start at zero; make them matter
        for p in list(G.parameters()) + list(D.parameters()):
            p.add_(0.1 * torch.randn_like(p))
    return spec, G, D


def _child(spec, G, D, action, seed=1):
    child_spec = apply_action(spec, action)
    torch.manual_seed(seed)
    G2, D2 = build_networks(child_spec)
    new_g, new_d = inherit_weights(G2, G), inherit_weights(D2, D)
    return child_spec, G2, D2, new_g, new_d


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: str(a))
def test_every_action_is_function_preserving_at_alpha_zero(action):
    spec, G, D = _grown_parent()
    child_spec, G2, D2, new_g, new_d = _child(spec, G, D, action)
    G2.alpha = D2.alpha = 0.0
    z = torch.randn(8, 16)
    with torch.no_grad():
        parent_img = G(z)
        child_img = G2(z)
        grew = child_img.shape[-1] == 2 * parent_img.shape[-1]
        expect = F.interpolate(parent_img, scale_factor=2, mode="nearest") if grew else parent_img
        assert torch.equal(child_img, expect)
        reals = torch.randn(8, 1, *G2.img_resolution)
        parent_in = F.avg_pool2d(reals, 2) if grew else reals
        assert torch.equal(D2(reals), D(parent_in))
    # the action really added layers, and at alpha = 1 the new path changes the output
    assert new_g or new_d
    G2.alpha = D2.alpha = 1.0
    with torch.no_grad():
        changed_g = not torch.allclose(G2(z), expect)
        changed_d = not torch.allclose(D2(reals), D(parent_in))
    assert changed_g if action["op"] != "D+conv" else changed_d


def test_fade_is_linear_in_alpha():
    spec, G, D = _grown_parent()
    _, G2, _, _, _ = _child(spec, G, D, {"op": "G+conv", "k": 3, "w": 16})
    z = torch.randn(4, 16)
    with torch.no_grad():
        outs = {}
        for a in (0.0, 0.25, 1.0):
            G2.alpha = a
            outs[a] = G2(z)
    assert torch.allclose(outs[0.25], 0.75 * outs[0.0] + 0.25 * outs[1.0], atol=1e-5)


@pytest.mark.parametrize("action", ACTIONS[:1] + ACTIONS[4:5] + ACTIONS[6:7], ids=lambda a: a["op"])
def test_settled_child_equals_faded_child_at_alpha_one(action):
    """After the fade the new layer is a plain layer: dropping the parent's toRGB/fromRGB
    (settle) keeps every remaining name and gives the alpha = 1 function."""
    spec, G, D = _grown_parent()
    child_spec, G2, D2, _, _ = _child(spec, G, D, action)
    G2.alpha = D2.alpha = 1.0
    G3, D3 = build_networks(settle(child_spec))
    assert inherit_weights(G3, G2) == [] and inherit_weights(D3, D2) == []
    assert set(G3.state_dict()) <= set(G2.state_dict()) and set(D3.state_dict()) <= set(D2.state_dict())
    assert len(G3.state_dict()) + len(D3.state_dict()) < len(G2.state_dict()) + len(D2.state_dict())
    z = torch.randn(4, 16)
    x = torch.randn(4, 1, *G2.img_resolution)
    with torch.no_grad():
        assert torch.equal(G3(z), G2(z))
        assert torch.equal(D3(x), D2(x))


def test_growth_renames_nothing_and_spec_round_trips():
    spec, G, D = _grown_parent()
    for action in ACTIONS:
        child_spec, G2, D2, new_g, new_d = _child(spec, G, D, action)
        # every parent tensor is inherited (the only ones lost are none: the fade keeps the old taps)
        assert set(G.state_dict()) <= set(G2.state_dict())
        assert set(D.state_dict()) <= set(D2.state_dict())
        assert network_spec(G2, D2) == child_spec
        assert spec_resolution(child_spec) == G2.img_resolution == D2.img_resolution


def test_start_and_shapes():
    spec = initial_spec(img_channels=3, base_resolution=(8, 8), width=8)
    assert spec["D"]["head_width"] == 8 and initial_spec(width=32)["D"]["head_width"] == 32  # matched to the stage
    assert apply_action(spec, {"op": "keep"}) == settle(spec)  # "no growth" changes nothing
    assert "8:[3x8]" in describe(spec)
    G, D = build_networks(spec)
    assert G(torch.randn(4, 64)).shape == (4, 3, 8, 8)
    assert D(torch.randn(4, 3, 8, 8)).shape == (4,)
    for _ in range(2):
        spec = settle(apply_action(spec, {"op": "grow-resolution"}))
    G, D = build_networks(spec)
    assert G.img_resolution == (32, 32) and G(torch.randn(4, 64)).shape == (4, 3, 32, 32)


def test_bad_specs_are_user_errors():
    spec = initial_spec()
    with pytest.raises(GrowganError):
        apply_action(spec, {"op": "E+conv", "k": 3, "w": 8})
    bad = settle(spec)
    bad["G"]["stages"][0][0]["k"] = 4
    with pytest.raises(GrowganError):
        build_networks(bad)
