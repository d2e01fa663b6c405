"""Growing networks: the single source of truth for a model whose architecture changes.

The training loop knows growth only through the `Growth` protocol below. A growth
controller owns the schedule (a pure function of images seen), the growth state (kept
JSON-able in ``TrainState.growth``), and applies grow operations through
`growgan.growth.inherit.regrow`, which replaces G, G_ema, D and both optimizers together.
"""

from __future__ import annotations

from typing import Protocol

import torch

from growgan.training.state import TrainState


class Growth(Protocol):
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


def make_growth(config) -> Growth | None:
    """The growth controller that ``config.growth`` asks for, or None for a fixed network.

    ``config.growth`` is None or a dict with a ``"kind"`` key ("progan", "dggan"); each kind's
    module parses the rest of the dict into its own dataclass.
    """
    growth_cfg = getattr(config, "growth", None)
    if not growth_cfg:
        return None
    kind = growth_cfg.get("kind")
    if kind == "progan":
        from growgan.growth.progan import ProGrowth

        return ProGrowth.from_config(config)
    if kind == "dggan":
        from growgan.growth.dggan import DGGrowth

        return DGGrowth.from_config(config)
    from growgan.errors import GrowganError

    raise GrowganError(f"unknown growth kind {kind!r} in the config; use 'progan' or 'dggan'")
