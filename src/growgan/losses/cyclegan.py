"""CycleGAN's losses as pure functions (Zhu et al., "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017; as junyanz/pytorch-CycleGAN-and-pix2pix).

With G_AB: A -> B, G_BA: B -> A, D_A judging domain A and D_B judging domain B:

- adversarial, least squares (LSGAN, Mao et al. 2017) on PatchGAN maps: D minimises
  ``0.5 * (mean((D(real) - 1)^2) + mean(D(fake)^2))``, G minimises ``mean((D(G(x)) - 1)^2)``
  (the official code's MSELoss against all-ones / all-zeros maps; D's loss halved);
- cycle consistency: ``lambda * mean|G_BA(G_AB(a)) - a|`` (and the same for b), lambda = 10;
- identity: ``lambda * lambda_identity * mean|G_AB(b) - b|`` (and G_BA(a) vs a), lambda_identity
  = 0.5, i.e. 0.5 x lambda as the paper's Section 5.2 / the official default.

D outputs may be any shape (a PatchGAN's [N, 1, h, w] or [N]); means run over every element,
so each patch is one least-squares term. Every function returns a float32 scalar tensor.
"""

from __future__ import annotations

import torch

CYCLE_LAMBDA = 10.0
IDENTITY_LAMBDA = 0.5  # a fraction of the cycle lambda


def lsgan_d_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """D's least-squares loss: 0.5 * (mean((real_out - 1)^2) + mean(fake_out^2))."""
    return 0.5 * ((real_out.float() - 1.0).square().mean() + fake_out.float().square().mean())


def lsgan_g_loss(fake_out: torch.Tensor) -> torch.Tensor:
    """G's least-squares loss: mean((D(G(x)) - 1)^2) (no 0.5: the official weighting against the
    cycle term)."""
    return (fake_out.float() - 1.0).square().mean()


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor, lam: float = CYCLE_LAMBDA) -> torch.Tensor:
    """Cycle consistency: lam * mean |reconstructed - original| (images in [-1, 1], same shape)."""
    return lam * (reconstructed.float() - original.float()).abs().mean()


def identity_loss(
    same: torch.Tensor, original: torch.Tensor, lam: float = CYCLE_LAMBDA, identity: float = IDENTITY_LAMBDA
) -> torch.Tensor:
    """Identity mapping: lam * identity * mean |G_XY(y) - y| (`same` = G_XY(y), `original` = y)."""
    return (lam * identity) * (same.float() - original.float()).abs().mean()
