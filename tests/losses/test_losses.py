"""growgan.losses against values computed by hand with plain `math`, and the gradient
penalties against central finite differences of a tiny float64 discriminator."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from growgan import losses
from growgan.errors import GrowganError


# tiny nets: one intra-op thread (fixture in tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


R = [1.0, -2.0, 0.5]  # real logits
F_ = [0.5, 3.0, -1.0]  # fake logits


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def mean(v) -> float:
    v = list(v)
    return sum(v) / len(v)


def t(v) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float32)


def close(a: torch.Tensor, b: float, tol: float = 1e-5) -> None:
    assert a.dim() == 0 and a.dtype == torch.float32
    assert abs(a.item() - b) < tol * max(1.0, abs(b)), (a.item(), b)


# ---- losses against hand-computed values ---------------------------------------------


def test_logistic_losses_by_hand():
    want_d = mean(-math.log(sig(r)) for r in R) + mean(-math.log(1 - sig(f)) for f in F_)
    close(losses.d_loss("nonsaturating", t(R), t(F_)), want_d)
    close(losses.d_loss("minimax", t(R), t(F_)), want_d)
    close(losses.g_loss("nonsaturating", t(F_)), mean(-math.log(sig(f)) for f in F_))
    close(losses.g_loss("minimax", t(F_)), mean(math.log(1 - sig(f)) for f in F_))


def test_logistic_label_smoothing_by_hand():
    s = 0.1
    want = mean(-(0.9 * math.log(sig(r)) + 0.1 * math.log(1 - sig(r))) for r in R) + mean(
        -math.log(1 - sig(f)) for f in F_
    )
    close(losses.d_loss("nonsaturating", t(R), t(F_), label_smoothing=s), want)
    # one-sided: the fake term is unchanged, so smoothing only moves the real term
    assert losses.d_loss("nonsaturating", t(R), t(F_), 0.1) != losses.d_loss("nonsaturating", t(R), t(F_))


def test_wgan_and_hinge_by_hand():
    close(losses.d_loss("wgan", t(R), t(F_)), mean(F_) - mean(R))
    close(losses.g_loss("wgan", t(F_)), -mean(F_))
    want = mean(max(0.0, 1 - r) for r in R) + mean(max(0.0, 1 + f) for f in F_)
    # by hand: real [0, 3, 0.5] -> 3.5/3; fake [1.5, 4, 0] -> 5.5/3
    assert abs(want - 9.0 / 3) < 1e-12
    close(losses.d_loss("hinge", t(R), t(F_)), 3.0)
    close(losses.g_loss("hinge", t(F_)), -mean(F_))
    with pytest.raises(GrowganError, match="label smoothing is not defined for the hinge loss"):
        losses.d_loss("hinge", t(R), t(F_), label_smoothing=0.1)


def test_lsgan_by_hand():
    # 0.5 * mean((r-1)^2) + 0.5 * mean(f^2): (0 + 9 + 0.25)/3/2 + (0.25 + 9 + 1)/3/2
    close(losses.d_loss("lsgan", t(R), t(F_)), 9.25 / 6 + 10.25 / 6)
    close(losses.g_loss("lsgan", t(F_)), 0.5 * mean((f - 1) ** 2 for f in F_))
    close(losses.d_loss("lsgan", t(R), t(F_), 0.2), 0.5 * mean((r - 0.8) ** 2 for r in R) + 10.25 / 6)


def test_relativistic_average_by_hand():
    mr, mf = mean(R), mean(F_)
    want_d = 0.5 * (mean(-math.log(sig(r - mf)) for r in R) + mean(-math.log(1 - sig(f - mr)) for f in F_))
    want_g = 0.5 * (mean(-math.log(sig(f - mr)) for f in F_) + mean(-math.log(1 - sig(r - mf)) for r in R))
    close(losses.d_loss("relativistic", t(R), t(F_)), want_d)
    close(losses.g_loss("relativistic", t(F_), t(R)), want_g)
    want_ds = 0.5 * (
        mean(-(0.9 * math.log(sig(r - mf)) + 0.1 * math.log(1 - sig(r - mf))) for r in R)
        + mean(-math.log(1 - sig(f - mr)) for f in F_)
    )
    close(losses.d_loss("relativistic", t(R), t(F_), 0.1), want_ds)
    with pytest.raises(ValueError, match="real_logits"):
        losses.g_loss("relativistic", t(F_))


def test_logits_shapes_dtypes_and_large_values():
    # [N, 1] logits equal [N]; bf16 logits give float32 losses; huge logits stay finite
    for kind in losses.LOSS_KINDS:
        a = losses.d_loss(kind, t(R)[:, None], t(F_)[:, None])
        close(a, losses.d_loss(kind, t(R), t(F_)).item())
        b = losses.g_loss(kind, t(F_).bfloat16(), t(R).bfloat16())
        assert b.dtype == torch.float32
    big = torch.tensor([200.0, -200.0])
    assert torch.isfinite(losses.d_loss("nonsaturating", big, -big))
    # real term mean(softplus(-200), softplus(200)) = 100, fake term the same
    close(losses.d_loss("nonsaturating", big, -big), 200.0, tol=1e-4)
    with pytest.raises(GrowganError, match="unknown loss 'vanilla'"):
        losses.d_loss("vanilla", t(R), t(F_))


def test_drift_noise_and_clipping():
    close(losses.drift_penalty(t(R)), mean(r * r for r in R))
    x = torch.zeros(4, 1, 2, 2)
    assert losses.instance_noise(x, 0.0) is x
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    n1, n2 = losses.instance_noise(x, 0.5, g1), losses.instance_noise(x, 0.5, g2)
    assert torch.equal(n1, n2) and n1.std() > 0.2
    big = losses.instance_noise(torch.zeros(20000), 0.5, torch.Generator().manual_seed(0))
    assert abs(big.std().item() - 0.5) < 0.02
    D = nn.Linear(3, 2)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[0.5, -0.02, 0.01], [-3.0, 0.0, 0.009]]))
    losses.clip_weights_(D, 0.01)
    assert torch.equal(D.weight, torch.tensor([[0.01, -0.01, 0.01], [-0.01, 0.0, 0.009]]))
    assert D.bias.abs().max() <= 0.01


# ---- gradient penalties against finite differences -----------------------------------


class TinyD(nn.Module):
    """A nonlinear D computing in float64: sum(w2 * tanh(conv(x) + b)) + label term."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w1 = nn.Parameter(torch.randn(3, 2, 2, 2, generator=g, dtype=torch.float64))
        self.b = nn.Parameter(torch.randn(3, generator=g, dtype=torch.float64))
        self.w2 = nn.Parameter(torch.randn(3, 2, 2, generator=g, dtype=torch.float64))
        self.emb = nn.Parameter(torch.randn(4, 2, 3, 3, generator=g, dtype=torch.float64))

    def forward(self, x, c=None):
        x = x.double()
        h = torch.tanh(nn.functional.conv2d(x, self.w1, self.b))  # [N, 2, 3, 3] -> [N, 3, 2, 2]
        out = (h * self.w2).flatten(1).sum(1)
        if c is not None:  # a label-dependent term that is nonlinear in x
            out = out + (torch.sin(x) * self.emb[c]).flatten(1).sum(1)
        return out


