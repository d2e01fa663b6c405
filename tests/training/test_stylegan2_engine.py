"""StyleGAN2 on the engine: lazy R1 and path length, style mixing, augmentation (DiffAugment,
ADA) through the penalties' double backward, ADA's adaptive p, and exact resume with the
path-length mean and ADA's p in the checkpoint."""

from __future__ import annotations

import pytest
import torch
from engine_helpers import assert_same, make_archive, tiny_config

from growgan.augment import ada_adjust, ada_augment, diff_augment
from growgan.errors import GrowganError
from growgan.losses import path_length_penalty, r1_penalty
from growgan.networks.registry import build_networks
from growgan.training.checkpoint import load_checkpoint, restore_state
from growgan.training.config import TrainConfig
from growgan.training.loop import Trainer
from growgan.training.state import state_to_dict


@pytest.fixture(scope="module")
def blobs16(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("data") / "blobs16", n=32, channels=3, res=16, labels=False)


def sg2_config(**changes) -> TrainConfig:
    data = {"img_channels": None, "img_resolution": None, "c_dim": None}
    net = {"family": "stylegan2",
           "G": {"z_dim": 8, "w_dim": 8, "mapping_layers": 2, "fmap_base": 32, "fmap_max": 8, **data},
           "D": {"z_dim": 8, "fmap_base": 32, "fmap_max": 8, **data}}
    base = dict(network=net, r1_gamma=0.1, r1_interval=2, pl_weight=2.0, pl_interval=2, betas_G=(0.0, 0.99),
                betas_D=(0.0, 0.99), lr_G=2e-3, lr_D=2e-3)
    base.update(changes)
    return tiny_config(**base)


# ---------------------------------------------------------------------------- pure functions
def test_ada_p_rises_on_an_overfitting_d_and_falls_on_an_underfitting_one():
    p = torch.tensor(0.5)
    n = torch.tensor(64.0)
    up = ada_adjust(p, torch.tensor(64.0), n, 0.6, 64, ada_kimg=1.0)  # D says "real" to every real: r_t = 1
    down = ada_adjust(p, torch.tensor(-64.0), n, 0.6, 64, ada_kimg=1.0)  # r_t = -1
    assert torch.isclose(up, torch.tensor(0.5 + 64 / 1000)) and torch.isclose(down, torch.tensor(0.5 - 64 / 1000))
    assert ada_adjust(torch.tensor(1.0), n, n, 0.6, 64, 0.001) == 1 and ada_adjust(torch.tensor(0.0), -n, n, 0.6, 64, 0.001) == 0


@pytest.mark.parametrize("kind", ["overfit", "underfit"])
def test_ada_p_follows_d_in_training(kind, blobs16, monkeypatch):
    """An engine run whose D logits are shifted far positive (it calls every real real: an
    overfitting D) raises p; shifted far negative (underfitting) lowers it from 0.5."""
    cfg = sg2_config(augment="ada", ada_p=0.5, ada_interval=1, ada_kimg=1.0, pl_weight=0.0, r1_gamma=0.0)
    tr = Trainer(cfg, blobs16, verbose=False)
    D = tr.state.D
    shift = 100.0 if kind == "overfit" else -100.0
    orig = D.forward
    monkeypatch.setattr(D, "forward", lambda x, c=None: orig(x, c) + shift)
    tr.train_until(4 * cfg.batch_size)
    p = float(tr.state.ada_p)
    assert p == pytest.approx(0.5 + 4 * 8 / 1000, abs=1e-6) if kind == "overfit" else p == pytest.approx(0.5 - 4 * 8 / 1000, abs=1e-6)


