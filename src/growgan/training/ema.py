"""Exponential moving average of the generator's weights (Karras et al. 2018, ProGAN;
half-life form and ramp-up from stylegan2-ada-pytorch).

After `batch` new images, G_ema <- beta * G_ema + (1 - beta) * G with
beta = 0.5 ** (batch / half_life_images): the weight of an old value halves every
half-life, whatever the batch size. The ramp-up caps the half-life at `rampup * images
seen` so that early on G_ema follows G closely instead of averaging random init.
Buffers (BatchNorm statistics) are copied, not averaged.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


def ema_beta(batch: int, images_seen: int, half_life_kimg: float, rampup: float | None) -> float:
    """The decay for one update of `batch` images at `images_seen` (before the update)."""
    half_life = half_life_kimg * 1000.0
    if rampup is not None and rampup > 0:
        half_life = min(half_life, images_seen * rampup)
    if half_life <= 0:
        return 0.0
    return 0.5 ** (batch / half_life)


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, beta: float) -> None:
    """In place: G_ema params <- lerp(G, G_ema, beta); buffers copied from G.
    Parameters are matched by name, so a G_ema replaced by growth is followed correctly."""
    ema_params = dict(G_ema.named_parameters())
    src, dst = [], []
    for name, p in G.named_parameters():
        src.append(p.detach())
        dst.append(ema_params[name])
    if dst:
        # p_ema + (1 - beta) * (p - p_ema) == lerp(p_ema, p, 1 - beta)
        torch._foreach_lerp_(dst, src, 1.0 - beta)
    ema_bufs = dict(G_ema.named_buffers())
    for name, b in G.named_buffers():
        ema_bufs[name].copy_(b)


@torch.no_grad()
def standing_stats(G: nn.Module, batches: int = 16, batch_size: int = 64, seed: int = 0) -> nn.Module:
    """G with its BatchNorm statistics recomputed for its own weights ("standing statistics",
    Brock et al. 2019, BigGAN; as PyTorch-StudioGAN's evaluation option).

    G_ema's buffers are copies of G's running statistics, which belong to G's weights, not to
    the averaged ones; sampling G_ema in eval mode with them gives washed-out or broken images.
    Returns G itself when it has no BatchNorm with running statistics; otherwise an eval-mode
    copy whose statistics are the plain average over `batches` batches of fresh latents (and
    uniform labels) from a private generator, so neither G nor the global RNG changes.
    """
    def bns(net: nn.Module) -> list:
        return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]

    if not bns(G):
        return G
    G2 = copy.deepcopy(G)
    device = next((p.device for p in G2.parameters()), torch.device("cpu"))
    momenta = []
    for m in bns(G2):
        momenta.append(m.momentum)
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: the mean over all batches
    gen = torch.Generator().manual_seed(seed)
    G2.train()
    c_dim = int(getattr(G2, "c_dim", 0) or 0)
    for _ in range(batches):
        z = torch.randn(batch_size, G2.z_dim, generator=gen).to(device)
        c = torch.randint(0, c_dim, (batch_size,), generator=gen).to(device) if c_dim > 0 else None
        G2(z, c)
    for m, momentum in zip(bns(G2), momenta):
        m.momentum = momentum
    return G2.eval().requires_grad_(False)
