"""Progressive growing (Karras et al. 2018): the schedule and the growth controller.

The schedule is a pure function of images seen, as the official code's ``TrainingSchedule``:
stage 0 (4x4) is trained for ``stabilise_kimg``; every later stage first fades in for
``fade_kimg`` (alpha linear in images seen, 0 -> 1) and is then stabilised for
``stabilise_kimg``; the last stage trains on for ever. Both lengths may be lists (one entry per
stage, entry 0 of ``fade_kimg`` unused) and the fade may move in ``alpha_jumps`` equal steps
instead of continuously (pytorch_GAN_zoo's "linear" alpha jumps).

`ProGrowth.apply` rebuilds G, G_ema, D and both optimizers through
`growgan.growth.inherit.regrow` whenever the schedule's (stages, fading) differs from the
network spec: once at the start of a fade (adding the new stage; function-preserving at
alpha = 0) and once at the end of it (dropping the old toRGB/fromRGB). With
``reset_optimizers`` (the default, as the official code's ``reset_opt_for_new_lod``) Adam's
state is reset at both points; otherwise it is carried over by parameter name.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch

from growgan.errors import GrowganError
from growgan.growth.fade import fade_reals
from growgan.growth.inherit import regrow
from growgan.networks.progan import stage_resolution
from growgan.training.growth_config import ProGrowthConfig
from growgan.training.state import GrowthState, TrainState, set_alpha


# families with ProGAN's growth interface (spec keys num_stages, fade_in; the alpha attribute)
PROGRESSIVE_FAMILIES = ("progan", "stylegan")


class Phase(NamedTuple):
    stage: int  # newest stage (0 = 4x4)
    fade_in: bool  # the newest stage is fading in
    alpha: float  # its weight, 1.0 when not fading

    @property
    def resolution(self) -> int:
        return stage_resolution(self.stage)


def phase_at(images_seen: int, cfg: ProGrowthConfig) -> Phase:
    """The schedule: which stage trains after `images_seen` images, and its fade-in alpha."""
    stab, fade, jumps = cfg.per_stage_images()
    t = int(images_seen)
    for s in range(cfg.num_stages):
        if s > 0 and fade[s] > 0:
            if t < fade[s]:
                progress = t / fade[s]
                if jumps[s] > 0:
                    progress = math.floor(progress * jumps[s]) / jumps[s]
                return Phase(s, True, float(progress))
            t -= fade[s]
        if t < stab[s] or s == cfg.num_stages - 1:
            return Phase(s, False, 1.0)
        t -= stab[s]
    raise AssertionError("unreachable")


def spec_for(spec: dict, phase: Phase) -> dict:
    """A copy of the progan network spec with the phase's stage count and fading flag."""
    new = copy.deepcopy(spec)
    for net in ("G", "D"):
        new[net]["num_stages"] = phase.stage + 1
        new[net]["fade_in"] = phase.fade_in
    return new


class ProGrowth:
    """`growgan.growth.Growth` for ProGAN."""

    def __init__(self, cfg: ProGrowthConfig, base_lr_G: float, base_lr_D: float, seed: int = 0):
        self.cfg = cfg
        self.seed = int(seed)
        self.base_lr = {"G": base_lr_G, "D": base_lr_D}

    @classmethod
    def from_config(cls, config) -> "ProGrowth":
        if (config.network or {}).get("family") not in PROGRESSIVE_FAMILIES:
            raise GrowganError(
                f"config: growth kind 'progan' needs a progan network or a stylegan network, got family {config.network.get('family')!r}"
            )
        return cls(ProGrowthConfig.from_dict(config.growth or {}), config.lr_G, config.lr_D, getattr(config, "seed", 0))

    def phase(self, images_seen: int) -> Phase:
        return phase_at(images_seen, self.cfg)

    def apply(self, state: TrainState) -> bool:
        ph = self.phase(state.images_seen)
        spec = spec_for(state.spec, ph)
        replaced = spec != state.spec
        history = list(state.growth.history) if state.growth.kind == "progan" else []
        if replaced:
            # New layers are drawn from a seed fixed by the schedule, not from the global RNG: every
            # rank of a multi-process run builds the same layers, and no RNG state shifts.
            # Only the CPU generator is seeded (the layers are built on the CPU, then moved):
            # torch.manual_seed would also reseed the CUDA generators, which fork_rng(devices=[])
            # does not restore, so a CUDA run's noise stream would restart at every growth.
            with torch.random.fork_rng(devices=[]):
                torch.default_generator.manual_seed(self.seed * 1_000_003 + int(state.images_seen))
                regrow(state, spec, reset_optimizers=self.cfg.reset_optimizers)
            history.append({"images_seen": int(state.images_seen), "resolution": ph.resolution, "fade_in": ph.fade_in})
        res = str(ph.resolution)
        for opt, name, table in ((state.opt_G, "G", self.cfg.lr_G), (state.opt_D, "D", self.cfg.lr_D)):
            lr = float(table.get(res, self.base_lr[name]))
            for group in opt.param_groups:
                group["lr"] = lr
        state.growth = GrowthState(kind="progan", resolution=(ph.resolution, ph.resolution), fading=ph.fade_in,
                                   history=history)
        set_alpha(state, ph.alpha)
        return replaced

    def describe(self, state: TrainState) -> str:
        ph = self.phase(state.images_seen)
        if ph.fade_in:
            return f"{ph.resolution}x{ph.resolution} fading in over {ph.resolution // 2}x{ph.resolution // 2} (alpha {ph.alpha:.3f})"
        return f"{ph.resolution}x{ph.resolution} (stable, {ph.stage + 1} stages)"

    def batch_size(self, images_seen: int) -> int | None:
        size = self.cfg.batch_sizes.get(str(self.phase(images_seen).resolution))
        return None if size is None else int(size)

    def prepare_reals(self, reals: torch.Tensor, state: TrainState) -> torch.Tensor:
        side = reals.shape[-1]
        if side % self.cfg.target_resolution:
            raise GrowganError(
                f"data: images are {reals.shape[-2]}x{side} but growth.target_resolution is "
                f"{self.cfg.target_resolution}; use an archive whose side is a multiple of it or lower the target"
            )
        if reals.shape[-2] != side:
            raise GrowganError(f"data: images are {reals.shape[-2]}x{side} but progan needs square images; "
                               "repack the archive at a square power-of-two resolution")
        return fade_reals(reals, state.growth.resolution, state.growth.fading, state.growth.alpha)

