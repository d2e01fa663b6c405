"""AC-GAN (Odena et al. 2017): D's auxiliary classification loss falls on a toy separable set
with every adversarial loss, and G's step gets the classification term on fakes."""

from __future__ import annotations

import pytest
import torch
from engine_helpers import tiny_config

from growgan.losses import LOSS_KINDS
from growgan.training.state import build_state
from growgan.training.step import StepRunner


def _acgan_config(loss: str, **changes):
    common = {"z_dim": 8, "img_channels": 1, "img_resolution": [32, 32], "fmap_max": 16, "c_dim": 2}
    net = {"family": "dcgan", "G": {**common, "g_channels": 4},
           "D": {**common, "d_channels": 4, "conditioning": "acgan", "batchnorm": False}}
    return tiny_config(network=net, loss=loss, lr_D=2e-3, gp_lambda=0.0, **changes)


def _toy_batch(gen: torch.Generator, n: int = 16):
    """Class 0: dark images, class 1: bright ones (separable by mean intensity), in [-1, 1]."""
    c = torch.arange(n) % 2
    x = torch.rand(n, 1, 32, 32, generator=gen) * 0.5 - 0.9 + c[:, None, None, None].float() * 1.3
    return x, c


@pytest.mark.parametrize("loss", LOSS_KINDS)
def test_auxiliary_loss_falls_on_a_separable_set(loss):
    torch.manual_seed(0)
    cfg = _acgan_config(loss)
    st = build_state(cfg)
    gen = torch.Generator().manual_seed(0)
    runner = StepRunner(cfg, torch.device("cpu"), None, gen, 1)
    runner.wrap(st)
    data_gen = torch.Generator().manual_seed(1)
    real_ce = []
    for i in range(25):
        x, c = _toy_batch(data_gen)
        stats = runner.d_step(st, x, c, d_index=i)
        real_ce.append(float(stats["loss/acgan_real"]))
        assert torch.isfinite(stats["loss/D"])
    first, last = sum(real_ce[:3]) / 3, sum(real_ce[-3:]) / 3
    assert first > 0.5  # about log 2 at the start
    assert last < 0.5 * first, real_ce  # D learned to tell the classes apart
    g_stats = runner.g_step(st, x, c)
    assert "loss/acgan_G" in g_stats and torch.isfinite(g_stats["loss/acgan_G"])


def test_acgan_weight_zero_leaves_the_classifier_untrained():
    torch.manual_seed(0)
    cfg = _acgan_config("hinge", acgan_weight=0.0)
    st = build_state(cfg)
    w0 = st.D.aux.weight.detach().clone()
    runner = StepRunner(cfg, torch.device("cpu"), None, torch.Generator().manual_seed(0), 1)
    runner.wrap(st)
    x, c = _toy_batch(torch.Generator().manual_seed(1))
    runner.d_step(st, x, c, d_index=0)
    assert torch.equal(st.D.aux.weight, w0)


def _ce(logits: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy written out: -log softmax(logits)[c]."""
    logp = logits.double() - torch.logsumexp(logits.double(), dim=1, keepdim=True)
    return -logp[torch.arange(len(c)), c].mean()


def test_step_objectives_are_odenas():
    """Odena et al. 2017, eq. 2-3: D maximises L_S + L_C, G maximises L_C - L_S, with L_C the
    log-likelihood of the right class on reals and fakes (D) and on fakes (G). With the
    non-saturating loss the losses minimised are, written out here from the definition:
    D: softplus(-D(x)) + softplus(D(G(z))) + w * (CE(real) + CE(fake)); G: softplus(-D(G(z)))
    + w * CE(fake), each a batch mean; G's step updates G only."""
    torch.manual_seed(0)
    w = 0.7
    cfg = _acgan_config("nonsaturating", acgan_weight=w)
    st = build_state(cfg)
    gen = torch.Generator().manual_seed(0)
    runner = StepRunner(cfg, torch.device("cpu"), None, gen, 1)
    runner.wrap(st)
    seen = []
    runner._backward_step = lambda _st, loss, _opt, net: seen.append((loss.detach().double(), net))
    x, c = _toy_batch(torch.Generator().manual_seed(1))
    c[:3] = torch.tensor([1, 0, 1])  # labels that differ from the images' classes on a few reals

    def replay(state):  # the latents the step draws next, from the same generator state
        return torch.randn(x.shape[0], st.G.z_dim, generator=torch.Generator().set_state(state))

    sp = torch.nn.functional.softplus
    state = gen.get_state()
    runner.d_step(st, x, c, d_index=1)
    with torch.no_grad():
        fakes = st.G(replay(state), c)
        real, real_cls = st.D(x).double(), st.D.class_logits
        fake, fake_cls = st.D(fakes).double(), st.D.class_logits
    want_d = sp(-real).mean() + sp(fake).mean() + w * (_ce(real_cls, c) + _ce(fake_cls, c))
    (loss_d, net_d), = seen
    assert net_d is st.D
    assert torch.allclose(loss_d, want_d, atol=1e-5), (loss_d, want_d)

    state = gen.get_state()
    runner.g_step(st, x, c)
    with torch.no_grad():
        fakes = st.G(replay(state), c)
        fake, fake_cls = st.D(fakes).double(), st.D.class_logits
    want_g = sp(-fake).mean() + w * _ce(fake_cls, c)
    loss_g, net_g = seen[1]
    assert net_g is st.G
    assert torch.allclose(loss_g, want_g, atol=1e-5), (loss_g, want_g)
