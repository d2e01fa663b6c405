"""The CycleGAN task on the engine: exact resume of all of its state (G_AB, G_BA, D_A, D_B, two
optimizers, two history pools, the LR decay), losses wired as defined, grids A -> B -> A."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_helpers import assert_same

from growgan.data.paired import write_translation_archive
from growgan.errors import GrowganError
from growgan.training.checkpoint import load_checkpoint, restore_state
from growgan.training.config import TrainConfig
from growgan.training.loop import Trainer
from growgan.training.presets_cyclegan import cyclegan_config, cyclegan_network
from growgan.training.state import state_to_dict

BATCH = 4


def make_unpaired_archive(path, n_a: int = 20, n_b: int = 28, res: int = 16, channels: int = 1):
    """A: blobs (gray), B: squares, at random places: two learnable unpaired domains."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:res, 0:res]
    a = np.zeros((n_a, channels, res, res), np.uint8)
    b = np.zeros((n_b, channels, res, res), np.uint8)
    for i in range(n_a):
        cy, cx = rng.integers(3, res - 3, size=2)
        a[i] = (np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 6.0) * 255).astype(np.uint8)[None]
    for i in range(n_b):
        t, l = rng.integers(0, res - 6, size=2)
        b[i, :, t : t + 6, l : l + 6] = 220
    return write_translation_archive(path, "unpaired", a, b, {"source": "test blobs/squares"})


def tiny_cyclegan_config(**changes) -> TrainConfig:
    net = cyclegan_network(n_blocks=1, ngf=4, ndf=4, n_layers=1)
    base = dict(name="tiny-cyclegan", batch_size=BATCH, kimg=8 * BATCH / 1000, log_kimg=0.004, grid_kimg=0.016,
                checkpoint_kimg=0.016, grid_size=4, tensorboard=False, report=False)
    base.update(changes)
    cfg = cyclegan_config(net, **base)
    return cfg.copy(task={**cfg.task, "pool_size": 3})  # full after one batch: the pool's coins are in play


@pytest.fixture
def unpaired(tmp_path):
    return make_unpaired_archive(tmp_path / "unpaired")


def test_k_steps_resume_k_steps_equals_2k_steps(unpaired, tmp_path):
    cfg = tiny_cyclegan_config()
    full = Trainer(cfg, unpaired, verbose=False)
    full.train_until(8 * BATCH)

    first = Trainer(cfg, unpaired, run_dir=tmp_path, verbose=False)
    first.train_until(4 * BATCH)  # half-way: the LR decay starts here
    path = first.last_checkpoint
    del first
    torch.manual_seed(999)  # disturb the global RNG: resume must restore it
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_dict(ckpt["config"])
    state = restore_state(ckpt, config, "cpu", path)
    second = Trainer(config, unpaired, state=state, run_dir=tmp_path, resume=ckpt["extra"], verbose=False)
    second.train_until(8 * BATCH)
    assert_same(state_to_dict(full.state), state_to_dict(second.state))  # 4 networks (G, D), G_ema, 2 optimizers
    assert_same(full.task.state_dict(), second.task.state_dict())  # both pools and their generators
    assert len(full.task.pools["A"]) == 3 and len(full.task.pools["B"]) == 3
    # the run really trained every network, and the LR decayed over the second half
    fresh = Trainer(cfg, unpaired, verbose=False)
    for name in ("G_AB", "G_BA"):
        w = f"{name}.model.1.weight"
        assert not torch.equal(fresh.state.G.state_dict()[w], full.state.G.state_dict()[w]), name
    for name in ("D_A", "D_B"):
        w = f"{name}.model.0.weight"
        assert not torch.equal(fresh.state.D.state_dict()[w], full.state.D.state_dict()[w]), name
    assert full.flops > 0 and full.flops == second.flops  # FLOPs counted, and carried over by resume
    lr = full.state.opt_G.param_groups[0]["lr"]
    assert lr == pytest.approx(cfg.lr_G * (1 - (7 * BATCH - 4 * BATCH) / (8 * BATCH - 4 * BATCH)))  # set before step 8


