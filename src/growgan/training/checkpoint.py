"""Checkpoints: a network spec plus state dicts, never pickled code.

A checkpoint holds everything exact resume needs: G, D, G_ema, both optimizers, the AMP
scaler, images seen, step, growth state, the RNG states (python, numpy, torch, CUDA) and
the data loader position of every rank, and the resolved config. It is written atomically
(temp file + rename) and read with ``torch.load(weights_only=True)``, so loading one cannot
run code and a crash never leaves a truncated file under a checkpoint's name.
"""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from growgan.errors import GrowganError
from growgan.networks.registry import build_generator, sample_inputs
from growgan.training.ema import standing_stats
from growgan.training.state import GrowthState, TrainState, state_from_dict, state_to_dict
from growgan.utils.device import check_device, fork_rng
from growgan.utils.io import atomic_torch_save

FORMAT = "growgan-checkpoint"
VERSION = 1
_NAME_RE = re.compile(r"^checkpoint-(\d{9,})\.pt$")


def checkpoint_name(images_seen: int) -> str:
    return f"checkpoint-{images_seen:09d}.pt"


# ---------------------------------------------------------------------------- RNG states
def capture_rng() -> dict:
    """This process's RNG states as weights_only-loadable containers."""
    py = random.getstate()
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    out = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss), float(gauss)],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return out


