"""torch.compile in the step runner: nets with spectral norm (in-place power iteration in
forward, rejected by compiled backward) stay eager, the others are compiled."""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm

from growgan.training.step import StepRunner


def test_spectral_normed_nets_are_not_compiled():
    G = nn.Sequential(nn.Linear(4, 4))
    D = nn.Sequential(spectral_norm(nn.Linear(4, 1)))
    st = SimpleNamespace(G=G, D=D, G_ema=G)
    runner = StepRunner(SimpleNamespace(channels_last=False, compile=True), torch.device("cpu"), None,
                        torch.Generator(), 1)
    runner.wrap(st)
    assert runner.D_fwd is D  # eager: compiling it fails in backward
    assert runner.G_fwd is not G and isinstance(runner.G_fwd, torch._dynamo.eval_frame.OptimizedModule)
    plain = StepRunner(SimpleNamespace(channels_last=False, compile=False), torch.device("cpu"), None,
                       torch.Generator(), 1)
    plain.wrap(st)
    assert plain.G_fwd is G and plain.D_fwd is D
