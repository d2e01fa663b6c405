"""Training FLOPs: the counter against an analytic count for a small conv net, and the
loop's per-shape cached count against counting the real training steps themselves."""

from __future__ import annotations

import torch
import torch.nn as nn
from engine_helpers import tiny_config

from torch.utils.flop_counter import FlopCounterMode

from growgan.training.flops import count_flops
from growgan.training.loop import Trainer


def conv_macs(n, cin, cout, k, h, w):
    return n * cout * h * w * cin * k * k  # multiply-adds of a stride-1 'same' conv


def test_count_flops_matches_analytic_conv_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(4, 3, 1),
                        nn.Flatten(), nn.Linear(3 * 5 * 5, 6))
    x = torch.randn(2, 2, 5, 5)
    with FlopCounterMode(display=False) as mode:  # torch's own counter agrees on a plain net
        net(x).sum().backward()
    m1, m2, m3 = conv_macs(2, 2, 4, 3, 5, 5), conv_macs(2, 4, 3, 1, 5, 5), 2 * 75 * 6
    _, fwd = count_flops(net, x)
    assert fwd == 2 * (m1 + m2 + m3)
    _, train = count_flops(lambda: net(x).square().sum().backward())
    # backward: weight grads of all three, input grads of layers 2 and 3 (x needs no grad)
    assert train == 2 * (m1 + m2 + m3) + 2 * (m1 + m2 + m3) + 2 * (m2 + m3) == mode.get_total_flops()


def test_trainer_flops_equal_the_counted_real_steps(tiny_archive):
    cfg = tiny_config(loss="wgan", gp_lambda=10.0, drift_epsilon=1e-3)
    a = Trainer(cfg, tiny_archive, verbose=False)
    a.train_until(24)  # 3 steps of batch 8
    b = Trainer(cfg, tiny_archive, verbose=False)
    _, real = count_flops(lambda: [b.step() for _ in range(3)])  # the real steps, incl. GP double backward
    # the loop's count (one iteration on a copy per step shape, cached by a's run) x 3 steps
    assert a.flops > 0 and a.flops == b.flops == real
    extra = a.resume_extra()
    assert extra["flops"] == a.flops and extra["train_s"] > 0
    c = Trainer(cfg, tiny_archive, state=a.state, verbose=False, resume=extra)
    assert c.flops == a.flops  # resume carries the count on


def test_schedule_flops_predicts_a_growing_run(tmp_path):
    """The replayed schedule (a DGGAN net grown twice, a fade each time) counts what training counts."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from engine_helpers import make_archive

    from growgan.networks.dggan import initial_spec
    from growgan.training.config import TrainConfig
    from growgan.training.flops import schedule_flops

    archive = make_archive(tmp_path / "a", n=64, res=16)
    spec = initial_spec(img_channels=1, z_dim=8, base_resolution=(4, 4), width=4)
    history = [{"op": "G+conv", "k": 3, "w": 6, "at": 16}, {"op": "grow-resolution", "g_w": 4, "d_w": 8, "at": 40}]
    cfg = TrainConfig(network=spec, growth={"kind": "dggan", "fade_kimg": 0.016, "history": history,
                                            "batch_sizes": {"8": 4}}, batch_size=8, loss="wgan", gp_lambda=10.0,
                      tensorboard=False)
    from growgan.growth import build_trainer

    t = build_trainer(cfg, archive, verbose=False)
    t.train_until(80)
    assert schedule_flops(build_trainer(cfg, archive, verbose=False), 0.080) == t.flops > 0
