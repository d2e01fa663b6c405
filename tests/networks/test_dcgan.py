"""DCGAN: the architecture of Radford et al. (layer types, sizes, init), conditioning by
projection, spectral norm, and clear errors for unsupported resolutions."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from growgan.errors import GrowganError
from growgan.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from growgan.networks.registry import build_networks


# tiny nets: one intra-op thread (fixture in tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


@pytest.mark.parametrize("res,n_convT", [(32, 4), (64, 5), (128, 6)])
def test_generator_layers_follow_dcgan(res, n_convT):
    G = DCGANGenerator(z_dim=8, img_channels=3, img_resolution=res, g_channels=4)
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(convs) == n_convT  # 1x1 -> 4x4, then one doubling per layer up to res
    assert convs[0].kernel_size == (4, 4) and convs[0].stride == (1, 1)
    assert all(m.kernel_size == (4, 4) and m.stride == (2, 2) for m in convs[1:])
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == n_convT - 1  # none on output
    assert isinstance(G.main[-1], nn.Tanh)
    # widths halve towards the output, ending at g_channels
    assert [m.out_channels for m in convs[:-1]] == [4 * 2 ** (n_convT - 2 - i) for i in range(n_convT - 1)]
    x = G(torch.randn(2, 8))
    assert x.shape == (2, 3, res, res) and x.abs().max() <= 1


@pytest.mark.parametrize("res,n_conv", [(32, 4), (64, 5), (128, 6)])
def test_discriminator_layers_follow_dcgan(res, n_conv):
    D = DCGANDiscriminator(img_channels=1, img_resolution=(res, res), d_channels=4)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == n_conv
    assert all(m.kernel_size == (4, 4) for m in convs)
    assert all(m.stride == (2, 2) for m in convs[:-1])
    lrelu = [m for m in D.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(lrelu) == n_conv - 1 and all(m.negative_slope == 0.2 for m in lrelu)
    assert not isinstance(D.main[1], nn.BatchNorm2d)  # no BN on the first layer
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == n_conv - 2
    assert D(torch.randn(3, 1, res, res)).shape == (3,)
    no_bn = DCGANDiscriminator(img_channels=1, img_resolution=res, d_channels=4, batchnorm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in no_bn.modules())


def test_fmap_max_caps_widths():
    D = DCGANDiscriminator(img_resolution=128, d_channels=16, fmap_max=32)
    assert max(m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)) == 32


def test_init_is_normal_0_02():
    G = DCGANGenerator(z_dim=64, img_resolution=64, g_channels=32)
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002


@pytest.mark.parametrize("bad", [16, 48, 256, (32, 64)])
def test_unsupported_resolution_is_a_user_error(bad):
    with pytest.raises(GrowganError, match="dcgan.*32x32, 64x64, 128x128"):
        DCGANGenerator(img_resolution=bad)
    with pytest.raises(GrowganError):
        DCGANDiscriminator(img_resolution=bad)


def test_conditional_generator_uses_labels():
    G = DCGANGenerator(z_dim=8, c_dim=10, img_channels=1, img_resolution=32, g_channels=4).eval()
    z = torch.randn(4, 8)
    a = G(z, torch.tensor([0, 1, 2, 3]))
    b = G(z, torch.tensor([0, 1, 2, 4]))
    assert torch.equal(a[:3], b[:3]) and not torch.allclose(a[3], b[3])
    with pytest.raises(ValueError, match="conditional"):
        G(z)


def test_projection_discriminator_is_psi_plus_inner_product():
    """logit(x, y) - logit(x, y') = <embed(y) - embed(y'), phi(x)> with phi = 4x4 features."""
    D = DCGANDiscriminator(c_dim=5, img_channels=3, img_resolution=32, d_channels=4).eval()
    x = torch.randn(2, 3, 32, 32)
    y, y2 = torch.tensor([1, 4]), torch.tensor([2, 0])
    phi = D.main(x).flatten(1)
    want = ((D.embed.weight[y] - D.embed.weight[y2]) * phi).sum(1)
    assert torch.allclose(D(x, y) - D(x, y2), want, atol=1e-6)
    assert torch.allclose(D(x, y), D.out(D.main(x)).flatten() + (D.embed.weight[y] * phi).sum(1), atol=1e-6)


def test_spectral_norm_bounds_each_layer():
    spec = {"family": "dcgan",
            "G": {"z_dim": 8, "img_channels": 1, "img_resolution": [32, 32], "g_channels": 8, "spectral_norm": True},
            "D": {"img_channels": 1, "img_resolution": [32, 32], "d_channels": 8, "spectral_norm": True, "batchnorm": False}}
    G, D = build_networks(spec)
    for _ in range(30):  # power iterations run in training mode
        D(torch.randn(2, 1, 32, 32))
    for m in D.modules():
        if isinstance(m, nn.Conv2d):
            w = m.weight.flatten(1)  # the normalised weight, reshaped as in spectral_norm
            assert abs(torch.linalg.matrix_norm(w, ord=2).item() - 1.0) < 0.02
    plain = DCGANDiscriminator(img_channels=1, img_resolution=32, d_channels=8)
    norms = [torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item() for m in plain.modules() if isinstance(m, nn.Conv2d)]
    assert max(abs(n - 1.0) for n in norms) > 0.1  # without it, the layers are not normalised
    assert sum(hasattr(m, "parametrizations") for m in G.modules()) == 4


@pytest.mark.parametrize("kw", [{"g_channels": 0, "d_channels": 0}, {"z_dim": 0}, {"c_dim": -1}, {"img_channels": "3"}])
def test_bad_sizes_are_user_errors(kw):
    key = next(iter(kw))
    with pytest.raises(GrowganError, match=f"dcgan network spec: {key}="):
        DCGANGenerator(**{k: v for k, v in kw.items() if k != "d_channels"})
    with pytest.raises(GrowganError, match="dcgan network spec"):
        DCGANDiscriminator(**{k: v for k, v in kw.items() if k != "g_channels"})
