"""Run under torchrun by test_distributed.py: on every rank, train 2k steps in memory (A),
k steps into a run folder (B, rank 0 writes), resume B's checkpoint for k more (C), and
dump A's and C's states to OUT/rank<r>.pt for the test to compare."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_helpers import tiny_config  # noqa: E402

from growgan.training import distributed as dist_utils  # noqa: E402
from growgan.training.checkpoint import latest_checkpoint, restore_state  # noqa: E402
from growgan.training.config import TrainConfig  # noqa: E402
from growgan.growth import build_trainer as Trainer  # noqa: E402
from growgan.training.state import state_to_dict  # noqa: E402


def main(archive: str, out: str) -> None:
    torch.set_num_threads(1)
    info = dist_utils.init_from_env("cpu")
    cfg = tiny_config(xflip=True)
    per_step = cfg.batch_size * info.world_size
    A = Trainer(cfg, archive, verbose=False)
    A.train_until(8 * per_step)
    run_dir = Path(out) / "run"
    B = Trainer(cfg, archive, run_dir=run_dir, verbose=False)
    B.train_until(4 * per_step)
    dist_utils.barrier()
    path, ckpt = latest_checkpoint(run_dir)
    config = TrainConfig.from_dict(ckpt["config"])
    C = Trainer(config, archive, state=restore_state(ckpt, config, "cpu", path), run_dir=run_dir,
                resume=ckpt["extra"], verbose=False)
    C.train_until(8 * per_step)
    torch.save({"A": state_to_dict(A.state), "C": state_to_dict(C.state), "world": info.world_size},
               Path(out) / f"rank{info.rank}.pt")
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
