"""Translate images with a trained image-to-image run (`growgan translate`).

The run's task (`config.task` of its checkpoint) gives the trained map through
`Task.translator(checkpoint, direction, ema, device)` (training/task.py): Pix2Pix's G for
A -> B, CycleGAN's G_AB or G_BA. This module only reads inputs, runs that map and writes one
PNG per input, atomically (`utils.image.save_image`): an image file, a folder of images
(recursive; each image at its own size), or a paired translation archive (its side A for
AtoB, side B for BtoA, with the other side as targets for metrics). Every input is checked
(readable, sides divisible by the network's size multiple, no two inputs writing one name)
before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from growgan.data.decode import decode_image, open_image, oriented_size, to_array
from growgan.data.sources import list_folder
from growgan.errors import GrowganError
from growgan.training.checkpoint import resolve_checkpoint
from growgan.training.config import TrainConfig
from growgan.training.task import DIRECTIONS, Translator, task_class, task_kind
from growgan.utils.image import save_image, to_uint8
from growgan.utils.progress import bar


@dataclass
class Inputs:
    """Images to translate: names (output file stems, relative paths without suffix), uint8
    [C, H, W] arrays, and for a paired archive the targets (uint8 [N, C, H, W]) or None."""

    names: list[str]
    images: list[np.ndarray]
    targets: np.ndarray | None = None


def load_translator(run: str | os.PathLike, direction: str = "AtoB", ema: bool = True,
                    device: torch.device | str = "cpu") -> Translator:
    """The trained map of a run folder (newest checkpoint) or checkpoint file."""
    if direction not in DIRECTIONS:
        raise GrowganError(f"--direction {direction}: use AtoB or BtoA")
    path, ckpt = resolve_checkpoint(run)
    config = TrainConfig.from_dict(ckpt["config"], source=str(path))
    return task_class(task_kind(config)).translator(str(path), direction, ema, device)


def read_inputs(source: str | os.PathLike, tr: Translator, direction: str = "AtoB") -> Inputs:
    """An image file, an image folder or a paired archive -> `Inputs` with tr.in_channels
    channels, every size checked against tr.size_multiple (one-line GrowganError)."""
    src = Path(source)
    if not src.exists():
        raise GrowganError(f"{src}: not found; give an image file, a folder of images or a paired archive")
    if src.is_dir() and (src / "meta.json").is_file() and (src / "A").is_dir():
        return _archive_inputs(src, tr, direction)
    if src.is_dir():
        files = list_folder(src, labels=False)
        names, reads = files.names, [lambda i=i: files.open(i) for i in range(len(files.names))]
        where = [src / n for n in names]
    else:
        names, reads, where = [src.name], [lambda: src.read_bytes()], [src]
    stems: dict[str, Path] = {}
    for name, path in zip(names, where):
        stem = str(Path(name).with_suffix(""))
        if stem in stems:
            raise GrowganError(f"{path}: would write {stem}.png, as {stems[stem]} does; rename one of them")
        stems[stem] = path
    for read, path in zip(reads, where):  # headers only: sizes, before any pixel is decoded
        try:
            with open_image(read()) as img:
                w, h = oriented_size(img)
        except GrowganError:
            raise
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for damaged files
            raise GrowganError(f"{path}: not a readable image ({type(exc).__name__}); remove or replace it") from None
        _check_size(h, w, tr, path)
    images = [to_array(decode_image(read(), tr.in_channels)) for read in reads]
    return Inputs([str(Path(n).with_suffix("")) for n in names], images)


def _archive_inputs(src: Path, tr: Translator, direction: str) -> Inputs:
    from growgan.data.paired import open_paired_archive, open_unpaired_archive

    data = open_unpaired_archive(src)
    if data.meta.get("kind") == "paired":
        data = open_paired_archive(src)
    inputs, targets = (data.a, data.b) if direction == "AtoB" else (data.b, data.a)
    if inputs.channels != tr.in_channels:
        raise GrowganError(f"{src}: side {direction[0]} has {inputs.channels} channel(s) but the network takes "
                           f"{tr.in_channels}; give the archive the run trained on (or --direction)")
    h, w = data.resolution
    _check_size(h, w, tr, src)
    imgs = np.asarray(inputs.images)
    width = max(6, len(str(len(inputs) - 1)))
    paired = data.meta.get("kind") == "paired"  # an unpaired archive has no targets to score against
    return Inputs([f"{i:0{width}d}" for i in range(len(inputs))], list(imgs),
                  np.asarray(targets.images) if paired else None)


def _check_size(h: int, w: int, tr: Translator, path) -> None:
    m = tr.size_multiple
    if h % m or w % m:
        raise GrowganError(f"{path}: {w}x{h} (W x H) cannot pass the network, whose sides must be divisible by {m}; "
                           f"crop or resize it (e.g. to {max(m, h // m * m)}x{max(m, w // m * m)} H x W)")


@torch.no_grad()
def translate_inputs(tr: Translator, inputs: Inputs, device: torch.device | str = "cpu",
                     batch_size: int = 16) -> list[torch.Tensor]:
    """uint8 [C_out, H, W] outputs, one per input (same-size neighbours share a batch unless
    tr.per_image)."""
    out: list[torch.Tensor] = []
    step = 1 if tr.per_image else max(1, int(batch_size))
    i = 0
    with bar(total=len(inputs.images), desc="translate", unit="img") as pb:
        while i < len(inputs.images):
            shape = inputs.images[i].shape
            j = i
            while j < len(inputs.images) and j - i < step and inputs.images[j].shape == shape:
                j += 1
            x = torch.from_numpy(np.stack(inputs.images[i:j])).to(device).float() / 127.5 - 1.0  # [n, C, H, W]
            out.extend(to_uint8(tr.fn(x).float()).cpu())
            pb.update(j - i)
            i = j
    return out


def write_outputs(out_dir: str | os.PathLike, names: list[str], images: list[torch.Tensor]) -> list[Path]:
    """One PNG per image, `out_dir/<name>.png` (subfolders made as needed), each written atomically."""
    paths = []
    for name, img in zip(names, images):
        path = Path(out_dir) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(img, path)
        paths.append(path)
    return paths
