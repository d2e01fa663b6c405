"""StyleGAN2's generator and discriminator against an independent transcription of
stylegan2-ada-pytorch's equations (networks.py: MappingNetwork, SynthesisLayer, ToRGBLayer,
SynthesisBlock with architecture 'skip', DiscriminatorBlock 'resnet' / 'orig',
MinibatchStdLayer, DiscriminatorEpilogue; torch_utils/ops: upfirdn2d's reference path and
conv2d_resample's paths for up=2 and down=2), written here from those definitions with plain
torch ops and none of growgan's layers. Outputs and gradients are compared.

It follows the reference's non-fused modulated convolution (modulate the input, convolve,
scale by the demodulation coefficients) and its upsampling convolution (a stride-2
transposed convolution, then the [1, 3, 3, 1] filter with padding 1 and gain 4). A
transposed convolution is a true convolution, where growgan's upsample-then-conv is a
correlation, so growgan's up-conv weights equal the reference's flipped in both spatial
axes (a reparametrisation with the same N(0, 1) initial distribution); the test flips them
when it copies the weights. Noise inputs off (noise_mode "none"), no truncation, eval mode.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from growgan.networks.stylegan2 import StyleGAN2Generator

SQRT2 = math.sqrt(2.0)


def _filter(device=None) -> torch.Tensor:
    f = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=torch.float64, device=device)
    f = torch.outer(f, f)
    return f / f.sum()


def _upfirdn(x: torch.Tensor, f: torch.Tensor, up: int, pad: tuple[int, int], gain: float) -> torch.Tensor:
    """upfirdn2d's reference algorithm for square pads: zero insertion (up - 1 zeros after
    every pixel), zero padding (pad[0] before, pad[1] after), true convolution with f * gain."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = (f * gain).flip(0, 1)[None, None].repeat(c, 1, 1, 1).to(x.dtype)
    return F.conv2d(x, k, groups=c)


def _lrelu(x: torch.Tensor, clamp: float) -> torch.Tensor:
    return (F.leaky_relu(x, 0.2) * SQRT2).clamp(-clamp, clamp)


def _fc(x, weight, bias, lr_mul=1.0, act=True):
    y = F.linear(x, weight * (lr_mul / math.sqrt(weight.shape[1])), bias * lr_mul)
    return F.leaky_relu(y, 0.2) * SQRT2 if act else y


def _modconv(x, weight, styles, demodulate, up, f):
    """Non-fused modulated conv; up=2 via the transposed-convolution path."""
    n = x.shape[0]
    x = x * styles.reshape(n, -1, 1, 1)
    k = weight.shape[-1]
    if up == 1:
        x = F.conv2d(x, weight, padding=k // 2)
    else:  # conv2d_resample, up=2, padding 1, 4-tap filter: pads (3, 2) -> (1, 1) after the transpose
        x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
        x = _upfirdn(x, f, 1, (1, 1), 4.0)
    if demodulate:
        d = ((weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)).square().sum(dim=(2, 3, 4)) + 1e-8).rsqrt()
        x = x * d.reshape(n, -1, 1, 1)
    return x


