import torch

from growgan.layers import EqualizedConv2d, MinibatchStd, PixelNorm, downsample2x, upsample2x


def test_equalized_conv_is_he_scaled_and_shape_preserving():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 64, 3)
    x = torch.randn(8, 64, 16, 16)
    y = conv(x)
    assert y.shape == x.shape
    # He gain sqrt(2): output variance ~ 2 * input variance at initialisation
    assert 1.6 < y.var().item() < 2.4


def test_pixel_norm_unit_mean_square():
    y = PixelNorm()(torch.randn(4, 16, 5, 5) * 7)
    assert torch.allclose(y.square().mean(dim=1), torch.ones(4, 5, 5), atol=1e-4)


def test_minibatch_std_matches_manual_groups():
    x = torch.randn(8, 3, 4, 4)
    y = MinibatchStd(group_size=4)(x)
    assert y.shape == (8, 4, 4, 4)
    # sample i belongs to group member i // 2 of subgroup i % 2 (official reshape [G, M, ...])
    grp = x[0::2]  # samples 0, 2, 4, 6 form subgroup 0
    expected = grp.std(dim=0, unbiased=False).mean()
    assert torch.allclose(y[0, 3], torch.full((4, 4), expected.item()), atol=1e-5)


def test_resampling_shapes_and_box_inverse():
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(downsample2x(upsample2x(x)), x)
    assert upsample2x(x).shape == (2, 3, 16, 16)


def test_minibatch_std_group_steps_down_to_a_divisor():
    from growgan.layers import mbstd_group

    # min(group, N) when it divides N (the official rule), else the largest smaller divisor
    assert [mbstd_group(4, n) for n in (8, 2, 6, 7, 5, 9, 1)] == [4, 2, 3, 1, 1, 3, 1]
    x = torch.randn(6, 2, 3, 3)
    y = MinibatchStd(group_size=4)(x)  # groups of 3: subgroup j holds samples j, j + 2, j + 4
    for j in range(2):
        expected = x[j::2].std(dim=0, unbiased=False).mean()
        assert torch.allclose(y[j::2, 2], torch.full((3, 3, 3), expected.item()), atol=1e-5)
