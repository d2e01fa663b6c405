"""The generation task: ``G(z, c) -> image`` against reals of one archive (every family of
the zoo, unconditional or conditional, fixed or growing). Its steps are
`growgan.training.step.StepRunner`'s (losses, penalties, augmentation, AC-GAN ...); this
module only adapts them to the task contract (`growgan.training.task`), drawing exactly the
random numbers, in exactly the order, that the loop drew before tasks existed.
"""

from __future__ import annotations

from typing import Any

import copy

import torch

from growgan.data import open_archive
from growgan.data.loader import BatchLoader, downsample, prepare_batch
from growgan.errors import GrowganError
from growgan.training.ema import standing_stats
from growgan.training.step import StepRunner
from growgan.training.task import Batch, Stats, Task, register_task

CLASS_GRID_COLUMNS = 8  # images per class (row) in grids/classes-<kimg>.png


def resolve_network(network: dict, archive) -> dict:
    """Fill the data-dependent network keys left as None (img_channels, img_resolution,
    c_dim; c_dim "auto" = the archive's number of classes) from the archive, and check
    explicit ones against it (a conditional network on an unlabelled archive is refused)."""
    net = copy.deepcopy(network)
    if not net or "family" not in net:
        raise GrowganError("the config has no network spec; use --preset, --arch SPEC.json or a config file with 'network'")
    res = [int(r) for r in archive.resolution]
    where = getattr(archive, "path", "the archive")
    for part in ("G", "D"):
        sub = net.get(part, {})
        if sub.get("img_channels", 0) is None:
            sub["img_channels"] = int(archive.channels)
        if "img_resolution" in sub and sub["img_resolution"] is None:
            sub["img_resolution"] = res
        if sub.get("c_dim", 0) is None:
            sub["c_dim"] = 0
        if sub.get("c_dim") == "auto":  # conditional presets: as many classes as the archive has
            if not int(archive.num_classes):
                raise GrowganError(f"{where}: the archive is unlabelled but the network is conditional "
                                   f"(network.{part}.c_dim=auto); pack it with labels (growgan dataset prepare "
                                   "--labels) or set network.G.c_dim=0 and network.D.c_dim=0")
            sub["c_dim"] = int(archive.num_classes)
        if isinstance(sub.get("c_dim"), bool) or not isinstance(sub.get("c_dim", 0), int):
            raise GrowganError(f"network.{part}.c_dim={sub.get('c_dim')!r} is invalid; use 0, the number of classes "
                               "or \"auto\"")
        ch = sub.get("img_channels")
        if ch is not None and int(ch) != int(archive.channels):
            raise GrowganError(f"{where}: archive images have {archive.channels} channels but the network's {part} "
                               f"expects {ch}; set network.{part}.img_channels={archive.channels} or use another archive")
        c_dim = int(sub.get("c_dim") or 0)
        if c_dim > 0 and not int(archive.num_classes):
            raise GrowganError(f"{where}: the archive is unlabelled but the network is conditional on {c_dim} classes; "
                               "pack it with labels (growgan dataset prepare --labels) or set network.G.c_dim=0 "
                               "and network.D.c_dim=0")
        if c_dim > 0 and c_dim != int(archive.num_classes):
            raise GrowganError(f"{where}: the network is conditional on {c_dim} classes but the archive has "
                               f"{archive.num_classes}; set network.{part}.c_dim={archive.num_classes}")
    return net


def _check_resolution(G_res, archive, has_growth: bool) -> None:
    h, w = (int(G_res[0]), int(G_res[1])) if isinstance(G_res, (tuple, list)) else (int(G_res), int(G_res))
    H, W = (int(r) for r in archive.resolution)
    if has_growth:
        return  # the growth controller's prepare_reals brings reals to the current resolution
    if h > H or w > W or H % h or W % w:
        raise GrowganError(f"{getattr(archive, 'path', 'archive')}: images are {H}x{W} but the generator makes {h}x{w}; "
                           "use an archive at that resolution (or a multiple of it) or another preset")


