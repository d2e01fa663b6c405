"""The GAN training loop (the engine every growgan model trains on).

One iteration = `n_critic` D steps + one G step (Goodfellow et al. 2014; WGAN's n_critic,
Arjovsky et al. 2017), then an EMA update of G_ema (Karras et al. 2018). Progress is
counted in real images shown to D; every interval is in kimg. Growth controllers plug
in through `growgan.growth.Growth`. The hot loop never syncs with the host: losses are
summed on the device and read (and checked for NaN/inf) once per log tick.

Randomness the loop draws (latents, x-flips, instance noise, augmentation) comes from one
`torch.Generator` per rank that is saved in checkpoints, so k steps + resume + k steps
equals 2k steps bit for bit on CPU. Networks that draw from the global torch RNG (StyleGAN2's
noise inputs and style mixing) get a private stream: `train_until` swaps in the trainer's
own global torch (and CUDA) RNG state, seeded from the config's seed and saved in
checkpoints, and gives the caller's state back on return, so two trainers in one process
(the DGGAN search, tests) do not disturb each other.
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm import tqdm

from growgan.augment import ada_adjust
from growgan.errors import GrowganError
from growgan.layers import MinibatchStd, mbstd_group
from growgan.training import distributed as dist_utils
from growgan.training.amp import amp_dtype
from growgan.training.checkpoint import (
    NonFiniteStateError,
    capture_rng,
    checkpoint_name,
    derived_seed,
    prune_checkpoints,
    restore_rng,
    save_checkpoint,
)
from growgan.training.config import TrainConfig
from growgan.training.ema import ema_beta, update_ema
from growgan.training.lr_schedule import linear_decay
from growgan.training.rundir import RunLogger
from growgan.training.state import Growth, TrainState, build_state
from growgan.training.task import Task, make_task
from growgan.training.task_generation import _check_resolution, resolve_network  # noqa: F401 (re-exported)
from growgan.utils.device import check_device, concrete_device, fork_rng
from growgan.utils.image import make_grid, save_grid
from growgan.utils.progress import enabled as progress_enabled
from growgan.utils.units import kimg_to_images

# (config resolved against the archive) -> the growth controller, or None for fixed networks
GrowthFactory = Callable[[TrainConfig], "Growth | None"]
# (G, archive path, metric names, num_images, seed, device) -> {metric name: {key: value}}
Evaluator = Callable[..., dict]
# report plug-in: (run folder, GrowthState dict, final?) -> None (growgan.training.report.RunReporter)
Reporter = Callable[[Path, dict, bool], None]


class NonFiniteLossError(GrowganError):
    """A loss became NaN or infinite; training stopped before saving anything from it."""


class Trainer:
    """Trains `state` (or a fresh one built from `config`) on `data` (an archive path or
    Archive). With run_dir=None nothing is written (in-memory use, e.g. the DGGAN search).

    resume: the `extra` dict of a checkpoint (per-rank RNG and loader states) to continue
    exactly where it was saved; the caller restores `state` from the same checkpoint.
    dist: the process group view (default: torchrun's, if initialised); pass
    `DistInfo()` to train alone inside a torchrun job (e.g. one search candidate per rank).
    make_growth: the growth plug-in's factory (`growgan.growth.make_growth`), called with the
    resolved config; needed when ``config.growth`` is set. evaluator: periodic metrics
    (`growgan.metrics.evaluate_generator(..., grouped=True)`); needed when ``config.metrics``
    is set. reporter: called after the grids (and metrics) are written, with the run folder,
    the growth state and whether this is the end (`growgan.training.report.RunReporter`:
    report.html); skipped when ``config.report`` is false. `growgan.growth.build_trainer`
    passes all three.
    """

    def __init__(self, config: TrainConfig, data: Any, state: TrainState | None = None, run_dir: str | Path | None = None,
                 device: str | torch.device | None = None, verbose: bool = True, handle_signals: bool = False,
                 resume: dict | None = None, dist: "dist_utils.DistInfo | None" = None,
                 make_growth: GrowthFactory | None = None, evaluator: Evaluator | None = None,
                 reporter: Reporter | None = None):
        self.dist = dist if dist is not None else dist_utils.current()  # DistInfo(): one process alone
        if device is None:
            check_device(config.device)
        self.task: Task = make_task(config)  # what is trained, batch by batch (training/task.py)
        self.archive = self.task.open_data(data)
        self.config = config.copy(network=self.task.resolve_network(config.network, self.archive)) if state is None else config
        self.device = concrete_device(device) if device is not None else default_device(self.config.device, self.dist)
        self.writes = run_dir is not None  # on every rank: checkpoint saving is collective
        self.run_dir = Path(run_dir) if run_dir is not None and self.dist.is_main else None
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.config.growth and make_growth is None:
            raise GrowganError("config.growth is set but no growth plug-in was given; build the trainer with "
                               "growgan.growth.build_trainer (or pass make_growth=growgan.growth.make_growth)")
        if self.config.metrics and evaluator is None:
            raise GrowganError("config.metrics is set but no evaluator was given; build the trainer with "
                               "growgan.growth.build_trainer (or pass evaluator=...)")
        self.growth: Growth | None = make_growth(self.config) if make_growth is not None else None
        self.evaluator = evaluator
        self.reporter = reporter if self.config.report else None
        if state is None:
            # seeded init without touching the global RNG: the networks are built on the CPU (then
            # moved), so only the CPU generator is seeded; torch.manual_seed would reseed CUDA's too
            with torch.random.fork_rng(devices=[]):
                torch.default_generator.manual_seed(self.config.seed)
                state = build_state(self.config, self.device)
        else:
            self.task.resolve_network(state.spec, self.archive)  # the data must fit the networks being resumed
            have = state.device
            if have.type != self.device.type or (self.device.index is not None and have.index != self.device.index):
                raise GrowganError(f"the given state's networks are on {have} but this trainer runs on {self.device}; "
                                   f"restore the checkpoint on {self.device} (restore_state(ckpt, config, device))")
        self.state = state
        if self.dist.enabled and resume is None:
            for net in (state.G, state.D, state.G_ema):
                dist_utils.broadcast_module(net)
        self.task.check_networks(state, self.archive, self.growth is not None)
        self.loader = self.task.make_loader(self.archive, self.config.batch_size, seed=self.config.seed,
                                            rank=self.dist.rank, world_size=self.dist.world_size)
        # latents and noise: a stream derived by hashing, never the init's own seed (seed 0, rank 0 used to
        # seed it with 0, so the first training latents were the networks' initial weights drawn again)
        self.gen = torch.Generator(self.device).manual_seed(
            derived_seed(self.config.seed * 1_000_003 + self.dist.rank, self.dist.rank, 0))
        self.amp = amp_dtype(self.config.amp, self.device)
        self.flops = 0  # training FLOPs so far, all ranks (growgan.training.flops); kept in checkpoints
        self.train_s = 0.0  # seconds spent in train_until so far (this rank); kept in checkpoints
        # the trainer's own global torch/CUDA RNG stream (see the module doc); None -> seeded on first use
        self._rng: dict | None = None
        self._in_stream = False
        self._resume_notes: list[str] = []
        self.last_checkpoint: Path | None = None
        if resume:
            self._load_resume(resume)
        self.log = RunLogger(self.run_dir, tensorboard=self.config.tensorboard, verbose=verbose and self.dist.is_main)
        self.task.bind(self)
        self.task.wrap(self.state)
        if resume and resume.get("task"):
            self.task.load_state_dict(resume["task"][self.dist.rank])
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}
        self._stop_signal: int | None = None
        self._handle_signals = handle_signals
        self._mbstd_noted: set[tuple[int, int, int]] = set()
        for note in self._resume_notes:
            self.log.line(note)

    # ------------------------------------------------------------------ resume
    def _load_resume(self, extra: dict) -> None:
        rngs, gens = extra.get("rng") or [], extra.get("gen") or []
        if len(gens) != self.dist.world_size:
            raise GrowganError(f"the checkpoint was written by {len(gens)} process(es) but this run has "
                               f"{self.dist.world_size}; resume with the same --nproc_per_node")
        if extra.get("loader"):
            self.loader.load_state_dict(extra["loader"])
            self.loader.set_batch_size(self.config.batch_size)  # a batch_size override; growth schedules re-set it
        self._resume_notes += list(extra.get("notes") or [])
        if extra.get("path"):
            self.last_checkpoint = Path(extra["path"])  # a good one: only finite states are written
        rank, images_seen = self.dist.rank, self.state.images_seen
        self._resume_notes += restore_rng(rngs[rank], reseed=derived_seed(self.config.seed, rank, images_seen))
        # the restored global torch state is also where the trainer's private stream continues
        self._rng = {"torch": torch.get_rng_state(),
                     "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
        saved = gens[rank]
        if saved.numel() == self.gen.get_state().numel():
            self.gen.set_state(saved)
        else:  # e.g. a CUDA generator's 16-byte (seed, offset) state resumed into a CPU generator
            self.gen.manual_seed(derived_seed(self.config.seed * 1_000_003 + rank, rank, images_seen))
            kind = {16: "a CUDA", 5056: "a CPU"}.get(int(saved.numel()), f"a {saved.numel()}-byte")
            self._resume_notes.append(
                f"the checkpoint's latent/noise RNG state is {kind} generator's, which a {self.device.type} generator "
                f"cannot take; re-derived it from seed {self.config.seed}, rank {rank} and images_seen {images_seen} "
                "(deterministic, but not the stream the original device would have drawn)")
        self.flops = int(extra.get("flops", 0))
        self.train_s = float(extra.get("train_s", 0.0))

    def resume_extra(self) -> dict:
        """Per-rank RNG states, the loader position, training FLOPs and seconds so far (a
        collective call under torchrun). Passing it back as `resume=` continues the data
        stream and every random draw exactly where this trainer stopped."""
        rng = capture_rng()
        if not self._in_stream and self._rng is not None:  # outside train_until: the saved stream
            rng.update(self._rng)
        mine = {"rng": rng, "gen": self.gen.get_state(), "task": self.task.state_dict()}
        allr = dist_utils.gather_objects(mine) if self.dist.enabled else [mine]
        return {"rng": [r["rng"] for r in allr], "gen": [r["gen"] for r in allr], "task": [r["task"] for r in allr],
                "loader": self.loader.state_dict(), "world_size": self.dist.world_size,
                "flops": int(self.flops), "train_s": float(self.train_s)}

    # ------------------------------------------------------------------ one iteration
    def step(self) -> None:
        """n_critic D steps + one G step + EMA (and growth, before it)."""
        st, cfg = self.state, self.config
        if self.growth is not None:
            if self.growth.apply(st):
                self.task.wrap(st)
                self._log_growth()
            bs = self.growth.batch_size(st.images_seen)
            if bs is not None and bs != self.loader.batch_size:
                self.loader.set_batch_size(bs)
                self._note_mbstd()
        if cfg.lr_decay_start < 1:
            self._decay_lr()
        self._count_flops()
        task = self.task
        for i in range(cfg.n_critic):
            data = task.draw_batch()
            d_index = st.step * cfg.n_critic + i
            last = i == cfg.n_critic - 1  # the G step follows with this batch (and may reuse its fakes)
            stats = task.d_step(st, data, d_index, last)
            self._accumulate(stats)
            st.images_seen += task.batch_images(data) * self.dist.world_size
        stats = task.g_step(st, data)
        self._accumulate(stats)
        if cfg.augment == "ada":
            self._adjust_ada()
        batch = task.batch_images(data) * self.dist.world_size
        beta = ema_beta(batch, st.images_seen, cfg.ema_kimg, cfg.ema_rampup)
        update_ema(st.G_ema, st.G, beta)
        if self.dist.enabled:  # BatchNorm statistics differ per shard; keep rank 0's
            dist_utils.broadcast_module(st.G, params=False)
            dist_utils.broadcast_module(st.D, params=False)
            dist_utils.broadcast_module(st.G_ema, params=False)
        st.step += 1

    @property
    def runner(self):
        """The generation task's StepRunner (None for other tasks)."""
        return getattr(self.task, "runner", None)

    def _count_flops(self) -> None:
        """Add this iteration's FLOPs (counted once per step shape, see training.flops)."""
        cfg, st = self.config, self.state
        r1_now = cfg.r1_gamma > 0 and (st.step * cfg.n_critic) % cfg.r1_interval == 0
        self.flops += self.task.iteration_flops(st, self.loader.batch_size, r1_now) * self.dist.world_size

    def _decay_lr(self) -> None:
        """Both learning rates constant, then linearly to 0 at the end of the run (Isola et al.
        and Zhu et al. 2017: the second half): lr = base * factor, factor 1 until lr_decay_start
        * kimg, then 1 - (seen - start) / (total - start). A pure function of images seen, the
        config's kimg and base rates, so resume is exact."""
        cfg, st = self.config, self.state
        factor = linear_decay(st.images_seen, kimg_to_images(cfg.kimg), cfg.lr_decay_start)
        for opt, base in ((st.opt_G, cfg.lr_G), (st.opt_D, cfg.lr_D)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def _adjust_ada(self) -> None:
        """Every ada_interval iterations: p from the summed sign(D(real)) of all ranks, then
        the sums restart (growgan.augment.ada_adjust; on the device, no host sync)."""
        st, cfg = self.state, self.config
        if cfg.ada_target is not None and (st.step + 1) % cfg.ada_interval == 0:
            stat = st.ada_stat
            if self.dist.enabled:
                torch.distributed.all_reduce(stat)
            st.ada_p = ada_adjust(st.ada_p, stat[0], stat[1], cfg.ada_target, stat[1], cfg.ada_kimg)  # images = reals counted
            st.ada_stat = torch.zeros_like(stat)
        self._accumulate({"augment/p": st.ada_p})

    def _log_growth(self) -> None:
        """One log line (console, log.txt) per growth event: what the networks are now."""
        describe = getattr(self.growth, "describe", None)
        what = describe(self.state) if describe is not None else str(self.state.growth)
        self.log.line(f"kimg {self.state.kimg:.3f}: growth -> {what}")

    def _accumulate(self, stats: dict[str, torch.Tensor]) -> None:
        for k, v in stats.items():
            v = v.detach().float().to(self.device)  # one device for the tick's torch.stack
            self._sums[k] = self._sums[k] + v if k in self._sums else v.clone()
            self._counts[k] = self._counts.get(k, 0) + 1

    def _note_mbstd(self) -> None:
        """Say once per (group size, batch) when minibatch-std groups must shrink to divide the batch."""
        batch = self.loader.batch_size
        for m in self.state.D.modules():
            if isinstance(m, MinibatchStd):
                g = mbstd_group(m.group_size, batch)
                key = (int(m.group_size), batch, g)
                if g != min(m.group_size, batch) and key not in self._mbstd_noted:
                    self._mbstd_noted.add(key)
                    self.log.line(f"minibatch-std: batch {batch} is not divisible by group size {m.group_size}; "
                                  f"using groups of {g} (the largest size that divides it)")

    # ------------------------------------------------------------------ the loop
    def train_until(self, images_seen: int) -> str:
        """Train until state.images_seen >= images_seen. Returns "done", or "interrupted"
        after SIGINT/SIGTERM (with handle_signals; a checkpoint is saved first)."""
        target = int(images_seen)
        with fork_rng(self.device):  # the caller's global RNG comes back unchanged
            self._enter_stream()
            try:
                if self.growth is not None:
                    self.growth.apply(self.state)
                    self.task.wrap(self.state)
                self._note_mbstd()
                return self._train_until(target, self._install_signals())
            finally:
                self._leave_stream()

    def _enter_stream(self) -> None:
        if self._rng is None:
            torch.manual_seed(self.config.seed * 1_000_003 + self.dist.rank + 7)  # CPU and CUDA
        else:
            torch.set_rng_state(self._rng["torch"])
            if self._rng.get("cuda") and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(self._rng["cuda"])
        self._in_stream = True

    def _leave_stream(self) -> None:
        self._rng = {"torch": torch.get_rng_state(),
                     "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
        self._in_stream = False

    def _train_until(self, target: int, old) -> str:
        cfg, st = self.config, self.state
        grow = _growth_now(st)
        pbar = tqdm(total=target, initial=min(st.images_seen, target), unit="img", unit_scale=True, dynamic_ncols=True,
                    disable=not (self.log.verbose and progress_enabled()), leave=False)
        t_tick, n_tick = time.time(), st.images_seen
        t_start = time.time()
        self.log.line(f"training from kimg {st.kimg:.1f} to {target / 1000:.1f} on {self.device} "
                      f"({self.dist.world_size} process(es), batch {self.loader.batch_size} per process)")
        if grow:
            self._log_growth()
            pbar.set_postfix(_growth_postfix(grow))
        try:
            while st.images_seen < target:
                before = st.images_seen
                self.step()
                pbar.update(st.images_seen - before)
                last = st.images_seen >= target
                if self._stop_requested():
                    self._tick(t_tick, n_tick, pbar)
                    self.save_checkpoint()
                    self.log.line(f"stopped by signal {self._stop_signal} at kimg {st.kimg:.3f}; resume with --resume")
                    return "interrupted"
                if last or _crossed(before, st.images_seen, cfg.log_kimg) or self._ckpt_due(before) or self._grid_due(before):
                    self._tick(t_tick, n_tick, pbar)
                    t_tick, n_tick = time.time(), st.images_seen
                grid_due = self.run_dir is not None and (last or self._grid_due(before))
                if grid_due:
                    self.save_grids()
                if self.writes and (last or self._ckpt_due(before)):
                    self.save_checkpoint()
                if cfg.metrics and (last or _crossed(before, st.images_seen, cfg.metrics_every_kimg)):
                    self.evaluate_metrics()
                if grid_due and self.reporter is not None:  # after the grids and metrics it shows
                    self.log.flush()
                    self.reporter(self.run_dir, st.growth.to_dict(), last)
        finally:
            self.train_s += time.time() - t_start
            pbar.close()
            self._restore_signals(old)
            self.log.flush()
        return "done"

    def _grid_due(self, before: int) -> bool:
        return _crossed(before, self.state.images_seen, self.config.grid_kimg)

    def _ckpt_due(self, before: int) -> bool:
        return _crossed(before, self.state.images_seen, self.config.checkpoint_kimg)

    def _tick(self, t0: float, n0: int, pbar) -> None:
        """Read the summed losses (the only host sync), stop on NaN/inf, log a stats row."""
        st = self.state
        if not self._sums:
            return
        names = sorted(self._sums)
        counts = torch.tensor([float(self._counts[k]) for k in names], device=self.device)
        means = (torch.stack([self._sums[k] for k in names]) / counts).tolist()  # the one host sync
        self._sums, self._counts = {}, {}
        row = dict(zip(names, means))
        bad = [f"{k} = {v}" for k, v in row.items() if not math.isfinite(v)]
        if bad:
            good = f"; last good checkpoint: {self.last_checkpoint}" if self.last_checkpoint else ""
            raise NonFiniteLossError(f"training stopped at kimg {st.kimg:.3f}: non-finite loss ({', '.join(bad)}); "
                                     f"lower the learning rates or use another loss{good}")
        dt = max(time.time() - t0, 1e-9)
        row.update({"kimg": st.kimg, "step": st.step, "img_per_s": (st.images_seen - n0) / dt,
                    "sec_total": time.time() - self.log.t0, "flops": float(self.flops), "lr_G": st.opt_G.param_groups[0]["lr"],
                    "lr_D": st.opt_D.param_groups[0]["lr"], "batch": self.loader.batch_size})
        grow = _growth_now(st)
        if grow:  # growing runs: the networks' current resolution (H, pixels) and fade-in alpha
            h, w = grow["resolution"]
            row.update({"growth/resolution": h, "growth/alpha": grow["alpha"]})
            if w != h:
                row["growth/resolution_w"] = w
        if self.dist.is_main:
            self.log.stats(row, st.images_seen)
            pbar.set_postfix({k.split("/")[-1]: f"{row[k]:.3f}" for k in names[:4]} | _growth_postfix(grow)
                             | {"img/s": f"{row['img_per_s']:.0f}"})
            parts = " ".join(f"{k}={row[k]:.4f}" for k in names)
            where = f"  res {grow['resolution'][0]}x{grow['resolution'][1]} alpha {grow['alpha']:.3f}" if grow else ""
            self.log.line(f"kimg {st.kimg:8.3f}  step {st.step:6d}{where}  {parts}  img/s {row['img_per_s']:.0f}", echo=False)

    # ------------------------------------------------------------------ outputs
    def save_grids(self) -> None:
        """grids/<tag>-<images>.png and the same in TensorBoard, one per entry of the task's
        `grid_images` (generation: raw, ema and for a conditional G classes; translation:
        input | output | target)."""
        for tag, (imgs, ncols) in self.task.grid_images(self.state).items():
            up = max(1, 64 // max(imgs.shape[-1], 1))  # small images are magnified to stay visible
            save_grid(imgs, self.run_dir / "grids" / f"{tag}-{self.state.images_seen:09d}.png", ncols=ncols, upscale=up)
            self.log.image(f"grid/{tag}", make_grid(imgs, ncols=ncols), self.state.images_seen)

    def save_checkpoint(self) -> Path | None:
        """Write checkpoints/checkpoint-<images>.pt (rank 0) and prune old ones."""
        extra = self.resume_extra()  # collective: every rank takes part
        if self.run_dir is None:
            return None
        path = self.run_dir / "checkpoints" / checkpoint_name(self.state.images_seen)
        try:
            save_checkpoint(path, self.state, self.config, extra)
        except NonFiniteStateError as exc:  # never write (or name as good) a diverged state
            good = f"; last good checkpoint: {self.last_checkpoint}" if self.last_checkpoint else ""
            raise NonFiniteLossError(f"training stopped at kimg {self.state.kimg:.3f}: {exc.problem}, so it was not "
                                     f"saved; lower the learning rates or use another loss{good}") from None
        self.last_checkpoint = path
        prune_checkpoints(self.run_dir, self.config.keep_checkpoints, written=path)
        return path

    def evaluate_metrics(self) -> dict[str, float]:
        """Score G_ema with the evaluator; one metric-<name>.jsonl row per metric. Returns the flat values."""
        if not self.dist.is_main:
            return {}
        cfg = self.config
        with fork_rng(self.device):
            results = self.task.evaluate(self.state, self.evaluator, list(cfg.metrics), cfg.metrics_num_images,
                                         seed=cfg.seed)
        scores: dict[str, float] = {}
        for name, values in results.items():
            self.log.metric(name, values, self.state.images_seen)
            scores.update(values)
        self.log.line(f"kimg {self.state.kimg:.3f} metrics " + " ".join(f"{k}={v:.4f}" for k, v in scores.items()))
        return scores

    # ------------------------------------------------------------------ signals
    def _install_signals(self):
        if not self._handle_signals:
            return None
        old = {}

        def handler(signum, frame):  # noqa: ARG001
            self._stop_signal = signum

        for s in (signal.SIGINT, signal.SIGTERM):
            old[s] = signal.signal(s, handler)
        return old

    def _restore_signals(self, old) -> None:
        for s, h in (old or {}).items():
            signal.signal(s, h)

    @property
    def stop_signal(self) -> int | None:
        """The signal (SIGINT/SIGTERM) that stopped `train_until`, or None."""
        return self._stop_signal

    def _stop_requested(self) -> bool:
        if not self._handle_signals:
            return False
        if not self.dist.enabled:
            return self._stop_signal is not None
        # on the training device: NCCL (the CUDA backend) reduces CUDA tensors only
        flag = torch.tensor([1.0 if self._stop_signal is not None else 0.0], device=self.device)
        torch.distributed.all_reduce(flag)  # all ranks stop at the same step
        if flag.item() > 0 and self._stop_signal is None:
            self._stop_signal = signal.SIGTERM
        return flag.item() > 0


def _growth_now(state: TrainState) -> dict:
    """{"resolution": (H, W), "alpha": float} of a growing run (``state.growth``), {} for fixed networks."""
    g = state.growth
    if not g.kind or g.resolution is None:
        return {}
    return {"resolution": tuple(g.resolution), "alpha": float(g.alpha)}


def _growth_postfix(grow: dict) -> dict:
    """Progress-bar fields of a growing run: {"res": "16x16", "alpha": "0.42"} (or {})."""
    if not grow:
        return {}
    h, w = grow["resolution"]
    return {"res": f"{h}x{w}", "alpha": f"{grow['alpha']:.2f}"}


def _crossed(before: int, after: int, every_kimg: float) -> bool:
    if not every_kimg or every_kimg <= 0:
        return False
    every = max(1, kimg_to_images(every_kimg))
    return before // every != after // every


def default_device(name: str, info) -> torch.device:
    """config.device -> torch.device, always with its index: 'auto' and 'cuda' are this rank's
    GPU (cuda:LOCAL_RANK under torchrun, else the current CUDA device) when present ('auto'
    falls back to the CPU). A device this machine lacks, or a fixed cuda:N under a torchrun of
    several processes that N is not this process's GPU (they would all share one GPU, which
    NCCL refuses), is a one-line GrowganError."""
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        name = "cuda"
    dev = check_device(name, "device")
    if dev.type != "cuda":
        return dev
    if info.enabled:
        if dev.index is not None and dev.index != info.local_rank:
            raise GrowganError(f"device={name}: under torchrun each of the {info.world_size} processes trains on "
                               f"the GPU of its LOCAL_RANK (this one: cuda:{info.local_rank}); use device=cuda or auto")
        return torch.device("cuda", info.local_rank)
    return concrete_device(dev)
