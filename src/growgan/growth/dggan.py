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
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.growth.inherit import regrow
from growgan.networks.dggan import apply_action, settle, spec_resolution
from growgan.training.state import TrainState


@dataclass
class DGGrowthConfig:
    """The growth part of ``config.growth`` for kind "dggan" (the search reads its own keys)."""

    fade_kimg: float = 2.0  # length of each action's linear fade-in
    history: list[dict[str, Any]] = field(default_factory=list)  # actions with "at" (images seen)
    batch_sizes: dict[str, int] = field(default_factory=dict)  # per resolution ("16": 32), optional

    @classmethod
    def from_dict(cls, d: dict) -> "DGGrowthConfig":
        history = [dict(a) for a in d.get("history", [])]
        for a in history:
            if "op" not in a or "at" not in a:
                raise GrowganError(f"dggan growth history entry {a} needs 'op' and 'at' (images seen); fix config.growth")
        history.sort(key=lambda a: int(a["at"]))
        return cls(
            fade_kimg=float(d.get("fade_kimg", 2.0)),
            history=history,
            batch_sizes={str(k): int(v) for k, v in (d.get("batch_sizes") or {}).items()},
        )


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

    def describe(self, state: TrainState) -> str:
        from growgan.networks.dggan import action_name, describe

        spec, alpha = spec_at(self.start_spec, self.cfg, state.images_seen)
        h, w = spec_resolution(spec)
        started = [a for a in self.cfg.history if int(a["at"]) <= state.images_seen]
        fading = f", {action_name(started[-1])} fading in (alpha {alpha:.3f})" if alpha < 1.0 and started else ""
        return f"{h}x{w}{fading}: {describe(settle(spec))}"

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
