"""Training compute in floating-point operations, counted by PyTorch itself.

`count_flops` counts the FLOPs of the matrix products and convolutions a piece of code
dispatches (forward, backward and the double backward of gradient penalties; 2 FLOPs per
multiply-add) with the formulas of `torch.utils.flop_counter` (the registry behind
`FlopCounterMode`), which is where a GAN step spends its arithmetic; element-wise ops
(activations, normalisations, Adam) are not counted. It is FlopCounterMode without the
per-module breakdown: FlopCounterMode's module hooks make ``autograd.grad`` on a leaf
fail, which every gradient penalty does.

The training loop counts one iteration (n_critic D steps + one G step, with every penalty
the config enables) per *step shape* (network spec including any fade, per-rank batch size,
whether lazy R1 runs) on a throw-away copy of the state, caches it, and adds it once per
iteration: ``Trainer.flops`` is the run's total over all ranks, saved in checkpoints.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from growgan.utils.device import fork_rng

_CACHE: dict[str, int] = {}


class _FlopCounter(TorchDispatchMode):
    """Sums torch's flop formulas over every dispatched op (decomposing unknown composites)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        if packet not in flop_registry and func is not torch.ops.prim.device.default:
            with self:
                out = func.decompose(*args, **kwargs)
            if out is not NotImplemented:
                return out
        out = func(*args, **kwargs)
        if packet in flop_registry:
            self.total += int(flop_registry[packet](*args, **kwargs, out_val=out))
        return out


def count_flops(fn: Callable[..., Any], *args, **kwargs) -> tuple[Any, int]:
    """(fn(*args, **kwargs), FLOPs it dispatched): forward and any backward run inside fn."""
    with _FlopCounter() as counter:
        out = fn(*args, **kwargs)
    return out, counter.total


def step_key(spec: dict, batch: int, config, r1_now: bool) -> str:
    """What decides an iteration's FLOPs: the architecture (with its fade), the per-rank batch
    and the loss settings."""
    loss = {k: getattr(config, k) for k in ("loss", "n_critic", "gp_lambda", "r1_gamma")}
    return json.dumps([spec, int(batch), loss, bool(r1_now)], sort_keys=True, default=str)


def step_flops(state, config, batch: int, device: torch.device | str = "cpu", r1_now: bool = True) -> int:
    """FLOPs of one training iteration of `state`'s networks at per-rank `batch` (n_critic D
    steps with their penalties + one G step), counted on a copy: `state` is not changed and
    no RNG outside a private generator is drawn. Cached per `step_key`."""
    key = step_key(state.spec, batch, config, r1_now)
    if key in _CACHE:
        return _CACHE[key]
    from growgan.training.state import clone_state
    from growgan.training.step import StepRunner

    cfg = config.copy(compile=False, channels_last=False)
    # building the copy draws init weights, and the step draws noise and style-mixing latents from
    # the global RNG of `device` (CUDA's on a GPU): keep the caller's streams, or a resumed run
    # (whose FLOP cache starts empty) would draw a different stream from an uninterrupted one
    with fork_rng(device):
        flops = _count_iteration(state, cfg, batch, torch.device(device), r1_now, clone_state, StepRunner)
    _CACHE[key] = flops
    return flops


def _count_iteration(state, cfg, batch, device, r1_now, clone_state, StepRunner) -> int:
    copy_ = clone_state(state, cfg)
    for net, src in ((copy_.G, state.G), (copy_.D, state.D), (copy_.G_ema, state.G_ema)):
        if hasattr(src, "alpha"):
            net.alpha = src.alpha
    gen = torch.Generator(device).manual_seed(0)
    runner = StepRunner(cfg, device, None, gen, world_size=1)
    runner.wrap(copy_)
    res = copy_.G.img_resolution
    h, w = (res, res) if isinstance(res, int) else (int(res[0]), int(res[1]))
    reals = torch.zeros(batch, copy_.G.img_channels, h, w, device=device)  # [B, C, H, W]
    c_dim = int(getattr(copy_.G, "c_dim", 0) or 0)
    c = torch.zeros(batch, dtype=torch.long, device=device) if c_dim else None

    def one_iteration() -> None:
        for i in range(cfg.n_critic):
            d_index = 0 if r1_now else 1
            runner.d_step(copy_, reals, c, d_index, 0.0, keep_fakes=i == cfg.n_critic - 1)
        runner.g_step(copy_, reals, c, 0.0)

    return count_flops(one_iteration)[1]


def schedule_flops(trainer, kimg: float) -> int:
    """The training FLOPs a fresh `trainer` (growgan.growth.build_trainer(config, data)) would
    count in its first `kimg` thousand images, without training: its growth controller is
    replayed on its untrained state and each iteration adds its step shape's count, as the
    loop does. Used to size a run to a FLOP budget (e.g. ProGAN against a DGGAN search).
    The trainer's state is advanced (networks grown, counters moved): use it for nothing else."""
    st, growth, cfg = trainer.state, trainer.growth, trainer.config
    target, total = int(round(kimg * 1000)), 0
    while st.images_seen < target:
        if growth is not None:
            growth.apply(st)
        bs = (growth.batch_size(st.images_seen) if growth is not None else None) or cfg.batch_size
        for i in range(cfg.n_critic):
            r1_now = cfg.r1_gamma > 0 and (st.step * cfg.n_critic) % cfg.r1_interval == 0
            if i == 0:
                total += step_flops(st, cfg, bs, trainer.device, r1_now)
            st.images_seen += bs
        st.step += 1
    return total


def probe_iteration_flops(task, state, batch: dict[str, torch.Tensor],
                          setup) -> int:
    """FLOPs of one D step + G step of `task` on `batch`, counted on a throw-away copy of the
    state by a fresh task of the same class (`setup(probe, copy)` wires it up); no state, RNG
    or optimizer of the run changes (count_flops). Used by the translation
    tasks' `iteration_flops`."""
    from types import SimpleNamespace

    from growgan.training.state import clone_state

    cfg = task.config.copy(compile=False, channels_last=False)
    dev = task.engine.device
    with fork_rng(dev):
        copy_ = clone_state(state, cfg)
        probe = type(task)(cfg)
        probe.engine = SimpleNamespace(amp=None, device=dev, dist=SimpleNamespace(world_size=1))
        setup(probe, copy_)
        return count_flops(lambda: (probe.d_step(copy_, batch, 0, True), probe.g_step(copy_, batch)))[1]