def test_generator_loss_is_the_sum_of_its_definitions(unpaired):
    """With identity generators (G_AB = G_BA = id) the cycle and identity terms vanish and
    the G loss is the LSGAN term alone, computed here independently from D's outputs."""
    from growgan.losses import lsgan_g_loss

    cfg = tiny_cyclegan_config()
    tr = Trainer(cfg, unpaired, verbose=False)
    G = tr.state.G
    G.G_AB, G.G_BA = torch.nn.Identity(), torch.nn.Identity()
    batch = tr.task.draw_batch()
    a, b = batch["A"], batch["B"]
    with torch.no_grad():
        want = lsgan_g_loss(tr.state.D.judge_b(a)) + lsgan_g_loss(tr.state.D.judge_a(b))
    terms = tr.task.generator_losses(G, tr.state.D, a, b)
    assert terms["cycle"].item() == 0.0 and terms["identity"].item() == 0.0
    assert terms["total"].item() == pytest.approx(want.item(), rel=1e-6)
    # and a generator that is not the identity pays lambda * mean |x - G(G(x))|
    G.G_AB = G.G_BA = _Shift(0.125)
    terms = tr.task.generator_losses(G, tr.state.D, a, b)
    assert terms["cycle"].item() == pytest.approx(2 * 10 * 0.25, rel=1e-6)  # both cycles shift by 2 x 0.125
    assert terms["identity"].item() == pytest.approx(2 * 10 * 0.5 * 0.125, rel=1e-6)


class _Shift(torch.nn.Module):
    def __init__(self, d: float):
        super().__init__()
        self.d = d

    def forward(self, x):
        return x + self.d


def test_grids_show_a_to_b_to_a(unpaired):
    tr = Trainer(tiny_cyclegan_config(), unpaired, verbose=False)
    grids = tr.task.grid_images(tr.state)
    imgs, cols = grids["a2b2a"]
    assert cols == 3 and tuple(imgs.shape) == (12, 1, 16, 16)
    a = tr.task._grid[0].cpu()
    G = tr.state.G_ema.eval()
    with torch.no_grad():
        torch.testing.assert_close(imgs[0::3], a)  # column 1: the inputs
        torch.testing.assert_close(imgs[1::3], G.a_to_b(a))  # column 2: A -> B
        torch.testing.assert_close(imgs[2::3], G.b_to_a(G.a_to_b(a)))  # column 3: back to A
    assert "b2a2b" in grids


def test_identity_loss_needs_equal_channels(tmp_path):
    rng = np.random.default_rng(1)
    path = write_translation_archive(tmp_path / "mixed", "unpaired", rng.integers(0, 255, (4, 1, 8, 8), dtype=np.uint8),
                                     rng.integers(0, 255, (4, 3, 8, 8), dtype=np.uint8), {})
    with pytest.raises(GrowganError, match="identity_lambda=0.5: .* A has 1 channel\\(s\\) and B 3"):
        Trainer(tiny_cyclegan_config(), path, verbose=False)
    cfg = tiny_cyclegan_config()
    tr = Trainer(cfg.copy(task={**cfg.task, "identity_lambda": 0.0}), path, verbose=False)
    tr.train_until(BATCH)
    assert tr.state.G.channels_a == 1 and tr.state.G.channels_b == 3