@register_task("generation")
class GenerationTask(Task):
    """Unconditional / conditional generation from latents (batch: {"reals", "c"})."""

    def __init__(self, config):
        super().__init__(config)
        self.runner: StepRunner | None = None
        self._grid_z: torch.Tensor | None = None
        self._grid_c: torch.Tensor | None = None

    # ------------------------------------------------------------------ data
    def open_data(self, data: Any):
        if hasattr(data, "images") and hasattr(data, "resolution"):
            return data
        return open_archive(data)

    def resolve_network(self, network: dict, data: Any) -> dict:
        return resolve_network(network, data)

    def check_networks(self, state, data, growing: bool) -> None:
        _check_resolution(state.G.img_resolution, data, growing)

    def make_loader(self, data, batch_size: int, seed: int, rank: int, world_size: int) -> BatchLoader:
        return BatchLoader(data, batch_size, seed=seed, rank=rank, world_size=world_size)

    # ------------------------------------------------------------------ binding
    def bind(self, engine) -> None:
        super().bind(engine)
        self.runner = StepRunner(engine.config, engine.device, engine.amp, engine.gen, engine.dist.world_size)
        self._grid_z, self._grid_c = self._grid_latents()

    def wrap(self, state) -> None:
        self.runner.wrap(state)

    # ------------------------------------------------------------------ one iteration
    def draw_batch(self) -> Batch:
        eng = self.engine
        images, labels = next(eng.loader)
        reals = prepare_batch(images, eng.device, flip=eng.config.xflip, generator=eng.gen)  # [B,C,H,W] in [-1,1]
        if eng.growth is not None:
            reals = eng.growth.prepare_reals(reals, eng.state)
        else:
            reals = downsample(reals, tuple(eng.state.G.img_resolution))
        if eng.config.channels_last:
            reals = reals.contiguous(memory_format=torch.channels_last)
        c = labels.to(eng.device) if getattr(eng.state.G, "c_dim", 0) else None
        return {"reals": reals, "c": c}

    def batch_images(self, batch: Batch) -> int:
        return int(batch["reals"].shape[0])

    def noise_sigma(self) -> float:
        """Instance noise sigma now: config.instance_noise, annealed linearly to 0 over
        instance_noise_kimg (0 = constant)."""
        cfg = self.config
        if cfg.instance_noise <= 0:
            return 0.0
        if cfg.instance_noise_kimg <= 0:
            return cfg.instance_noise
        return cfg.instance_noise * max(0.0, 1.0 - self.engine.state.kimg / cfg.instance_noise_kimg)

    def d_step(self, state, batch: Batch, d_index: int, last: bool) -> Stats:
        return self.runner.d_step(state, batch["reals"], batch["c"], d_index, self.noise_sigma(), keep_fakes=last)

    def g_step(self, state, batch: Batch) -> Stats:
        return self.runner.g_step(state, batch["reals"], batch["c"], self.noise_sigma())

    # ------------------------------------------------------------------ outputs
    def _grid_latents(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        eng = self.engine
        g = torch.Generator().manual_seed(self.config.seed + 123)
        n = self.config.grid_size
        z = torch.randn(n, eng.state.G.z_dim, generator=g).to(eng.device)
        c_dim = getattr(eng.state.G, "c_dim", 0)
        c = (torch.arange(n) % c_dim).to(eng.device) if c_dim else None
        return z, c

    @torch.no_grad()
    def sample_images(self, state) -> dict[str, torch.Tensor]:
        """float [N, C, H, W] images of the fixed latents through G (eval mode) and G_ema.
        Eval mode: BatchNorm uses running statistics (G_ema's recomputed on a copy, see
        standing_stats) and nothing in the state changes."""
        out = {}
        for tag, net in (("raw", state.G), ("ema", standing_stats(state.G_ema))):
            was = net.training
            net.eval()
            out[tag] = torch.cat([net(z, c).float().cpu() for z, c in _chunks(self._grid_z, self._grid_c, 64)])
            net.train(was)
        return out

    @torch.no_grad()
    def class_images(self, state, per_class: int = CLASS_GRID_COLUMNS) -> torch.Tensor | None:
        """For a conditional G: float [c_dim * per_class, C, H, W] from G_ema (eval mode),
        row k = class k, column j = the same fixed latent in every row; None if unconditional."""
        c_dim = int(getattr(state.G, "c_dim", 0) or 0)
        if not c_dim:
            return None
        z = self._grid_z[:per_class].repeat(c_dim, 1)  # [c_dim * per_class, z_dim]
        c = torch.arange(c_dim, device=z.device).repeat_interleave(z.shape[0] // c_dim)
        net = standing_stats(state.G_ema)
        was = net.training
        net.eval()
        out = torch.cat([net(zi, ci).float().cpu() for zi, ci in _chunks(z, c, 64)])
        net.train(was)
        return out

    def grid_images(self, state) -> dict[str, tuple[torch.Tensor, int | None]]:
        """raw (G) and ema (G_ema) of the fixed latents; for a conditional G also classes
        (one row per class, G_ema)."""
        out = {tag: (imgs, None) for tag, imgs in self.sample_images(state).items()}
        per_class = self.class_images(state)
        if per_class is not None:
            out["classes"] = (per_class, min(CLASS_GRID_COLUMNS, self._grid_z.shape[0]))
        return out

    def evaluate(self, state, evaluator, names, num_images: int, seed: int) -> dict[str, dict[str, float]]:
        """The evaluator (`growgan.metrics.evaluate_generator(..., grouped=True)`) on G_ema
        (standing BatchNorm statistics) against the training archive."""
        eng = self.engine
        return evaluator(standing_stats(state.G_ema), getattr(eng.archive, "path", None), list(names), num_images,
                         seed=seed, device=eng.device)

    def iteration_flops(self, state, batch_size: int, r1_now: bool) -> int:
        from growgan.training.flops import step_flops

        return step_flops(state, self.config, batch_size, self.engine.device, r1_now)


def _chunks(z: torch.Tensor, c: torch.Tensor | None, n: int):
    for i in range(0, z.shape[0], n):
        yield z[i : i + n], (None if c is None else c[i : i + n])
