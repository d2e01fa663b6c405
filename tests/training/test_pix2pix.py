"""The Pix2Pix task on the engine: exact resume (task RNG, dropout, lr decay), grids, the
loss definition, config refusals, and the CLI: train --preset pix2pix-edges2fashion, then
translate a folder, an image and a paired archive."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import assert_same
from paired_helpers import make_paired_archive, tiny_pix2pix_config

from growgan.errors import GrowganError
from growgan.growth import build_trainer
from growgan.training.checkpoint import load_checkpoint, restore_state
from growgan.training.config import TrainConfig
from growgan.training.state import state_to_dict
from growgan.utils.image import to_float

@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    return make_paired_archive(tmp_path_factory.mktemp("pairs") / "p")


def test_k_steps_resume_k_steps_equals_2k_steps(pairs, tmp_path):
    cfg = tiny_pix2pix_config(kimg=0.048)  # lr decays from 24 images on: resume must land on the same rates
    per_step = cfg.batch_size
    full = build_trainer(cfg, pairs, verbose=False)
    full.train_until(8 * per_step)

    first = build_trainer(cfg, pairs, run_dir=tmp_path, verbose=False)
    first.train_until(4 * per_step)
    path = first.last_checkpoint
    del first
    torch.manual_seed(999)  # disturb the global RNG (dropout draws from the trainer's own stream)
    ckpt = load_checkpoint(path)
    assert ckpt["extra"]["task"][0]["aug_gen"].dtype == torch.uint8  # the jitter generator's state is saved
    config = TrainConfig.from_dict(ckpt["config"])
    state = restore_state(ckpt, config, "cpu", path)
    second = build_trainer(config, pairs, state=state, run_dir=tmp_path, resume=ckpt["extra"], verbose=False)
    second.train_until(8 * per_step)
    assert_same(state_to_dict(full.state), state_to_dict(second.state))
    fresh = build_trainer(cfg, pairs, verbose=False)
    w = "net.down.1.1.weight"
    assert not torch.equal(fresh.state.G.state_dict()[w], full.state.G.state_dict()[w])
    # the learning rate falls linearly over the second half: set before the last step, at 28 images seen
    start, total = 0.5 * 48, 48
    assert full.state.opt_G.param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - (28 - start) / (total - start)))


def test_the_d_and_g_losses_are_the_papers(pairs, monkeypatch):
    """One iteration's statistics against the definition: D = 0.5 * (softplus(-D(A,B)) + softplus(D(A,G(A)))),
    G's L1 = mean |G(A) - B|, both with the networks as they were before the updates."""
    import copy
    import torch.nn.functional as F

    tr = build_trainer(tiny_pix2pix_config(xflip=False, task={"kind": "pix2pix", "jitter": 0}), pairs, verbose=False)
    G0, D0 = copy.deepcopy(tr.state.G), copy.deepcopy(tr.state.D)
    batch = tr.task.draw_batch()
    A, B = batch["A"], batch["B"]
    rng = torch.get_rng_state()
    d_stats = tr.task.d_step(tr.state, batch, 0, last=True)
    torch.set_rng_state(rng)  # the same dropout draws for the reference forward
    fake = G0(A)
    want_d = 0.5 * (F.softplus(-D0(B, A)).mean() + F.softplus(D0(fake, A)).mean())
    assert float(d_stats["loss/D"]) == pytest.approx(float(want_d.detach()), rel=1e-5)
    g_stats = tr.task.g_step(tr.state, batch)
    assert float(g_stats["loss/L1"]) == pytest.approx(float((fake - B).abs().mean().detach()), rel=1e-5)


def test_grids_show_input_output_target(pairs):
    tr = build_trainer(tiny_pix2pix_config(), pairs, verbose=False)
    grids = tr.task.grid_images(tr.state)
    imgs, ncols = grids["translate"]
    assert ncols == 3 and imgs.shape[0] == 3 * 4 and imgs.shape[1] == 3  # 4 pairs (grid_size), gray A shown as RGB
    from growgan.data.paired import open_paired_archive

    data = open_paired_archive(pairs)
    a, b = data.batch(np.unique(np.linspace(0, data.num - 1, 4).round().astype(np.int64)))
    assert torch.equal(imgs[0::3], to_float(a).expand(-1, 3, -1, -1))
    assert torch.equal(imgs[2::3], to_float(b))
    tr.state.G_ema.eval()
    with torch.no_grad():
        assert torch.allclose(imgs[1::3], tr.state.G_ema(to_float(a)))
    assert torch.equal(tr.task.grid_images(tr.state)["translate"][0], imgs)  # fixed inputs, no randomness


