"""`growgan train --preset stylegan2-*` and `growgan generate --trunc / --style-mix` end to
end on a tiny archive (the preset shrunk by --set, so it runs in seconds), and their one-line
errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import make_archive
from PIL import Image

from growgan.cli import main
from growgan.networks.registry import build_networks
from growgan.training.checkpoint import load_generator
from growgan.training.loop import resolve_network
from growgan.data import open_archive
from growgan.training.presets import get_preset, preset_names

SHRINK = ["--set", "network.G.fmap_base=32", "--set", "network.G.fmap_max=8", "--set", "network.D.fmap_base=32",
          "--set", "network.D.fmap_max=8", "--set", "network.G.z_dim=8", "--set", "network.D.z_dim=8",
          "--set", "network.G.w_dim=8", "--set", "batch_size=8", "--set", "tensorboard=false",
          "--set", "r1_interval=2", "--set", "pl_interval=2", "--set", "augment=ada", "--set", "ada_interval=1",
          "--set", "pl_weight=2"]  # path length is off in the preset (see presets_stylegan2); on here so its state is tested


@pytest.fixture(scope="module")
def sg_run(tmp_path_factory) -> Path:
    data = make_archive(tmp_path_factory.mktemp("d") / "blobs16", n=32, channels=1, res=16, labels=False)
    out = tmp_path_factory.mktemp("runs")
    rc = main(["train", "--preset", "stylegan2-mnist-32", "--data", str(data), "--kimg", "0.032", "--out", str(out),
               "--quiet", *SHRINK])
    assert rc == 0
    (run,) = out.iterdir()
    return run


def test_presets_resolve_against_archives(tmp_path):
    names = [n for n in preset_names() if n.startswith("stylegan2")]
    assert {"stylegan2-mnist-32", "stylegan2-cifar10", "stylegan2-ffhq-1024", "stylegan2-ffhq-256"} <= set(names)
    arch = open_archive(make_archive(tmp_path / "a", n=8, channels=3, res=32, labels=False))
    for name in ("stylegan2-mnist-32", "stylegan2-cifar10"):
        cfg = get_preset(name)
        assert cfg.r1_interval == 16 and cfg.loss == "nonsaturating"
        assert cfg.pl_weight == 0 and cfg.r1_gamma == 0.01  # the module doc says why
        G, D = build_networks(resolve_network(cfg.network, arch))
        assert G.img_resolution == (32, 32) and G.img_channels == 3
    f = get_preset("stylegan2-ffhq-1024")
    assert (f.r1_gamma, f.pl_weight, f.batch_size, f.network["G"]["mapping_layers"]) == (10.0, 2.0, 32, 8)
    # lazy regularisation's Adam correction (paper, appendix B): c = 16/17 for D, 4/5 for G
    assert f.lr_D == pytest.approx(0.002 * 16 / 17) and f.betas_G[1] == pytest.approx(0.99 ** 0.8)



@pytest.mark.parametrize("name,mbstd,arch,mapping,mixing", [
    ("stylegan2-ffhq-1024", 4, "resnet", 8, 0.9),   # train.py cfg 'stylegan2' (config F)
    ("stylegan2-ffhq-512", 8, "resnet", 8, 0.9),    # 'paper512'
    ("stylegan2-ffhq-256", 8, "resnet", 8, 0.9),    # 'paper256'
    ("stylegan2-cifar10-ada", 32, "orig", 2, 0.0),  # 'cifar': mbstd 32, map 2, D architecture 'orig', no mixing
    ("stylegan2-cifar10", 32, "orig", 2, 0.0),      # the CPU preset: the 'cifar' config at smaller widths
])
def test_gpu_presets_follow_stylegan2_ada_configs(name, mbstd, arch, mapping, mixing):
    """The values of stylegan2-ada-pytorch's train.py cfg_specs (mbstd, map) and its cifar
    special case (plain D, no style mixing) for the configs the presets name."""
    net = get_preset(name).network
    assert (net["D"]["mbstd_group_size"], net["D"]["architecture"]) == (mbstd, arch)
    assert (net["G"]["mapping_layers"], net["G"]["style_mixing_prob"]) == (mapping, mixing)

def test_train_run_has_ada_p_and_path_length_in_its_checkpoint(sg_run):
    from growgan.training.checkpoint import latest_checkpoint

    _, ckpt = latest_checkpoint(sg_run)
    assert float(ckpt["state"]["pl_mean"]) > 0 and "ada_p" in ckpt["state"]
    rows = [json.loads(x) for x in (sg_run / "stats.jsonl").read_text().splitlines()]
    assert "augment/p" in rows[-1] and "loss/pl" in rows[-1] and "loss/r1" in rows[-1]


def test_generate_truncation(sg_run, tmp_path, capsys):
    assert main(["generate", str(sg_run), "--num", "4", "--trunc", "0.0", "--out", str(tmp_path / "t0")]) == 0
    imgs = [np.asarray(Image.open(p)) for p in sorted((tmp_path / "t0").iterdir())]
    assert len(imgs) == 4 and all(np.array_equal(imgs[0], im) for im in imgs)  # psi 0: every z -> w_avg
    assert main(["generate", str(sg_run), "--num", "4", "--trunc", "0.5", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size[0] > 16


def test_generate_style_mix_grid(sg_run, tmp_path):
    out = tmp_path / "mix.png"
    assert main(["generate", str(sg_run), "--style-mix", "--num", "3", "--mix-cutoff", "2", "--out", str(out)]) == 0
    grid = np.asarray(Image.open(out))
    # 4x4 cells of 16 px with 2 px padding, magnified x4; the top-left cell is blank (white)
    assert grid.shape[:2] == ((4 * 16 + 5 * 2) * 4,) * 2
    assert (grid[8:8 + 64, 8:8 + 64] == 255).all() and not (grid[8:8 + 64, 80:80 + 64] == 255).all()
    G = load_generator(sg_run)
    assert G.num_ws > 2


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("growgan: error:")
    return err


def test_generate_errors_are_one_line(sg_run, tmp_path, capsys, tiny_archive):
    assert "--trunc" in _error(capsys, ["generate", str(sg_run), "--trunc", "-1", "--out", str(tmp_path / "x.png")])
    assert "psi of a style-based" in _error(capsys, ["generate", str(sg_run), "--trunc", "3", "--out", str(tmp_path / "x.png")])
    # NaN passed both range checks and wrote a grid of NaN images with exit status 0
    assert "--trunc nan" in _error(capsys, ["generate", str(sg_run), "--trunc", "nan", "--out", str(tmp_path / "x.png")])
    # interpolate's psi has generate's range (5 and NaN were taken), and --class needs a conditional G
    for psi in ("nan", "5", "-0.5"):
        assert f"--trunc {float(psi)}" in _error(capsys, ["interpolate", str(sg_run), "--out", str(tmp_path / "w.gif"),
                                                          "--frames", "2", "--trunc", psi])
    assert "--class 5" in _error(capsys, ["interpolate", str(sg_run), "--out", str(tmp_path / "w.gif"), "--frames", "2",
                                          "--class", "5"])
    assert not list(tmp_path.glob("*.gif")) and not (tmp_path / "x.png").exists()
    assert "mix-cutoff" in _error(capsys, ["generate", str(sg_run), "--style-mix", "--mix-cutoff", "0", "--out", str(tmp_path / "x.png")])
    assert ".png" in _error(capsys, ["generate", str(sg_run), "--style-mix", "--out", str(tmp_path / "folder")])
    # a generator that is not style-based
    from engine_helpers import tiny_config
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(tiny_config(tensorboard=False).to_dict()))
    assert main(["train", "--config", str(cfg), "--data", str(tiny_archive), "--kimg", "0.016", "--out", str(tmp_path / "r"), "--quiet"]) == 0
    (run,) = (tmp_path / "r").iterdir()
    assert "style-based" in _error(capsys, ["generate", str(run), "--style-mix", "--out", str(tmp_path / "y.png")])
    assert "style-based" in _error(capsys, ["generate", str(run), "--trunc-cutoff", "2", "--out", str(tmp_path / "y.png")])
    # for a generator that is not style-based, --trunc is BigGAN's z truncation: it works
    assert main(["generate", str(run), "--trunc", "0.7", "--num", "2", "--out", str(tmp_path / "z.png")]) == 0


def test_cli_resume_with_ada_is_bit_exact(tmp_path):
    """growgan train to 2k images == train to k, then --resume to 2k (ADA and path length on)."""
    from engine_helpers import assert_same

    from growgan.training.checkpoint import latest_checkpoint

    data = make_archive(tmp_path / "blobs16", n=32, channels=1, res=16, labels=False)
    base = ["train", "--preset", "stylegan2-mnist-32", "--data", str(data), "--quiet", *SHRINK,
            "--set", "checkpoint_kimg=0.024", "--set", "ada_kimg=0.1", "--set", "ada_p=0.3"]
    assert main([*base, "--kimg", "0.048", "--out", str(tmp_path / "full")]) == 0
    assert main([*base, "--kimg", "0.024", "--out", str(tmp_path / "split")]) == 0
    (run,) = (tmp_path / "split").iterdir()
    assert main(["train", "--resume", str(run), "--kimg", "0.048", "--quiet"]) == 0
    (full,) = (tmp_path / "full").iterdir()
    a, b = latest_checkpoint(full)[1]["state"], latest_checkpoint(run)[1]["state"]
    assert a["images_seen"] == b["images_seen"] == 48
    assert_same(a, b)
    assert float(a["ada_p"]) != 0.3 and float(a["pl_mean"]) > 0


def test_export_torchscript_and_onnx_any_batch(sg_run, tmp_path):
    """The traced graph computes the modulated conv without groups, so it is not tied to the
    batch size it was traced with (2); checked at batch 5."""
    G = load_generator(sg_run)
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = G(z).numpy()
    assert main(["export", str(sg_run), "--format", "torchscript", "--out", str(tmp_path / "G.pt")]) == 0
    with torch.no_grad():
        np.testing.assert_allclose(torch.jit.load(str(tmp_path / "G.pt"))(z).numpy(), want, atol=1e-5)
    onnx = pytest.importorskip("onnx", reason="the onnx package is not installed (pip install onnx onnxscript)")
    from onnx.reference import ReferenceEvaluator

    assert main(["export", str(sg_run), "--format", "onnx", "--out", str(tmp_path / "G.onnx")]) == 0
    onnx.checker.check_model(onnx.load(str(tmp_path / "G.onnx")))
    got = ReferenceEvaluator(str(tmp_path / "G.onnx")).run(["img"], {"z": z.numpy()})[0]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_interpolate_walks_linearly_in_w_by_default_and_slerps_in_z_on_request(sg_run, tmp_path, capsys):
    """growgan interpolate on a stylegan2 run: frame i is synthesis(lerp(w0, w1, i/(F-1))) of the
    seed's latents (computed here from mapping and the documented draws), the ends are
    G(z0), G(z1); --space z walks G(slerp(z0, z1, t)) instead. GIF keeps grayscale exact."""
    import imageio.v3 as iio

    from growgan.training.walk import slerp
    from growgan.utils.image import to_uint8

    G = load_generator(sg_run)
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        w0, w1 = G.mapping(z[:1]), G.mapping(z[1:])
        want_w = [to_uint8(G.synthesis(w0 + t * (w1 - w0), noise_mode="const"))[0, 0].numpy() for t in (0, 0.5, 1)]
        want_z = to_uint8(G(slerp(z[:1], z[1:], 0.5)))[0, 0].numpy()
        ends = to_uint8(G(z))[:, 0].numpy()
    out = tmp_path / "w.gif"
    assert main(["interpolate", str(sg_run), "--out", str(out), "--frames", "3", "--seed", "4", "--upscale", "1"]) == 0
    assert "linear in W" in capsys.readouterr().out
    frames = iio.imread(out, index=None)[..., 0]  # [3, 16, 16]
    np.testing.assert_array_equal(frames[0], ends[0])
    np.testing.assert_array_equal(want_w[0], ends[0])  # synthesis(mapping(z)) is G(z) in eval mode
    np.testing.assert_array_equal(frames[2], ends[1])
    assert np.abs(frames[1].astype(int) - want_w[1]).max() <= 1  # float rounding of the lerp
    out_z = tmp_path / "z.gif"
    assert main(["interpolate", str(sg_run), "--out", str(out_z), "--frames", "3", "--seed", "4", "--upscale", "1",
                 "--space", "z"]) == 0
    fz = iio.imread(out_z, index=None)[..., 0]
    assert np.abs(fz[1].astype(int) - want_z).max() <= 1 and np.array_equal(fz[0], ends[0])
    assert not np.array_equal(fz[1], frames[1])  # the two walks differ in the middle
    # truncation applies to W walks only
    assert "--trunc" in _error(capsys, ["interpolate", str(sg_run), "--out", str(tmp_path / "t.gif"), "--space", "z",
                                        "--trunc", "0.5"])


@pytest.mark.parametrize("key", ["network.G.num_fp16_res=-1", "network.D.conv_clamp=-1",
                                 "network.G.style_mixing_prob=1.5"])
def test_dry_run_refuses_what_the_run_refuses(key, tmp_path, capsys):
    """`--dry-run --data` printed the config for values the real run then refused (the ranges
    live in the constructors); it now builds G and D on the meta device, so both say the same."""
    data = make_archive(tmp_path / "blobs16", n=8, channels=1, res=16, labels=False)
    argv = ["train", "--preset", "stylegan2-mnist-32", "--data", str(data), "--set", key]
    err = _error(capsys, argv + ["--dry-run"])
    assert _error(capsys, argv + ["--out", str(tmp_path / "runs"), "--kimg", "0.008"]) == err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    assert key.split(".")[-1] in err  # the key that is wrong is named (style_mixing_prob's error named three)
    assert main(["train", "--preset", "stylegan2-mnist-32", "--data", str(data), "--dry-run"]) == 0
