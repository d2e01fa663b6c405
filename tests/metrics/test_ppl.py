"""Perceptual path length with a small random stand-in for LPIPS (the real VGG16 weights
cannot be downloaded here): the definition, space/sampling options, the TorchScript loader
with a scripted stand-in of the standard file's call signature, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from growgan.errors import GrowganError
from growgan.metrics.ppl import load_perceptual, perceptual_path_length, slerp
from growgan.networks.registry import build_networks

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


class StandIn(nn.Module):
    """A random conv net with the LPIPS file's call signature (features, not distances)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, img: torch.Tensor, resize_images: bool = False, return_lpips: bool = False) -> torch.Tensor:
        f = self.conv(img / 255.0)
        f = f / (f.square().sum(1, keepdim=True).sqrt() + 1e-8)
        return f.flatten(1) / f.shape[2]


def _G():
    spec = {"family": "stylegan2", "G": {"z_dim": 8, "w_dim": 8, "mapping_layers": 2, "img_resolution": [8, 8],
                                          "img_channels": 1, "fmap_base": 32, "fmap_max": 8},
            "D": {"z_dim": 8, "img_resolution": [8, 8], "img_channels": 1, "fmap_base": 32, "fmap_max": 8}}
    G, _ = build_networks(spec)
    return G.eval()


def test_ppl_end_sampling_in_w_matches_the_definition():
    G, net = _G(), StandIn()
    eps = 1e-2
    got = perceptual_path_length(G, net, num_samples=8, epsilon=eps, space="w", sampling="end", batch_size=8, seed=3)
    # independently: t = 0, so the pair is (w0, w0 + eps (w1 - w0)); same draws as the function's order
    gen = torch.Generator().manual_seed(3)
    torch.rand(8, 1, generator=gen)
    z0, z1 = torch.randn(8, 8, generator=gen), torch.randn(8, 8, generator=gen)
    with torch.no_grad():
        w0, w1 = G.mapping(z0)[:, 0], G.mapping(z1)[:, 0]
        a = G.synthesis(w0[:, None].repeat(1, G.num_ws, 1), "const")
        b = G.synthesis((w0 + eps * (w1 - w0))[:, None].repeat(1, G.num_ws, 1), "const")
        fa, fb = net(((a + 1) * 127.5).repeat(1, 3, 1, 1)), net(((b + 1) * 127.5).repeat(1, 3, 1, 1))
    d = ((fa - fb).square().sum(1) / eps**2).numpy().astype(np.float64)
    lo, hi = np.percentile(d, 1, method="lower"), np.percentile(d, 99, method="higher")
    assert got == pytest.approx(d[(d >= lo) & (d <= hi)].mean(), rel=1e-4)
    assert got > 0


def test_ppl_options_and_the_scripted_loader(tmp_path):
    G = _G()
    path = tmp_path / "vgg16.pt"
    torch.jit.script(StandIn()).save(str(path))
    net = load_perceptual(path)
    vals = [perceptual_path_length(G, net, num_samples=6, epsilon=1e-2, space=s, sampling=m, batch_size=3)
            for s in ("w", "z") for m in ("end", "full")]
    assert all(np.isfinite(v) and v > 0 for v in vals) and len(set(vals)) == 4
    with pytest.raises(GrowganError, match="not found"):
        load_perceptual(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(GrowganError, match="not a TorchScript"):
        load_perceptual(tmp_path / "junk.pt")
    with pytest.raises(GrowganError, match="space"):
        perceptual_path_length(G, net, space="q")


def test_slerp_end_points_and_unit_norm():
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    assert torch.allclose(slerp(a, b, torch.zeros(4, 1)), a / a.norm(dim=1, keepdim=True), atol=1e-6)
    assert torch.allclose(slerp(a, b, torch.ones(4, 1)), b / b.norm(dim=1, keepdim=True), atol=1e-5)
    assert torch.allclose(slerp(a, b, torch.full((4, 1), 0.3)).norm(dim=1), torch.ones(4), atol=1e-6)


def test_ppl_through_growgan_metrics_needs_no_data_and_records_the_value(tmp_path, monkeypatch, capsys):
    """`growgan metrics RUN --metrics ppl-w-end,ppl-z-full --perceptual FILE` (no --data):
    the values equal the function's, a row per metric is appended; the stand-in scripted
    network takes the LPIPS file's place (its weights cannot be downloaded here)."""
    import json

    import growgan.training.checkpoint as ckpt
    from growgan.cli import main

    G = _G()
    run = tmp_path / "00001-run"
    (run / "checkpoints").mkdir(parents=True)
    monkeypatch.setattr(ckpt, "load_generator", lambda target, ema=True, device="cpu": G)
    monkeypatch.setattr(ckpt, "resolve_checkpoint",
                        lambda target: (run / "checkpoints" / "ckpt-000005000.pt", {"state": {"images_seen": 5000}}))
    path = tmp_path / "vgg16.pt"
    torch.jit.script(StandIn()).save(str(path))
    argv = ["metrics", str(run), "--metrics", "ppl-w-end,ppl-z-full", "--perceptual", str(path), "--num", "6",
            "--batch-size", "3", "--seed", "2", "--quiet"]
    assert main(argv) == 0
    net = load_perceptual(path)
    want_w = perceptual_path_length(G, net, num_samples=6, epsilon=1e-4, space="w", sampling="end", batch_size=3, seed=2)
    want_z = perceptual_path_length(G, net, num_samples=6, epsilon=1e-4, space="z", sampling="full", batch_size=3, seed=2)
    row_w = json.loads((run / "metric-ppl_w_end.jsonl").read_text().splitlines()[0])
    assert row_w["value"] == pytest.approx(want_w, rel=1e-5) and row_w["num_images"] == 6 and row_w["data"] is None
    out = capsys.readouterr().out
    z_line = [line for line in out.splitlines() if line.startswith("ppl_z_full")][0]
    assert float(z_line.split()[1]) == pytest.approx(want_z, rel=1e-3)


def test_ppl_metric_prerequisites_are_one_line(tmp_path, monkeypatch, capsys):
    """Without --perceptual, on a generator without a mapping network, or on two image sets:
    exit 2 with one line naming the fix, before any image is made."""
    import growgan.training.checkpoint as ckpt
    from growgan.cli import main

    class NotStyle(nn.Module):
        z_dim, c_dim, img_channels, img_resolution = 8, 0, 1, 8

        def forward(self, z, c=None):
            raise AssertionError("no image should be made")

    run = tmp_path / "00001-run"
    (run / "checkpoints").mkdir(parents=True)
    gens = iter([_G(), NotStyle()])
    monkeypatch.setattr(ckpt, "load_generator", lambda target, ema=True, device="cpu": next(gens))
    monkeypatch.setattr(ckpt, "resolve_checkpoint",
                        lambda target: (run / "checkpoints" / "ckpt-000005000.pt", {"state": {"images_seen": 5000}}))
    path = tmp_path / "vgg16.pt"
    torch.jit.script(StandIn()).save(str(path))
    assert main(["metrics", str(run), "--metrics", "ppl-w-end", "--num", "4"]) == 2
    assert main(["metrics", str(run), "--metrics", "ppl-z-end", "--perceptual", str(path), "--num", "4"]) == 2
    assert main(["metrics", str(run), "--metrics", "swd,ppl-w-end", "--perceptual", str(path)]) == 2  # swd needs --data
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("growgan: error: ") for line in err)
    assert "--perceptual vgg16.pt" in err[0] and "style-based" in err[1] and "--data" in err[2]
