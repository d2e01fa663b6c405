"""Training speed of the engine against a plain, minimal PyTorch GAN loop.

    .venv/bin/python benchmarks/bench_train.py [--nets dcgan-32 resnet-32] [--rounds 3] [--steps 8]
                                               [--threads N] [--compile]

For each network (the presets' DCGAN-32 and ResNet-32, batch 64, on the built-in
1x32x32 Fashion-MNIST archive) it times, interleaved round by round so that load from
other processes hits every variant alike:
  plain          the textbook loop (pytorch/examples dcgan): G(z); D step on reals and
                 fake.detach(); G step on D(fake); torch.optim.Adam with its defaults
  plain+foreach  the same with multi-tensor Adam
  engine-core    the engine's D and G steps alone (same runner and loader; no EMA, loss
                 sums, progress bar or stats): engine / engine-core = the bookkeeping's cost
  engine         growgan's Trainer.train_until (EMA, stats, non-finite checks, loader)
  engine+cl      ... with channels_last
  engine+compile ... with torch.compile (only with --compile; compile time excluded)
Throughput is the median over rounds of images/s. FLOPs of one plain iteration are counted
with torch.utils.flop_counter.FlopCounterMode and set against this CPU's measured fp32
matmul rate. Results are recorded in benchmarks/train.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from growgan.data import builtin_archive, open_archive
from growgan.data.loader import BatchLoader, prepare_batch
from growgan.networks.registry import build_networks
from growgan.growth import build_trainer as Trainer  # the Trainer with its plug-ins
from growgan.training.loop import resolve_network
from growgan.training.presets import get_preset


def matmul_gflops(n: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 * reps / best / 1e9


class Plain:
    """The textbook non-saturating GAN iteration, nothing else."""

    def __init__(self, spec: dict, archive, batch: int, foreach: bool | None):
        torch.manual_seed(0)
        self.G, self.D = build_networks(spec)
        kw = dict(lr=2e-4, betas=(0.5, 0.999), foreach=foreach)
        self.opt_G, self.opt_D = torch.optim.Adam(self.G.parameters(), **kw), torch.optim.Adam(self.D.parameters(), **kw)
        self.loader, self.batch = BatchLoader(archive, batch, seed=0), batch

    def step(self) -> None:
        images, _ = next(self.loader)
        x = prepare_batch(images, "cpu")
        fake = self.G(torch.randn(self.batch, self.G.z_dim))
        self.opt_D.zero_grad()
        loss_D = F.softplus(-self.D(x)).mean() + F.softplus(self.D(fake.detach())).mean()
        loss_D.backward()
        self.opt_D.step()
        self.opt_G.zero_grad()
        loss_G = F.softplus(-self.D(fake)).mean()
        loss_G.backward()
        self.opt_G.step()

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()


class Engine:
    def __init__(self, config, archive_path, **changes):
        cfg = config.copy(tensorboard=False, **changes)
        self.trainer = Trainer(cfg, archive_path, verbose=False)
        self.batch = cfg.batch_size

    def run(self, steps: int) -> None:
        t = self.trainer
        t.train_until(t.state.images_seen + steps * self.batch)


class EngineCore(Engine):
    """The engine's own D and G steps (same runner, loader and batch preparation) with the
    bookkeeping taken out: no EMA update, no loss sums, no progress bar, no stats ticks.
    engine / engine-core is the cost of the bookkeeping alone."""

    def run(self, steps: int) -> None:
        t = self.trainer
        st = t.state
        for _ in range(steps):
            reals, c = t._next_reals()
            t.runner.d_step(st, reals, c, st.step, 0.0, keep_fakes=True)
            t.runner.g_step(st, reals, c, 0.0)
            st.images_seen += reals.shape[0]
            st.step += 1


def flops_per_iteration(spec: dict, archive, batch: int) -> int:
    p = Plain(spec, archive, batch, None)
    p.step()
    with FlopCounterMode(display=False) as counter:
        p.step()
    return counter.get_total_flops()


def bench_net(name: str, archive_path, args) -> dict:
    config = get_preset(name).copy(batch_size=args.batch)
    archive = open_archive(archive_path)
    spec = resolve_network(config.network, archive)
    config = config.copy(network=spec)
    variants = {
        "plain": Plain(spec, archive, args.batch, None),
        "plain+foreach": Plain(spec, archive, args.batch, True),
        "engine-core": EngineCore(config, archive_path),
        "engine": Engine(config, archive_path),
        "engine+cl": Engine(config, archive_path, channels_last=True),
    }
    if args.compile:
        variants["engine+compile"] = Engine(config, archive_path, compile=True)
    for v in variants.values():  # warm-up (and compilation)
        v.run(2)
    rates: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.rounds):
        for k, v in variants.items():
            t = time.perf_counter()
            v.run(args.steps)
            rates[k].append(args.steps * args.batch / (time.perf_counter() - t))
    flops = flops_per_iteration(spec, archive, args.batch)
    return {"net": name, "img_per_s": {k: statistics.median(r) for k, r in rates.items()},
            "all_rounds": rates, "gflop_per_img": flops / args.batch / 1e9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", nargs="+", default=["dcgan-32", "resnet-32"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    archive = builtin_archive()
    peak = matmul_gflops()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32 matmul {peak:.1f} GFLOP/s")
    for name in args.nets:
        r = bench_net(name, archive, args)
        base = r["img_per_s"]["plain"]
        print(f"\n{name}: {r['gflop_per_img']:.3f} GFLOP per image per iteration (fwd+bwd, G and D)")
        print("| variant | img/s | vs plain | GFLOP/s | % of matmul peak | rounds |")
        print("|---|---|---|---|---|---|")
        for k, v in r["img_per_s"].items():
            gf = v * r["gflop_per_img"]
            rounds = ", ".join(f"{x:.0f}" for x in r["all_rounds"][k])
            print(f"| {k} | {v:.1f} | {v / base:.2f}x | {gf:.1f} | {100 * gf / peak:.0f}% | {rounds} |")
        # bookkeeping: per-round ratio of time per image, engine over engine-core (paired rounds)
        ratios = [c / e for e, c in zip(r["all_rounds"]["engine"], r["all_rounds"]["engine-core"])]
        print(f"bookkeeping overhead (engine vs engine-core, median of paired rounds): "
              f"{100 * (statistics.median(ratios) - 1):+.1f}%  (rounds: {', '.join(f'{100 * (x - 1):+.0f}%' for x in ratios)})")


if __name__ == "__main__":
    main()
