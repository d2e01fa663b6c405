"""Perceptual path length (PPL; Karras et al. 2019, StyleGAN, Sec. 4.2; as stylegan2-ada-pytorch's
metrics/perceptual_path_length.py) of a style-based generator (stylegan2, stylegan).

For pairs of latents (z0, z1) and t ~ U[0, 1] ("full" sampling) or t = 0 ("end"): interpolate
linearly in W (space "w") or spherically in Z (space "z") to t and t + epsilon, synthesise
both (constant noise), and measure their perceptual distance d; PPL = mean of d / epsilon^2
over the samples between the 1st and 99th percentiles.

The perceptual distance needs a trained network: the standard one is the LPIPS VGG16 of
stylegan2-ada-pytorch, a TorchScript file (``vgg16.pt``: called as ``net(images, resize_images=False,
return_lpips=True)`` on float images in [0, 255], returning features whose squared Euclidean
distance is the LPIPS distance). Its weights cannot be downloaded on this machine, so PPL
here loads that file when given (`load_perceptual`) and otherwise takes any callable with the
same meaning; the tests use a small random stand-in, which gives numbers of the right form but
no perceptual meaning. Images larger than 256 px are area-downsampled to 256 first, as the
reference does; 1-channel images are repeated to RGB. Not done as the reference: its FFHQ
face crop (``crop=True``), which only suits aligned faces.

As metrics (`growgan metrics RUN --metrics ppl-w-end --perceptual vgg16.pt`): ``ppl-w-end``,
``ppl-w-full``, ``ppl-z-end``, ``ppl-z-full`` (stylegan2-ada's ppl2_wend, ppl_wfull,
ppl_zend, ppl_zfull), each over ``--num`` samples (default 50,000 as the reference),
epsilon 1e-4; lower is smoother.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.metrics.registry import MetricContext, MetricResult
from growgan.metrics.sources import ImageSource
from growgan.networks.registry import is_style_based

Perceptual = Callable[[torch.Tensor], torch.Tensor]  # float [N, 3, H, W] in [0, 255] -> features [N, F]


def load_perceptual(path: str | Path, device: torch.device | str = "cpu") -> Perceptual:
    """The standard LPIPS VGG16 TorchScript file (stylegan2-ada's vgg16.pt) as a `Perceptual`.
    A missing or unreadable file is a one-line GrowganError."""
    path = Path(path)
    if not path.is_file():
        raise GrowganError(f"{path}: perceptual network file not found; give stylegan2-ada-pytorch's LPIPS vgg16.pt")
    try:
        net = torch.jit.load(str(path), map_location=device).eval()
    except Exception as exc:  # noqa: BLE001 - any failure to read it is the user's file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise GrowganError(f"{path}: not a TorchScript perceptual network ({first}); give the LPIPS vgg16.pt") from None

    def perceptual(images: torch.Tensor) -> torch.Tensor:
        return net(images, resize_images=False, return_lpips=True)

    return perceptual


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of the directions of a, b [N, D] at t [N, 1] (unit-norm result,
    as the reference)."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    d = (a * b).sum(dim=-1, keepdim=True).clamp(-1, 1)
    p = t * torch.acos(d)
    c = b - d * a
    c = c / c.norm(dim=-1, keepdim=True)
    out = a * torch.cos(p) + c * torch.sin(p)
    return out / out.norm(dim=-1, keepdim=True)


@torch.no_grad()
def perceptual_path_length(G, perceptual: Perceptual, num_samples: int = 50_000, epsilon: float = 1e-4,
                           space: str = "w", sampling: str = "end", batch_size: int = 64, seed: int = 0,
                           device: torch.device | str = "cpu") -> float:
    """PPL of G (eval mode, constant noise). space: "w" or "z"; sampling: "end" or "full".
    Raises GrowganError for a G that is not style-based or bad options."""
    if not is_style_based(G):
        raise GrowganError("PPL needs a style-based generator (stylegan2 or stylegan)")
    if space not in ("w", "z") or sampling not in ("end", "full") or num_samples < 2 or epsilon <= 0:
        raise GrowganError(f"PPL: space={space!r} sampling={sampling!r} num_samples={num_samples} epsilon={epsilon} "
                           "is invalid; use space w|z, sampling end|full, num_samples >= 2, epsilon > 0")
    gen = torch.Generator().manual_seed(seed)
    dists = []
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    for start in range(0, num_samples, batch_size):
        n = min(batch_size, num_samples - start)
        t = torch.rand(n, 1, generator=gen) * (1.0 if sampling == "full" else 0.0)
        z0, z1 = torch.randn(n, G.z_dim, generator=gen), torch.randn(n, G.z_dim, generator=gen)
        c = torch.randint(0, c_dim, (n,), generator=gen).to(device) if c_dim else None
        t, z0, z1 = t.to(device), z0.to(device), z1.to(device)
        if space == "w":
            w0, w1 = G.mapping(z0, c)[:, :1], G.mapping(z1, c)[:, :1]  # [N, 1, w_dim]
            tt = t.unsqueeze(1)
            ws = torch.cat([torch.lerp(w0, w1, tt), torch.lerp(w0, w1, tt + epsilon)])  # [2N, 1, w_dim]
            ws = ws.repeat(1, G.num_ws, 1)
        else:
            zs = torch.cat([slerp(z0, z1, t), slerp(z0, z1, t + epsilon)])
            ws = G.mapping(zs, None if c is None else torch.cat([c, c]))
        img = G.synthesis(ws, noise_mode="const").float()  # [2N, C, H, W]
        if img.shape[2] > 256:
            f = img.shape[2] // 256
            img = F.avg_pool2d(img, f)
        img = (img + 1) * (255 / 2)
        if img.shape[1] == 1:
            img = img.repeat(1, 3, 1, 1)
        f0, f1 = perceptual(img).float().flatten(1).chunk(2)
        dists.append(((f0 - f1).square().sum(1) / epsilon**2).cpu())
    d = torch.cat(dists).numpy().astype(np.float64)
    lo, hi = np.percentile(d, 1, method="lower"), np.percentile(d, 99, method="higher")
    return float(d[(d >= lo) & (d <= hi)].mean())


PPL_METRICS = {"ppl-w-end": ("w", "end"), "ppl-w-full": ("w", "full"), "ppl-z-end": ("z", "end"),
               "ppl-z-full": ("z", "full")}  # metric name -> (space, sampling)
PPL_NUM_SAMPLES = 50_000  # the reference's sample count (stylegan2-ada's ppl metrics)
PPL_EPSILON = 1e-4


def check_ppl(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> None:
    """PPL's prerequisites: the fake set comes from a style-based generator and the LPIPS
    file is given and loads (kept in ``ctx.memo["perceptual"]``). Raises GrowganError."""
    G = fake.generator
    if G is None:
        raise GrowganError(f"{fake.name}: PPL measures a generator, not an image set; give RUN_DIR_OR_CHECKPOINT")
    if not is_style_based(G):
        raise GrowganError(f"{fake.name}: PPL needs a style-based generator (stylegan2, stylegan); "
                           f"this {type(G).__name__} has no mapping network")
    if not ctx.perceptual:
        raise GrowganError("PPL needs the LPIPS network: give --perceptual vgg16.pt (stylegan2-ada-pytorch's "
                           "LPIPS VGG16 TorchScript file; growgan cannot download it)")
    if "perceptual" not in ctx.memo:
        ctx.memo["perceptual"] = load_perceptual(ctx.perceptual, _device(G, ctx))


def _device(G: torch.nn.Module, ctx: MetricContext) -> torch.device:
    """Where PPL runs: ctx.device, else where G's weights are (not the CPU for a G on a GPU:
    its latents and the LPIPS network must be on G's device)."""
    if ctx.device is not None:
        return torch.device(ctx.device)
    return next((p.device for p in G.parameters()), torch.device("cpu"))


def ppl_metric(space: str, sampling: str):
    """The metric function of PPL in `space` ("w" | "z") with `sampling` ("end" | "full"):
    value key ``ppl_<space>_<sampling>``, over ctx.num_images samples (default 50,000)."""

    def metric(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
        check_ppl(real, fake, ctx)
        num = ctx.num_images or PPL_NUM_SAMPLES
        value = perceptual_path_length(fake.generator, ctx.memo["perceptual"], num_samples=num, epsilon=PPL_EPSILON,
                                       space=space, sampling=sampling, batch_size=ctx.batch_size, seed=ctx.seed,
                                       device=_device(fake.generator, ctx))
        return MetricResult({f"ppl_{space}_{sampling}": value},
                            [f"ppl-{space}-{sampling}: {num} samples, epsilon {PPL_EPSILON:g}, network {ctx.perceptual}"])

    return metric
