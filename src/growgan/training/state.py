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
