"""The CycleGAN task: unpaired translation A <-> B on the one engine (Zhu et al., ICCV 2017).

Networks: the "cyclegan" family (`networks/cyclegan.py`): G holds G_AB and G_BA, D holds D_A
and D_B, so the engine's one G, one D, G_ema and two Adam optimizers are CycleGAN's (one Adam
over both generators, one over both discriminators, as the reference code). Data: an unpaired
translation archive (`growgan.data.paired`), each domain sampled independently
(`UnpairedLoader`); x-flips drawn from the engine's generator.

One iteration (the engine's order: D step, then G step on the same batch):
  D step: fake_B = G_AB(a), fake_A = G_BA(b) (kept with their graph for the G step when it
    follows); D_A learns real a vs a fake from A's history pool, D_B real b vs one from B's:
    loss = lsgan_d(D_A(a), D_A(pool_A(fake_A))) + lsgan_d(D_B(b), D_B(pool_B(fake_B))).
  G step (D frozen): lsgan_g(D_B(fake_B)) + lsgan_g(D_A(fake_A))
    + lambda (|G_BA(fake_B) - a| + |G_AB(fake_A) - b|)                       cycle, lambda = 10
    + lambda * identity (|G_AB(b) - b| + |G_BA(a) - a|)                      identity, 0.5
  (identity needs channels_a == channels_b; it is skipped, and the preset sets it to 0, when
  the domains' channels differ).
The reference code updates G before D within one iteration; here D's step comes first (the
engine's order for every task), with fakes of the same G; the pools then make D see a mix of
current and older fakes either way. The learning-rate decay over the second half is the
engine's (`lr_decay_start = 0.5`, `training.lr_schedule.linear_decay`).

Task state for exact resume: both pools (stored images, their own generators), in
``state_dict()``. Grids: ``a2b2a`` rows of (A, G_AB(A), G_BA(G_AB(A))) and ``b2a2b`` rows of
(B, G_BA(B), G_AB(G_BA(B))) from G_ema on fixed images of each domain.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch

from growgan.data.loader import prepare_batch
from growgan.data.paired import UnpairedArchive, UnpairedLoader, open_unpaired_archive
from growgan.errors import GrowganError
from growgan.losses import cycle_loss, identity_loss, lsgan_d_loss, lsgan_g_loss
from growgan.training.image_pool import ImagePool
from growgan.training.flops import probe_iteration_flops
from growgan.training.task import Batch, Stats, Task, Translator, register_task
from growgan.training.task_config import task_settings

GRID_ROWS = 8  # fixed images per direction in the grids


def _to_channels(x: torch.Tensor, c: int) -> torch.Tensor:
    """Gray [N, 1, H, W] -> [N, 3, H, W] by repetition, for grids mixing the domains."""
    return x.repeat(1, c, 1, 1) if x.shape[1] == 1 and c == 3 else x


@contextlib.contextmanager
def frozen(net: torch.nn.Module):
    """D's parameters take no gradient during the G step (as the reference's set_requires_grad)."""
    params = [p for p in net.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


@register_task("cyclegan")
class CycleGANTask(Task):
    """Unpaired translation with two generators, two discriminators and two history pools."""

    def __init__(self, config):
        super().__init__(config)
        self.settings = task_settings(config.task)
        self.pools: dict[str, ImagePool] = {}
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None
        self._grid: tuple[torch.Tensor, torch.Tensor] | None = None

    # ------------------------------------------------------------------ data
    def open_data(self, data: Any) -> UnpairedArchive:
        return data if isinstance(data, UnpairedArchive) else open_unpaired_archive(data)

    def resolve_network(self, network: dict, data: UnpairedArchive) -> dict:
        if network.get("family") != "cyclegan":
            raise GrowganError(f"network.family={network.get('family')!r}: the cyclegan task trains the "
                               "\"cyclegan\" family (two generators, two discriminators)")
        spec = {"family": "cyclegan", "G": dict(network.get("G", {})), "D": dict(network.get("D", {}))}
        found = {"channels_a": data.channels_a, "channels_b": data.channels_b, "img_resolution": list(data.resolution)}
        for part in ("G", "D"):
            for key, value in found.items():
                given = spec[part].get(key)
                if given is None:
                    spec[part][key] = value
                elif (list(given) if key == "img_resolution" and not isinstance(given, int) else given) != value:
                    raise GrowganError(f"network.{part}.{key}={given!r} does not match the archive {data.path} "
                                       f"({value!r}); set it to null to take the archive's")
        if self.settings.identity_lambda > 0 and data.channels_a != data.channels_b:
            raise GrowganError(f"task.identity_lambda={self.settings.identity_lambda}: the identity loss compares "
                               f"G_AB(b) with b, but A has {data.channels_a} channel(s) and B {data.channels_b}; "
                               "set task.identity_lambda=0")
        return spec

    def check_networks(self, state, data: UnpairedArchive, growing: bool) -> None:
        if growing:
            raise GrowganError("growth: the cyclegan task trains fixed networks; set growth=null")
        G = state.G
        if getattr(G, "family", None) != "cyclegan":
            raise GrowganError(f"the cyclegan task needs the cyclegan family, not {getattr(G, 'family', '?')}")
        if tuple(G.img_resolution) != tuple(data.resolution) or (G.channels_a, G.channels_b) != (data.channels_a, data.channels_b):
            raise GrowganError(f"{data.path}: holds {data.channels_a}->{data.channels_b} channels at "
                               f"{data.resolution[0]}x{data.resolution[1]}, the networks take {G.channels_a}->"
                               f"{G.channels_b} at {G.img_resolution[0]}x{G.img_resolution[1]}; use a matching archive")

    def make_loader(self, data: UnpairedArchive, batch_size: int, seed: int, rank: int, world_size: int) -> UnpairedLoader:
        return UnpairedLoader(data, batch_size, seed=seed, rank=rank, world_size=world_size)

    # ------------------------------------------------------------------ binding
    def bind(self, engine) -> None:
        super().bind(engine)
        rank = engine.dist.rank
        size = self.settings.pool_size
        # each pool draws its coins from its own generator, saved with the task state
        seeds = np.random.SeedSequence([int(self.config.seed), int(rank)]).generate_state(2)
        self.pools = {side: ImagePool(size, seed=int(seeds[k])) for k, side in enumerate("AB")}
        self._grid = self._grid_inputs(engine.archive)

    def _grid_inputs(self, data: UnpairedArchive) -> tuple[torch.Tensor, torch.Tensor]:
        """The first GRID_ROWS images of each domain, float [-1, 1] on the device."""
        out = []
        for side in (data.a, data.b):
            n = min(GRID_ROWS, len(side), self.config.grid_size)
            out.append(prepare_batch(torch.from_numpy(side.images[:n].copy()), self.engine.device))
        return out[0], out[1]

    # ------------------------------------------------------------------ one iteration
    def draw_batch(self) -> Batch:
        eng = self.engine
        a, b = next(eng.loader)
        return {"A": prepare_batch(a, eng.device, flip=eng.config.xflip, generator=eng.gen),
                "B": prepare_batch(b, eng.device, flip=eng.config.xflip, generator=eng.gen)}

    def batch_images(self, batch: Batch) -> int:
        return int(batch["A"].shape[0])

    def _autocast(self):
        eng = self.engine
        if eng.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=eng.device.type, dtype=eng.amp)

    def d_step(self, state, batch: Batch, d_index: int, last: bool) -> Stats:
        G, D = state.G, state.D
        a, b = batch["A"], batch["B"]
        with torch.set_grad_enabled(last), self._autocast():
            fake_b, fake_a = G.a_to_b(a), G.b_to_a(b)  # [N, C_B, H, W], [N, C_A, H, W]
        self._fakes = (fake_a, fake_b) if last else None  # the G step reuses them (and their graph)
        hist_a = self.pools["A"].query(fake_a.detach())
        hist_b = self.pools["B"].query(fake_b.detach())
        with self._autocast():
            loss_a = lsgan_d_loss(D.judge_a(a), D.judge_a(hist_a))
            loss_b = lsgan_d_loss(D.judge_b(b), D.judge_b(hist_b))
            loss = loss_a + loss_b
        self.backward_step(state, loss, state.opt_D, D)
        return {"loss/D": loss.detach(), "loss/D_A": loss_a.detach(), "loss/D_B": loss_b.detach()}

    def generator_losses(self, G, D, a: torch.Tensor, b: torch.Tensor,
                         fakes: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """CycleGAN's G objective on a batch (a [N, C_A, H, W], b [N, C_B, H, W] in [-1, 1]):
        {"adv", "cycle", "identity", "total"} scalars; `fakes` = (G_BA(b), G_AB(a)) if already made."""
        s = self.settings
        fake_a, fake_b = fakes if fakes is not None else (G.b_to_a(b), G.a_to_b(a))
        adv = lsgan_g_loss(D.judge_b(fake_b)) + lsgan_g_loss(D.judge_a(fake_a))
        cyc = cycle_loss(G.b_to_a(fake_b), a, s.cycle_lambda) + cycle_loss(G.a_to_b(fake_a), b, s.cycle_lambda)
        idt = torch.zeros((), device=a.device)
        if s.identity_lambda > 0:
            idt = (identity_loss(G.a_to_b(b), b, s.cycle_lambda, s.identity_lambda)
                   + identity_loss(G.b_to_a(a), a, s.cycle_lambda, s.identity_lambda))
        return {"adv": adv, "cycle": cyc, "identity": idt, "total": adv + cyc + idt}

    def g_step(self, state, batch: Batch) -> Stats:
        fakes, self._fakes = self._fakes, None
        with frozen(state.D), self._autocast():
            terms = self.generator_losses(state.G, state.D, batch["A"], batch["B"], fakes)
        self.backward_step(state, terms["total"], state.opt_G, state.G)
        return {"loss/G": terms["total"].detach(), "loss/G_adv": terms["adv"].detach(),
                "loss/cycle": terms["cycle"].detach(), "loss/identity": terms["identity"].detach()}

    def iteration_flops(self, state, batch_size: int, r1_now: bool) -> int:
        """FLOPs of one iteration (D step + G step) at this batch size, counted once per batch
        size on a throw-away copy of the state with fresh pools (`training.flops.count_flops`);
        no state, pool, RNG or optimizer of the run changes."""
        key = int(batch_size)
        cache = self.__dict__.setdefault("_flops", {})
        if key not in cache:
            dev = self.engine.device
            h, w = tuple(state.G.img_resolution)
            batch = {"A": torch.zeros(key, state.G.channels_a, h, w, device=dev),
                     "B": torch.zeros(key, state.G.channels_b, h, w, device=dev)}
            cache[key] = probe_iteration_flops(
                self, state, batch, lambda probe, copy_: setattr(probe, "pools", {side: ImagePool(0) for side in "AB"}))
        return cache[key]

    # ------------------------------------------------------------------ outputs
    @torch.no_grad()
    def translate_rows(self, G, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"a2b2a": [3n, C, H, W] rows (a, G_AB(a), G_BA(G_AB(a))), "b2a2b": likewise from b},
        float in [-1, 1]; gray domains are repeated to 3 channels when the other is colour."""
        c = max(G.channels_a, G.channels_b)
        fb = G.a_to_b(a)
        fa = G.b_to_a(b)
        rows_a = torch.stack([_to_channels(t, c) for t in (a, fb, G.b_to_a(fb))], dim=1)  # [n, 3, C, H, W]
        rows_b = torch.stack([_to_channels(t, c) for t in (b, fa, G.a_to_b(fa))], dim=1)
        return {"a2b2a": rows_a.flatten(0, 1).float().cpu(), "b2a2b": rows_b.flatten(0, 1).float().cpu()}

    def grid_images(self, state) -> dict[str, tuple[torch.Tensor, int | None]]:
        """A -> B -> A and B -> A -> B rows of G_ema on fixed images (3 columns)."""
        net = state.G_ema
        was = net.training
        net.eval()  # instance norm is the same in both modes; batch norm (the paper's) uses batch stats
        try:
            rows = self.translate_rows(net, *self._grid)
        finally:
            net.train(was)
        return {tag: (imgs, 3) for tag, imgs in rows.items()}

    def state_dict(self) -> dict:
        return {side: pool.state_dict() for side, pool in self.pools.items()}

    def load_state_dict(self, state: dict) -> None:
        for side, pool in self.pools.items():
            if side in state:
                pool.load_state_dict(state[side], device=self.engine.device if self.engine is not None else None)

    def evaluate(self, state, evaluator, names, num_images: int, seed: int) -> dict[str, dict[str, float]]:
        """The evaluator on G_ema's A -> B map: outputs for `num_images` images of domain A
        scored against as many images of domain B (set metrics: swd, fid, fid-classifier ...;
        `growgan.metrics.translation` for unpaired archives)."""
        return evaluator(state.G_ema, str(self.engine.archive.path), list(names), num_images, seed=seed,
                         device=self.engine.device)

    @classmethod
    def translator(cls, checkpoint: str, direction: str, ema: bool, device) -> Translator:
        """G_AB (AtoB) or G_BA (BtoA) of the checkpoint's G_ema (or G)."""
        from growgan.training.checkpoint import load_generator

        G = load_generator(checkpoint, ema=ema, device=device)
        fn = G.a_to_b if direction == "AtoB" else G.b_to_a
        c_in, c_out = (G.channels_a, G.channels_b) if direction == "AtoB" else (G.channels_b, G.channels_a)
        per_image = any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())

        @torch.no_grad()
        def run(x: torch.Tensor) -> torch.Tensor:
            return fn(x)

        return Translator(run, c_in, c_out, G.size_multiple, per_image)

