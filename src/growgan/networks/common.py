"""Building blocks shared by network families (today dcgan and resnet): the constructors'
spec checks and contract attributes, class-label checks, the conditional latent input and
spectral normalisation. Family-neutral names: ``fmap_max`` caps widths in every family.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from growgan.errors import GrowganError
from growgan.networks.registry import Network


def square_net_head(
    net: Network,
    family: str,
    allowed: Sequence[int],
    z_dim: int,
    c_dim: int,
    img_channels: int,
    img_resolution: int | Sequence[int],
    sizes: dict[str, int],
    options: dict[str, Any],
) -> int:
    """The shared start of the dcgan and resnet constructors: check the resolution (square,
    in `allowed`) and `sizes` (positive integers; `embed_dim` only when set, as 0 means
    z_dim), record the spec (z_dim, c_dim, img_channels, img_resolution, then `sizes` and
    `options` in their order) and set the contract attributes. Returns the side length."""
    res = square_resolution(img_resolution, allowed, family)
    check_sizes(family, c_dim, z_dim=z_dim, img_channels=img_channels,
                **{k: v for k, v in sizes.items() if k != "embed_dim" or v})
    net._record_spec(z_dim=z_dim, c_dim=c_dim, img_channels=img_channels, img_resolution=[res, res], **sizes, **options)
    net.z_dim, net.c_dim, net.img_channels, net.img_resolution = z_dim, c_dim, img_channels, (res, res)
    return res


def square_resolution(img_resolution: int | Sequence[int], allowed: Sequence[int], family: str) -> int:
    """An int or (H, W) -> the side of a square resolution in `allowed`, else GrowganError."""
    if isinstance(img_resolution, int):
        h = w = img_resolution
    else:
        h, w = (int(v) for v in img_resolution)
    if h != w or h not in allowed:
        sizes = ", ".join(f"{r}x{r}" for r in allowed)
        raise GrowganError(f"{family} networks cannot be built for {h}x{w} images; "
                           f"use a square resolution among {sizes} (repack or resize the data)")
    return h


def check_sizes(family: str, c_dim: int, **positive: int) -> None:
    """Spec values that must be positive integers (widths, z_dim, ...) and c_dim >= 0."""
    bad = [f"{k}={v!r}" for k, v in positive.items() if not isinstance(v, int) or isinstance(v, bool) or v <= 0]
    if not isinstance(c_dim, int) or isinstance(c_dim, bool) or c_dim < 0:
        bad.append(f"c_dim={c_dim!r}")
    if bad:
        raise GrowganError(f"{family} network spec: {', '.join(bad)} is invalid; use positive integers "
                           "(c_dim: 0 for unconditional, else the number of classes)")


def check_labels(c: torch.Tensor | None, c_dim: int, n: int) -> torch.Tensor:
    """Validate int64 class labels [N] for a conditional network."""
    if c is None:
        raise ValueError(f"this network is conditional (c_dim={c_dim}); pass class labels c [N]")
    if c.dtype != torch.long or c.shape != (n,):
        raise ValueError(f"class labels must be int64 [{n}], got {c.dtype} {tuple(c.shape)}")
    return c


def latent_input(z: torch.Tensor, c: torch.Tensor | None, z_dim: int, c_dim: int, embed: nn.Module | None) -> torch.Tensor:
    """G's input: z [N, z_dim] (or [N, z_dim, 1, 1]) as [N, z_dim], with embed(c) appended
    when G is conditional: [N, z_dim + e]."""
    x = z.reshape(z.shape[0], z_dim)
    if embed is not None:
        x = torch.cat([x, embed(check_labels(c, c_dim, z.shape[0]))], dim=1)  # [N, z+e]
    return x


def apply_spectral_norm_(net: nn.Module) -> None:
    """Spectral-normalise every conv, linear and embedding weight of `net` in place."""
    for m in list(net.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            _sn(m)


# --------------------------------------------------------------------------- conditioning options
D_CONDITIONINGS = ("projection", "concat", "acgan")
G_LABEL_INPUTS = ("embed", "onehot")


def check_choice(family: str, key: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise GrowganError(f"{family} network spec: {key}={value!r} is invalid; use one of {', '.join(choices)}")


def label_planes(img: torch.Tensor, c: torch.Tensor | None, c_dim: int) -> torch.Tensor:
    """cGAN's D input (Mirza & Osindero 2014, for CNNs): img [N, C, H, W] with the one-hot
    label as c_dim constant planes appended: [N, C + c_dim, H, W]."""
    c = check_labels(c, c_dim, img.shape[0])
    onehot = torch.nn.functional.one_hot(c, c_dim).to(img.dtype)  # [N, c_dim]
    return torch.cat([img, onehot[:, :, None, None].expand(-1, -1, *img.shape[2:])], dim=1)


class LabelEmbedding(nn.Embedding):
    """G's learned class code for concatenation to z: c int64 [N] -> [N, dim], the row of
    `weight` [c_dim, dim] of each label rescaled to L2 norm 1, the norm of a one-hot label.

    Why fixed at 1: z ~ N(0, I) carries E||z||^2 = z_dim, so the code is 1/z_dim of G's input
    energy, as cGAN's one-hot label (Mirza & Osindero 2014) and BigGAN's orthogonally
    initialised shared embedding (unit rows, Brock et al. 2019) are. A raw N(0, 1) embedding
    as wide as z carries as much energy as z, and a DCGAN G fed that way drew one image per
    class whatever z (benchmarks/conditional.md); the normalisation also keeps the code from
    growing during training, so only its direction is learned. Rows start N(0, 1) (any scale:
    only the direction counts). An ``nn.Embedding`` subclass, so whatever treats embeddings
    apart (orthogonal regularisation skips them, spectral norm) treats it alike.

    Checkpoints written before this code (a raw ``nn.Embedding``, without the `norm` buffer)
    load with ``norm = 0``, which means "raw rows", so they draw what they were trained to."""

    def __init__(self, c_dim: int, dim: int):
        super().__init__(c_dim, dim)  # weight ~ N(0, 1)
        self.register_buffer("norm", torch.tensor(1.0))  # 0: a legacy raw embedding (see above)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        rows = self.weight[c]  # [N, dim]
        scale = self.norm / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return rows * torch.where(self.norm > 0, scale, torch.ones_like(scale))  # [N, dim]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if prefix + "norm" not in state_dict and any(k.startswith(prefix) for k in state_dict):
            state_dict[prefix + "norm"] = torch.tensor(0.0)  # a pre-LabelEmbedding checkpoint: raw rows
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class OneHot(nn.Module):
    """c int64 [N] -> one-hot float [N, c_dim]: cGAN's label input to G (concatenated to z)."""

    def __init__(self, c_dim: int):
        super().__init__()
        self.c_dim = c_dim

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(c, self.c_dim).float()


