"""Adversarial losses and regularisers as pure functions (after rosinality/stylegan2-pytorch).

Losses take D's logits (``[N]`` or ``[N, 1]``) and return scalar float32 tensors:

- ``nonsaturating`` / ``minimax``: the logistic GAN of Goodfellow et al. 2014; G minimises
  -log D(G(z)) (non-saturating) or log(1 - D(G(z))) (the original minimax game).
- ``wgan``: Wasserstein GAN (Arjovsky et al. 2017), with weight clipping (`clip_weights_`)
  or the gradient penalty of Gulrajani et al. 2017 (`gradient_penalty`).
- ``hinge``: Lim & Ye 2017 / Miyato et al. 2018.
- ``lsgan``: least squares GAN (Mao et al. 2017), targets 0 (fake) and 1 (real), factor 1/2.
- ``relativistic``: relativistic average logistic GAN (RaSGAN, Jolicoeur-Martineau 2018),
  both terms averaged as in the author's code.

Path-length regularisation (Karras et al. 2020, StyleGAN2) for style-based generators:
`path_length_penalty`.

GDPP (Elfeki et al. 2019, "GDPP: Learning Diverse Generations Using Determinantal Point
Processes"): a generator regulariser matching the eigen-structure of D's features of fakes
to that of reals: `gdpp_loss`.

Regularisers (unscaled; the caller multiplies by its coefficient): WGAN-GP, R1 (Mescheder
et al. 2018), ProGAN's drift penalty, instance noise (Sønderby et al. 2016). Gradient
penalties run D in float32 with autocast disabled and build the graph (`create_graph=True`),
so they are exact under mixed precision and train D.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.errors import GrowganError

LOSS_KINDS = ("nonsaturating", "minimax", "wgan", "hinge", "lsgan", "relativistic")
_SMOOTHABLE = ("nonsaturating", "minimax", "lsgan", "relativistic")

__all__ = [
    "LOSS_KINDS",
    "d_loss",
    "g_loss",
    "gradient_penalty",
    "r1_penalty",
    "drift_penalty",
    "instance_noise",
    "clip_weights_",
    "path_length_penalty",
    "gdpp_loss",
    "orthogonal_regularization",
    "acgan_loss",
    "take_class_logits",
    "lsgan_d_loss",
    "lsgan_g_loss",
    "cycle_loss",
    "identity_loss",
]


def _check_kind(kind: str) -> None:
    if kind not in LOSS_KINDS:
        raise GrowganError(f"unknown loss {kind!r} in the training config; choose one of {', '.join(LOSS_KINDS)}")


def _flat(logits: torch.Tensor) -> torch.Tensor:
    """[N] or [N, 1] logits -> float32 [N]."""
    return logits.float().reshape(logits.shape[0])


def _bce_logits(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Mean binary cross-entropy against a constant target, stable in the logits:
    -(t log s(x) + (1-t) log(1-s(x))) = t softplus(-x) + (1-t) softplus(x)."""
    if target == 1.0:
        return F.softplus(-logits).mean()
    if target == 0.0:
        return F.softplus(logits).mean()
    return (target * F.softplus(-logits) + (1.0 - target) * F.softplus(logits)).mean()


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Discriminator loss. `label_smoothing` s is one-sided: the real target becomes 1 - s
    (logistic, lsgan and relativistic losses; wgan and hinge have no target to smooth)."""
    _check_kind(kind)
    if label_smoothing and kind not in _SMOOTHABLE:
        raise GrowganError(f"label smoothing is not defined for the {kind} loss; set label_smoothing=0 "
                           f"or use one of {', '.join(_SMOOTHABLE)}")
    r, f = _flat(real_logits), _flat(fake_logits)
    t = 1.0 - float(label_smoothing)
    if kind in ("nonsaturating", "minimax"):
        return _bce_logits(r, t) + _bce_logits(f, 0.0)
    if kind == "wgan":
        return f.mean() - r.mean()
    if kind == "hinge":
        return F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()
    if kind == "lsgan":
        return 0.5 * (r - t).square().mean() + 0.5 * f.square().mean()
    # relativistic average: real should look more real than the average fake, and vice versa
    return 0.5 * (_bce_logits(r - f.mean(), t) + _bce_logits(f - r.mean(), 0.0))


def g_loss(kind: str, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """Generator loss; the relativistic loss needs `real_logits` (D on a real batch)."""
    _check_kind(kind)
    f = _flat(fake_logits)
    if kind == "nonsaturating":
        return F.softplus(-f).mean()  # -log sigmoid(f)
    if kind == "minimax":
        return -F.softplus(f).mean()  # log(1 - sigmoid(f))
    if kind in ("wgan", "hinge"):
        return -f.mean()
    if kind == "lsgan":
        return 0.5 * (f - 1.0).square().mean()
    if real_logits is None:
        raise ValueError("the relativistic generator loss needs real_logits")
    r = _flat(real_logits)
    return 0.5 * (_bce_logits(f - r.mean(), 1.0) + _bce_logits(r - f.mean(), 0.0))


def _input_grad(D: nn.Module, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """d(sum D(x))/dx in float32 with autocast off, keeping the graph so the penalty trains."""
    x = x.detach().float().requires_grad_(True)
    with torch.autocast(device_type=x.device.type, enabled=False):
        logits = D(x, c)
        (grad,) = torch.autograd.grad(logits.float().sum(), x, create_graph=True)
    return grad  # [N, C, H, W]


def gradient_penalty(
    D: nn.Module,
    reals: torch.Tensor,
    fakes: torch.Tensor,
    c: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    target: float = 1.0,
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): mean over samples of (||grad_x D(x_hat)|| - target)^2
    / target^2 at x_hat = a reals + (1 - a) fakes, a ~ U[0, 1] per sample. Unscaled (multiply
    by lambda). ``target`` is 1 in the WGAN-GP paper; Progressive GAN's official code
    (loss.py, ``wgan_target``) divides by target^2 as here and uses 750 for CIFAR-10.
    Raises ValueError for a target <= 0."""
    if not target > 0:
        raise ValueError(f"gradient penalty target must be positive, got {target}")
    a = torch.rand(reals.shape[0], 1, 1, 1, generator=generator, device=reals.device, dtype=torch.float32)
    x_hat = a * reals.detach().float() + (1.0 - a) * fakes.detach().float()  # [N, C, H, W]
    grad = _input_grad(D, x_hat, c)
    norm = grad.flatten(1).norm(2, dim=1)  # [N]
    return (norm - target).square().mean() / (target * target)


