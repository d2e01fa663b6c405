"""ResNet GAN: depth per resolution, no transposed convs, the skip paths (1x1 conv when
channels or size change, identity otherwise), avg-pool downsampling, upsampling modes,
projection conditioning and resolution errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.networks.resnet import ResDownBlock, ResNetDiscriminator, ResNetGenerator, ResUpBlock


# tiny nets: one intra-op thread (fixture in tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def _zero_residual_(block: nn.Module) -> None:
    with torch.no_grad():
        block.conv2.weight.zero_()
        block.conv2.bias.zero_()


@pytest.mark.parametrize("res", [32, 64, 128, 256])
def test_depth_grows_one_block_pair_per_doubling(res):
    n = {32: 3, 64: 4, 128: 5, 256: 6}[res]
    G = ResNetGenerator(z_dim=8, img_channels=3, img_resolution=res, channels=2, fmap_max=4)
    D = ResNetDiscriminator(img_channels=3, img_resolution=res, channels=2, fmap_max=4)
    assert len(G.blocks) == n and all(isinstance(b, ResUpBlock) for b in G.blocks)
    assert sum(b.down for b in D.blocks) == n and len(D.blocks) == n + 1
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in G.modules())
    convs = [m for m in G.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 2 * n + 1
    if res <= 64:
        img = G(torch.randn(2, 8))
        assert img.shape == (2, 3, res, res)
        assert D(img).shape == (2,)


def test_widths_halve_towards_the_image():
    G = ResNetGenerator(img_resolution=64, channels=16, fmap_max=64)
    assert [b.conv1.out_channels for b in G.blocks] == [64, 64, 32, 16]
    D = ResNetDiscriminator(img_resolution=64, channels=16, fmap_max=64)
    assert [b.conv1.out_channels for b in D.blocks] == [16, 32, 64, 64, 64]


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_up_block_skip_is_upsample_then_1x1_conv(mode):
    """With the residual branch's last conv zeroed, the block is its skip path exactly."""
    torch.manual_seed(0)
    blk = ResUpBlock(4, 3, upsample=mode).eval()
    _zero_residual_(blk)
    x = torch.randn(2, 4, 5, 5)
    up = F.interpolate(x, scale_factor=2, mode=mode, **({} if mode == "nearest" else {"align_corners": False}))
    want = F.conv2d(up, blk.skip.weight, blk.skip.bias)
    assert torch.allclose(blk(x), want, atol=1e-6)
    if mode == "nearest":  # nearest: each pixel becomes a 2x2 block of itself
        assert torch.equal(up, x.repeat_interleave(2, 2).repeat_interleave(2, 3))


def test_upsample_mode_changes_the_output():
    g = ResNetGenerator(z_dim=8, img_channels=1, img_resolution=32, channels=4, fmap_max=8).eval()
    b = ResNetGenerator(z_dim=8, img_channels=1, img_resolution=32, channels=4, fmap_max=8, upsample="bilinear").eval()
    b.load_state_dict(g.state_dict())  # same weights, other resampling
    z = torch.randn(2, 8)
    assert not torch.allclose(g(z), b(z), atol=1e-4)
    with pytest.raises(GrowganError, match="upsample='transposed' is invalid"):
        ResNetGenerator(upsample="transposed")


def test_down_blocks_skip_and_avg_pool():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8)
    down = ResDownBlock(4, 6)
    _zero_residual_(down)
    want = F.avg_pool2d(F.conv2d(x, down.skip.weight, down.skip.bias), 2)
    assert torch.allclose(down(x), want, atol=1e-6)
    first = ResDownBlock(4, 6, first=True)
    _zero_residual_(first)
    assert torch.allclose(first(x), F.conv2d(F.avg_pool2d(x, 2), first.skip.weight, first.skip.bias), atol=1e-6)
    same = ResDownBlock(4, 4, down=False)
    assert same.skip is None
    _zero_residual_(same)
    assert torch.equal(same(x), x)  # identity skip when neither channels nor size change
    # the residual branch sees pre-activated input: negative inputs cannot pass conv1 directly
    same2 = ResDownBlock(4, 4, down=False)
    with torch.no_grad():
        same2.conv1.bias.normal_()
        same2.conv2.bias.normal_()
    neg = -x.abs()
    assert torch.allclose(same2(neg) - neg, same2.conv2(F.relu(same2.conv1.bias.view(1, -1, 1, 1).expand(2, 4, 8, 8))), atol=1e-6)


def test_projection_discriminator():
    D = ResNetDiscriminator(c_dim=4, img_channels=3, img_resolution=32, channels=4, fmap_max=8)
    x = torch.randn(3, 3, 32, 32)
    y = torch.tensor([0, 3, 2])
    h = x
    for b in D.blocks:
        h = b(h)
    phi = F.relu(h).sum(dim=(2, 3))
    want = D.fc(phi).flatten() + (D.embed.weight[y] * phi).sum(1)
    assert torch.allclose(D(x, y), want, atol=1e-5)
    assert not torch.allclose(D(x, y), D(x, torch.tensor([1, 3, 2])))
    with pytest.raises(ValueError, match="int64"):
        D(x, y.int())


def test_conditional_generator_uses_labels():
    G = ResNetGenerator(z_dim=8, c_dim=3, img_channels=1, img_resolution=32, channels=4, fmap_max=8).eval()
    z = torch.randn(2, 8)
    a, b = G(z, torch.tensor([0, 1])), G(z, torch.tensor([0, 2]))
    assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1])


@pytest.mark.parametrize("bad", [16, 512, (32, 64), 48])
def test_unsupported_resolution_is_a_user_error(bad):
    with pytest.raises(GrowganError, match="resnet.*32x32, 64x64, 128x128, 256x256"):
        ResNetGenerator(img_resolution=bad)
    with pytest.raises(GrowganError):
        ResNetDiscriminator(img_resolution=bad)


@pytest.mark.parametrize("kw", [{"channels": 0}, {"z_dim": -1}, {"c_dim": -2}, {"img_channels": 2.0}, {"fmap_max": True}])
def test_bad_sizes_are_user_errors(kw):
    key = next(iter(kw))
    with pytest.raises(GrowganError, match=f"resnet network spec: {key}="):
        ResNetGenerator(**kw)
    with pytest.raises(GrowganError, match=f"resnet network spec: {key}="):
        ResNetDiscriminator(**kw)
