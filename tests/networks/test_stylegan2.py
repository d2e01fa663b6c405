"""StyleGAN2 family: the definitions the paper gives (demodulation, truncation, style
mixing), the FIR filter's custom gradient against autograd's, conditioning, non-square
archives, and the penalties' double backward."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.layers import fir_downsample2x, fir_filter, fir_kernel, fir_upsample2x
from growgan.losses import r1_penalty
from growgan.networks.registry import build_networks, network_spec
from growgan.networks.stylegan2 import modulated_conv2d

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def _spec(res=(16, 16), c_dim=0, ch=3, **g):
    common = {"z_dim": 8, "c_dim": c_dim, "img_channels": ch, "img_resolution": list(res), "fmap_base": 64, "fmap_max": 8}
    G = {**common, "w_dim": 8, "mapping_layers": 2, **g}
    return {"family": "stylegan2", "G": G, "D": dict(common)}


# ---------------------------------------------------------------------------- FIR filter
@pytest.mark.parametrize("op", ["up", "down", "pad"])
def test_fir_custom_backward_equals_autograd_including_double_backward(op):
    k = fir_kernel().double()
    fns = {"up": lambda t, naive: fir_upsample2x(t, k, naive), "down": lambda t, naive: fir_downsample2x(t, k, naive),
           "pad": lambda t, naive: fir_filter(t, k, (2, 1, 0, 3), naive)}
    fn = fns[op]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, generator=g)
    probe = None
    results = []
    for naive in (True, False):
        xi = x.clone().requires_grad_(True)
        y = fn(xi, naive)
        if probe is None:
            probe = torch.randn(y.shape, dtype=torch.float64, generator=g)
        # a non-linearity after the filter, as in D: the input gradient depends on x, and its
        # own gradient (R1's double backward) runs through the filter's backward
        (g1,) = torch.autograd.grad((torch.tanh(y) * probe).sum(), xi, create_graph=True)
        (g2,) = torch.autograd.grad(g1.square().sum(), xi)  # second order
        results.append((y.detach(), g1.detach(), g2))
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-12)
    assert results[1][2].abs().sum() > 0  # the second-order gradient is not trivially zero
    xi = x.clone().requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda t: fn(t, False), (xi,))


def test_fir_resampling_is_the_bilinear_filter():
    k = fir_kernel()
    assert torch.allclose(k, torch.outer(torch.tensor([1., 3, 3, 1]), torch.tensor([1., 3, 3, 1])) / 64)
    ones = torch.ones(1, 1, 8, 8)
    assert torch.allclose(fir_upsample2x(ones, k)[..., 2:-2, 2:-2], torch.ones(1, 1, 12, 12))  # gain 4 keeps DC
    assert torch.allclose(fir_downsample2x(ones, k)[..., 1:-1, 1:-1], torch.ones(1, 1, 2, 2))
    # upsampling a ramp is linear interpolation: inside, samples at quarter offsets
    ramp = torch.arange(8.).reshape(1, 1, 1, 8).expand(1, 1, 8, 8)
    up = fir_upsample2x(ramp, k)[0, 0, 4, 2:-2]
    assert torch.allclose(up, torch.arange(12.) / 2 + 0.75)


# ---------------------------------------------------------------------------- definitions
def test_demodulation_keeps_unit_variance():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 64, 16, 16, generator=g)  # unit variance, independent
    weight = torch.randn(32, 64, 3, 3, generator=g)
    styles = torch.rand(8, 64, generator=g) * 3 + 0.1  # arbitrary positive scales per sample
    y = modulated_conv2d(x, weight, styles, demodulate=True, padding=0)
    assert abs(y.std().item() - 1.0) < 0.05
    y_plain = modulated_conv2d(x, weight, styles, demodulate=False, padding=0)
    assert y_plain.std() > 5  # without demodulation the scale is not controlled
    # the grouped conv equals a per-sample conv with the modulated, demodulated weight
    w0 = weight * styles[0].reshape(1, -1, 1, 1)
    w0 = w0 / (w0.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
    assert torch.allclose(y[0:1], F.conv2d(x[0:1], w0), atol=1e-4)


@pytest.mark.parametrize("up", [False, True])
@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("demodulate", [False, True])
def test_both_modulated_conv_formulations_equal_the_per_sample_definition(up, fused, demodulate):
    """Grouped (fused) and batched (modulate, conv, scale) forms, plain and upsampling, against
    one conv per sample with w'' built by the paper's eqs. 1-3; the up form followed by the
    up-filter is the correlation of the zero-inserted, filtered input (fir_upsample2x with
    the conv's one-pixel reach past each edge) with w''."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, 6, 6, dtype=torch.float64, generator=g)
    weight = torch.randn(4, 5, 3, 3, dtype=torch.float64, generator=g)
    styles = torch.rand(3, 5, dtype=torch.float64, generator=g) * 2 - 0.5  # signs too
    k = fir_kernel().double()
    y = modulated_conv2d(x, weight, styles, demodulate=demodulate, padding=1, up=up, fused=fused)
    if up:
        y = fir_filter(y, k * 4, (1, 1, 1, 1))
    for n in range(3):
        wn = weight * styles[n].reshape(1, -1, 1, 1)  # eq. 1
        if demodulate:
            wn = wn / (wn.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()  # eqs. 2-3
        xn = fir_upsample2x(x[n:n + 1], k, border=1) if up else F.pad(x[n:n + 1], (1, 1, 1, 1))
        assert torch.allclose(y[n:n + 1], F.conv2d(xn, wn), atol=1e-10)


@pytest.mark.parametrize("up", [False, True])
def test_modulated_conv_under_float16_autocast_stays_close_to_float32(up):
    """512 input channels with styles of rms ~4: sum_i s_i^2 |w_oi|^2 passes float16's 65504.
    A demodulation sum run as an autocast float16 matmul became inf, so every output was 0."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 512, 4, 4, generator=g)
    weight = torch.randn(8, 512, 3, 3, generator=g)
    styles = torch.randn(2, 512, generator=g) * 4 + 1
    ref = modulated_conv2d(x, weight, styles, demodulate=True, padding=1, up=up)
    with torch.autocast("cpu", dtype=torch.float16):
        y = modulated_conv2d(x, weight, styles, demodulate=True, padding=1, up=up)
    assert torch.isfinite(y).all()
    assert ((y.float() - ref).norm() / ref.norm()).item() < 1e-2


def test_truncation_psi_zero_maps_every_z_to_w_avg():
    G, _ = build_networks(_spec())
    G.train()
    with torch.no_grad():
        G.mapping(torch.randn(16, 8))  # training mode: w_avg moves to the batch mean
    assert G.w_avg.abs().sum() > 0
    G.eval()
    ws = G.mapping(torch.randn(5, 8), truncation_psi=0.0)
    assert torch.allclose(ws, G.w_avg.expand_as(ws))
    ws_cut = G.mapping(torch.randn(5, 8), truncation_psi=0.0, truncation_cutoff=2)
    assert torch.allclose(ws_cut[:, :2], G.w_avg.expand(5, 2, -1)) and not torch.allclose(ws_cut[:, 2:], G.w_avg.expand(5, G.num_ws - 2, -1))
    # every z gives the same image at psi = 0 (eval mode: constant noise)
    img = G(torch.randn(3, 8), truncation_psi=0.0)
    assert torch.allclose(img, img[:1].expand_as(img), atol=1e-6)


def test_w_avg_tracks_the_mean_of_w_in_training_mode_only():
    G, _ = build_networks(_spec(w_avg_beta=0.5))
    z = torch.randn(32, 8)
    G.eval()
    G.mapping(z)
    assert torch.equal(G.w_avg, torch.zeros(8))
    G.train()
    w = G.mapping(z)[:, 0]
    assert torch.allclose(G.w_avg, 0.5 * w.mean(0), atol=1e-6)  # lerp(0 -> mean, 1 - beta)


def test_style_mixing_above_the_crossover_is_the_second_latents_style():
    G, _ = build_networks(_spec())
    G.eval()
    z1, z2 = torch.randn(2, 8), torch.randn(2, 8)
    ws1, ws2 = G.mapping(z1), G.mapping(z2)
    for cut in range(1, G.num_ws):
        mixed = G.mix_styles(ws1, ws2, cut)
        assert torch.equal(mixed[:, :cut], ws1[:, :cut]) and torch.equal(mixed[:, cut:], ws2[:, cut:])
    # the last layers' styles only (toRGB at full res) come from z2: the image differs from both
    img = G.synthesis(G.mix_styles(ws1, ws2, G.num_ws - 1))
    assert not torch.allclose(img, G.synthesis(ws1)) and not torch.allclose(img, G.synthesis(ws2))
    # training mode with probability 1 mixes: the forward is not the pure style of z1
    G.train()
    G.style_mixing_prob = 1.0
    torch.manual_seed(0)
    mixed_img = G(z1, noise_mode="none")
    G.style_mixing_prob = 0.0
    assert not torch.allclose(mixed_img, G(z1, noise_mode="none"))


def test_eval_mode_is_deterministic_and_training_mode_draws_noise():
    G, _ = build_networks(_spec())
    with torch.no_grad():
        for layer in G.layers:
            layer.noise_strength.fill_(0.5)
    z = torch.randn(2, 8)
    G.eval()
    assert torch.equal(G(z), G(z))
    G.train()
    G.style_mixing_prob = 0.0
    assert not torch.equal(G(z), G(z))



def test_use_noise_false_has_no_noise_inputs_and_training_mode_is_then_deterministic():
    G, _ = build_networks(_spec(use_noise=False))
    assert not any("noise" in name for name, _ in list(G.named_parameters()) + list(G.named_buffers()))
    assert G.spec()["use_noise"] is False
    G.style_mixing_prob = 0.0
    z = torch.randn(2, 8)
    with torch.no_grad():
        assert torch.equal(G(z), G(z))  # training mode: nothing random left without mixing
        assert torch.equal(G(z, noise_mode="random"), G(z, noise_mode="none"))
    with pytest.raises(GrowganError, match="use_noise"):
        build_networks(_spec(use_noise="no"))

# ---------------------------------------------------------------------------- shapes and conditioning
@pytest.mark.parametrize("res,c_dim,ch", [((8, 8), 0, 1), ((16, 16), 5, 3), ((16, 32), 0, 3), ((32, 8), 3, 1)])
def test_shapes_non_square_and_conditional(res, c_dim, ch):
    spec = _spec(res, c_dim, ch)
    G, D = build_networks(spec)
    n = 4
    z = torch.randn(n, 8)
    c = torch.arange(n) % c_dim if c_dim else None
    img = G(z, c)
    assert img.shape == (n, ch, *res)
    h, w = res
    short = min(h, w)
    assert tuple(G.const.shape[1:]) == (4 * h // short, 4 * w // short)  # the archive's aspect
    logits = D(img, c)
    assert logits.shape == (n,)
    (logits.sum()).backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        if "noise_strength" in name or "embed" in name and c_dim == 0:
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    if c_dim:
        G.eval(), D.eval()
        with torch.no_grad():
            assert not torch.allclose(G(z, torch.zeros(n, dtype=torch.long)), G(z, torch.ones(n, dtype=torch.long)))
            assert not torch.allclose(D(img, torch.zeros(n, dtype=torch.long)), D(img, torch.ones(n, dtype=torch.long)))
        with pytest.raises(ValueError, match="conditional"):
            G(z)
        # spec round trip with c_dim: same outputs
        G2, D2 = build_networks(json.loads(json.dumps(network_spec(G, D))))
        G2.load_state_dict(G.state_dict()), D2.load_state_dict(D.state_dict())
        G2.eval(), D2.eval()
        with torch.no_grad():
            assert torch.equal(G2(z, c), G(z, c)) and torch.equal(D2(img, c), D(img, c))


@pytest.mark.parametrize("res", [(4, 4), (12, 12), (2048, 2048), (16, 24)])
def test_bad_resolution_is_one_line(res):
    with pytest.raises(GrowganError, match="powers of two"):
        build_networks(_spec(res))


def test_num_ws_and_widths():
    G, D = build_networks(_spec((32, 32), fmap_base=256, fmap_max=32))
    assert G.num_ws == 1 + 2 * 3 + 1  # 4x4: one conv; 8, 16, 32: two each; the last toRGB
    assert [l.weight.shape[0] for l in G.layers] == [32, 32, 32, 16, 16, 8, 8]  # min(256 / res, 32)


def test_r1_double_backward_through_d_reaches_every_weight():
    spec = _spec((16, 16), c_dim=2)
    _, D = build_networks(spec)
    x = torch.randn(4, 3, 16, 16)
    c = torch.tensor([0, 1, 0, 1])
    pen = r1_penalty(D, x, c)
    pen.backward()
    grads = [p.grad for n, p in D.named_parameters() if n.endswith("weight")]
    assert all(g is not None and torch.isfinite(g).all() for g in grads) and pen > 0


def test_orig_discriminator_is_the_plain_conv_stack():
    """architecture="orig" (stylegan2-ada's cifar D): each block is conv3x3 -> conv3x3 + FIR
    down with no skip path; the residual D's output is (that + skip) * sqrt(1/2)."""
    spec = _spec((16, 16))
    spec["D"]["architecture"] = "orig"
    _, D = build_networks(spec)
    assert all(b.skip is None for b in D.blocks) and D.spec()["architecture"] == "orig"
    block = D.blocks[0]
    x = torch.randn(2, block.conv0.weight.shape[1], 16, 16)
    with torch.no_grad():
        assert torch.equal(block(x), block.conv1(block.conv0(x)))
        assert D(torch.randn(4, 3, 16, 16)).shape == (4,)
    _, R = build_networks(_spec((16, 16)))
    rb = R.blocks[0]
    with torch.no_grad():
        expect = (rb.conv1(rb.conv0(x)) + rb.skip(x)) * 0.5 ** 0.5
        assert torch.allclose(rb(x), expect, atol=1e-6)
    spec["D"]["architecture"] = "skip"
    with pytest.raises(GrowganError, match="architecture='skip' is not one of resnet, orig"):
        build_networks(spec)