@pytest.mark.parametrize("change,match", [
    (dict(task=None), "translates images; set task.kind"),
    (dict(gp_lambda=10.0), "gp_lambda=10.0 is not supported by task.kind=pix2pix"),
    (dict(augment="diffaug"), "augment='diffaug' is not supported"),
    (dict(metrics=["l1", "cycle_error"]), "metrics: cycle_error needs a two-way run"),
])
def test_settings_the_task_cannot_honour_are_refused_at_config_time(change, match):
    with pytest.raises(GrowganError, match=match):
        tiny_pix2pix_config(**change).validate()


def test_a_latent_family_with_the_pix2pix_task_is_refused():
    from engine_helpers import tiny_config

    with pytest.raises(GrowganError, match="generates from latents"):
        tiny_config(task={"kind": "pix2pix"}).validate()


def test_a_crop_the_unet_cannot_map_is_refused_before_training(pairs):
    with pytest.raises(GrowganError, match="divisible by 8; set task.crop"):
        build_trainer(tiny_pix2pix_config(task={"kind": "pix2pix", "crop": [12, 20]}), pairs, verbose=False)


class _Result:
    def __init__(self, returncode: int, out: str, err: str):
        self.returncode, self.stdout, self.stderr = returncode, out, err


@pytest.fixture
def run_cli(capsys):
    """growgan's main() in process (what `python -m growgan` runs), with its exit status and output."""
    from growgan.cli import main

    def run(args):
        capsys.readouterr()
        rc = main(list(args))
        out = capsys.readouterr()
        return _Result(rc, out.out, out.err)

    return run


def test_cli_train_preset_then_translate(tmp_path, run_cli):
    """growgan train --preset pix2pix-edges2fashion --kimg 1 (widths shrunk to stay fast), then
    growgan translate on a folder, one image and the paired archive with metrics."""
    pairs = make_paired_archive(tmp_path / "pairs", n=16, res=(32, 32), channels_a=1, channels_b=1)
    r = run_cli(["train", "--preset", "pix2pix-edges2fashion", "--data", str(pairs), "--kimg", "1", "--out",
              str(tmp_path / "runs"), "--quiet", "--set", "network.G.ngf=4", "--set", "network.D.ndf=4",
              "--set", "network.G.fmap_max=16", "--set", "network.D.fmap_max=16", "--set", "batch_size=32"])
    assert r.returncode == 0, r.stderr
    run = next((tmp_path / "runs").iterdir())
    assert sorted(p.name for p in (run / "grids").iterdir())[-1] == "translate-000001024.png"
    inputs = tmp_path / "edges"
    (inputs / "sub").mkdir(parents=True)
    from growgan.utils.image import save_image

    save_image(torch.full((1, 32, 64), 255, dtype=torch.uint8), inputs / "wide.png")  # non-square, divisible by 32
    save_image(torch.zeros((3, 32, 32), dtype=torch.uint8), inputs / "sub" / "colour.jpg")  # converted to 1 channel
    r = run_cli(["translate", str(run), "--input", str(inputs), "--out", str(tmp_path / "out"), "--quiet"])
    assert r.returncode == 0, r.stderr
    from PIL import Image

    assert Image.open(tmp_path / "out" / "wide.png").size == (64, 32)
    assert Image.open(tmp_path / "out" / "sub" / "colour.png").size == (32, 32)
    r = run_cli(["translate", str(run), "--input", str(inputs / "wide.png"), "--out", str(tmp_path / "one"), "--quiet"])
    assert r.returncode == 0 and sorted(os.listdir(tmp_path / "one")) == ["wide.png"]
    r = run_cli(["translate", str(run), "--input", str(pairs), "--out", str(tmp_path / "arch"), "--metrics", "l1,ms-ssim-paired",
              "--quiet"])
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "arch").glob("*.png"))) == 16 and (tmp_path / "arch" / "metrics.json").is_file()
    import json

    l1 = json.loads((tmp_path / "arch" / "metrics.json").read_text())["l1"]
    r = run_cli(["metrics", str(run), "--data", str(pairs), "--metrics", "l1", "--num", "16"])  # the same 16 pairs
    assert r.returncode == 0, r.stderr
    row = json.loads((run / "metric-l1.jsonl").read_text().splitlines()[-1])
    assert row["value"] == pytest.approx(l1, rel=1e-12) and 0 < l1 < 1


def test_translate_refuses_bad_inputs_in_one_line_and_writes_nothing(tmp_path, pairs, run_cli):
    cfg = tiny_pix2pix_config()
    run = tmp_path / "run"
    tr = build_trainer(cfg, pairs, run_dir=run, verbose=False)
    tr.train_until(8)
    from growgan.utils.image import save_image

    bad = tmp_path / "bad"
    bad.mkdir()
    save_image(torch.zeros((1, 16, 16), dtype=torch.uint8), bad / "a.png")
    save_image(torch.zeros((1, 12, 16), dtype=torch.uint8), bad / "b.png")  # 12 rows: not divisible by 8
    r = run_cli(["translate", str(run), "--input", str(bad), "--out", str(tmp_path / "o"), "--quiet"])
    assert r.returncode == 2 and "divisible by 8" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    r = run_cli(["translate", str(run), "--input", str(bad / "a.png"), "--out", str(tmp_path / "o"), "--direction", "BtoA"])
    assert r.returncode == 2 and "learns A -> B only" in r.stderr and not (tmp_path / "o").exists()
    r = run_cli(["generate", str(run), "--out", str(tmp_path / "g.png")])
    assert r.returncode == 2 and "use growgan translate" in r.stderr