def derived_seed(seed: int, rank: int, images_seen: int) -> int:
    """A 63-bit seed that is a function of (seed, rank, images_seen) alone, for RNG states a
    checkpoint holds in a layout this device cannot take."""
    digest = hashlib.sha256(f"growgan-rng/{int(seed)}/{int(rank)}/{int(images_seen)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def restore_rng(rng: dict, reseed: int | None = None) -> list[str]:
    """Restore the states of `capture_rng`. Python, numpy and torch's CPU state cross devices
    as they are; CUDA states are restored on as many GPUs as both sides have. On a machine
    with GPUs but no saved CUDA state (a CPU checkpoint), the CUDA generators are seeded with
    `reseed` when given. Returns notes on what could not be restored exactly (for the log)."""
    notes = []
    py = rng["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    name, keys, pos, has_gauss, gauss = rng["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(rng["torch"].cpu())
    cuda = list(rng.get("cuda") or [])
    if torch.cuda.is_available():
        have = torch.cuda.device_count()
        for i, st in enumerate(cuda[:have]):
            torch.cuda.set_rng_state(st.cpu(), i)
        if len(cuda) < have and reseed is not None:
            for i in range(len(cuda), have):
                torch.cuda.default_generators[i].manual_seed(reseed + i)
            notes.append(f"the checkpoint has no CUDA RNG state for GPU(s) {len(cuda)}..{have - 1}; "
                         "seeded them from the run's seed, rank and images_seen")
    return notes


# ---------------------------------------------------------------------------- finiteness
class NonFiniteStateError(GrowganError):
    """A training state holds NaN/inf (or its generator makes NaN/inf images): never saved."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.problem = problem


def nonfinite_tensors(module: nn.Module) -> list[str]:
    """Names of the floating-point parameters and buffers of `module` holding NaN or inf
    (BatchNorm's running_mean/running_var included)."""
    items = [(k, t) for k, t in module.state_dict().items() if t.is_floating_point() or t.is_complex()]
    if not items:
        return []
    flags = torch.stack([torch.isfinite(t).all() for _, t in items]).cpu().tolist()  # one host sync
    return [k for (k, _), ok in zip(items, flags) if not ok]


@torch.no_grad()
def generator_makes_finite_images(G: nn.Module, num: int = 4) -> bool:
    """Whether G (in eval mode) maps `num` fixed inputs (latents, or images for an image-to-image
    G: `registry.sample_inputs`) to finite images; G, its buffers and
    every RNG are left as they were. Finite weights of 1e30 still make NaN images."""
    device = next(G.parameters()).device
    inputs = [None if t is None else t.to(device) for t in sample_inputs(G, num, torch.Generator().manual_seed(0))]
    was = G.training
    with fork_rng(device):
        G.eval()
        try:
            out = G(*inputs)
        finally:
            G.train(was)
    return bool(torch.isfinite(out).all())


def state_problem(state: TrainState) -> str | None:
    """None when every parameter and buffer of G, D and G_ema is finite and G and G_ema make
    finite images; else what is wrong, in words."""
    for name in ("G", "D", "G_ema"):
        bad = nonfinite_tensors(getattr(state, name))
        if bad:
            return f"{name} holds NaN/inf in {len(bad)} tensor(s) (e.g. {bad[0]})"
    for name in ("G", "G_ema"):
        if not generator_makes_finite_images(getattr(state, name)):
            return f"{name} makes NaN/inf images (its weights have blown up)"
    return None


# ---------------------------------------------------------------------------- save / load
def save_checkpoint(path: str | Path, state: TrainState, config, extra: dict | None = None) -> Path:
    """Write `state` (+ config, + `extra`: per-rank RNG and loader states, ...) atomically.

    Only a finite state is written (`state_problem`): a checkpoint is always one to go back
    to. Raises NonFiniteStateError (nothing written) otherwise."""
    problem = state_problem(state)
    if problem is not None:
        raise NonFiniteStateError(f"{Path(path).name} not written", problem)
    ckpt = {
        "format": FORMAT,
        "version": VERSION,
        "config": config.to_dict(),
        "state": state_to_dict(state),
        "extra": extra or {},
    }
    path = Path(path)
    atomic_torch_save(ckpt, path)
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Read and check a checkpoint file; anything wrong with it is a one-line GrowganError."""
    path = Path(path)
    if not path.is_file():
        raise GrowganError(f"{path}: checkpoint not found; give a checkpoint-*.pt file or a run folder")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated zip, foreign pickle, code objects, ...
        msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise GrowganError(f"{path}: not a readable growgan checkpoint (corrupt or truncated: {msg}); "
                           "use an earlier checkpoint of the run") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise GrowganError(f"{path}: not a growgan checkpoint (no '{FORMAT}' marker); give a file written by growgan train")
    if ckpt.get("version", 0) > VERSION:
        raise GrowganError(f"{path}: checkpoint format {ckpt['version']} is newer than this growgan; upgrade growgan")
    return ckpt


def restore_state(ckpt: dict, config, device: torch.device | str, path: str | Path = "checkpoint") -> TrainState:
    """Rebuild the TrainState of a loaded checkpoint on `device`."""
    try:
        return state_from_dict(ckpt["state"], config, device)
    except Exception as exc:  # noqa: BLE001 - an edited spec can fail anywhere in the network's constructor
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise GrowganError(f"{path}: checkpoint does not fit its network spec ({first}); "
                           "it comes from another architecture or is damaged") from None


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Checkpoints of a run folder, oldest first (by images seen in the name)."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def is_loadable(path: str | Path) -> bool:
    """Whether `path` reads as a growgan checkpoint (memory-mapped: the tensors' bytes are
    not read, so this costs little more than the pickle's index)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - truncated zip, foreign pickle, legacy format, ...
        return False
    return isinstance(ckpt, dict) and ckpt.get("format") == FORMAT and isinstance(ckpt.get("state"), dict)


def prune_checkpoints(run_dir: str | Path, keep: int, written: str | Path | None = None) -> list[Path]:
    """Delete all but the `keep` newest checkpoints of a run folder *that load*; returns the
    deleted files. A damaged file (a copy cut short, a bad disk block) is not counted, so it
    can never push a good older checkpoint out; files older than the kept ones go, damaged or
    not. `written`: the checkpoint just saved (atomically), trusted without reading it back."""
    keep = max(1, int(keep))
    written = Path(written) if written is not None else None
    kept, removed = 0, []
    for p in reversed(list_checkpoints(run_dir)):
        if kept < keep:
            if p == written or is_loadable(p):
                kept += 1
            continue
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def latest_checkpoint(run_dir: str | Path) -> tuple[Path, dict]:
    """The newest checkpoint of a run folder that loads; older ones are tried when the newest
    is damaged (e.g. a disk that filled up)."""
    paths = list_checkpoints(run_dir)
    if not paths:
        runs = sorted(p for p in Path(run_dir).glob("*/checkpoints") if list_checkpoints(p.parent))
        if runs:  # e.g. --resume runs: the parent of the run folders
            raise GrowganError(f"{run_dir}: a folder of runs, not a run folder; give one of them, e.g. "
                               f"{runs[-1].parent}")
        if (Path(run_dir) / "meta.json").is_file() and (Path(run_dir) / "images.npy").exists():
            raise GrowganError(f"{run_dir}: a dataset archive, not a run folder; give a folder made by growgan train")
        raise GrowganError(f"{run_dir}: no checkpoints/checkpoint-*.pt in this run folder; "
                           "train longer than checkpoint_kimg or give another run")
    errors = []
    for p in reversed(paths):
        try:
            return p, load_checkpoint(p)
        except GrowganError as exc:
            errors.append(str(exc))
    raise GrowganError(f"{run_dir}: every checkpoint is damaged; first error: {errors[0]}")


def resolve_checkpoint(run_dir_or_checkpoint: str | Path) -> tuple[Path, dict]:
    p = Path(run_dir_or_checkpoint)
    if p.is_dir():
        return latest_checkpoint(p)
    return p, load_checkpoint(p)


def load_generator(run_dir_or_checkpoint: str | Path, ema: bool = True, device: torch.device | str = "cpu") -> nn.Module:
    """The generator (G_ema by default, else raw G) of a run folder's newest checkpoint or of
    a checkpoint file, in eval mode without gradients; G_ema with BatchNorm gets standing
    statistics (growgan.training.ema.standing_stats). A growing network gets the fade-in
    alpha of the saved `GrowthState`."""
    path, ckpt = resolve_checkpoint(run_dir_or_checkpoint)
    state = ckpt["state"]
    try:
        G = build_generator(state["spec"])
        G.load_state_dict(state["G_ema" if ema else "G"])
    except Exception as exc:  # noqa: BLE001 - an edited spec can fail anywhere in the network's constructor
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise GrowganError(f"{path}: generator does not fit its spec ({first}); the checkpoint is damaged") from None
    growth = GrowthState.from_dict(state.get("growth"))
    if growth.kind:  # a growable network: its fade-in weight as saved (see the network contract)
        G.alpha = growth.alpha
    which = "G_ema" if ema else "G"
    bad = nonfinite_tensors(G)
    if bad:
        raise GrowganError(f"{path}: {which} holds NaN/inf in {len(bad)} tensor(s) (e.g. {bad[0]}); "
                           "the run diverged before this checkpoint, use an earlier one")
    G = G.to(check_device(device)).eval().requires_grad_(False)
    if ema:  # G_ema's BatchNorm buffers are G's: recompute them for the averaged weights
        G = standing_stats(G)
    if not generator_makes_finite_images(G):
        raise GrowganError(f"{path}: {which} makes NaN/inf images (its weights have blown up); "
                           "the run diverged before this checkpoint, use an earlier one")
    return G