@pytest.mark.parametrize("aug", ["diffaug", "ada"])
def test_augmentations_are_differentiable_twice_and_random(aug):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 16, 16, generator=g) * 2 - 1
    fn = (lambda t: diff_augment(t, gen=g)) if aug == "diffaug" else (lambda t: ada_augment(t, 1.0, gen=g))
    y = fn(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    spec = {"family": "stylegan2", "G": {"z_dim": 8, "img_resolution": [16, 16], "fmap_base": 32, "fmap_max": 8},
            "D": {"z_dim": 8, "img_resolution": [16, 16], "fmap_base": 32, "fmap_max": 8}}
    _, D = build_networks(spec)
    pen = r1_penalty(lambda t, c=None: D(fn(t), c), x)
    pen.backward()
    assert pen > 0 and all(p.grad is not None and torch.isfinite(p.grad).all() for n, p in D.named_parameters() if n.endswith("weight"))


def test_ada_with_p_zero_is_the_identity():
    x = torch.rand(3, 3, 8, 8) * 2 - 1
    assert torch.allclose(ada_augment(x, 0.0, gen=torch.Generator().manual_seed(0)), x, atol=1e-5)
    x1 = torch.rand(3, 1, 8, 8) * 2 - 1
    assert torch.allclose(ada_augment(x1, 0.0, gen=torch.Generator().manual_seed(0)), x1, atol=1e-5)


def test_path_length_penalty_definition():
    spec = {"family": "stylegan2", "G": {"z_dim": 8, "w_dim": 8, "mapping_layers": 2, "img_resolution": [8, 8],
                                          "fmap_base": 32, "fmap_max": 8, "style_mixing_prob": 0.0},
            "D": {"z_dim": 8, "img_resolution": [8, 8], "fmap_base": 32, "fmap_max": 8}}
    G, _ = build_networks(spec)
    z = torch.randn(4, 8)
    mean0 = torch.tensor(0.3)
    torch.manual_seed(1)
    pen, mean = path_length_penalty(G, z, None, mean0, decay=0.01, generator=torch.Generator().manual_seed(5))
    # independently: J^T y per sample by autograd on the synthesis, with the same noise draw
    torch.manual_seed(1)
    ws = G.sample_ws(z).detach().requires_grad_(True)
    img = G.synthesis(ws)
    y = torch.randn(img.shape, generator=torch.Generator().manual_seed(5)) / 8.0
    (g,) = torch.autograd.grad((img * y).sum(), ws)
    a = g.square().sum(2).mean(1).sqrt()
    m = 0.3 + 0.01 * (a.mean() - 0.3)
    assert torch.isclose(mean, m, atol=1e-6) and torch.isclose(pen, (a - m).square().mean(), atol=1e-6)
    assert mean0 == 0.3  # pure: the input mean is not modified
    _, Dc = build_networks(tiny_config().network | {"G": {"z_dim": 8, "img_resolution": 32, "img_channels": 1},
                                                     "D": {"z_dim": 8, "img_resolution": 32, "img_channels": 1}})
    with pytest.raises(GrowganError, match="style-based"):
        path_length_penalty(Dc, z, None, mean0)


# ---------------------------------------------------------------------------- engine
@pytest.mark.parametrize("aug", ["ada", "diffaug"])
def test_exact_resume_with_augmentation_path_length_and_r1(aug, blobs16, tmp_path):
    cfg = sg2_config(augment=aug, ada_p=0.2, ada_interval=1, ada_kimg=0.5, xflip=True)
    per = cfg.batch_size
    full = Trainer(cfg, blobs16, verbose=False)
    full.train_until(6 * per)
    first = Trainer(cfg, blobs16, run_dir=tmp_path, verbose=False)
    first.train_until(3 * per)
    path = first.last_checkpoint
    del first
    torch.manual_seed(999)
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_dict(ckpt["config"])
    state = restore_state(ckpt, config, "cpu", path)
    second = Trainer(config, blobs16, state=state, run_dir=tmp_path, resume=ckpt["extra"], verbose=False)
    second.train_until(6 * per)
    assert_same(state_to_dict(full.state), state_to_dict(second.state))
    assert full.state.pl_mean > 0  # the path-length mean moved and was restored
    if aug == "ada":
        assert float(full.state.ada_p) != 0.2  # p adapted, and resumed exactly
        assert float(ckpt["state"]["ada_p"]) != 0.2


def test_conditional_stylegan2_trains(tmp_path):
    arch = make_archive(tmp_path / "lab", n=16, channels=1, res=16, labels=True)
    cfg = sg2_config(augment="diffaug")
    tr = Trainer(cfg, arch, verbose=False)
    assert tr.state.G.c_dim == 0
    net = cfg.network
    for part in ("G", "D"):
        net[part]["c_dim"] = 4
    tr = Trainer(cfg.copy(network=net), arch, verbose=False)
    tr.train_until(16)
    assert tr.state.G.c_dim == 4 and torch.isfinite(tr.state.pl_mean)


def test_bad_augment_keys_are_one_line():
    with pytest.raises(GrowganError, match="augment"):
        TrainConfig.from_dict({"augment": "mixup"})
    with pytest.raises(GrowganError, match="diffaug_policy"):
        TrainConfig.from_dict({"diffaug_policy": ["color", "zoom"]})


def test_gdpp_loss_definition_and_training():
    import numpy as np

    from growgan.losses import gdpp_loss

    g = torch.Generator().manual_seed(0)
    pf, pr = torch.randn(6, 9, generator=g, dtype=torch.float64), torch.randn(6, 9, generator=g, dtype=torch.float64)

    def eig(p):  # numpy, independent of torch; eigenvectors signed: largest-magnitude entry > 0
        p = p.numpy() / np.linalg.norm(p.numpy(), axis=1, keepdims=True)
        vals, vecs = np.linalg.eigh(p @ p.T)
        return vals, vecs * np.sign(vecs[np.abs(vecs).argmax(0), np.arange(len(vals))])

    (lf, vf), (lr, vr) = eig(pf), eig(pr)
    w = (lr - lr.min()) / (lr.max() - lr.min())
    want = 1e-4 * np.mean((lf - lr) ** 2) + np.sum(w * -(vf * vr).sum(0))
    assert float(gdpp_loss(pf, pr)) == pytest.approx(want, rel=1e-5)
    # identical features: magnitude term 0, structure term -sum(weights)
    assert float(gdpp_loss(pr, pr)) == pytest.approx(-w.sum(), rel=1e-5)


def test_gdpp_and_path_length_in_the_engine_and_their_config_checks(blobs16):
    cfg = sg2_config(gdpp_weight=1.0)
    tr = Trainer(cfg, blobs16, verbose=False)
    tr.step()  # one iteration; its summed statistics are read at the next log tick
    assert "loss/gdpp" in tr._sums and torch.isfinite(tr._sums["loss/gdpp"])
    with pytest.raises(GrowganError, match="pl_weight=2.0 needs a style-based generator"):
        tiny_config(pl_weight=2.0).validate()
    with pytest.raises(GrowganError, match="gdpp_weight=1.0 needs a discriminator with features"):
        tiny_config(gdpp_weight=1.0).validate()
