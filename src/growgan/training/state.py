"""Everything that changes while a GAN trains, in one object.

The training loop, the checkpoint code and the growth operations all read and write
this; nothing else holds a second copy. Wrappers such as DistributedDataParallel or
torch.compile live in the loop and are rebuilt when `growth` replaces the networks.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn as nn

from growgan.networks.registry import build_networks, canonical_spec
from growgan.training.amp import amp_dtype


@dataclass
class GrowthState:
    """Where a growing model is in its growth; the one home of the fade-in alpha.

    kind: "" for fixed networks, else the growth kind ("progan", "dggan").
    resolution: (H, W) pixels of the newest stage, None for fixed networks.
    fading: a new resolution stage is fading in (D's reals are blended with their
    half-resolution version, `growgan.growth.fade.fade_reals`).
    alpha: weight in [0, 1] of the newest layers (1.0 when nothing fades); mirrored onto
    G, G_ema and D only by `set_alpha`.
    history: the grow events so far, JSON-able dicts written by the growth kind.
    """

    kind: str = ""
    resolution: tuple[int, int] | None = None
    fading: bool = False
    alpha: float = 1.0
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "resolution": list(self.resolution) if self.resolution else None,
                "fading": self.fading, "alpha": float(self.alpha), "history": copy.deepcopy(self.history)}

    @classmethod
    def from_dict(cls, d: dict | None) -> "GrowthState":
        """Also reads checkpoints written before GrowthState (growgan <= d50b1e1): ProGAN's
        ``{"resolution": 8, "fade_in": true, ...}`` and DGGAN's ``{"resolution": [h, w], "alpha": a}``."""
        d = dict(d or {})
        res = d.get("resolution")
        if isinstance(res, (int, float)):
            res = (int(res), int(res))
        elif res is not None:
            res = (int(res[0]), int(res[1]))
        alpha = float(d.get("alpha", 1.0))
        fading = d["fading"] if "fading" in d else d.get("fade_in", d.get("kind") == "dggan" and alpha < 1.0)
        return cls(kind=str(d.get("kind") or ""), resolution=res, fading=bool(fading), alpha=alpha,
                   history=[dict(h) for h in d.get("history") or []])


def set_alpha(state: "TrainState", alpha: float) -> None:
    """The one writer of the fade-in alpha: ``state.growth.alpha`` and the ``alpha``
    attribute of G, G_ema and D (growable networks read it in forward; see the network
    contract in growgan.networks.registry)."""
    alpha = float(alpha)
    state.growth.alpha = alpha
    for net in (state.G, state.G_ema, state.D):
        net.alpha = alpha


@dataclass
class TrainState:
    spec: dict  # network spec {"family", "G", "D"}; updated by every growth step
    G: nn.Module
    D: nn.Module
    G_ema: nn.Module  # no grad; exponential moving average of G
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    images_seen: int = 0  # real images shown to D; every schedule is a function of it
    step: int = 0  # completed training iterations (one G update each)
    scaler: Any = None  # torch.amp.GradScaler when fp16 is used, else None
    growth: GrowthState = field(default_factory=GrowthState)  # written by the growth controller
    # StyleGAN2's running mean path length (0-dim float32 tensor; see losses.path_length_penalty)
    pl_mean: torch.Tensor = field(default_factory=lambda: torch.zeros([]))
    # ADA (growgan.augment): the augmentation probability p (0-dim), and the sum of sign(D(real))
    # and the number of reals since p was last adjusted ([2]); tensors, so the loop never syncs
    ada_p: torch.Tensor = field(default_factory=lambda: torch.zeros([]))
    ada_stat: torch.Tensor = field(default_factory=lambda: torch.zeros(2))

    @property
    def kimg(self) -> float:
        return self.images_seen / 1000.0

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device


class Growth(Protocol):
    """A growth controller (growgan.growth.progan, growgan.growth.dggan), handed to the
    Trainer by its caller."""

    def apply(self, state: TrainState) -> bool:
        """Bring the architecture, fade-in alpha and per-phase hyper-parameters (e.g. lr)
        of `state` in line with ``state.images_seen``. Called before every training step
        and right after a resume. Returns True when the networks were replaced, so the
        loop re-wraps them (DDP, compile) and re-places them (channels_last)."""

    def batch_size(self, images_seen: int) -> int | None:
        """Per-rank minibatch size for this phase, or None to keep the configured one."""

    def prepare_reals(self, reals: torch.Tensor, state: TrainState) -> torch.Tensor:
        """float [-1, 1] reals at archive resolution -> what D should see now (the current
        resolution, faded as the phase requires)."""

    def describe(self, state: TrainState) -> str:
        """One line naming the networks as they are now (logged at every growth event)."""


