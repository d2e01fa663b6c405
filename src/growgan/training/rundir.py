"""Run folders `runs/NNNNN-<name>/` and what is logged into them.

A run folder holds config.json (the resolved TrainConfig), log.txt, stats.jsonl (one row
per log tick), metric-<name>.jsonl (one row per evaluation, `append_metric`), grids/, checkpoints/ and TensorBoard events (tb/).
Numbering follows stylegan2-ada-pytorch: one more than the largest existing number.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import torch
from tqdm import tqdm

from growgan.utils.io import append_jsonl, atomic_write_json, atomic_write_text

_RUN_RE = re.compile(r"^(\d{5,})-")


def new_run_dir(out: str | Path, name: str) -> Path:
    """Create and return out/NNNNN-<name> (NNNNN one above the largest present)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "run"
    nums = [int(m.group(1)) for p in out.iterdir() if (m := _RUN_RE.match(p.name))]
    num = max(nums, default=-1) + 1
    while True:
        path = out / f"{num:05d}-{safe}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took this number
            num += 1


def write_config(run_dir: Path, config) -> None:
    atomic_write_json(Path(run_dir) / "config.json", config.to_dict())


def metric_file(run_dir: str | Path, name: str) -> Path:
    """run_dir/metric-<name>.jsonl, with '-' in the metric name as '_' (metric-ms_ssim.jsonl)."""
    return Path(run_dir) / f"metric-{name.replace('-', '_')}.jsonl"


def append_metric(run_dir: str | Path, name: str, values: dict[str, float], images_seen: int,
                  extra: dict | None = None) -> Path:
    """The one writer of metric-<name>.jsonl (the training loop and `growgan metrics`): a row
    ``{"metric": key, "value": values[key] or None, "results": values, "images_seen", "kimg",
    "timestamp", **extra}`` where key is the name with '_' for '-'. Returns the file."""
    key = name.replace("-", "_")
    row = {"metric": key, "value": values.get(key), "results": dict(values), "images_seen": int(images_seen),
           "kimg": images_seen / 1000, "timestamp": time.time(), **(extra or {})}
    path = metric_file(run_dir, name)
    append_jsonl(path, row)
    return path


def truncate_jsonl(path: Path, max_images_seen: int) -> None:
    """Drop rows logged after `max_images_seen` (a resume after kill -9 replays them)."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line
        if int(row.get("images_seen", 0)) <= max_images_seen:
            keep.append(line)
    atomic_write_text(path, "".join(k + "\n" for k in keep))


class RunLogger:
    """Console + log.txt lines, stats.jsonl rows, TensorBoard scalars and images.
    With run_dir=None it only prints (when verbose)."""

    def __init__(self, run_dir: Path | None, tensorboard: bool = True, verbose: bool = True):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.verbose = verbose
        self._tb = None
        self._tb_wanted = tensorboard and self.run_dir is not None
        self.t0 = time.time()

    @property
    def tb(self):
        if self._tb is None and self._tb_wanted:
            # deferred: TensorBoard's import is slow and unused by runs with tensorboard=false
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(self.run_dir / "tb"))
        return self._tb

    def line(self, text: str, echo: bool = True) -> None:
        if self.verbose and echo:
            tqdm.write(text)
        if self.run_dir is not None:
            with open(self.run_dir / "log.txt", "a", encoding="utf-8") as f:
                f.write(text + "\n")

    def stats(self, row: dict, images_seen: int) -> None:
        if self.run_dir is None:
            return
        append_jsonl(self.run_dir / "stats.jsonl", {**row, "images_seen": images_seen, "timestamp": time.time()})
        if self.tb is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "images_seen":
                    self.tb.add_scalar(k, v, global_step=images_seen)

    def metric(self, name: str, values: dict[str, float], images_seen: int) -> None:
        """One metric's values: a metric-<name>.jsonl row (`append_metric`) and TensorBoard scalars."""
        if self.run_dir is None:
            return
        append_metric(self.run_dir, name, values, images_seen)
        if self.tb is not None:
            for key, value in values.items():
                self.tb.add_scalar(f"metrics/{key}", value, global_step=images_seen)

    def image(self, tag: str, grid_uint8_chw: torch.Tensor, images_seen: int) -> None:
        if self.tb is not None:
            self.tb.add_image(tag, grid_uint8_chw, global_step=images_seen, dataformats="CHW")

    def flush(self) -> None:
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
