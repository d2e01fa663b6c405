"""`growgan export`: TorchScript, ONNX and safetensors files of a run's generator, each loaded
back by its own reader and compared with the original G_ema on fixed latents."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from growgan.cli import main
from growgan.networks.registry import build_generator
from growgan.training.checkpoint import load_generator
from growgan.training.export import load_safetensors_generator


def _want(G, z):
    with torch.no_grad():
        return G(z).numpy()


@pytest.fixture(scope="module")
def latents():
    return torch.randn(5, 8, generator=torch.Generator().manual_seed(7))  # z_dim 8, a batch size never exported


def test_torchscript_export_matches_g_ema(progan_run, tmp_path, latents, capsys):
    out = tmp_path / "G.pt"
    assert main(["export", str(progan_run), "--format", "torchscript", "--out", str(out)]) == 0
    assert "checked" in capsys.readouterr().out
    G = load_generator(progan_run)  # G_ema by default
    assert 0 < G.alpha <= 1 and G.img_resolution == (16, 16)
    with torch.no_grad():
        got = torch.jit.load(str(out))(latents).numpy()
    np.testing.assert_allclose(got, _want(G, latents), atol=1e-5)


def test_safetensors_export_is_the_weights_and_spec_without_pickle(progan_run, tmp_path, latents):
    from safetensors import safe_open

    out = tmp_path / "G.safetensors"
    assert main(["export", str(progan_run), "--format", "safetensors", "--out", str(out), "--raw"]) == 0
    G_raw, G_ema = load_generator(progan_run, ema=False), load_generator(progan_run)
    with safe_open(str(out), framework="pt") as f:  # read with safetensors' own reader
        meta, weights = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    spec = json.loads(meta["growgan_spec"])
    assert spec["family"] == "progan" and float(meta["alpha"]) == G_raw.alpha
    assert weights.keys() == G_raw.state_dict().keys()
    assert all(torch.equal(weights[k], v) for k, v in G_raw.state_dict().items())
    rebuilt = build_generator(spec)
    rebuilt.load_state_dict(weights)
    rebuilt.alpha = float(meta["alpha"])
    np.testing.assert_allclose(_want(rebuilt.eval(), latents), _want(G_raw, latents), atol=0)
    np.testing.assert_allclose(_want(load_safetensors_generator(out), latents), _want(G_raw, latents), atol=0)
    assert not np.allclose(_want(G_ema, latents), _want(G_raw, latents))  # --raw exported G, not G_ema


def test_onnx_export_matches_g_ema(progan_run, tmp_path, latents):
    onnx = pytest.importorskip("onnx", reason="the onnx package is not installed (pip install onnx onnxscript)")
    from onnx.reference import ReferenceEvaluator

    out = tmp_path / "G.onnx"
    assert main(["export", str(progan_run), "--format", "onnx", "--out", str(out)]) == 0
    onnx.checker.check_model(onnx.load(str(out)))
    got = ReferenceEvaluator(str(out)).run(["img"], {"z": latents.numpy()})[0]  # batch 5: the axis is dynamic
    np.testing.assert_allclose(got, _want(load_generator(progan_run), latents), atol=1e-4)


def test_export_mistakes_are_one_line(progan_run, tmp_path, capsys):
    cases = [
        (["export", str(progan_run), "--format", "pickle", "--out", str(tmp_path / "g.pkl")], "choose from torchscript"),
        (["export", str(tmp_path / "nope"), "--format", "onnx", "--out", str(tmp_path / "g.onnx")], "checkpoint not found"),
        (["export", str(progan_run), "--format", "onnx", "--out", str(tmp_path)], "is a folder"),
        (["export", str(progan_run), "--format", "onnx", "--out", str(tmp_path / "g.pt")], "name the file g.onnx"),
        (["export", str(progan_run), "--out", str(tmp_path / "g.bin")], "give --format"),
    ]
    for argv, says in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err, err
    assert not list(tmp_path.glob("g.*"))


def test_the_format_follows_the_out_suffix(progan_run, tmp_path, capsys):
    out = tmp_path / "g.safetensors"
    assert main(["export", str(progan_run), "--out", str(out)]) == 0
    assert "as safetensors" in capsys.readouterr().out
    from safetensors import safe_open

    with safe_open(str(out), "pt") as f:  # a real safetensors file, not another format under that name
        assert list(f.keys())
