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
