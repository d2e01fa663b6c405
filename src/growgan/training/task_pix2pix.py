"""The Pix2Pix task (Isola et al., CVPR 2017): paired image-to-image translation A -> B.

G maps an input image A to B' = G(A) (U-Net or ResNet blocks, dropout as the noise source;
networks/translation.py); the PatchGAN D judges (A, B) and (A, G(A)) pairs, its input
channels the concatenation [A, B]. Losses (config.loss, default "nonsaturating", the paper's
cross-entropy GAN; "lsgan" as an option):
    D: 0.5 * d_loss(D(A, B), D(A, G(A)))   (halved, as the paper, to slow D relative to G)
    G: g_loss(D(A, G(A))) + task.l1_lambda * mean |B - G(A)|   (lambda 100 in the paper)
Logits are per patch; every loss averages over patches. One forward of G per iteration: the
D step's G(A) (with its graph) is reused by the G step, as the reference implementation.

Data: a paired archive (`growgan.data.paired`), sampled by a seeded, rank-sharded, exactly
resumable `PairedLoader`; each pair gets one joint random jitter (resize by task.jitter
pixels, random crop to task.crop, x-flip with config.xflip) from the task's own CPU generator,
whose state is saved with the task (`state_dict`), so resume is bit-exact.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from growgan import losses
from growgan.data.loader import BatchLoader, prepare_batch
from growgan.data.paired import PairedArchive, joint_jitter, open_paired_archive
from growgan.errors import GrowganError
from growgan.networks.registry import family_classes
from growgan.networks.translation import generator_size_multiple
from growgan.training.amp import autocast
from growgan.training.flops import probe_iteration_flops
from growgan.training.task import Batch, Stats, Task, Translator, register_task
from growgan.training.task_config import task_settings

GRID_PAIRS = 8  # rows (input | output | target) in grids/translate-<images>.png

# engine options the pix2pix steps do not implement are refused at config time
# (task_config.Pix2PixConfig.unsupported, checked by config.parse_config)


class PairedLoader:
    """Infinite batches of pair indices over a `PairedArchive` (a `BatchLoader` over side A
    gives the seeded, rank-sharded order and the exact position); `next()` -> (a, b) uint8."""

    def __init__(self, data: PairedArchive, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        self.data = data
        self.order = BatchLoader(data.a, batch_size, seed, rank, world_size)

    @property
    def batch_size(self) -> int:
        return self.order.batch_size

    def set_batch_size(self, batch_size: int) -> None:
        self.order.set_batch_size(batch_size)

    def __iter__(self) -> "PairedLoader":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.data.batch(self.order.next_indices())  # [B, C_A, H, W], [B, C_B, H, W] uint8

    def state_dict(self) -> dict:
        return self.order.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.order.load_state_dict(state)


def to_rgb_like(x: torch.Tensor, channels: int) -> torch.Tensor:
    """[N, 1, H, W] -> [N, channels, H, W] by repetition (grids mixing gray and colour)."""
    return x.expand(-1, channels, -1, -1) if x.shape[1] == 1 and channels > 1 else x


@register_task("pix2pix")
class Pix2PixTask(Task):
    """Batch: {"A": float [B, C_A, h, w], "B": float [B, C_B, h, w]} in [-1, 1] on the device."""

    def __init__(self, config):
        super().__init__(config)
        self.settings = task_settings(config.task)
        self.aug_gen = torch.Generator()  # jitter draws (CPU); seeded in bind, saved in state_dict
        self._fake: torch.Tensor | None = None
        self.G_fwd = self.D_fwd = None
        self._grid_pairs: tuple[torch.Tensor, torch.Tensor] | None = None

    # ------------------------------------------------------------------ data
    def open_data(self, data: Any) -> PairedArchive:
        return data if isinstance(data, PairedArchive) else open_paired_archive(data)

    def sizes(self, data: PairedArchive) -> tuple[tuple[int, int], tuple[int, int] | None]:
        """(crop (h, w) = what the networks see, load (H', W') = the jitter's resize or None)."""
        H, W = (int(v) for v in data.resolution)
        j = int(self.settings.jitter)
        load = (H + j, W + j) if j else None
        crop = tuple(int(v) for v in self.settings.crop) if self.settings.crop else (H, W)
        if crop[0] > H + j or crop[1] > W + j:
            raise GrowganError(f"task.crop={list(crop)} is larger than the archive's {H}x{W} images (+ jitter {j}); "
                               "use a smaller crop")
        return crop, load

    def resolve_network(self, network: dict, data: PairedArchive) -> dict:
        """Fill G's in_channels/img_channels, D's img_channels/cond_channels and both
        img_resolution (the crop) from the paired archive; refuse a latent family, a D that
        does not see the input, or a crop the generator cannot map back to itself."""
        net = copy.deepcopy(network)
        if not net or "family" not in net:
            raise GrowganError("the config has no network spec; use --preset pix2pix-edges2fashion or --arch SPEC.json")
        G_cls, _ = family_classes(net["family"])
        if getattr(G_cls, "input_kind", "latent") != "image":
            raise GrowganError(f"task.kind=pix2pix needs an image-to-image network family (pix2pix), not "
                               f"{net['family']}; use --preset pix2pix-edges2fashion or set task=null")
        crop, _ = self.sizes(data)
        want = {"G": {"in_channels": data.channels_a, "img_channels": data.channels_b, "img_resolution": list(crop)},
                "D": {"img_channels": data.channels_b, "cond_channels": data.channels_a, "img_resolution": list(crop)}}
        for part, keys in want.items():
            sub = net.setdefault(part, {})
            for key, value in keys.items():
                if sub.get(key) is None:
                    sub[key] = value
                elif sub[key] != value:
                    raise GrowganError(f"{data.path}: network.{part}.{key}={sub[key]!r} does not fit the paired archive "
                                       f"(it needs {value!r}); set it to null to take it from the data")
        multiple = generator_size_multiple(net["G"])
        if crop[0] % multiple or crop[1] % multiple:
            raise GrowganError(f"{data.path}: the generator maps {crop[0]}x{crop[1]} images only if both sides are "
                               f"divisible by {multiple}; set task.crop to such a size or lower network.G.depth")
        return net

    def check_networks(self, state, data: PairedArchive, growing: bool) -> None:
        if growing:
            raise GrowganError("task.kind=pix2pix trains fixed networks; set growth=null")
        crop, _ = self.sizes(data)
        if tuple(state.G.img_resolution) != tuple(crop):
            raise GrowganError(f"{data.path}: the networks were built for {state.G.img_resolution[0]}x"
                               f"{state.G.img_resolution[1]} crops but this data gives {crop[0]}x{crop[1]}; "
                               "use the run's archive and task.crop")

    def make_loader(self, data: PairedArchive, batch_size: int, seed: int, rank: int, world_size: int) -> PairedLoader:
        return PairedLoader(data, batch_size, seed, rank, world_size)

    # ------------------------------------------------------------------ binding
    def bind(self, engine) -> None:
        super().bind(engine)
        self.aug_gen.manual_seed(int(engine.config.seed) * 1_000_003 + engine.dist.rank + 11)
        self._crop, self._load = self.sizes(engine.archive)
        self._grid_pairs = self._fixed_pairs(engine.archive)

    def wrap(self, state) -> None:
        cfg = self.config
        if cfg.channels_last:
            for net in (state.G, state.D, state.G_ema):
                net.to(memory_format=torch.channels_last)
        self.G_fwd, self.D_fwd = state.G, state.D
        if cfg.compile:
            self.G_fwd, self.D_fwd = torch.compile(state.G), torch.compile(state.D)

    # ------------------------------------------------------------------ one iteration
    def draw_batch(self) -> Batch:
        eng = self.engine
        a, b = next(eng.loader)
        a, b = joint_jitter(a, b, self.aug_gen, crop=self._crop, load=self._load, flip=self.config.xflip)
        A, B = prepare_batch(a.contiguous(), eng.device), prepare_batch(b.contiguous(), eng.device)  # [-1, 1]
        if self.config.channels_last:
            A, B = (x.contiguous(memory_format=torch.channels_last) for x in (A, B))
        return {"A": A, "B": B}

    def batch_images(self, batch: Batch) -> int:
        return int(batch["A"].shape[0])

    def d_step(self, state, batch: Batch, d_index: int, last: bool) -> Stats:
        cfg, eng = self.config, self.engine
        A, B = batch["A"], batch["B"]
        state.D.requires_grad_(True)
        with torch.set_grad_enabled(last), autocast(eng.amp, eng.device):
            fake = self.G_fwd(A)  # [B, C_B, h, w]
        self._fake = fake if last else None
        with autocast(eng.amp, eng.device):
            real_logits = self.D_fwd(B, A).float()  # [B, 1, h', w'] patch logits
            fake_logits = self.D_fwd(fake.detach(), A).float()
        loss = 0.5 * losses.d_loss(cfg.loss, real_logits.reshape(-1), fake_logits.reshape(-1),
                                   label_smoothing=cfg.label_smoothing)
        self.backward_step(state, loss, state.opt_D, state.D)
        return {"loss/D": loss.detach(), "D/real": real_logits.detach().mean(), "D/fake": fake_logits.detach().mean()}

    def g_step(self, state, batch: Batch) -> Stats:
        cfg, eng = self.config, self.engine
        A, B = batch["A"], batch["B"]
        state.D.requires_grad_(False)
        with autocast(eng.amp, eng.device):
            fake, self._fake = (self._fake if self._fake is not None else self.G_fwd(A)), None
            fake_logits = self.D_fwd(fake, A).float()
            real_logits = None
            if cfg.loss == "relativistic":
                with torch.no_grad():
                    real_logits = self.D_fwd(B, A).float().reshape(-1)
        gan = losses.g_loss(cfg.loss, fake_logits.reshape(-1), real_logits)
        l1 = (fake.float() - B).abs().mean()  # mean |B - G(A)| in [-1, 1] units
        self.backward_step(state, gan + self.settings.l1_lambda * l1, state.opt_G, state.G)
        state.D.requires_grad_(True)
        return {"loss/G": gan.detach(), "loss/L1": l1.detach()}

    def iteration_flops(self, state, batch_size: int, r1_now: bool) -> int:
        """FLOPs of one iteration (D step + G step) at this batch size, counted once per batch
        size on a throw-away copy of the state (`training.flops.count_flops`); no state, RNG
        or optimizer of the run changes."""
        key = int(batch_size)
        cache = self.__dict__.setdefault("_flops", {})
        if key not in cache:
            dev, data = self.engine.device, self.engine.archive
            h, w = self._crop
            batch = {"A": torch.zeros(key, data.channels_a, h, w, device=dev),
                     "B": torch.zeros(key, data.channels_b, h, w, device=dev)}

            def setup(probe, copy_):
                probe.G_fwd, probe.D_fwd = copy_.G, copy_.D

            cache[key] = probe_iteration_flops(self, state, batch, setup)
        return cache[key]

    # ------------------------------------------------------------------ outputs
    def _fixed_pairs(self, data: PairedArchive) -> tuple[torch.Tensor, torch.Tensor]:
        """GRID_PAIRS pairs spread over the archive (uint8), resized as the jitter does when it
        enlarges, then centre-cropped to the training crop; no random draw."""
        n = min(GRID_PAIRS, self.config.grid_size, data.num)
        idx = np.unique(np.linspace(0, data.num - 1, n).round().astype(np.int64))
        a, b = data.batch(idx)
        (h, w), (H, W) = self._crop, a.shape[-2:]
        if h > H or w > W:  # the crop needs the jitter's resize
            a, b = joint_jitter(a, b, None, crop=None, load=self._load, flip=False)
        top, left = (a.shape[-2] - h) // 2, (a.shape[-1] - w) // 2
        return a[..., top: top + h, left: left + w].contiguous(), b[..., top: top + h, left: left + w].contiguous()

    @torch.no_grad()
    def grid_images(self, state) -> dict[str, tuple[torch.Tensor, int | None]]:
        """translate: one row per fixed pair, input | G_ema(input) (eval: no dropout) | target."""
        eng = self.engine
        a, b = self._grid_pairs
        A = prepare_batch(a, eng.device)
        net = state.G_ema
        was = net.training
        net.eval()
        out = net(A).float().cpu()
        net.train(was)
        ch = max(a.shape[1], b.shape[1])
        cols = [to_rgb_like(A.cpu(), ch), to_rgb_like(out, ch), to_rgb_like(prepare_batch(b), ch)]
        rows = torch.stack(cols, dim=1).reshape(-1, ch, *out.shape[-2:])  # [n * 3, C, h, w]: row i = pair i
        return {"translate": (rows, 3)}

    def evaluate(self, state, evaluator, names, num_images: int, seed: int) -> dict[str, dict[str, float]]:
        """The evaluator on G_ema translating side A of the training archive (metrics' paired
        form: outputs vs side B, see growgan.metrics.translation)."""
        return evaluator(state.G_ema, str(self.engine.archive.path), list(names), num_images, seed=seed,
                         device=self.engine.device)

    def state_dict(self) -> dict:
        return {"aug_gen": self.aug_gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("aug_gen") is not None:
            self.aug_gen.set_state(state["aug_gen"])

    @classmethod
    def translator(cls, checkpoint: str, direction: str, ema: bool, device) -> Translator:
        """G_ema (or G) of the checkpoint, A -> B only (Pix2Pix learns one direction)."""
        from growgan.training.checkpoint import load_generator

        if direction != "AtoB":
            raise GrowganError(f"--direction {direction}: a pix2pix run learns A -> B only; drop --direction "
                               "(or train another run on the swapped archive: growgan dataset prepare --direction BtoA)")
        G = load_generator(checkpoint, ema=ema, device=device)
        per_image = any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())

        @torch.no_grad()
        def fn(x: torch.Tensor) -> torch.Tensor:
            return G(x)

        return Translator(fn, G.in_channels, G.img_channels, G.size_multiple, per_image)