def test_periodic_metrics_score_translations_against_the_paired_targets(pairs, tmp_path):
    import json

    cfg = tiny_pix2pix_config(metrics=["l1", "swd"], metrics_num_images=16, kimg=0.016)
    tr = build_trainer(cfg, pairs, run_dir=tmp_path, verbose=False)
    tr.train_until(16)
    row = json.loads((tmp_path / "metric-l1.jsonl").read_text().splitlines()[-1])
    assert row["images_seen"] == 16 and 0 < row["value"] < 1
    from growgan.data.paired import open_paired_archive
    from growgan.metrics.translation import paired_sets

    real, fake = paired_sets(tr.state.G_ema, pairs, 16, seed=cfg.seed)  # the same pairs, scored by hand
    want = (fake.get(0, 16).double() - real.get(0, 16).double()).abs().mean().item() / 255
    assert row["value"] == pytest.approx(want, rel=1e-9) and real.num == min(16, open_paired_archive(pairs).num)


def test_flops_of_an_iteration_are_counted_without_touching_the_run(pairs):
    """The engine's FLOP counter: one D step + one G step on a copy, at least the convolutions
    of G's forward (counted independently) and no change to the networks or the RNG."""
    import copy

    from growgan.training.flops import count_flops

    tr = build_trainer(tiny_pix2pix_config(), pairs, verbose=False)
    before = copy.deepcopy(state_to_dict(tr.state))
    rng = torch.get_rng_state()
    flops = tr.task.iteration_flops(tr.state, 4, False)
    assert_same(before, state_to_dict(tr.state))
    assert torch.equal(rng, torch.get_rng_state())
    g_forward = count_flops(lambda: tr.state.G(torch.zeros(4, 1, 16, 24)))[1]
    assert flops > 3 * g_forward  # G forward + backward, D forwards and backwards
    tr.train_until(8)
    assert tr.flops == 2 * flops


def test_tensorboard_gets_the_task_losses_and_metrics(pairs, tmp_path):
    """A Pix2Pix run with tensorboard=true: every numeric stats.jsonl column of the task's steps
    (loss/D, loss/G, loss/L1, D/real, D/fake) is a TensorBoard scalar with the same values, and
    the periodic metric l1 is one too (metrics/l1)."""
    import json

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_pix2pix_config(tensorboard=True, metrics=["l1"], metrics_num_images=8, kimg=0.016)
    tr = build_trainer(cfg, pairs, run_dir=tmp_path, verbose=False)
    tr.train_until(16)
    tr.log.close()  # flush the events
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    rows = [json.loads(x) for x in (tmp_path / "stats.jsonl").read_text().splitlines()]
    for key in ("loss/D", "loss/G", "loss/L1", "D/real", "D/fake"):
        assert key in tags, key
        got = {e.step: e.value for e in acc.Scalars(key)}
        assert got == {r["images_seen"]: pytest.approx(r[key], rel=1e-6) for r in rows}, key
    l1 = json.loads((tmp_path / "metric-l1.jsonl").read_text().splitlines()[-1])
    assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in acc.Scalars("metrics/l1")] == [(16, l1["value"])]


def test_translation_metrics_on_a_generation_run_are_refused_at_config_time():
    from engine_helpers import tiny_config

    for name in ("l1", "ms-ssim-paired", "cycle-error"):
        with pytest.raises(GrowganError, match=f"metrics: {name} scores a translation run"):
            tiny_config(metrics=[name]).validate()


@pytest.mark.parametrize("preset", ["pix2pix-edges2fashion", "cyclegan-mnist2fashion"])
def test_the_builtin_image_data_on_a_translation_preset_is_refused_with_the_prepare_command(tmp_path, run_cli, monkeypatch,
                                                                                            preset):
    """`--data builtin` is one image archive: a translation preset says so and names a prepare
    command (instead of suggesting an archive to be created under the name 'builtin'), in one
    line, exit 2, with nothing written."""
    monkeypatch.chdir(tmp_path)
    for extra in (["--dry-run"], ["--kimg", "0.01", "--out", "runs"]):
        r = run_cli(["train", "--preset", preset, "--data", "builtin", *extra])
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "built-in data is one image archive" in r.stderr and "growgan dataset prepare " in r.stderr
        assert "--out builtin" not in r.stderr
    assert list(tmp_path.iterdir()) == []
