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

from growgan.errors import GrowganError
from growgan.growth.fade import fade_reals
from growgan.growth.inherit import regrow
from growgan.networks.dggan import action_name, apply_action, describe, settle, spec_resolution
from growgan.training.growth_config import DGGrowthConfig
from growgan.training.state import GrowthState, TrainState, set_alpha
from growgan.utils.units import kimg_to_images


def spec_at(start_spec: dict, cfg: DGGrowthConfig, images_seen: int) -> tuple[dict, float]:
    """(spec, alpha) of the replayed history at `images_seen`; alpha is 1.0 when no fade runs."""
    spec, alpha = settle(start_spec), 1.0
    fade = max(kimg_to_images(cfg.fade_kimg), 1)
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
        state.growth = GrowthState(kind="dggan", resolution=spec_resolution(spec), fading=spec["D"].get("fade") == "stage")
        set_alpha(state, alpha)
        return replaced

    def describe(self, state: TrainState) -> str:
        spec, alpha = spec_at(self.start_spec, self.cfg, state.images_seen)
        h, w = spec_resolution(spec)
        started = [a for a in self.cfg.history if int(a["at"]) <= state.images_seen]
        fading = f", {action_name(started[-1])} fading in (alpha {alpha:.3f})" if alpha < 1.0 and started else ""
        return f"{h}x{w}{fading}: {describe(settle(spec))}"

    def batch_size(self, images_seen: int) -> int | None:
        spec, _ = spec_at(self.start_spec, self.cfg, images_seen)
        return self.cfg.batch_sizes.get(str(spec_resolution(spec)[0]))

    def prepare_reals(self, reals: torch.Tensor, state: TrainState) -> torch.Tensor:
        return fade_reals(reals, state.growth.resolution, state.growth.fading, state.growth.alpha)

