"""What `growgan train --resume RUN --set KEY=VALUE` may change, and applying it.

A resumed run continues the checkpoint's networks, optimizer moments, counters, growth state
and random streams. Settings of *how* it trains from here on may change (learning rates and
Adam's betas/eps, batch size, kimg, regularisers, logging/checkpoint/metrics intervals,
device, AMP, ...); settings that define *what* is being trained may not:

- network: the checkpoint's tensors are shaped by it (a new spec is a new run: --arch);
- growth: the checkpoint's growth state (phase, history, fade) follows this schedule;
- task: the networks and the task's own state (e.g. image pools) belong to this task;
- loss: D has been trained as this loss's critic; another objective is another experiment;
- seed: the random streams continue from the checkpoint, so a new seed would be ignored;
- name: the run folder already has its name.

Changed learning rates, betas and eps are written into the restored optimizers' parameter
groups (loading an optimizer state dict restores the old ones, which is why a new rate
used to be recorded but not used). Growth controllers that set per-phase rates (ProGAN's
lr tables) take the new base rates from the config as well.
"""

from __future__ import annotations

from growgan.errors import GrowganError

FIXED_ON_RESUME = {
    "network": "the checkpoint's tensors are shaped by it; train the new spec as a new run (--arch)",
    "growth": "the checkpoint's growth state follows this schedule; start a new run for another one",
    "task": "the checkpoint's networks and task state belong to this task; another task is a new run",
    "loss": "D was trained as this loss's critic; another objective is a new run",
    "seed": "the resumed run continues the checkpoint's random streams; a new seed is a new run",
    "name": "the run folder already has its name",
}


def resume_changes(old, new) -> dict[str, tuple]:
    """{key: (old value, new value)} for every top-level config key that differs.

    Raises GrowganError (one line) when a key in FIXED_ON_RESUME changed."""
    a, b = old.to_dict(), new.to_dict()
    changed = {k: (a.get(k), b.get(k)) for k in b if a.get(k) != b.get(k)}
    fixed = [k for k in changed if k in FIXED_ON_RESUME]
    if fixed:
        k = fixed[0]
        raise GrowganError(f"--resume: {k} cannot change on resume ({FIXED_ON_RESUME[k]}); "
                           f"keys that can: learning rates, betas, batch_size, kimg, intervals, metrics, device, ...")
    return changed


def apply_optimizer_settings(state, config, changed) -> None:
    """Write changed lr_G/lr_D, betas_G/betas_D and adam_eps into the optimizers' param groups."""
    for opt, part in ((state.opt_G, "G"), (state.opt_D, "D")):
        for group in opt.param_groups:
            if f"lr_{part}" in changed:
                group["lr"] = float(getattr(config, f"lr_{part}"))
            if f"betas_{part}" in changed:
                group["betas"] = tuple(float(b) for b in getattr(config, f"betas_{part}"))
            if "adam_eps" in changed:
                group["eps"] = float(config.adam_eps)


def describe(changed: dict[str, tuple]) -> str:
    """'lr_G 0.0002 -> 0.0001, kimg 10.0 -> 20.0'."""
    return ", ".join(f"{k} {v[0]} -> {v[1]}" for k, v in changed.items())
