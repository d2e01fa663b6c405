"""Grow operations that keep every piece of learnt state.

A grown network is rebuilt from its new spec; every parameter and buffer whose name and
shape it shares with its parent is copied over (weights, EMA averages), and optimizer
state (Adam moments, step counts) follows the parameters it belongs to. New layers keep
their fresh initialisation; the family makes them function-preserving at alpha = 0.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from growgan.networks.registry import build_discriminator, build_generator
from growgan.training.state import TrainState


@torch.no_grad()
def inherit_weights(child: nn.Module, parent: nn.Module) -> list[str]:
    """Copy every parent tensor whose name and shape match into child. Returns the names of
    the child's tensors that were *not* inherited (its new layers)."""
    parent_sd = parent.state_dict()
    new_names = []
    for name, tensor in child.state_dict().items():
        src = parent_sd.get(name)
        if src is not None and src.shape == tensor.shape:
            tensor.copy_(src)
        else:
            new_names.append(name)
    return new_names


def rebuild_optimizer(
    opt: torch.optim.Optimizer, parent: nn.Module, child: nn.Module, reset: bool = False
) -> torch.optim.Optimizer:
    """A new optimizer of the same class and hyper-parameters over child's parameters.

    Unless `reset`, the state of each parent parameter moves to the child parameter of the
    same name and shape. Single-param-group optimizers only (what growgan builds).
    """
    if len(opt.param_groups) != 1:
        raise ValueError("rebuild_optimizer supports one param group")
    hparams = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    new_opt = type(opt)(child.parameters(), **hparams)
    if reset:
        return new_opt
    parent_params = dict(parent.named_parameters())
    for name, p_new in child.named_parameters():
        p_old = parent_params.get(name)
        if p_old is None or p_old.shape != p_new.shape or p_old not in opt.state:
            continue
        new_opt.state[p_new] = {
            k: (v.clone() if torch.is_tensor(v) else v) for k, v in opt.state[p_old].items()
        }
    return new_opt


def regrow(state: TrainState, new_spec: dict, reset_optimizers: bool = False) -> dict[str, list[str]]:
    """Replace G, D, G_ema and both optimizers of `state` by ones built from `new_spec`,
    inheriting all matching weights, EMA averages and optimizer state. Returns the names of
    the new (not inherited) tensors per network, for logging and tests."""
    device = state.device
    G = build_generator(new_spec).to(device)
    D = build_discriminator(new_spec).to(device)
    G_ema = build_generator(new_spec).to(device).eval().requires_grad_(False)
    new = {"G": inherit_weights(G, state.G), "D": inherit_weights(D, state.D)}
    new_ema = inherit_weights(G_ema, state.G_ema)
    # A layer new to G starts its EMA at G's own fresh values, so EMA and G agree on it.
    g_sd, ema_sd = G.state_dict(), G_ema.state_dict()
    with torch.no_grad():
        for name in new_ema:
            ema_sd[name].copy_(g_sd[name])
    state.opt_G = rebuild_optimizer(state.opt_G, state.G, G, reset_optimizers)
    state.opt_D = rebuild_optimizer(state.opt_D, state.D, D, reset_optimizers)
    state.G, state.D, state.G_ema, state.spec = G, D, G_ema, new_spec
    return new
