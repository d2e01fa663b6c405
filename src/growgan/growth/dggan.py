"""DGGAN growth controller (Liu et al., "Dynamically Grown GANs", AAAI 2021): replays a
growth history as a pure function of images seen.

A DGGAN model's life is its starting spec (``config.network``) plus a *history*: the actions
that the search chose and the image counts at which they happened,
``[{"op": "G+conv", "k": 3, "w": 16, "at": 12000}, {"op": "grow-resolution", "at": 24000}]``.
Each action fades in linearly over ``fade_kimg`` and is then settled into plain layers.
`spec_at(images_seen)` gives the architecture and alpha at any point, so resume, the search
(each child = parent's history + one action at the parent's image count) and re-training a
found schedule from scratch all go through the same code. Reals are faded like ProGAN's:
during a resolution fade D sees ``lerp(upsample(downsample(x)), x, alpha)``.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.growth.inherit import regrow
from growgan.networks.dggan import apply_action, settle, spec_resolution
from growgan.training.growth_config import DGGrowthConfig
from growgan.training.state import TrainState


def spec_at(start_spec: dict, cfg: DGGrowthConfig, images_seen: int) -> tuple[dict, float]:
    """(spec, alpha) of the replayed history at `images_seen`; alpha is 1.0 when no fade runs."""
    spec, alpha = settle(start_spec), 1.0
    fade = max(cfg.fade_kimg * 1000.0, 1.0)
    for action in cfg.history:
        at = int(action["at"])
        if images_seen < at:
            break
        spec = apply_action(spec, action)
        alpha = (images_seen - at) / fade
        if alpha >= 1.0:
            spec, alpha = settle(spec), 1.0
    return spec, float(alpha)


class DGGrowth:
    """`growgan.growth.Growth` for DGGAN: regrow to the replayed spec, set alpha, fade reals."""

    def __init__(self, start_spec: dict, cfg: DGGrowthConfig):
        if start_spec.get("family") != "dggan":
            raise GrowganError(f"growth kind 'dggan' needs a dggan network spec, got family {start_spec.get('family')!r}")
        self.start_spec = copy.deepcopy(start_spec)
        self.cfg = cfg

    @classmethod
    def from_config(cls, config) -> "DGGrowth":
        return cls(config.network, DGGrowthConfig.from_dict(config.growth or {}))

    def apply(self, state: TrainState) -> bool:
        spec, alpha = spec_at(self.start_spec, self.cfg, state.images_seen)
        replaced = False
        if spec != state.spec:
            regrow(state, spec)
            replaced = True
        for net in (state.G, state.D, state.G_ema):
            net.alpha = alpha
        state.growth = {"kind": "dggan", "alpha": alpha, "resolution": list(spec_resolution(spec))}
        return replaced

    def batch_size(self, images_seen: int) -> int | None:
        spec, _ = spec_at(self.start_spec, self.cfg, images_seen)
        return self.cfg.batch_sizes.get(str(spec_resolution(spec)[0]))

    def prepare_reals(self, reals: torch.Tensor, state: TrainState) -> torch.Tensor:
        return fade_reals(reals, state.spec, float(getattr(state.D, "alpha", 1.0)))


def fade_reals(reals: torch.Tensor, spec: dict, alpha: float) -> torch.Tensor:
    """float reals at archive resolution -> D's current resolution, faded during a stage fade."""
    h, w = spec_resolution(spec)
    if reals.shape[-2] % h or reals.shape[-1] % w:
        raise GrowganError(f"archive resolution {tuple(reals.shape[-2:])} is not a multiple of the network's {(h, w)}")
    x = F.avg_pool2d(reals, (reals.shape[-2] // h, reals.shape[-1] // w)) if reals.shape[-2] != h else reals
    if spec["D"].get("fade") == "stage" and alpha < 1.0:
        low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")  # parent's view
        x = torch.lerp(low, x, alpha)
    return x  # [N, C, h, w]
