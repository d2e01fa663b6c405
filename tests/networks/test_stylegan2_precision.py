"""StyleGAN2's mixed precision (stylegan2-ada's fp16 top resolutions with conv clamping) as far
as a CPU can check it: which blocks are reduced, the dtype decision (off on CPU, under
autocast, and for the other blocks), the reduced path run with bfloat16 on the CPU (the
stand-in for float16, which CPUs do not compute fast) against float32, and the clamp.
No GPU was available: float16 on CUDA itself is not exercised here."""

from __future__ import annotations

import math

import pytest
import torch

from growgan.errors import GrowganError
from growgan.losses import r1_penalty
from growgan.networks.registry import build_networks
from growgan.networks.stylegan2 import SynthesisLayer, ToRGB, block_dtype, fp16_blocks

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def _nets(num_fp16_res: int, conv_clamp: float = 256.0, res: int = 32, seed: int = 0):
    common = {"z_dim": 8, "img_channels": 1, "img_resolution": [res, res], "fmap_base": 128, "fmap_max": 16,
              "conv_clamp": conv_clamp, "num_fp16_res": num_fp16_res}
    spec = {"family": "stylegan2", "G": {**common, "w_dim": 8, "mapping_layers": 2}, "D": dict(common)}
    torch.manual_seed(seed)
    G, D = build_networks(spec)
    return G.eval(), D


@pytest.mark.parametrize("res,num", [(32, 0), (32, 1), (32, 2), (32, 4), (32, 9), (256, 4), (8, 4)])
def test_fp16_blocks_are_stylegan2_adas_top_resolutions(res, num):
    n = int(math.log2(res)) - 2  # blocks at 4, 8, ..., res
    fp16_resolution = max(2 ** (int(math.log2(res)) + 1 - num), 8)  # stylegan2-ada's rule
    assert fp16_blocks(n, num) == [4 * 2**i >= fp16_resolution for i in range(n + 1)]


def test_block_dtype_is_float16_only_on_cuda_outside_autocast():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert block_dtype(True, cuda) == torch.float16
    assert block_dtype(False, cuda) == torch.float32
    assert block_dtype(True, cpu) == torch.float32  # off on CPU
    assert block_dtype(True, cpu, default=torch.float64) == torch.float64
    assert block_dtype(True, cpu, cpu_dtype=torch.bfloat16) == torch.bfloat16
    assert block_dtype(False, cpu, cpu_dtype=torch.bfloat16) == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast decides
        assert block_dtype(True, cpu, cpu_dtype=torch.bfloat16) == torch.float32


def test_fp16_spec_is_a_no_op_on_cpu():
    G0, D0 = _nets(0)
    G2, D2 = _nets(2)
    assert G2.use_fp16 == [False, False, True, True] and D2.use_fp16 == [True, True, False]
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        img0, img2 = G0(z), G2(z)
        assert torch.equal(img0, img2) and img2.dtype == torch.float32
        assert torch.equal(D0(img0), D2(img0))
    with pytest.raises(GrowganError, match="num_fp16_res"):
        _nets(-1)


def _dtypes(net, kinds) -> list[tuple[str, torch.dtype]]:
    seen = []
    for name, m in net.named_modules():
        if isinstance(m, kinds):
            m.register_forward_hook(lambda mod, inp, out, name=name: seen.append((name, out.dtype)))
    return seen