def add_conditioning(net: nn.Module, feat_dim: int, conditioning: str) -> None:
    """Give a discriminator `net` (with `c_dim` set) the conditional tail of its choice, on
    its pooled features phi [N, feat_dim]; any D family calls this and `conditioned_logits`:

    - "projection" (Miyato & Koyama 2018): `net.embed`, logits + <embed(c), phi>;
    - "concat" (cGAN, Mirza & Osindero 2014): nothing here; the family feeds
      `label_planes(img, c)` to its first layer (img_channels + c_dim input channels);
    - "acgan" (Odena et al. 2017): `net.aux`, a linear classifier whose class logits
      [N, c_dim] are kept in `net.class_logits` after each forward, for the training step's
      auxiliary loss (`losses.acgan_loss`); D then needs no labels.
    Unconditional nets (c_dim = 0) get none of these."""
    net.conditioning = conditioning
    cond = net.c_dim > 0
    net.embed = nn.Embedding(net.c_dim, feat_dim) if cond and conditioning == "projection" else None
    net.aux = nn.Linear(feat_dim, net.c_dim) if cond and conditioning == "acgan" else None
    net.class_logits = None


def input_channels(net: nn.Module, img_channels: int) -> int:
    """Channels of D's first layer: the image's, plus c_dim label planes for "concat"."""
    return img_channels + (net.c_dim if net.c_dim > 0 and net.conditioning == "concat" else 0)


def conditioned_input(net: nn.Module, img: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """D's input: img, or img with the label planes for "concat" (see `label_planes`)."""
    if net.c_dim > 0 and net.conditioning == "concat":
        return label_planes(img, c, net.c_dim)
    return img


def conditioned_logits(net: nn.Module, logits: torch.Tensor, phi: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """logits [N] of the unconditional head + the tail of `add_conditioning` on phi [N, F]."""
    if net.embed is not None:
        logits = logits + (net.embed(check_labels(c, net.c_dim, phi.shape[0])) * phi).sum(dim=1)
    if net.aux is not None:
        net.class_logits = net.aux(phi)  # [N, c_dim]
        logits = logits + 0.0 * net.class_logits.sum()  # aux stays in the graph (DDP: no unused parameters)
    return logits