def fd_input_grads(D, x, c=None, h=1e-6):
    """Central differences of D(x)_n w.r.t. x_n, in float64. [N, C, H, W]."""
    x = x.double()
    g = torch.zeros_like(x)
    with torch.no_grad():
        for idx in range(x[0].numel()):
            e = torch.zeros_like(x).flatten(1)
            e[:, idx] = h
            e = e.reshape(x.shape)
            g.flatten(1)[:, idx] = (D(x + e, c) - D(x - e, c)) / (2 * h)
    return g


def ref_gp(D, x, c=None):
    g = fd_input_grads(D, x, c)
    return ((g.flatten(1).norm(dim=1) - 1) ** 2).mean().item()


def ref_r1(D, x, c=None):
    return fd_input_grads(D, x, c).square().flatten(1).sum(1).mean().item()


@pytest.mark.parametrize("cond", [False, True])
def test_penalty_values_match_finite_differences(cond):
    D = TinyD()
    x = torch.randn(5, 2, 3, 3, generator=torch.Generator().manual_seed(1))
    c = torch.tensor([0, 3, 1, 1, 2]) if cond else None
    close(losses.r1_penalty(D, x, c), ref_r1(D, x, c), tol=1e-5)
    # reals == fakes: the interpolate is x whatever alpha is drawn
    close(losses.gradient_penalty(D, x, x.clone(), c), ref_gp(D, x, c), tol=1e-5)


