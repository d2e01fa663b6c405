"""Run under torchrun by test_distributed.py: on every rank, train a tiny Pix2Pix run and a
tiny CycleGAN run (G = G_AB + G_BA, D = D_A + D_B) for a few steps in memory, and dump their
states and each rank's first training batch to OUT/<task>-rank<r>.pt for the test to compare."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired_helpers import tiny_pix2pix_config  # noqa: E402
from test_cyclegan_task import tiny_cyclegan_config  # noqa: E402

from growgan.training import distributed as dist_utils  # noqa: E402
from growgan.training.loop import Trainer  # noqa: E402
from growgan.training.state import state_to_dict  # noqa: E402

STEPS = 3


def main(paired: str, unpaired: str, out: str) -> None:
    torch.set_num_threads(1)
    info = dist_utils.init_from_env("cpu")
    for name, cfg, archive in (("pix2pix", tiny_pix2pix_config(), paired), ("cyclegan", tiny_cyclegan_config(), unpaired)):
        tr = Trainer(cfg, archive, verbose=False)
        initial = {k: {n: t.clone() for n, t in getattr(tr.state, k).state_dict().items()} for k in ("G", "D")}
        first = next(tr.task.make_loader(tr.archive, cfg.batch_size, cfg.seed, info.rank, info.world_size))
        tr.train_until(STEPS * cfg.batch_size * info.world_size)
        torch.save({"state": state_to_dict(tr.state), "first_batch": first, "initial": initial, "world": info.world_size},
                   Path(out) / f"{name}-rank{info.rank}.pt")
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:4])
