"""Latent walks: frames of a generator between two latents, as GIF or MP4.

The latents of a walk come from one seed: ``torch.Generator().manual_seed(seed)`` draws
``randn(2 * num, z_dim)``; row 2k is the start z0 and row 2k+1 the end z1 of walk k. With
t_i = i / (frames - 1), frame i shows

- space "z": G(slerp(z0, z1, t_i)). Spherical interpolation (Shoemake 1985; White 2016,
  "Sampling generative networks") keeps the walk at the norm of Gaussian latents, where
  linear interpolation would pass through unlikely low-norm points.
- space "w" (style-based generators: stylegan2, stylegan): synthesis(lerp(w0, w1, t_i)) with
  w = mapping(z), linear in W as StyleGAN's interpolation videos and its PPL in W (W is not
  Gaussian, so there is no sphere to stay on); truncation psi, when given, applies to w0, w1.

Either way the first frame is G(z0) and the last G(z1) exactly (eval mode: constant noise).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from growgan.errors import GrowganError
from growgan.networks.registry import is_style_based
from growgan.utils.formats import VIDEO_FORMATS
from growgan.utils.image import make_grid, to_uint8
from growgan.utils.io import atomic_path

FORMATS = VIDEO_FORMATS


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation of latents [N, D] (row by row) at t in [0, 1]; t=0 -> z0, t=1 -> z1
    exactly. Nearly parallel rows fall back to linear interpolation."""
    if t <= 0:
        return z0.clone()
    if t >= 1:
        return z1.clone()
    cos = ((z0 * z1).sum(-1) / (z0.norm(dim=-1) * z1.norm(dim=-1)).clamp_min(1e-12)).clamp(-1, 1)
    omega = torch.acos(cos).unsqueeze(-1)  # [N, 1]
    so = torch.sin(omega)
    lin = (1 - t) * z0 + t * z1
    sph = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / so.clamp_min(1e-12)
    return torch.where(so.abs() < 1e-6, lin, sph)


def walk_latents(z_dim: int, num: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(z0, z1), each float32 [num, z_dim], drawn as the module doc says."""
    z = torch.randn(2 * num, z_dim, generator=torch.Generator().manual_seed(seed))
    return z[0::2], z[1::2]


def walk_space(G: nn.Module, space: str = "auto") -> str:
    """"w" or "z": auto is W for a style-based G, Z otherwise. Raises GrowganError for "w" on
    a generator without a mapping network, or an unknown space."""
    if space not in ("auto", "w", "z"):
        raise GrowganError(f"--space {space}: choose auto, w or z")
    if space == "auto":
        return "w" if is_style_based(G) else "z"
    if space == "w" and not is_style_based(G):
        raise GrowganError(f"--space w: this {type(G).__name__} has no mapping network (W space); use --space z")
    return space


@torch.no_grad()
def walk_frames(G: nn.Module, frames: int = 60, num: int = 1, seed: int = 0, class_index: int | None = None,
                upscale: int = 1, space: str = "auto", truncation_psi: float = 1.0,
                device: str | torch.device = "cpu") -> np.ndarray:
    """uint8 frames [frames, H', W', C] (C = 1 or 3) of `num` walks side by side (a grid when
    num > 1), each image magnified `upscale` times (nearest), walked in `space` ("auto": W for
    a style-based G, else Z; see the module doc). truncation_psi < 1 needs W. G is moved to
    `device` (default the CPU) and run there in eval mode; the latents are drawn on the CPU
    (the same walk on every device) and moved there. class_index: the label of a conditional G (default 0); given for an
    unconditional G it is refused. truncation_psi must lie in [0, 2] (1 = off), as `generate`'s.

    Raises:
        GrowganError: a bad frame count, walk count, space, psi (NaN included) or class.
    """
    if frames < 2:
        raise GrowganError(f"--frames {frames}: a walk needs at least 2 frames")
    if num < 1:
        raise GrowganError(f"--num {num}: give at least 1 walk")
    space = walk_space(G, space)
    if not 0 <= truncation_psi <= 2:  # also NaN, which made NaN frames
        raise GrowganError(f"--trunc {truncation_psi}: psi of a W walk must be in [0, 2] (1 = off, e.g. 0.7)")
    if truncation_psi != 1 and space != "w":
        raise GrowganError(f"--trunc {truncation_psi}: truncation applies to W walks of a style-based generator")
    z0, z1 = walk_latents(G.z_dim, num, seed)
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    if class_index is not None and not c_dim:
        raise GrowganError(f"--class {class_index}: the generator is unconditional; drop --class")
    class_index = 0 if class_index is None else class_index
    if c_dim and not 0 <= class_index < c_dim:
        raise GrowganError(f"--class {class_index}: the generator has classes 0..{c_dim - 1}")
    c = torch.full((num,), class_index, dtype=torch.long, device=device) if c_dim else None
    z0, z1 = z0.to(device), z1.to(device)
    G = G.to(device).eval()
    if space == "w":
        ws0, ws1 = (G.mapping(z, c, truncation_psi=truncation_psi) for z in (z0, z1))  # [num, num_ws, w_dim]
    out = []
    for i in range(frames):
        t = i / (frames - 1)
        if space == "w":  # torch.lerp is exact at both ends
            imgs = G.synthesis(torch.lerp(ws0, ws1, t), noise_mode="const")
        else:
            imgs = G(slerp(z0, z1, t), c)
        imgs = to_uint8(imgs.float().cpu())  # [num, C, H, W]
        grid = imgs[0] if num == 1 else make_grid(imgs, ncols=math.ceil(math.sqrt(num)))
        frame = grid.permute(1, 2, 0).numpy()  # [H, W, C]
        if upscale > 1:
            frame = frame.repeat(upscale, axis=0).repeat(upscale, axis=1)
        out.append(frame)
    return np.stack(out)


def write_video(frames: np.ndarray, out: str | Path, fps: float = 24.0) -> Path:
    """Write uint8 frames [F, H, W, C] to a .gif (lossless for grayscale; loops) or an .mp4 (H.264
    through imageio-ffmpeg's own ffmpeg; frames padded with black to a multiple of 16 pixels),
    atomically."""
    import imageio.v3 as iio  # deferred: imageio and its ffmpeg plugin load only for videos

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise GrowganError(f"--out {out}: give a .gif or .mp4 file name")
    if frames.shape[-1] == 1:
        frames = frames[..., 0]  # [F, H, W]: grayscale
    work = Path(tempfile.mkdtemp(prefix="growgan-walk-"))  # ffmpeg picks the container by the file's suffix
    try:
        video = work / f"walk{suffix}"
        if suffix == ".gif":
            iio.imwrite(video, frames, extension=".gif", duration=1000.0 / fps, loop=0)
        else:
            if frames.ndim == 3:
                frames = np.repeat(frames[..., None], 3, axis=-1)
            h, w = frames.shape[1:3]
            frames = np.pad(frames, ((0, 0), (0, -h % 16), (0, -w % 16), (0, 0)))
            iio.imwrite(video, frames, extension=".mp4", plugin="FFMPEG", fps=fps, codec="libx264",
                        quality=8, macro_block_size=16, ffmpeg_log_level="error")
        if not video.is_file() or video.stat().st_size == 0:
            raise GrowganError(f"--out {out}: the video encoder wrote nothing; try a .gif")
        with atomic_path(out) as tmp:
            shutil.copyfile(video, tmp)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
