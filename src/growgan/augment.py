"""Differentiable augmentation of D's inputs for limited data, for every family.

- **DiffAugment** (Zhao et al., NeurIPS 2020, "Differentiable Augmentation for Data-Efficient
  GAN Training"): the same random transforms on reals and fakes before D, in G's step too.
  Policies: ``color`` (brightness +U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5)),
  ``translation`` (integer shifts up to 1/8 of the size, zero fill), ``cutout`` (a zeroed
  square of half the size at a random place).
- **ADA** (Karras et al., NeurIPS 2020, "Training Generative Adversarial Networks with Limited
  Data"): the 'bgc' pipeline, each transform applied with probability p per sample:
  x-flip, 90-degree rotations, integer translation (1/8), isotropic scaling (lognormal,
  std 0.2 ln 2), arbitrary rotation (applied with 1 - sqrt(1 - p) twice), anisotropic
  scaling (std 0.2 ln 2), fractional translation (std 1/8); then brightness (N(0, 0.2)),
  contrast (lognormal std 0.5 ln 2), luma flip, hue rotation (uniform) and saturation
  (lognormal std ln 2) as one 4x4 colour matrix. The geometric transforms compose into one
  affine map applied by one bilinear `grid_sample` with reflection padding (the paper
  upsamples with a wavelet filter first; we sample directly). p adapts every few minibatches
  by the overfitting heuristic r_t = E[sign(D(real))]: up when r_t > target (0.6), down
  otherwise, by (images since the last adjustment) / (ada_kimg * 1000), so p can cross [0, 1]
  in ada_kimg kimg (`ada_adjust`).

Every draw comes from the caller's `torch.Generator` and the number of draws does not depend
on p, so a resumed run makes the same draws. Every op is differentiable twice (R1 and
path-length penalties run through it). Images are float [N, C, H, W] in [-1, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from growgan.errors import GrowganError

AUGMENT_KINDS = ("none", "diffaug", "ada")
DIFFAUG_POLICIES = ("color", "translation", "cutout")


def _rand(n: int, x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=x.device, dtype=torch.float32)


def _randn(n: int, x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    return torch.randn(n, generator=gen, device=x.device, dtype=torch.float32)


# ---------------------------------------------------------------------------- DiffAugment
def check_policy(policy: list[str] | tuple[str, ...], where: str = "diffaug_policy") -> None:
    bad = [p for p in policy if p not in DIFFAUG_POLICIES]
    if bad or not policy:
        raise GrowganError(f"{where}: {', '.join(bad) or 'an empty list'} is not valid; use some of {', '.join(DIFFAUG_POLICIES)}")


def _shift(x: torch.Tensor, ty: torch.Tensor, tx: torch.Tensor, pad: int) -> torch.Tensor:
    """Per-sample integer translation by (ty, tx) int64 [N] pixels, |t| <= pad, zero fill (a
    gather, so its gradients are a scatter and again a gather; no host sync)."""
    n, c, h, w = x.shape
    if pad == 0:
        return x
    xp = F.pad(x, (pad, pad, pad, pad))
    gy = (torch.arange(h, device=x.device).reshape(1, h, 1) - ty.reshape(n, 1, 1) + pad).expand(n, h, w)
    gx = (torch.arange(w, device=x.device).reshape(1, 1, w) - tx.reshape(n, 1, 1) + pad).expand(n, h, w)
    idx = torch.arange(n, device=x.device).reshape(n, 1, 1).expand(n, h, w)
    return xp.permute(0, 2, 3, 1)[idx, gy, gx].permute(0, 3, 1, 2)  # [N, C, H, W]


def diff_augment(x: torch.Tensor, policy: list[str] | tuple[str, ...] = DIFFAUG_POLICIES,
                 gen: torch.Generator | None = None) -> torch.Tensor:
    """DiffAugment of x float [N, C, H, W] in [-1, 1] with the listed policies, in order."""
    n, c, h, w = x.shape
    for p in policy:
        if p == "color":
            x = x + (_rand(n, x, gen) - 0.5).reshape(n, 1, 1, 1).to(x.dtype)  # brightness
            m = x.mean(dim=1, keepdim=True)
            x = (x - m) * (_rand(n, x, gen) * 2).reshape(n, 1, 1, 1).to(x.dtype) + m  # saturation
            m = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - m) * (_rand(n, x, gen) + 0.5).reshape(n, 1, 1, 1).to(x.dtype) + m  # contrast
        elif p == "translation":
            sy, sx = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
            ty = (_rand(n, x, gen) * (2 * sy + 1)).long().clamp(max=2 * sy) - sy  # uniform in [-sy, sy]
            tx = (_rand(n, x, gen) * (2 * sx + 1)).long().clamp(max=2 * sx) - sx
            x = _shift(x, ty, tx, max(sy, sx))
        elif p == "cutout":
            ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
            oy = (_rand(n, x, gen) * (h + (1 - ch % 2))).long() - ch // 2  # top-left of the square
            ox = (_rand(n, x, gen) * (w + (1 - cw % 2))).long() - cw // 2
            yy = torch.arange(h, device=x.device).reshape(1, h, 1)
            xx = torch.arange(w, device=x.device).reshape(1, 1, w)
            inside = (yy >= oy.reshape(n, 1, 1)) & (yy < (oy + ch).reshape(n, 1, 1)) \
                & (xx >= ox.reshape(n, 1, 1)) & (xx < (ox + cw).reshape(n, 1, 1))
            x = x * (~inside).unsqueeze(1).to(x.dtype)
        else:
            check_policy([p])
    return x


# ---------------------------------------------------------------------------- ADA
def _mat(n: int, rows: list[list], x: torch.Tensor) -> torch.Tensor:
    """A batch of matrices [N, R, R] from rows of scalars or [N] tensors."""
    out = []
    for row in rows:
        out.append(torch.stack([v if torch.is_tensor(v) else torch.full((n,), float(v), device=x.device) for v in row], dim=-1))
    return torch.stack(out, dim=-2)


def _translate(tx, ty, n, x):
    return _mat(n, [[1, 0, tx], [0, 1, ty], [0, 0, 1]], x)


def _scale(sx, sy, n, x):
    return _mat(n, [[sx, 0, 0], [0, sy, 0], [0, 0, 1]], x)


def _rotate(theta, n, x):
    return _mat(n, [[torch.cos(theta), -torch.sin(theta), 0], [torch.sin(theta), torch.cos(theta), 0], [0, 0, 1]], x)


def _on(p: torch.Tensor, n: int, x: torch.Tensor, gen) -> torch.Tensor:
    """Float mask [N]: 1 where a transform applies (probability p per sample)."""
    return (_rand(n, x, gen) < p).float()


def ada_augment(x: torch.Tensor, p: torch.Tensor | float, gen: torch.Generator | None = None) -> torch.Tensor:
    """ADA's 'bgc' pipeline on x float [N, C, H, W] in [-1, 1], each transform with probability
    p (a float or 0-dim tensor, on x's device) per sample."""
    n, c, h, w = x.shape
    p = torch.as_tensor(p, device=x.device, dtype=torch.float32)
    # --- geometric: one affine map of output pixel coordinates (in pixels, centred) to input
    G = torch.eye(3, device=x.device).expand(n, 3, 3)
    i = (_rand(n, x, gen) * 2).floor() * _on(p, n, x, gen)  # x-flip
    G = G @ _scale(1 - 2 * i, torch.ones(n, device=x.device), n, x)
    i = (_rand(n, x, gen) * 4).floor() * _on(p, n, x, gen)  # rotate by 90 degrees, i times
    G = G @ _rotate(-math.pi / 2 * i, n, x)
    t = (_rand(n, x, gen) * 2 - 1) * _on(p, n, x, gen), (_rand(n, x, gen) * 2 - 1) * _on(p, n, x, gen)
    G = G @ _translate((t[0] * 0.125 * w).round(), (t[1] * 0.125 * h).round(), n, x)  # integer translation
    s = torch.exp2(_randn(n, x, gen) * 0.2 * _on(p, n, x, gen))  # isotropic scaling
    G = G @ _scale(s, s, n, x)
    p_rot = 1 - torch.sqrt((1 - p).clamp(min=0))  # rotation is applied twice: total probability p
    G = G @ _rotate((_rand(n, x, gen) * 2 - 1) * math.pi * _on(p_rot, n, x, gen), n, x)
    s = torch.exp2(_randn(n, x, gen) * 0.2 * _on(p, n, x, gen))  # anisotropic scaling
    G = G @ _scale(s, 1 / s, n, x)
    G = G @ _rotate((_rand(n, x, gen) * 2 - 1) * math.pi * _on(p_rot, n, x, gen), n, x)
    t = _randn(n, x, gen) * 0.125 * _on(p, n, x, gen), _randn(n, x, gen) * 0.125 * _on(p, n, x, gen)
    G = G @ _translate(t[0] * w, t[1] * h, n, x)  # fractional translation
    # pixels -> grid_sample's normalised coordinates (align_corners=False: [-1, 1] spans the image)
    to_px = _scale(torch.full((n,), w / 2, device=x.device), torch.full((n,), h / 2, device=x.device), n, x)
    to_norm = _scale(torch.full((n,), 2 / w, device=x.device), torch.full((n,), 2 / h, device=x.device), n, x)
    A = (to_norm @ G @ to_px)[:, :2, :]  # [N, 2, 3]
    grid = F.affine_grid(A.to(x.dtype), [n, c, h, w], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # --- colour: one 4x4 matrix on homogeneous RGB
    C = torch.eye(4, device=x.device).expand(n, 4, 4)
    b = _randn(n, x, gen) * 0.2 * _on(p, n, x, gen)  # brightness
    C = _mat(n, [[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]], x) @ C
    k = torch.exp2(_randn(n, x, gen) * 0.5 * _on(p, n, x, gen))  # contrast
    C = _mat(n, [[k, 0, 0, 0], [0, k, 0, 0], [0, 0, k, 0], [0, 0, 0, 1]], x) @ C
    v = torch.tensor([1.0, 1.0, 1.0, 0.0], device=x.device) / math.sqrt(3)  # the luma axis
    vv = torch.outer(v, v)
    i = (_rand(n, x, gen) * 2).floor() * _on(p, n, x, gen)  # luma flip: I - 2 v v^T
    C = (torch.eye(4, device=x.device) - 2 * vv * i.reshape(n, 1, 1)) @ C
    theta = (_rand(n, x, gen) * 2 - 1) * math.pi * _on(p, n, x, gen)  # hue rotation about v
    C = _rotate_about_luma(theta, v, x) @ C
    s = torch.exp2(_randn(n, x, gen) * 1.0 * _on(p, n, x, gen))  # saturation
    C = (vv + (torch.eye(4, device=x.device) - vv) * s.reshape(n, 1, 1)) @ C
    C = C.to(x.dtype)
    if c == 3:
        y = torch.einsum("nij,njhw->nihw", C[:, :3, :3], x) + C[:, :3, 3].reshape(n, 3, 1, 1)
    elif c == 1:  # grayscale: the mean of the RGB rows, applied to equal channels
        m = C[:, :3, :].mean(dim=1)  # [N, 4]
        y = x * m[:, :3].sum(dim=1).reshape(n, 1, 1, 1) + m[:, 3].reshape(n, 1, 1, 1)
    else:
        y = x  # other channel counts: geometric transforms only
    return y


def _rotate_about_luma(theta: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """[N, 4, 4] rotation by theta about the unit axis v (Rodrigues), on homogeneous RGB."""
    n = theta.shape[0]
    a = v[:3]
    K = torch.tensor([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]], device=x.device)
    I3 = torch.eye(3, device=x.device)
    R = I3 + torch.sin(theta).reshape(n, 1, 1) * K + (1 - torch.cos(theta)).reshape(n, 1, 1) * (K @ K)
    out = torch.eye(4, device=x.device).repeat(n, 1, 1)
    out[:, :3, :3] = R
    return out


def ada_adjust(p: torch.Tensor, sign_sum: torch.Tensor, count: torch.Tensor, target: float, images: torch.Tensor | int,
               ada_kimg: float) -> torch.Tensor:
    """The ADA update: r_t = sign_sum / count = E[sign(D(real))] over the last interval;
    p <- clamp(p + sign(r_t - target) * images / (ada_kimg * 1000), 0, 1). All tensors stay on
    the device (no host sync). `images`: real images shown to D since the last adjustment."""
    r_t = sign_sum / count.clamp(min=1)
    step = torch.sign(r_t - target) * (images / (ada_kimg * 1000.0))
    return (p + step).clamp(0.0, 1.0)


class Augment:
    """The engine's augmentation of D's inputs: kind none | diffaug | ada. Call with images and
    the current ADA probability p (ignored by the other kinds)."""

    def __init__(self, kind: str, policy: list[str] | tuple[str, ...] = DIFFAUG_POLICIES, gen: torch.Generator | None = None):
        if kind not in AUGMENT_KINDS:
            raise GrowganError(f"augment={kind!r} is not valid; use one of {', '.join(AUGMENT_KINDS)}")
        if kind == "diffaug":
            check_policy(policy)
        self.kind, self.policy, self.gen = kind, tuple(policy), gen

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    def __call__(self, x: torch.Tensor, p: torch.Tensor | float = 0.0) -> torch.Tensor:
        if self.kind == "diffaug":
            return diff_augment(x, self.policy, self.gen)
        if self.kind == "ada":
            return ada_augment(x, p, self.gen)
        return x