def test_cli_train_preset_then_translate_both_ways(tmp_path):
    """`growgan train --preset cyclegan-mnist2fashion` on a tiny unpaired archive, then
    `growgan translate` A -> B and B -> A (the preset's sizes; a few steps, not 1 kimg: see README)."""
    from PIL import Image

    from growgan.cli import main

    data = make_unpaired_archive(tmp_path / "m2f", n_a=12, n_b=12, res=16)
    out = tmp_path / "runs"
    assert main(["train", "--preset", "cyclegan-mnist2fashion", "--data", str(data), "--kimg", "0.016",
                 "--out", str(out), "--quiet", "--set", "grid_kimg=0.008", "--set", "tensorboard=false"]) == 0
    run = next(out.iterdir())
    grids = sorted(p.name for p in (run / "grids").iterdir())
    assert "a2b2a-000000016.png" in grids and "b2a2b-000000016.png" in grids
    assert main(["translate", str(run), "--input", str(data), "--out", str(tmp_path / "ab"), "--quiet"]) == 0
    assert main(["translate", str(run), "--input", str(data), "--direction", "BtoA", "--out", str(tmp_path / "ba"),
                 "--quiet"]) == 0
    assert len(list((tmp_path / "ab").glob("*.png"))) == 12 and len(list((tmp_path / "ba").glob("*.png"))) == 12
    assert Image.open(next((tmp_path / "ab").glob("*.png"))).size == (16, 16)
    assert main(["metrics", str(run), "--data", str(data), "--metrics", "swd", "--num", "12", "--quiet"]) == 0
    assert (run / "metric-swd.jsonl").is_file()


def test_metrics_score_g_ab_outputs_against_domain_b(unpaired):
    from growgan.metrics.api import evaluate_generator
    from growgan.metrics.translation import unpaired_sets

    tr = Trainer(tiny_cyclegan_config(), unpaired, verbose=False)
    G = tr.state.G_ema
    real, fake = unpaired_sets(G, unpaired, num_images=10, seed=0)
    assert (real.num, fake.num) == (10, 10)
    with torch.no_grad():  # the fakes are G_AB of A images, the reals B images
        b_all = torch.from_numpy(np.array(tr.archive.b.images))
        assert all(any(torch.equal(r, x) for x in b_all) for r in real.get(0, 10))
    values = evaluate_generator(G, unpaired, ["swd"], num_images=16, seed=0)
    assert values["swd"] > 0
    with pytest.raises(GrowganError, match="compares each output with its own target"):
        evaluate_generator(G, unpaired, ["l1"], num_images=8, seed=0)


def test_cli_metrics_cycle_error_is_the_round_trip_l1(unpaired, tmp_path, capsys):
    """`growgan metrics RUN --data ARCHIVE --metrics cycle-error` on a trained run equals
    mean |G_BA(G_AB(a)) - a| / 255 (and B -> A -> B) computed here from G_ema's two nets."""
    import json

    from growgan.cli import main
    from growgan.training.checkpoint import load_generator
    from growgan.utils.image import to_uint8

    tr = Trainer(tiny_cyclegan_config(), unpaired, run_dir=tmp_path / "run", verbose=False)
    tr.train_until(4 * BATCH)
    assert main(["metrics", str(tmp_path / "run"), "--data", str(unpaired), "--metrics", "cycle-error",
                 "--num", "100"]) == 0  # more than either side: every image
    row = json.loads((tmp_path / "run" / "metric-cycle_error.jsonl").read_text().splitlines()[-1])["results"]
    G = load_generator(tmp_path / "run")

    def trip(x, there, back):
        f = lambda u: u.float() / 127.5 - 1  # noqa: E731
        with torch.no_grad():
            rec = to_uint8(back(f(to_uint8(there(f(x))))))
        return float((rec.double() - x.double()).abs().mean() / 255)

    a = torch.from_numpy(np.array(tr.archive.a.images))
    b = torch.from_numpy(np.array(tr.archive.b.images))
    want_a, want_b = trip(a, G.G_AB, G.G_BA), trip(b, G.G_BA, G.G_AB)
    assert want_a > 0 and want_b > 0
    assert row["cycle_error_a"] == pytest.approx(want_a, rel=1e-9)
    assert row["cycle_error_b"] == pytest.approx(want_b, rel=1e-9)
    assert "cycle_error" in capsys.readouterr().out