def reference_forward(G: StyleGAN2Generator, z: torch.Tensor) -> torch.Tensor:
    """stylegan2-ada's G(z) (noise off, psi 1) from G's parameters, up-conv weights flipped."""
    f = _filter(z.device).to(z.dtype)
    sd = {k: v.to(z.dtype) for k, v in G.state_dict().items()}
    lr_mul = G.spec()["mapping_lr_mul"]
    clamp = G.spec()["conv_clamp"]
    x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    for i in range(G.spec()["mapping_layers"]):
        x = _fc(x, sd[f"mapping_net.{i}.weight"], sd[f"mapping_net.{i}.bias"], lr_mul)
    w = x  # every layer gets the same w (no mixing, no truncation)

    def layer(i, x, up):
        p = f"layers.{i}."
        styles = _fc(w, sd[p + "affine.weight"], sd[p + "affine.bias"], act=False)
        weight = sd[p + "weight"].flip(2, 3) if up > 1 else sd[p + "weight"]
        y = _modconv(x, weight, styles, True, up, f)
        return _lrelu(y + sd[p + "bias"].reshape(1, -1, 1, 1), clamp)

    def torgb(i, x):
        p = f"torgb.{i}."
        styles = _fc(w, sd[p + "affine.weight"], sd[p + "affine.bias"], act=False) / math.sqrt(x.shape[1])
        y = _modconv(x, sd[p + "weight"], styles, False, 1, f)
        return (y + sd[p + "bias"].reshape(1, -1, 1, 1)).clamp(-clamp, clamp)

    x = sd["const"].unsqueeze(0).repeat(z.shape[0], 1, 1, 1)
    x = layer(0, x, 1)
    img = torgb(0, x)
    for b in range(1, len(G.torgb)):
        x = layer(2 * b, layer(2 * b - 1, x, 2), 1)
        img = _upfirdn(img, f, 2, (2, 1), 4.0) + torgb(b, x)
    return img


def _generator(**kw) -> StyleGAN2Generator:
    torch.manual_seed(0)
    spec = dict(z_dim=16, w_dim=16, mapping_layers=3, img_channels=3, img_resolution=32, fmap_base=256, fmap_max=32,
                use_noise=False)
    spec.update(kw)
    G = StyleGAN2Generator(**spec).eval()
    with torch.no_grad():  # move the parameters off their special initial values (biases 0 or 1)
        for p in G.parameters():
            p.add_(0.1 * torch.randn_like(p) * (p.abs().mean() + 0.1))
    return G


def test_generator_matches_an_independent_transcription_of_stylegan2_ada():
    G = _generator()
    z = torch.randn(5, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = G(z, noise_mode="none")
        ref = reference_forward(G, z)
    assert ours.shape == ref.shape == (5, 3, 32, 32)
    assert ref.std() > 0.1  # a non-trivial image
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)  # float32 (the mapping computes in float32)


