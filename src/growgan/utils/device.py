"""Checking a device name before any work: one line for a device this torch cannot use; and the
one ``--device`` option of every command that runs a network on a chosen device.

torch is imported inside the functions: the command modules add ``--device`` when the parser is
built, and `growgan --help` must not import torch (tests/test_cli_imports.py).
"""

from __future__ import annotations

from growgan.errors import GrowganError

DEVICE_HELP = "cpu, cuda, cuda:N, mps or auto (a CUDA GPU when present, else cpu); default cpu"


def add_device_argument(parser) -> None:
    """Add ``--device DEVICE`` (default "cpu") to a command's argparse parser: the same name,
    default and help for generate, translate, interpolate, metrics and metrics train-classifier.
    The command checks it with `device_argument` before it creates anything."""
    parser.add_argument("--device", default="cpu", metavar="DEVICE", help=DEVICE_HELP)


def device_argument(args, key: str = "--device") -> str:
    """The device name a parsed ``--device`` (`add_device_argument`) stands for ("auto": "cuda"
    when a CUDA GPU is visible, else "cpu", as the training config's device=auto), or a one-line
    GrowganError (exit status 2) for a name this torch cannot use, e.g. ``--device cuda`` on a
    machine without CUDA (see `check_device`). Call it before anything is created."""
    import torch

    if args.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    check_device(args.device, key)
    return args.device


def check_device(name: str | torch.device, key: str = "device") -> torch.device | None:
    """Fail with one line, before anything is created, if `name` (auto, cpu, cuda, cuda:N,
    mps, or a torch.device) is not a device this torch can use. `key` names the option in
    the message. Returns the torch.device (None for "auto", which the caller resolves)."""
    import torch

    if isinstance(name, str) and name == "auto":
        return None
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise GrowganError(f"{key}={name!r}: not a device; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise GrowganError(f"{key}={name}: {why} (torch {torch.__version__}); use {key}=cpu (or auto)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise GrowganError(f"{key}={name}: only {torch.cuda.device_count()} CUDA device(s) are visible; "
                               f"use cuda:0..cuda:{torch.cuda.device_count() - 1}")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise GrowganError(f"{key}={name}: MPS is not available on this machine; use {key}=cpu (or auto)")
    elif dev.type != "cpu":
        raise GrowganError(f"{key}={name}: growgan trains on cpu, cuda or mps; use {key}=auto")
    return dev


def concrete_device(device: str | torch.device) -> torch.device:
    """`device` with its index filled in: "cuda" -> cuda:<the current CUDA device>, so that
    comparisons with a tensor's device (always indexed) and per-device RNG forks name the GPU
    the work really runs on. Other devices are returned as torch.device(device)."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return dev


def fork_rng(device: str | torch.device | None):
    """torch.random.fork_rng that also saves and restores the CUDA generator of `device`
    (None or a non-CUDA device: the CPU generator alone). Code run inside it may seed or draw
    from the global RNG of the device it works on without changing the caller's streams;
    ``fork_rng(devices=[])`` alone restores only the CPU generator, while ``torch.manual_seed``
    reseeds every CUDA generator too."""
    import torch

    dev = concrete_device(device) if device is not None else None
    return torch.random.fork_rng(devices=[dev.index] if dev is not None and dev.type == "cuda" else [])