# ---------------------------------------------------------------------------- building and copying
def make_optimizers(G: nn.Module, D: nn.Module, config) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """Adam for G and D with the config's separate learning rates and betas.

    foreach=True: one multi-tensor kernel per update instead of a Python loop over
    parameters (PyTorch picks the slow per-parameter loop on CPU by default)."""
    kw = dict(eps=config.adam_eps, foreach=True)
    opt_G = torch.optim.Adam(G.parameters(), lr=config.lr_G, betas=tuple(config.betas_G), **kw)
    opt_D = torch.optim.Adam(D.parameters(), lr=config.lr_D, betas=tuple(config.betas_D), **kw)
    return opt_G, opt_D


def make_scaler(config, device: torch.device):
    """A GradScaler when training in fp16 on CUDA, else None."""
    if amp_dtype(config.amp, device) == torch.float16:
        return torch.amp.GradScaler("cuda")
    return None


def build_state(config, device: torch.device | str = "cpu", spec: dict | None = None) -> TrainState:
    """A fresh TrainState from a config whose network spec is fully resolved (see
    `growgan.training.loop.resolve_network`). G_ema starts as a copy of G."""
    spec = copy.deepcopy(spec if spec is not None else config.network)
    G, D = build_networks(spec)
    G, D = G.to(device), D.to(device)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_G, opt_D = make_optimizers(G, D, config)
    return TrainState(spec=spec, G=G, D=D, G_ema=G_ema, opt_G=opt_G, opt_D=opt_D,
                      scaler=make_scaler(config, torch.device(device)), pl_mean=torch.zeros([], device=device),
                      ada_p=torch.full([], float(getattr(config, "ada_p", 0.0)), device=device),
                      ada_stat=torch.zeros(2, device=device))


def state_to_dict(state: TrainState) -> dict:
    """Everything in `state` as plain containers and tensors (loadable with weights_only=True).
    Tensors are references; deep-copy the result to keep it independent of `state`."""
    return {
        "spec": state.spec,
        "images_seen": int(state.images_seen),
        "step": int(state.step),
        "growth": state.growth.to_dict(),
        "G": state.G.state_dict(),
        "D": state.D.state_dict(),
        "G_ema": state.G_ema.state_dict(),
        "opt_G": state.opt_G.state_dict(),
        "opt_D": state.opt_D.state_dict(),
        "scaler": state.scaler.state_dict() if state.scaler is not None else None,
        "pl_mean": state.pl_mean,
        "ada_p": state.ada_p,
        "ada_stat": state.ada_stat,
    }


def state_from_dict(d: dict, config, device: torch.device | str = "cpu") -> TrainState:
    """Rebuild the networks from d["spec"] and load every state dict (strict: a mismatch
    raises RuntimeError, which the checkpoint loader turns into a one-line error)."""
    state = build_state(config, device, spec=canonical_spec(d["spec"]))
    state.G.load_state_dict(d["G"])
    state.D.load_state_dict(d["D"])
    state.G_ema.load_state_dict(d["G_ema"])
    state.opt_G.load_state_dict(d["opt_G"])
    state.opt_D.load_state_dict(d["opt_D"])
    if d.get("scaler") is not None and state.scaler is not None:
        state.scaler.load_state_dict(d["scaler"])
    state.images_seen, state.step = int(d["images_seen"]), int(d["step"])
    for key in ("pl_mean", "ada_p", "ada_stat"):  # absent in checkpoints written before StyleGAN2
        if d.get(key) is not None:
            setattr(state, key, d[key].to(device=state.device, dtype=torch.float32).clone())
    state.growth = GrowthState.from_dict(d.get("growth"))
    if state.growth.kind:
        set_alpha(state, state.growth.alpha)
    return state


def clone_state(state: TrainState, config) -> TrainState:
    """An independent deep copy of `state` (networks, EMA, optimizer moments, counters,
    growth state), e.g. for the DGGAN search to train children from one parent."""
    return state_from_dict(copy.deepcopy(state_to_dict(state)), config, state.device)