def test_reduced_path_with_bfloat16_matches_float32_and_reduces_only_the_top_blocks():
    G, D = _nets(2)
    z = torch.randn(8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref, ref_logits = G(z), D(G(z))
        G.reduced_cpu_dtype = D.reduced_cpu_dtype = torch.bfloat16
        seen = _dtypes(G, (SynthesisLayer, ToRGB))
        img = G(z)
        logits = D(img)
    assert img.dtype == torch.float32 and logits.dtype == torch.float32  # image and logits stay float32
    by_layer = dict(seen)
    # layers 0 (4x4), 1-2 (8x8) float32; 3-6 (16, 32) bfloat16; toRGB likewise
    assert [by_layer[f"layers.{i}"] for i in range(7)] == [torch.float32] * 3 + [torch.bfloat16] * 4
    assert [by_layer[f"torgb.{i}"] for i in range(4)] == [torch.float32] * 2 + [torch.bfloat16] * 2
    # bfloat16 keeps 8 bits of mantissa: the same image to within its rounding, not bit-exact
    err = (img - ref).abs()
    assert 0 < err.max() < 0.15 and err.mean() < 0.02 * ref.abs().mean() + 1e-3
    assert (logits - ref_logits).abs().max() < 0.05 * ref_logits.abs().max() + 0.05


def test_conv_clamp_bounds_every_activation_in_the_reduced_path():
    G, D = _nets(2, conv_clamp=0.25)
    G.reduced_cpu_dtype = D.reduced_cpu_dtype = torch.bfloat16
    outs = []
    for m in list(G.layers) + list(G.torgb):
        m.register_forward_hook(lambda mod, inp, out: outs.append(out.detach().float().abs().max()))
    with torch.no_grad():
        img = G(torch.randn(8, 8, generator=torch.Generator().manual_seed(3)) * 10)
    assert len(outs) == 11 and max(outs) <= 0.25 and max(outs) == pytest.approx(0.25, rel=0.01)  # it binds
    assert torch.isfinite(img).all()


def test_r1_double_backward_through_the_reduced_d():
    """R1's double backward runs through the reduced blocks: the penalty is float32 and close to
    float32's, and every weight gets a finite float32 gradient (but the output bias, on which
    the input gradient does not depend)."""
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(4))
    r1s = []
    for dtype in (None, torch.bfloat16):
        _, D = _nets(2)
        D.reduced_cpu_dtype = dtype
        r1 = r1_penalty(D, x)
        r1.backward()
        r1s.append(float(r1.detach()))
        assert r1.dtype == torch.float32 and D.out.bias.grad is None
        grads = [p.grad for name, p in D.named_parameters() if name != "out.bias"]
        assert all(g is not None and torch.isfinite(g).all() and g.dtype == torch.float32 for g in grads)
    assert r1s[0] > 0 and r1s[1] == pytest.approx(r1s[0], rel=0.05)


def test_a_reduced_precision_network_has_its_non_finite_grads_cleaned_before_the_step():
    """stylegan2-ada's training loop: nan_to_num(grad, nan=0, posinf=1e5, neginf=-1e5) before
    each optimizer step (its fp16 blocks run without loss scaling). Expected weights from that
    definition: an inf gradient moves a weight by lr * 1e5, a NaN one leaves it; a float32
    network (num_fp16_res=0) is left to the non-finite checks, so its weights go non-finite."""
    from types import SimpleNamespace

    from growgan.training.task import backward_step

    for num_fp16_res in (2, 0):
        G, D = _nets(num_fp16_res)
        for net in (G, D):
            p, q = list(net.parameters())[:2]
            p0, q0 = p.detach().clone(), q.detach().clone()
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            loss = p.sum() * float("inf") + (q * float("nan")).sum()  # grads: +inf on p, NaN on q
            backward_step(SimpleNamespace(scaler=None), loss, opt, net, 1)
            if num_fp16_res:
                assert torch.allclose(p.detach(), p0 - 0.1 * 1e5) and torch.equal(q.detach(), q0)
            else:
                assert not torch.isfinite(p).any() and torch.isnan(q).all()


def test_cleaning_leaves_finite_gradients_bit_for_bit():
    from growgan.training.task import clean_reduced_precision_grads

    G, _ = _nets(2)
    grads = [torch.randn_like(p) * 10.0 ** torch.randint(-30, 30, p.shape) for p in G.parameters()]
    for p, g in zip(G.parameters(), grads):
        p.grad = g.clone()
    assert clean_reduced_precision_grads(G)
    assert all(torch.equal(p.grad, g) for p, g in zip(G.parameters(), grads))
