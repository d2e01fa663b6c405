"""Benchmark of the data area: packing speed and loader throughput.

    .venv/bin/python benchmarks/bench_data.py [--data ../shared/data] [--seconds 3] [--threads 1]

Packs MNIST train (60,000 idx images, at 28x28 and resized to 32x32) and CIFAR-10 train
(50,000 from cifar-10-python.tar.gz), then measures BatchLoader + prepare_batch (flip on)
at 32x32, batch 64, on the CPU, single process. Prints a markdown table (see data.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from growgan.data.archive import open_archive
from growgan.data.loader import BatchLoader, prepare_batch
from growgan.data.prepare import PrepareOptions, prepare


def time_pack(source: str, out: Path, opts: PrepareOptions) -> float:
    t0 = time.perf_counter()
    prepare(source, out, opts)
    return time.perf_counter() - t0


def loader_rate(path: Path, batch: int, seconds: float, device: str = "cpu") -> float:
    loader = BatchLoader(open_archive(path), batch, seed=0)
    gen = torch.Generator(device=device).manual_seed(0)
    for _ in range(20):  # warm the page cache and the allocator
        prepare_batch(next(loader)[0], device, flip=True, generator=gen)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        x = prepare_batch(next(loader)[0], device, flip=True, generator=gen)
        n += x.shape[0]
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)  # a benchmark setting, never done by the library
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mnist = dict(from_dir=args.data / "mnist")
        jobs = [
            ("MNIST train 60k, idx.gz -> 1x28x28", "mnist", tmp / "m28", PrepareOptions(**mnist)),
            ("MNIST train 60k, idx.gz -> 1x32x32 lanczos", "mnist", tmp / "m32", PrepareOptions(resolution=(32, 32), **mnist)),
            ("CIFAR-10 train 50k, tar.gz -> 3x32x32", "cifar-10", tmp / "c32", PrepareOptions(from_dir=args.data / "cifar-10")),
        ]
        for label, source, out, opts in jobs:
            rows.append(("pack", label, f"{time_pack(source, out, opts):.1f} s"))
        for label, path in (("1x32x32 (MNIST)", tmp / "m32"), ("3x32x32 (CIFAR-10)", tmp / "c32")):
            rate = loader_rate(path, args.batch, args.seconds)
            rows.append(("load", f"BatchLoader + prepare_batch(flip), {label}, batch {args.batch}", f"{rate:,.0f} images/s"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} cores, "
          f"torch threads {torch.get_num_threads()}, load average {load:.1f}\n")
    print("| what | case | result |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
