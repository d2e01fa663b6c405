"""`growgan interpolate`: slerp latent walks as GIF/MP4: the frame count, and first and last
frames equal to G(z0) and G(z1) for the seed's latents (drawn here as the docs say)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from growgan.cli import main
from growgan.training.checkpoint import load_generator
from growgan.training.walk import slerp
from growgan.utils.image import to_uint8


def _endpoints(G, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [H, W] images G(z0), G(z1) of the documented latents: randn(2, z_dim) of the seed."""
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        imgs = to_uint8(G(z))
    return imgs[0, 0].numpy(), imgs[1, 0].numpy()


def test_slerp_stays_on_the_sphere_at_the_right_angle_and_hits_the_ends():
    z0, z1 = torch.randn(2, 3, 512, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.equal(slerp(z0, z1, 0.0), z0) and torch.equal(slerp(z0, z1, 1.0), z1)
    u0, u1 = z0 / z0.norm(dim=-1, keepdim=True), z1 / z1.norm(dim=-1, keepdim=True)
    angle = lambda a, b: torch.acos((a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)))  # noqa: E731
    for t in (0.25, 0.5, 0.9):
        m = slerp(u0, u1, t)
        torch.testing.assert_close(m.norm(dim=-1), torch.ones(3, dtype=torch.float64))  # on the unit sphere
        torch.testing.assert_close(angle(u0, m), t * angle(u0, u1))  # a constant-speed great-circle arc


def test_gif_walk_frames_and_endpoints(progan_run, tmp_path, capsys):
    out = tmp_path / "walk.gif"
    assert main(["interpolate", str(progan_run), "--out", str(out), "--frames", "7", "--seed", "5", "--upscale", "2"]) == 0
    frames = iio.imread(out, index=None)  # [F, H, W, 3]: GIF stores grayscale exactly
    G = load_generator(progan_run)
    first, last = _endpoints(G, seed=5)
    assert frames.shape[0] == 7 and frames.shape[1:3] == (32, 32)
    np.testing.assert_array_equal(frames[0, ::2, ::2, 0], first)
    np.testing.assert_array_equal(frames[-1, ::2, ::2, 0], last)
    assert not np.array_equal(frames[3], frames[0])  # it moves


def test_mp4_walk(progan_run, tmp_path):
    out = tmp_path / "walk.mp4"
    assert main(["interpolate", str(progan_run), "--out", str(out), "--frames", "5", "--seed", "5", "--upscale", "4"]) == 0
    frames = iio.imread(out, index=None, plugin="FFMPEG")  # H.264: lossy, so compared within a tolerance
    first, last = _endpoints(load_generator(progan_run), seed=5)
    assert frames.shape[0] == 5 and frames.shape[1:3] == (64, 64)
    small = frames[:, :, :, 0].astype(np.float64).reshape(5, 16, 4, 16, 4).mean(axis=(2, 4))
    assert np.abs(small[0] - first).mean() < 8 and np.abs(small[-1] - last).mean() < 8
    assert np.abs(small[0] - last).mean() > np.abs(small[0] - first).mean()


def test_walk_mistakes_are_one_line(progan_run, tmp_path, capsys):
    for argv, says in ((["--out", str(tmp_path / "w.avi")], "a .gif or .mp4"),
                       (["--out", str(tmp_path / "w.gif"), "--frames", "1"], "at least 2 frames"),
                       (["--out", str(tmp_path / "w.gif"), "--fps", "0"], "must be > 0"),
                       # NaN was a ValueError traceback from the GIF writer, inf a GIF of 0 s frames
                       (["--out", str(tmp_path / "w.gif"), "--fps", "nan", "--frames", "2"], "must be > 0"),
                       (["--out", str(tmp_path / "w.gif"), "--fps", "inf", "--frames", "2"], "must be > 0")):
        assert main(["interpolate", str(progan_run), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err, err
    assert not list(tmp_path.iterdir())


def test_walk_device_auto_without_a_gpu_is_the_cpu_walk(progan_run, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for dev in ("cpu", "auto"):
        assert main(["interpolate", str(progan_run), "--out", str(tmp_path / f"{dev}.gif"), "--frames", "3",
                     "--device", dev]) == 0
    assert (tmp_path / "auto.gif").read_bytes() == (tmp_path / "cpu.gif").read_bytes()


def test_w_walk_needs_a_mapping_network(progan_run, tmp_path, capsys):
    assert main(["interpolate", str(progan_run), "--out", str(tmp_path / "w.gif"), "--space", "w"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no mapping network" in err[0] and not (tmp_path / "w.gif").exists()
