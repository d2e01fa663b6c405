"""Speed of the metrics on this machine (results are recorded in benchmarks/metrics.md).

    python benchmarks/bench_metrics.py swd --num 16384 --res 32 --channels 3
    python benchmarks/bench_metrics.py ms-ssim --pairs 10000 --res 32
    python benchmarks/bench_metrics.py inception --num 200 --batch 50

Inputs are random uint8 images (speed does not depend on content, except SWD's sort a
little); the Inception network has random weights.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch


def bench_swd(args) -> dict:
    from growgan.metrics.swd import swd

    gen = torch.Generator().manual_seed(0)
    shape = (args.num, args.channels, args.res, args.res)
    a = torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)
    b = torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)
    t0 = time.perf_counter()
    values = swd(a, b, seed=0)
    return {"seconds": time.perf_counter() - t0, "values": values}


def bench_ms_ssim(args) -> dict:
    from growgan.metrics.ms_ssim import ms_ssim_diversity

    imgs = torch.randint(0, 256, (max(1000, args.num), args.channels, args.res, args.res), dtype=torch.uint8)
    t0 = time.perf_counter()
    val = ms_ssim_diversity(imgs, args.pairs, seed=0)
    sec = time.perf_counter() - t0
    return {"seconds": sec, "pairs_per_s": args.pairs / sec, "value": val}


def bench_inception(args) -> dict:
    from growgan.metrics.inception import FIDInceptionV3

    net = FIDInceptionV3().eval()
    x = torch.randint(0, 256, (args.batch, 3, args.res, args.res), dtype=torch.uint8)
    with torch.no_grad():
        net(x[:2])  # warm-up
        t0 = time.perf_counter()
        done = 0
        while done < args.num:
            net(x)
            done += args.batch
    sec = time.perf_counter() - t0
    return {"seconds": sec, "images": done, "img_per_s": done / sec}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["swd", "ms-ssim", "inception"])
    p.add_argument("--num", type=int, default=16384)
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--pairs", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=50)
    args = p.parse_args()
    fn = {"swd": bench_swd, "ms-ssim": bench_ms_ssim, "inception": bench_inception}[args.what]
    result = fn(args)
    info = {"what": args.what, **vars(args), "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
            "load_avg_1min": os.getloadavg()[0], **result}
    print(json.dumps(info, indent=None, default=float))


if __name__ == "__main__":
    main()
