"""Intra-op thread count against machine load: is growgan's thread choice right?

    .venv/bin/python benchmarks/bench_threads.py [--loads 0 1 3 8] [--threads 1 2] [--seconds 20]
                                                 [--rounds 2] [--settle 70] [--cpus 0,1]

For each load level L (ascending), L busy processes (`while True: pass`) are started, all
pinned with `taskset -c CPUS` (default: every CPU of the machine), and after --settle seconds
(so the 1-minute load average that `growgan.utils.threads.choose_threads` reads has caught
up) each thread count runs, interleaved round by round, in its own child process pinned to
the same CPUs: the `dcgan-32` preset (batch 64) on the built-in 1x32x32 archive, the
engine's `Trainer.step()` for --seconds after 3 warm-up steps; throughput is images/s. The
table gives, per load, the median img/s of each thread count, the ratio to 1 thread, the
load average seen and the count growgan would choose there. Results: benchmarks/train.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def child(threads: int, seconds: float) -> None:
    import torch

    torch.set_num_threads(threads)
    from growgan.data import builtin_archive
    from growgan.training.loop import Trainer
    from growgan.training.presets import get_preset

    config = get_preset("dcgan-32").copy(tensorboard=False, device="cpu")
    trainer = Trainer(config, builtin_archive(), verbose=False)
    for _ in range(3):
        trainer.step()
    n0, t0 = trainer.state.images_seen, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        trainer.step()
    dt = time.perf_counter() - t0
    print(json.dumps({"threads": torch.get_num_threads(), "img_per_s": (trainer.state.images_seen - n0) / dt}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loads", type=int, nargs="+", default=[0, 1, 3, 8])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--settle", type=float, default=70.0)
    ap.add_argument("--cpus", default=",".join(str(c) for c in sorted(os.sched_getaffinity(0))))
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        return child(args.child, args.seconds)

    from growgan.utils.threads import choose_threads

    pin = ["taskset", "-c", args.cpus]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    rows = []
    for load in args.loads:
        busy = [subprocess.Popen(pin + [sys.executable, "-c", "while True: pass"]) for _ in range(load)]
        try:
            time.sleep(args.settle if load else 0)
            chosen = choose_threads(None)
            seen_load = os.getloadavg()[0]
            res: dict[int, list[float]] = {t: [] for t in args.threads}
            for _ in range(args.rounds):
                for t in args.threads:
                    out = subprocess.run(pin + [sys.executable, __file__, "--child", str(t), "--seconds", str(args.seconds)],
                                         env=env, capture_output=True, text=True, check=True)
                    res[t].append(json.loads(out.stdout.strip().splitlines()[-1])["img_per_s"])
            rows.append({"busy": load, "loadavg": round(seen_load, 2), "chosen": chosen.threads, "reason": chosen.reason,
                         "img_per_s": {t: [round(v, 1) for v in vs] for t, vs in res.items()}})
            print(json.dumps(rows[-1]), flush=True)
        finally:
            for p in busy:
                p.kill()
                p.wait()
    print(f"\n| busy processes | load avg (1 min) | " + " | ".join(f"{t} thread(s) img/s" for t in args.threads)
          + " | " + " | ".join(f"{t}/1" for t in args.threads[1:]) + " | growgan chooses |")
    print("|" + "---|" * (3 + 2 * len(args.threads)))
    for r in rows:
        med = {t: statistics.median(v) for t, v in r["img_per_s"].items()}
        base = med[args.threads[0]]
        cells = [f"{med[t]:.0f} ({', '.join(f'{v:.0f}' for v in r['img_per_s'][t])})" for t in args.threads]
        ratios = [f"{med[t] / base:.2f}x" for t in args.threads[1:]]
        print(f"| {r['busy']} | {r['loadavg']} | " + " | ".join(cells) + " | " + " | ".join(ratios) + f" | {r['chosen']} |")


if __name__ == "__main__":
    main()
