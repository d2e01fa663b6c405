"""Speed of the metrics on this machine (results are recorded in benchmarks/metrics.md).

    python benchmarks/bench_metrics.py swd --num 16384 --res 32 --channels 3 [--source cifar] [--impl new|sort|old]
    python benchmarks/bench_metrics.py ms-ssim --pairs 10000 --res 32
    python benchmarks/bench_metrics.py inception --num 200 --batch 50 [--ref /tmp/tfid/x]

Inputs are random uint8 images unless `--source cifar` (SWD: two disjoint sets of CIFAR-10
training images from /work/shared/data/cifar-10, upsampled x2 bilinearly for --res 64); the
Inception network has random weights. SWD `--impl`: `new` (the default path: numba kernels
when numba is installed), `sort` (the same code without numba: sort-based W1, torch gather),
`old` (src/growgan/metrics/swd.py as of commit 4007c53, loaded from git, for the ratio).
The SWD result has a breakdown: pyramid, descriptors, projection matmul, W1 (seconds).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import pickle
import platform
import subprocess
import sys
import tarfile
import time

import numpy as np
import torch

CIFAR = "/work/shared/data/cifar-10/cifar-10-python.tar.gz"
OLD_SWD_COMMIT = "4007c53"  # the sort-based SWD before issue #4


def _cifar(n: int) -> np.ndarray:
    xs: list[np.ndarray] = []
    with tarfile.open(CIFAR) as t:
        for i in range(1, 6):
            d = pickle.load(t.extractfile(f"cifar-10-batches-py/data_batch_{i}"), encoding="bytes")
            xs.append(d[b"data"].reshape(-1, 3, 32, 32))
            if sum(len(x) for x in xs) >= n:
                break
    x = np.concatenate(xs)
    if len(x) < n:
        raise SystemExit(f"CIFAR-10 has {len(x)} training images, {n} needed")
    return x[:n]


def _swd_inputs(args) -> tuple[torch.Tensor, torch.Tensor]:
    if args.source == "cifar":
        x = torch.from_numpy(_cifar(2 * args.num))
        if args.res != 32:
            x = torch.nn.functional.interpolate(x.float(), size=(args.res, args.res), mode="bilinear")
            x = x.round().clamp(0, 255).to(torch.uint8)
        return x[: args.num], x[args.num :]
    gen = torch.Generator().manual_seed(0)
    shape = (args.num, args.channels, args.res, args.res)
    a = torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)
    b = torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)
    return a, b


def _old_swd_module():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = subprocess.run(["git", "show", f"{OLD_SWD_COMMIT}:src/growgan/metrics/swd.py"], cwd=root,
                         check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("growgan_old_swd", loader=None)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    exec(compile(src, "old_swd.py", "exec"), mod.__dict__)
    return mod


class _Timer:
    """Wraps module functions to add up their wall time under a name."""

    def __init__(self) -> None:
        self.t: dict[str, float] = {}

    def wrap(self, mod, name: str, key: str) -> None:
        fn = getattr(mod, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.t[key] = self.t.get(key, 0.0) + time.perf_counter() - t0

        setattr(mod, name, timed)


def bench_swd(args) -> dict:
    a, b = _swd_inputs(args)
    timer = _Timer()
    if args.impl == "old":
        mod = _old_swd_module()
        timer.wrap(mod, "_descriptors", "pyramid+descriptors")
    else:
        mod = importlib.import_module("growgan.metrics.swd")
        if args.impl == "sort":
            mod.numba = None
        timer.wrap(mod, "_level_images", "pyramid")
        timer.wrap(mod, "_descriptors_at", "descriptors")
        timer.wrap(mod, "exact_abs_diff_sum", "w1")
    timer.wrap(mod, "sliced_wasserstein", "matmul+w1")
    timer.wrap(mod, "sorted_abs_diff_sum", "w1" if args.impl == "old" else "w1_sort")
    if args.impl == "new":  # compile (or load the cached compilation) outside the timing
        mod.swd(a[:4], b[:4], seed=0, cfg=mod.SWDConfig(nhoods_per_image=4))
        timer.t.clear()
    cpu0, t0 = time.process_time(), time.perf_counter()
    values = mod.swd(a, b, seed=0)
    sec, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    br = dict(timer.t)
    br["matmul"] = br.pop("matmul+w1") - br.get("w1", 0.0)
    br.pop("w1_sort", None)
    return {"impl": args.impl, "source": args.source, "seconds": sec, "cpu_seconds": cpu,
            "breakdown_s": {k: round(v, 2) for k, v in br.items()}, "values": values,
            "numba": getattr(mod, "numba", None) is not None}


def bench_ms_ssim(args) -> dict:
    from growgan.metrics.ms_ssim import ms_ssim_diversity

    imgs = torch.randint(0, 256, (max(1000, args.num), args.channels, args.res, args.res), dtype=torch.uint8)
    t0 = time.perf_counter()
    val = ms_ssim_diversity(imgs, args.pairs, seed=0)
    sec = time.perf_counter() - t0
    return {"seconds": sec, "pairs_per_s": args.pairs / sec, "value": val}


def _time_net(net, x: torch.Tensor, num: int) -> dict:
    with torch.no_grad():
        net(x[:2])  # warm-up
        t0 = time.perf_counter()
        done = 0
        while done < num:
            net(x)
            done += x.shape[0]
    sec = time.perf_counter() - t0
    return {"seconds": sec, "images": done, "img_per_s": done / sec}


def bench_inception(args) -> dict:
    """Ours (growgan.metrics.inception); with --ref DIR also torch-fidelity's network on the
    same inputs (see benchmarks/ref_inception_loader.py), timed alternately."""
    from growgan.metrics.inception import FIDInceptionV3

    net = FIDInceptionV3().eval()
    x = torch.randint(0, 256, (args.batch, 3, args.res, args.res), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0))
    if not args.ref:
        return _time_net(net, x, args.num)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from ref_inception_loader import load_reference_inception

    ref = load_reference_inception(args.ref)
    runs: dict[str, list[float]] = {"ours": [], "torch_fidelity": []}
    for _ in range(args.rounds):
        runs["ours"].append(_time_net(net, x, args.num)["img_per_s"])
        runs["torch_fidelity"].append(_time_net(ref, x, args.num)["img_per_s"])
    return {"img_per_s_best": {k: max(v) for k, v in runs.items()}, "img_per_s_runs": runs,
            "ratio_ours_to_ref": max(runs["ours"]) / max(runs["torch_fidelity"])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["swd", "ms-ssim", "inception"])
    p.add_argument("--num", type=int, default=16384)
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--pairs", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--source", choices=["random", "cifar"], default="random", help="SWD inputs")
    p.add_argument("--impl", choices=["new", "sort", "old"], default="new", help="SWD implementation")
    p.add_argument("--ref", default=None, help="inception: unpacked torch-fidelity wheel dir to compare with")
    p.add_argument("--rounds", type=int, default=3, help="inception --ref: alternating timing rounds")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    fn = {"swd": bench_swd, "ms-ssim": bench_ms_ssim, "inception": bench_inception}[args.what]
    result = fn(args)
    info = {"what": args.what, **vars(args), "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
            "load_avg_1min": os.getloadavg()[0], "affinity": sorted(os.sched_getaffinity(0)), **result}
    print(json.dumps(info, indent=None, default=float))


if __name__ == "__main__":
    main()