def test_gradient_penalty_interpolates_per_sample():
    D = TinyD()
    g = torch.Generator().manual_seed(1)
    reals, fakes = torch.randn(6, 2, 3, 3, generator=g), torch.randn(6, 2, 3, 3, generator=g)
    gp = losses.gradient_penalty(D, reals, fakes, generator=torch.Generator().manual_seed(7))
    a = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(7))  # documented: alpha ~ U[0,1] per sample
    close(gp, ref_gp(D, a * reals + (1 - a) * fakes), tol=1e-5)
    # a different alpha draw gives a different penalty (not evaluated only at reals or fakes)
    gp2 = losses.gradient_penalty(D, reals, fakes, generator=torch.Generator().manual_seed(8))
    assert abs(gp.item() - gp2.item()) > 1e-6


@pytest.mark.parametrize("which", ["gp", "r1"])
def test_penalties_train_d(which):
    """create_graph=True: d(penalty)/d(theta) matches finite differences in theta."""
    D = TinyD()
    x = torch.randn(4, 2, 3, 3, generator=torch.Generator().manual_seed(2))

    def pen():
        return losses.gradient_penalty(D, x, x) if which == "gp" else losses.r1_penalty(D, x)

    pen().backward()
    for p in (D.w1, D.b, D.w2):
        assert p.grad is not None and p.grad.abs().sum() > 0
        flat = p.data.view(-1)
        for i in range(0, flat.numel(), max(1, flat.numel() // 4)):
            old = flat[i].item()
            # the penalty is float32 (x is): a step of 3e-3 keeps rounding and truncation ~1e-5
            flat[i] = old + 3e-3
            up = pen().item()
            flat[i] = old - 3e-3
            down = pen().item()
            flat[i] = old
            fd = (up - down) / 6e-3
            assert abs(p.grad.view(-1)[i].item() - fd) < 1e-3 * max(1.0, abs(fd)), (p.shape, i)


class BfD(nn.Module):
    """A float32 D whose linear layers autocast would run in bf16."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.l1, self.l2 = nn.Linear(48, 64), nn.Linear(64, 1)

    def forward(self, x, c=None):
        return self.l2(torch.tanh(self.l1(x.flatten(1)))).flatten()


def test_penalties_exact_under_bf16_autocast():
    D = BfD()
    x = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(0)).bfloat16()
    want_r1, want_gp = losses.r1_penalty(D, x.float()), losses.gradient_penalty(D, x.float(), x.float())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert D(x.float()).dtype == torch.bfloat16  # autocast is really active for this D
        r1, gp = losses.r1_penalty(D, x), losses.gradient_penalty(D, x, x)
        # what a naive penalty under autocast would give: visibly off
        xi = x.float().requires_grad_(True)
        (naive,) = torch.autograd.grad(D(xi).sum(), xi)
    assert r1.dtype == torch.float32 and gp.dtype == torch.float32
    assert torch.allclose(r1, want_r1, rtol=1e-6) and torch.allclose(gp, want_gp, rtol=1e-6)
    naive_r1 = naive.float().square().flatten(1).sum(1).mean()
    assert not torch.allclose(naive_r1, want_r1, rtol=1e-4)
    r1.backward()
    assert D.l1.weight.grad is not None and D.l1.weight.grad.dtype == torch.float32


@pytest.mark.parametrize("target", [1.0, 750.0, 0.3])
def test_gradient_penalty_target_matches_direct_computation(target):
    """Progressive GAN's form lambda * (||g|| - t)^2 / t^2, against finite-difference grads."""
    D = TinyD()
    g = torch.Generator().manual_seed(3)
    reals, fakes = torch.randn(5, 2, 3, 3, generator=g) * 40, torch.randn(5, 2, 3, 3, generator=g)
    gp = losses.gradient_penalty(D, reals, fakes, generator=torch.Generator().manual_seed(4), target=target)
    a = torch.rand(5, 1, 1, 1, generator=torch.Generator().manual_seed(4))
    norms = fd_input_grads(D, a * reals + (1 - a) * fakes).flatten(1).norm(dim=1)
    close(gp, (((norms - target) ** 2).mean() / target**2).item(), tol=1e-5)
    with pytest.raises(ValueError):
        losses.gradient_penalty(D, reals, fakes, target=0.0)


def test_progan_cifar10_uses_the_official_gp_target():
    from growgan.training.presets import get_preset

    assert get_preset("progan-cifar10").gp_target == 750.0
    assert get_preset("progan-mnist-32").gp_target == 1.0