def r1_penalty(D: nn.Module, reals: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): mean over samples of ||grad_x D(x)||^2 on reals.
    Unscaled: multiply by gamma/2 (and by the interval for lazy R1)."""
    grad = _input_grad(D, reals, c)
    return grad.square().flatten(1).sum(dim=1).mean()


def drift_penalty(real_logits: torch.Tensor) -> torch.Tensor:
    """ProGAN's drift term mean(D(x)^2) keeping WGAN logits near zero; multiply by epsilon."""
    return _flat(real_logits).square().mean()


def instance_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """x + sigma * N(0, I) (Sønderby et al. 2016); D sees noisy reals and fakes alike."""
    if sigma == 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + sigma * noise


@torch.no_grad()
def clip_weights_(D: nn.Module, c: float) -> None:
    """WGAN weight clipping (Arjovsky et al. 2017): clamp every parameter of D to [-c, c]."""
    if c <= 0:
        raise ValueError(f"clip value must be positive, got {c}")
    for p in D.parameters():
        p.clamp_(-c, c)


def path_length_penalty(
    G: nn.Module,
    z: torch.Tensor,
    c: torch.Tensor | None,
    pl_mean: torch.Tensor,
    decay: float = 0.01,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN2's path-length regulariser (Karras et al. 2020, eq. 4; as stylegan2-ada-pytorch).

    G must be style-based: ``G.sample_ws(z, c) -> ws [N, L, w_dim]`` (mapping with style
    mixing in training mode) and ``G.synthesis(ws) -> images [N, C, H, W]``. With y ~ N(0, I)/
    sqrt(H W), the path length of each sample is a = ||J_w^T y|| = sqrt(mean over L of
    ||d(sum img * y)/dw_l||^2); the penalty is mean((a - pl_mean)^2), where pl_mean is the
    running mean of a with decay `decay`. Returns (penalty scalar, the new pl_mean, detached);
    the caller keeps pl_mean in its state (pure: the input is not modified). Unscaled:
    multiply by pl_weight (2) and the lazy interval (4). Raises GrowganError for a G without
    mapping/synthesis.
    """
    if not (hasattr(G, "sample_ws") and hasattr(G, "synthesis")):
        raise GrowganError(f"path-length regularisation needs a style-based generator (stylegan2); "
                           f"this one is {type(G).__name__}; set pl_weight=0")
    ws = G.sample_ws(z, c)  # [N, L, w_dim]
    img = G.synthesis(ws).float()  # [N, C, H, W]
    h, w = img.shape[2], img.shape[3]
    noise = torch.randn(img.shape, generator=generator, device=img.device, dtype=img.dtype) / math.sqrt(h * w)
    (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)  # [N, L, w_dim]
    lengths = grad.float().square().sum(dim=2).mean(dim=1).sqrt()  # [N]
    new_mean = pl_mean.detach().lerp(lengths.detach().mean(), decay)
    penalty = (lengths - new_mean).square().mean()
    return penalty, new_mean


def gdpp_loss(phi_fake: torch.Tensor, phi_real: torch.Tensor) -> torch.Tensor:
    """GDPP (Elfeki et al. 2019, as the authors' code and PGAN-Paddle): with phi rows
    L2-normalised and L = phi phi^T [N, N] (a DPP kernel over the batch), eigenvalues l and
    eigenvectors v (ascending, torch.linalg.eigh):
    loss = 1e-4 * mse(l_fake, l_real) - sum_i lhat_i <v_fake_i, v_real_i>, lhat = min-max
    normalised l_real. phi_fake [N, F] carries G's gradient; phi_real [N, F] is a target
    (detached). An eigenvector's sign is arbitrary (the authors' code takes LAPACK's); here
    each is signed so that its largest-magnitude entry is positive, so the loss is a function
    of its inputs. Multiply by the GDPP weight."""
    def eig(phi: torch.Tensor):
        phi = F.normalize(phi.to(torch.promote_types(phi.dtype, torch.float32)), p=2, dim=1)
        vals, vecs = torch.linalg.eigh(phi @ phi.t())
        top = vecs.gather(0, vecs.abs().argmax(dim=0, keepdim=True))  # [1, N]
        return vals, vecs * torch.sign(top).detach()

    vals_f, vecs_f = eig(phi_fake)
    vals_r, vecs_r = eig(phi_real.detach())
    magnitude = 1e-4 * F.mse_loss(vals_f, vals_r)
    structure = -(vecs_f * vecs_r).sum(dim=0)  # [N]: per eigenvector
    weights = (vals_r - vals_r.min()) / (vals_r.max() - vals_r.min()).clamp(min=1e-12)
    return magnitude + (weights * structure).sum()


def orthogonal_regularization(net: nn.Module, beta: float = 1e-4) -> torch.Tensor:
    """BigGAN's orthogonal regularisation (Brock et al. 2019, eq. 3, the off-diagonal variant):
    ``beta * sum_W ||W W^T * (1 - I)||_F^2`` over every weight W with 2 or more dimensions
    (reshaped to [out, in*k*k]: the filters' pairwise inner products), embeddings excluded.
    With spectral norm the raw weight (`parametrizations.weight.original`) is the one
    regularised. Returns a scalar tensor (0 for a network without such weights)."""
    skip = {id(p) for m in net.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    terms = [_offdiag_sq(p) for p in net.parameters() if p.ndim >= 2 and p.requires_grad and id(p) not in skip]
    if not terms:  # on the network's device, like every other loss term
        return torch.zeros((), device=next((p.device for p in net.parameters()), torch.device("cpu")))
    return beta * torch.stack(terms).sum()


def _offdiag_sq(w: torch.Tensor) -> torch.Tensor:
    w = w.reshape(w.shape[0], -1)  # [out, in*k*k]
    gram = w @ w.t()  # [out, out]
    off = gram - torch.diag_embed(torch.diagonal(gram))
    return (off**2).sum()


def take_class_logits(D: nn.Module) -> torch.Tensor | None:
    """The class logits [N, c_dim] an AC-GAN discriminator (`conditioning="acgan"`, see
    `networks.common.add_conditioning`) kept from its last forward, cleared from D (so no
    graph stays referenced); None for any other D."""
    D = getattr(D, "module", D)  # DDP
    out = getattr(D, "class_logits", None)
    if out is not None:
        D.class_logits = None
    return out


def acgan_loss(class_logits: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """AC-GAN's auxiliary classification loss (Odena et al. 2017, L_C): the mean cross-entropy
    of D's class logits [N, c_dim] against the labels c int64 [N] (real images' labels, or the
    labels fakes were generated with). Scalar tensor."""
    return F.cross_entropy(class_logits.float(), c)


# CycleGAN's pure losses live in their own module (losses/cyclegan.py), re-exported here.
from growgan.losses.cyclegan import cycle_loss, identity_loss, lsgan_d_loss, lsgan_g_loss  # noqa: E402
