"""Image-to-image networks (networks/translation.py): sizes, refusals, and the PatchGAN's
receptive field measured by the gradient of one output logit, independently of the
formula in the code."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from growgan.errors import GrowganError
from growgan.networks.translation import (PatchDiscriminator, PatchGAN, TranslationGenerator,
                                          patchgan_receptive_field)

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


@pytest.mark.parametrize("arch,depth,size", [("unet", 5, (32, 64)), ("unet", 4, (48, 80)), ("unet", 3, (8, 24)),
                                             ("resnet", 3, (20, 28))])
@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_generator_output_shape_equals_input_shape_for_non_square_inputs(arch, depth, size, norm):
    G = TranslationGenerator(in_channels=1, img_channels=3, img_resolution=list(size), arch=arch, depth=depth,
                             n_blocks=2, ngf=4, fmap_max=16, norm=norm)
    x = torch.rand(2, 1, *size) * 2 - 1
    y = G(x)
    assert y.shape == (2, 3, *size)
    assert y.abs().max() <= 1  # tanh
    # the same net maps another size its depth divides (the U-Net is fully convolutional)
    m = G.size_multiple
    assert G(torch.zeros(2, 1, 2 * m, 3 * m)).shape == (2, 3, 2 * m, 3 * m)


def test_unet_skips_carry_the_input_detail():
    """With the U-Net's skips the output depends on the input at full resolution: changing one
    input pixel changes the output there, even through a bottleneck of 1x1."""
    torch.manual_seed(0)
    G = TranslationGenerator(1, 1, [16, 16], depth=4, ngf=4, fmap_max=8, norm="instance", dropout=0.0).eval()
    x = torch.zeros(1, 1, 16, 16)
    x2 = x.clone()
    x2[0, 0, 3, 5] = 1.0
    diff = (G(x2) - G(x)).abs()[0, 0]
    assert diff[3, 5] > 0 and diff[3, 5] >= diff.max() * 0.05


def test_sizes_the_architecture_cannot_map_are_refused_in_one_line():
    with pytest.raises(GrowganError, match=r"30x64 images cannot pass it; both sides must be divisible by 32") as e:
        TranslationGenerator(1, 1, [30, 64], depth=5, ngf=4)
    assert "\n" not in str(e.value)
    G = TranslationGenerator(1, 1, [32, 32], depth=5, ngf=4)
    with pytest.raises(ValueError, match="divisible by 32"):
        G(torch.zeros(1, 1, 32, 48))
    with pytest.raises(GrowganError, match="divisible by 4"):
        TranslationGenerator(1, 1, [30, 32], arch="resnet", n_blocks=1, ngf=4)


def test_dropout_is_the_noise_source_in_training_mode_only():
    torch.manual_seed(0)
    G = TranslationGenerator(1, 1, [16, 16], depth=4, ngf=4, fmap_max=8, norm="instance", dropout=0.5)
    x = torch.rand(1, 1, 16, 16) * 2 - 1
    assert not torch.equal(G(x), G(x))  # training mode: dropout draws differ
    G.eval()
    assert torch.equal(G(x), G(x))
    assert sum(isinstance(m, nn.Dropout) for m in G.modules()) == 3  # the three innermost decoder layers


def _measured_receptive_field(n_layers: int, size: int = 160) -> tuple[int, int]:
    """Height and width of the input region that one central logit depends on: the nonzero
    support of d logit / d input. Normalisation layers pool statistics over the whole image
    (they would make every pixel matter), so they are replaced by identities; positive weights
    and inputs rule out cancellations."""
    D = PatchGAN(3, ndf=4, n_layers=n_layers, norm="instance")
    for name, m in list(D.model.named_children()):
        if isinstance(m, (nn.InstanceNorm2d, nn.BatchNorm2d)):
            D.model[int(name)] = nn.Identity()
    with torch.no_grad():
        for m in D.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
    x = (torch.rand(1, 3, size, size) + 0.5).requires_grad_(True)
    out = D(x)  # [1, 1, h, w]
    h, w = out.shape[-2:]
    out[0, 0, h // 2, w // 2].backward()
    support = x.grad[0].abs().sum(0) > 0
    rows, cols = support.any(1).nonzero(), support.any(0).nonzero()
    assert rows.min() > 0 and rows.max() < size - 1 and cols.min() > 0 and cols.max() < size - 1  # not clipped
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def test_patchgan_receptive_field_is_70x70_for_the_default_depth():
    assert PatchDiscriminator(3, 3, [256, 256]).receptive_field == 70
    assert _measured_receptive_field(3) == (70, 70)


@pytest.mark.parametrize("n_layers,expected", [(1, 16), (2, 34)])
def test_patchgan_receptive_field_of_other_depths(n_layers, expected):
    """The Pix2Pix paper's 16x16 and 34x34 PatchGANs."""
    assert _measured_receptive_field(n_layers) == (expected, expected) == (patchgan_receptive_field(n_layers),) * 2


def test_conditional_patchgan_sees_the_input_and_needs_it():
    torch.manual_seed(0)
    D = PatchDiscriminator(img_channels=3, cond_channels=1, img_resolution=[32, 32], ndf=4, n_layers=2).eval()
    y, a = torch.rand(2, 3, 32, 32), torch.rand(2, 1, 32, 32)
    assert not torch.equal(D(y, a), D(y, torch.zeros_like(a)))
    with pytest.raises(ValueError, match="conditional"):
        D(y)


def test_reference_parameter_counts():
    """The authors' networks at 256 px (pytorch-CycleGAN-and-pix2pix prints 54.414 M for
    unet_256, 11.378 M for resnet_9blocks, 2.769 M for the basic 70x70 D on 6 channels)."""
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert round(count(TranslationGenerator(3, 3, [256, 256])) / 1e6, 3) == 54.414
    assert round(count(TranslationGenerator(3, 3, [256, 256], arch="resnet", norm="instance")) / 1e6, 3) == 11.378
    assert round(count(PatchDiscriminator(3, 3, [256, 256])) / 1e6, 3) == 2.769
