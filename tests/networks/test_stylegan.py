"""StyleGAN (v1): AdaIN style blocks over the shared mapping network, the fade-in, and
progressive growing through the ProGAN growth controller with exact resume mid-fade."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from engine_helpers import assert_same

from growgan.growth import build_trainer
from growgan.layers import upsample2x
from growgan.networks.registry import build_networks, example_spec
from growgan.training.checkpoint import load_checkpoint, restore_state
from growgan.training.config import TrainConfig
from growgan.training.state import state_to_dict

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def _spec(stages=3, fade=False, c_dim=0):
    g = {"z_dim": 8, "c_dim": c_dim, "img_channels": 1, "num_stages": stages, "fade_in": fade, "w_dim": 8,
         "mapping_layers": 2, "fmap_base": 32, "fmap_max": 8}
    d = {"img_channels": 1, "num_stages": stages, "fade_in": fade, "fmap_base": 32, "fmap_max": 8}
    return {"family": "stylegan", "G": g, "D": d}


def test_shapes_ws_and_conditioning():
    G, D = build_networks(_spec(3, c_dim=3))
    assert G.num_ws == 6 and G.img_resolution == (16, 16)
    z, c = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    img = G(z, c)
    assert img.shape == (4, 1, 16, 16) and D(img).shape == (4,)
    G.eval()
    with torch.no_grad():
        assert not torch.allclose(G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.ones(4, dtype=torch.long)))


def test_adain_sets_each_channels_mean_and_std_from_the_style():
    G, _ = build_networks(_spec(1))
    block = G.blocks["0"][1]
    x = torch.randn(2, 8, 4, 4) * 3 + 1
    w = torch.randn(2, 8)
    y = block(x, w, "none")
    ys, yb = block.style(w).chunk(2, dim=1)
    h = F.instance_norm(F.leaky_relu(block.conv(x) + block.bias.reshape(1, -1, 1, 1), 0.2), eps=1e-8)
    assert torch.allclose(y, h * (1 + ys[..., None, None]) + yb[..., None, None], atol=1e-5)
    assert torch.allclose(y.mean(dim=(2, 3)), yb, atol=1e-5)  # AdaIN: per-channel mean = y_b


def test_fade_in_at_alpha_zero_is_the_upsampled_lower_stage():
    G, _ = build_networks(_spec(3, fade=True))
    G.eval()
    G.alpha = 0.0
    z = torch.randn(2, 8)
    with torch.no_grad():
        ws = G.mapping(z)
        # the lower stage's output through the old toRGB, computed by hand
        x = G.const.unsqueeze(0).expand(2, -1, -1, -1)
        for s in range(2):
            b0, b1 = G.blocks[str(s)]
            x = b1(b0(x, ws[:, 2 * s], "const"), ws[:, 2 * s + 1], "const")
        want = upsample2x(G.to_rgb["1"](x))
        assert torch.allclose(G.synthesis(ws), want, atol=1e-6)
        G.alpha = 1.0
        assert not torch.allclose(G.synthesis(ws), want, atol=1e-3)


def test_truncation_psi_zero_and_style_mixing():
    G, _ = build_networks(example_spec("stylegan"))
    G.train()
    with torch.no_grad():
        G.mapping(torch.randn(16, 8))
    G.eval()
    ws = G.mapping(torch.randn(3, 8), truncation_psi=0.0)
    assert torch.allclose(ws, G.w_avg.expand_as(ws))
    w1, w2 = G.mapping(torch.randn(2, 8)), G.mapping(torch.randn(2, 8))
    m = G.mix_styles(w1, w2, 3)
    assert torch.equal(m[:, :3], w1[:, :3]) and torch.equal(m[:, 3:], w2[:, 3:])


@pytest.fixture(scope="module")
def blobs16(tmp_path_factory):
    from growgan.data.archive import write_archive

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16]
    imgs = np.empty((32, 1, 16, 16), dtype=np.uint8)
    for i in range(32):
        cy, cx = rng.integers(3, 13, size=2)
        imgs[i, 0] = (np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0) * 255).astype(np.uint8)
    return write_archive(tmp_path_factory.mktemp("data") / "blobs16", imgs, None, {"source": "test blobs"})


def test_grows_through_the_progan_controller_and_resumes_exactly_mid_fade(blobs16, tmp_path):
    from growgan.training.presets import get_preset

    cfg = get_preset("stylegan-mnist-32")
    net = _spec(1)
    net["G"]["img_channels"] = net["D"]["img_channels"] = None
    growth = {**cfg.growth, "target_resolution": 16, "stabilise_kimg": 0.016, "fade_kimg": 0.016, "batch_sizes": {}}
    cfg = cfg.copy(network=net, growth=growth, batch_size=8, kimg=0.064, log_kimg=0.016, grid_kimg=0.032,
                   checkpoint_kimg=0.032, grid_size=4, tensorboard=False, r1_interval=2, ema_kimg=0.05)
    full = build_trainer(cfg, blobs16, verbose=False)
    full.train_until(64)  # 4x4 [0,16), fade 8 [16,32), stab 8 [32,48), fade 16 [48,64)
    assert [(h["resolution"], h["fade_in"]) for h in full.state.growth.history] == [(8, True), (8, False), (16, True)]
    assert full.state.G.img_resolution == (16, 16) and 0 < full.state.G.alpha < 1
    first = build_trainer(cfg, blobs16, run_dir=tmp_path, verbose=False)
    first.train_until(24)  # mid-fade to 8x8
    path = first.last_checkpoint
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_dict(ckpt["config"])
    second = build_trainer(config, blobs16, state=restore_state(ckpt, config, "cpu", path), run_dir=tmp_path,
                           resume=ckpt["extra"], verbose=False)
    second.train_until(64)
    assert_same(state_to_dict(full.state), state_to_dict(second.state))


def test_upsampling_is_the_official_nearest_then_121_blur():
    """StyleGAN v1's official upsampling (nearest 2x, then the [1, 2, 1] blur) equals the zero
    insertion + gain-4 [1, 3, 3, 1] filter the style block computes, border pixels included."""
    import torch.nn.functional as F

    from growgan.layers import fir_kernel, fir_upsample2x

    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    nearest = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    blur = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])) / 16
    official = F.conv2d(nearest, blur[None, None].repeat(3, 1, 1, 1), padding=1, groups=3)
    ours = fir_upsample2x(x, fir_kernel())
    torch.testing.assert_close(ours, official)
    assert official.std() > 0.3
