"""ProGAN networks: official sizes, the fade-in blend, and function-preserving growth."""

import torch

from growgan.growth.inherit import inherit_weights
from growgan.layers import downsample2x, upsample2x
from growgan.networks.progan import ProDiscriminator, ProGenerator, num_features
from growgan.networks.registry import build_networks, network_spec

SMALL = dict(fmap_base=128, fmap_max=32)


def _pair(stages, fade=False, ch=1):
    G = ProGenerator(z_dim=16, img_channels=ch, num_stages=stages, fade_in=fade, **SMALL)
    D = ProDiscriminator(img_channels=ch, num_stages=stages, fade_in=fade, mbstd_group_size=4, **SMALL)
    return G, D


def _randomise(net):
    # fresh nets have zero biases; random ones make the equalities below non-trivial
    with torch.no_grad():
        for p in net.parameters():
            p.normal_()
    return net


def _grown(side, seed):
    """(old, new): G (side 0) or D (side 1) of a randomised 2-stage pair, and the 3-stage net
    fading in grown from it; only the new stage and its RGB layer are fresh."""
    torch.manual_seed(seed)
    old = _randomise(_pair(2)[side])
    new = _pair(3, fade=True)[side]
    fresh = inherit_weights(new, old)
    rgb = ("to_rgb", "from_rgb")[side]
    assert all(n.startswith(("blocks.2.", f"{rgb}.2.")) for n in fresh)
    return old, new


def test_official_channel_counts_and_paper_parameter_totals():
    # nf(stage) for fmap_base 8192, fmap_max 512: 512 up to 64x64, then halving (Table 2 of the paper)
    assert [num_features(s, 8192, 512) for s in range(1, 10)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]
    G = ProGenerator(z_dim=512, img_channels=3, num_stages=9)
    D = ProDiscriminator(img_channels=3, num_stages=9)
    assert G.img_resolution == (1024, 1024)
    # The paper's Table 2 lists 23.1M trainable parameters for each of G and D at 1024x1024.
    for net in (G, D):
        total = sum(p.numel() for p in net.parameters())
        assert abs(total - 23.1e6) < 0.05e6, total


def test_equalized_init_and_output_shapes():
    G, D = _pair(3, ch=3)
    z = torch.randn(8, 16)
    img = G(z)
    assert img.shape == (8, 3, 16, 16)
    assert D(img).shape == (8,)
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        if name.endswith("bias"):
            assert torch.count_nonzero(p) == 0, name
        else:  # N(0, 1); the He constant is applied at run time
            assert 0.5 < p.std().item() < 1.5, name


def test_pixel_norm_of_latents_makes_generator_scale_invariant():
    G, _ = _pair(2)
    z = torch.randn(4, 16)
    torch.testing.assert_close(G(z), G(z * 7.0), rtol=1e-4, atol=1e-5)


def test_spec_rebuilds_the_same_networks():
    G, D = _pair(3, fade=True)
    spec = network_spec(G, D)
    assert spec["family"] == "progan" and spec["G"]["num_stages"] == 3 and spec["G"]["fade_in"] is True
    G2, D2 = build_networks(spec)
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    assert "alpha" not in str(list(G.state_dict()))
    z = torch.randn(4, 16)
    for a in (0.0, 0.4, 1.0):
        G.alpha = G2.alpha = D.alpha = D2.alpha = a
        torch.testing.assert_close(G2(z), G(z), rtol=0, atol=0)
        torch.testing.assert_close(D2(G(z)), D(G(z)), rtol=0, atol=0)


def test_grown_generator_at_alpha_zero_is_old_output_upsampled():
    old, new = _grown(0, seed=0)
    z = torch.randn(4, 16)
    new.alpha = 0.0
    torch.testing.assert_close(new(z), upsample2x(old(z)), rtol=0, atol=0)
    # alpha is a linear blend between the two paths
    new.alpha = 1.0
    full = new(z)
    new.alpha = 0.25
    torch.testing.assert_close(new(z), 0.75 * upsample2x(old(z)) + 0.25 * full, rtol=1e-5, atol=1e-5)


def test_grown_discriminator_at_alpha_zero_sees_the_downsampled_input():
    old, new = _grown(1, seed=1)
    img = torch.randn(8, 1, 16, 16)
    new.alpha = 0.0
    torch.testing.assert_close(new(img), old(downsample2x(img)), rtol=0, atol=0)
    new.alpha = 0.6
    assert not torch.allclose(new(img), old(downsample2x(img)))


def test_end_of_fade_equals_the_stabilised_network():
    # fade_in=True at alpha=1 and the stabilised net (old toRGB/fromRGB dropped) agree exactly
    torch.manual_seed(2)
    Gf, Df = _pair(3, fade=True)
    _randomise(Gf), _randomise(Df)
    Gs, Ds = _pair(3)
    assert inherit_weights(Gs, Gf) == [] and inherit_weights(Ds, Df) == []
    Gf.alpha = Df.alpha = 1.0
    z = torch.randn(4, 16)
    torch.testing.assert_close(Gs(z), Gf(z), rtol=0, atol=0)
    torch.testing.assert_close(Ds(Gs(z)), Df(Gs(z)), rtol=0, atol=0)