def test_the_comparison_sees_a_wrong_upsampling_phase():
    """The check is sharp: the same network with the up-conv weights left unflipped (the
    other convention) differs from the reference by far more than rounding."""
    G = _generator()
    z = torch.randn(5, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = G(z, noise_mode="none")
        for i in range(1, len(G.layers), 2):  # the up-convs: flip them, so the reference sees them unflipped
            G.layers[i].weight.copy_(G.layers[i].weight.flip(2, 3))
        ref = reference_forward(G, z)
    assert (ours - ref).abs().max() > 1e-3


def test_discriminator_downsampling_conv_matches_conv2d_resample():
    """D's 3x3 conv with down=2 against conv2d_resample's path for it: the filter with padding
    2 on each side, then the 3x3 conv with stride 2 and no padding (edges included); and the
    residual skip (filter with padding 1, stride 2, then the 1x1 conv)."""
    from growgan.networks.stylegan2 import Conv

    torch.manual_seed(0)
    conv = Conv(4, 6, 3, act=False, down=True)
    skip = Conv(4, 6, 1, act=False, bias=False, down=True)
    with torch.no_grad():
        conv.bias.add_(torch.randn(6))
        x = torch.randn(3, 4, 16, 16)
        f = _filter().float()
        w = conv.weight * conv.w_gain
        ref = F.conv2d(_upfirdn(x, f, 1, (2, 2), 1.0), w, stride=2) + conv.bias.reshape(1, -1, 1, 1)
        torch.testing.assert_close(conv(x), ref, rtol=1e-5, atol=1e-5)
        ref_skip = F.conv2d(_upfirdn(x, f, 1, (1, 1), 1.0)[:, :, ::2, ::2], skip.weight * skip.w_gain)
        torch.testing.assert_close(skip(x), ref_skip, rtol=1e-5, atol=1e-5)


def test_checkpoints_written_before_the_edge_fix_keep_their_math():
    """A state dict without the `exact_edges` buffers (written before the fix) loads into the
    legacy computation: the zero-padded intermediate (filter then padded 3x3 conv for G's
    up-convs; padded 3x3 conv then filter for D's down-convs), computed here from those
    definitions; a new network's own state dict keeps the exact edges."""
    from growgan.layers import fir_downsample2x, fir_kernel, fir_upsample2x
    from growgan.networks.stylegan2 import Conv, SynthesisLayer, modulated_conv2d

    torch.manual_seed(0)
    layer = SynthesisLayer(4, 5, 8, (8, 8), True, 256.0, use_noise=False)
    old = {k: v for k, v in layer.state_dict().items() if k != "exact_edges"}
    legacy = SynthesisLayer(4, 5, 8, (8, 8), True, 256.0, use_noise=False)
    legacy.load_state_dict(old)
    x, w = torch.randn(2, 4, 4, 4), torch.randn(2, 8)
    with torch.no_grad():
        zero_padded = modulated_conv2d(fir_upsample2x(x, fir_kernel()), layer.weight, layer.affine(w), True, padding=1)
        expected = (F.leaky_relu(zero_padded + layer.bias.reshape(1, -1, 1, 1), 0.2) * SQRT2).clamp(-256, 256)
        torch.testing.assert_close(legacy(x, w, "none"), expected)
        assert float(legacy.exact_edges) == 0.0
        assert (layer(x, w, "none") - expected).abs().max() > 1e-3  # the new math differs at the edges
        fresh = SynthesisLayer(4, 5, 8, (8, 8), True, 256.0, use_noise=False)
        fresh.load_state_dict(layer.state_dict())
        torch.testing.assert_close(fresh(x, w, "none"), layer(x, w, "none"))

    conv = Conv(4, 6, 3, act=False, down=True)
    legacy_conv = Conv(4, 6, 3, act=False, down=True)
    legacy_conv.load_state_dict({k: v for k, v in conv.state_dict().items() if k != "exact_edges"})
    x = torch.randn(2, 4, 16, 16)
    with torch.no_grad():
        expected = fir_downsample2x(F.conv2d(x, conv.weight * conv.w_gain, padding=1), fir_kernel())
        torch.testing.assert_close(legacy_conv(x), expected + conv.bias.reshape(1, -1, 1, 1))
        assert (conv(x) - legacy_conv(x)).abs().max() > 1e-3


def reference_discriminator(D, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    """stylegan2-ada's D(img, c) (networks.py: DiscriminatorBlock with architecture 'resnet'
    or 'orig', MinibatchStdLayer with num_channels 1, DiscriminatorEpilogue, the mapping of
    c to cmap) from D's parameters, with plain torch ops: every conv is conv2d_resample
    (down=2: the filter with padding 2, or 1 for the 1x1 skip, then a stride-2 conv), and
    Conv2dLayer's activation gain is sqrt(2) * gain with the clamp conv_clamp * gain."""
    f = _filter(img.device).to(img.dtype)
    sd = dict(D.named_parameters())
    clamp = D.spec()["conv_clamp"]

    def conv(x, p, act=True, down=False, gain=1.0, bias=True):
        w = sd[p + "weight"]
        w = w / math.sqrt(w[0].numel())
        k = w.shape[-1]
        if down:
            x = F.conv2d(_upfirdn(x, f, 1, (k // 2 + 1, k // 2 + 1), 1.0), w, stride=2)
        else:
            x = F.conv2d(x, w, padding=k // 2)
        if bias:
            x = x + sd[p + "bias"].reshape(1, -1, 1, 1)
        if act:
            return (F.leaky_relu(x, 0.2) * SQRT2 * gain).clamp(-clamp * gain, clamp * gain)
        return (x * gain).clamp(-clamp * gain, clamp * gain)

    def fc(x, p, act=True):
        w = sd[p + "weight"]
        return _fc(x, w, sd[p + "bias"], 1.0, act)

    x = conv(img, "fromrgb.")
    for i in range(len(D.blocks)):
        p = f"blocks.{i}."
        if p + "skip.weight" in sd:  # resnet
            y = conv(x, p + "skip.", act=False, down=True, gain=math.sqrt(0.5), bias=False)
            x = conv(conv(x, p + "conv0."), p + "conv1.", down=True, gain=math.sqrt(0.5)) + y
        else:  # orig
            x = conv(conv(x, p + "conv0."), p + "conv1.", down=True)
    # MinibatchStdLayer: x.reshape(G, -1, F, c, H, W): sample i is in group i mod (N / G)
    n, ch, h, w = x.shape
    g = min(D.spec()["mbstd_group_size"], n)
    y = x.reshape(g, -1, 1, ch, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0)
    y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    x = conv(torch.cat([x, y], dim=1), "conv.")
    x = fc(x.flatten(1), "fc.")
    x = fc(x, "out.", act=False)
    if c is None:
        return x.reshape(n)
    cmap = fc(F.one_hot(c, D.spec()["c_dim"]).to(x.dtype), "embed.", act=False)
    cmap = cmap * (cmap.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    return (x * cmap).sum(dim=1) / math.sqrt(cmap.shape[1])


def _discriminator(**kw):
    from growgan.networks.stylegan2 import StyleGAN2Discriminator

    torch.manual_seed(0)
    spec = dict(img_channels=3, img_resolution=32, fmap_base=256, fmap_max=32, mbstd_group_size=4)
    spec.update(kw)
    D = StyleGAN2Discriminator(**spec).eval()
    with torch.no_grad():
        for p in D.parameters():  # biases off zero, weights off their N(0, 1) start
            p.add_(0.1 * torch.randn_like(p) * (p.abs().mean() + 0.1))
    return D


def test_discriminator_matches_an_independent_transcription_of_stylegan2_ada():
    """The whole D (resnet and orig blocks, minibatch-stddev groups, epilogue, the
    conditional projection) equals the reference's equations on the same weights, with
    their gradients with respect to the image (what R1 and G's loss see)."""
    gen = torch.Generator().manual_seed(3)
    for kw, c in (({}, None), ({"architecture": "orig", "mbstd_group_size": 8}, None),
                  ({"c_dim": 5}, torch.tensor([0, 4, 2, 1, 3, 3, 0, 1]))):
        D = _discriminator(**kw)
        img = torch.randn(8, 3, 32, 32, generator=gen).requires_grad_(True)
        ours = D(img, c)
        ref = reference_discriminator(D, img, c)
        assert ours.shape == ref.shape == (8,)
        assert ref.std() > 1e-2  # logits that differ between samples
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)
        (g_ours,) = torch.autograd.grad(ours.square().sum(), img)
        (g_ref,) = torch.autograd.grad(ref.square().sum(), img)
        torch.testing.assert_close(g_ours, g_ref, rtol=1e-4, atol=1e-6)


def test_the_discriminator_comparison_sees_contiguous_mbstd_groups():
    """The check is sharp about which samples share a minibatch-stddev group: grouping
    consecutive samples instead (the other natural reading) changes the logits."""
    D = _discriminator()
    img = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = reference_discriminator(D, img)
        perm = torch.arange(8).reshape(2, 4).t().reshape(8)  # consecutive samples into the same group
        swapped = D(img[perm])[perm.argsort()]
    assert (swapped - ref).abs().max() > 1e-4


def test_generator_gradients_match_the_transcription():
    """G's parameter gradients (through the custom FIR backward) equal autograd's through the
    reference's plain ops, for a loss that weighs every output pixel differently."""
    G = _generator()
    params = dict(G.named_parameters())
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    weights = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    loss = (G(z, noise_mode="none") * weights).sum()
    ours = torch.autograd.grad(loss, list(params.values()))
    G.state_dict = lambda *a, **k: {**dict(G.named_buffers()), **params}  # the transcription reads these
    ref_loss = (reference_forward(G, z) * weights).sum()
    ref = torch.autograd.grad(ref_loss, list(params.values()))
    for name, a, b in zip(params, ours, ref):
        assert b.abs().max() > 0, name
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * b.abs().max().item(), msg=name)
