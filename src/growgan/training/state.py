"""Everything that changes while a GAN trains, in one object.

The training loop, the checkpoint code and the growth operations all read and write
this; nothing else holds a second copy. Wrappers such as DistributedDataParallel or
torch.compile live in the loop and are rebuilt when `growth` replaces the networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn


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
    growth: dict = field(default_factory=dict)  # JSON-able growth state, owned by growgan.growth

    @property
    def kimg(self) -> float:
        return self.images_seen / 1000.0

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device


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
    from growgan.training.amp import amp_dtype

    if amp_dtype(config.amp, device) == torch.float16:
        return torch.amp.GradScaler("cuda")
    return None


def build_state(config, device: torch.device | str = "cpu", spec: dict | None = None) -> TrainState:
    """A fresh TrainState from a config whose network spec is fully resolved (see
    `growgan.training.loop.resolve_network`). G_ema starts as a copy of G."""
    import copy

    from growgan.networks.registry import build_networks

    spec = copy.deepcopy(spec if spec is not None else config.network)
    G, D = build_networks(spec)
    G, D = G.to(device), D.to(device)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_G, opt_D = make_optimizers(G, D, config)
    return TrainState(spec=spec, G=G, D=D, G_ema=G_ema, opt_G=opt_G, opt_D=opt_D,
                      scaler=make_scaler(config, torch.device(device)))


def state_to_dict(state: TrainState) -> dict:
    """Everything in `state` as plain containers and tensors (loadable with weights_only=True).
    Tensors are references; deep-copy the result to keep it independent of `state`."""
    return {
        "spec": state.spec,
        "images_seen": int(state.images_seen),
        "step": int(state.step),
        "growth": state.growth,
        "G": state.G.state_dict(),
        "D": state.D.state_dict(),
        "G_ema": state.G_ema.state_dict(),
        "opt_G": state.opt_G.state_dict(),
        "opt_D": state.opt_D.state_dict(),
        "scaler": state.scaler.state_dict() if state.scaler is not None else None,
    }


def state_from_dict(d: dict, config, device: torch.device | str = "cpu") -> TrainState:
    """Rebuild the networks from d["spec"] and load every state dict (strict: a mismatch
    raises RuntimeError, which the checkpoint loader turns into a one-line error)."""
    state = build_state(config, device, spec=d["spec"])
    state.G.load_state_dict(d["G"])
    state.D.load_state_dict(d["D"])
    state.G_ema.load_state_dict(d["G_ema"])
    state.opt_G.load_state_dict(d["opt_G"])
    state.opt_D.load_state_dict(d["opt_D"])
    if d.get("scaler") is not None and state.scaler is not None:
        state.scaler.load_state_dict(d["scaler"])
    state.images_seen, state.step = int(d["images_seen"]), int(d["step"])
    state.growth = dict(d.get("growth") or {})
    return state


def clone_state(state: TrainState, config) -> TrainState:
    """An independent deep copy of `state` (networks, EMA, optimizer moments, counters,
    growth state), e.g. for the DGGAN search to train children from one parent."""
    import copy

    return state_from_dict(copy.deepcopy(state_to_dict(state)), config, state.device)


def growth_status(state: "TrainState") -> dict:
    """{"resolution": [H, W], "alpha": float} of a growing run (from ``state.growth``, which
    every controller fills in `apply`), or {} for a fixed network. alpha is the newest
    layer's fade-in weight, 1.0 when nothing is fading."""
    g = state.growth or {}
    if "resolution" not in g:
        return {}
    res = g["resolution"]
    res = [int(res), int(res)] if isinstance(res, (int, float)) else [int(r) for r in res]
    return {"resolution": res, "alpha": float(g.get("alpha", 1.0))}

